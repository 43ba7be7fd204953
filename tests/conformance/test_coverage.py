"""Every capture in ../shared/fixtures/asic is checked by a conformance test, or listed here with why not: a new
capture cannot sit in the folder unexamined. A capture counts as checked when a conformance test names it (or a
device prefix it starts with)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.replay import FIXTURES

# Replies to a write (`*ascset*`) or to a malformed request (`*multicommand-error*`) are protocol facts, not poll
# cases (docs/architecture.md, "Conformance suite").
PROTOCOL_FACTS = ("ascset", "multicommand-error")

NOT_POLLED = {
}


def _named_in_tests() -> set[str]:
    here = Path(__file__).parent
    text = "".join(p.read_text() for p in here.glob("*.py") if p.name != Path(__file__).name)
    return set(re.findall(r"""["']([A-Za-z0-9_.+\-]{12,})""", text))


@pytest.mark.skipif(not FIXTURES.is_dir(), reason="../shared/fixtures/asic not present")
def test_every_capture_is_checked_or_excluded_with_a_reason() -> None:
    names = _named_in_tests()
    captures = sorted(p.name for p in FIXTURES.iterdir() if p.suffix in (".json", ".txt", ".bin"))
    unchecked = [c for c in captures if not any(fact in c for fact in PROTOCOL_FACTS)
                 and not any(c.startswith(n) for n in names) and c not in NOT_POLLED]
    assert unchecked == [], "captures no conformance test reads; add a test or a reason in NOT_POLLED"
    stale = [c for c in NOT_POLLED if c not in captures or any(c.startswith(n) for n in names)]
    assert stale == [], "NOT_POLLED lists captures that are gone or now tested"
