"""The per-value fast paths in driver parsing (integers returned as they are, unit spellings and rate-key names
normalised once) read every value exactly as the general path does (issue 16 item 2)."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectors.asic import units
from collectors.asic.drivers import _cgminer

FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=list(HealthCheck))


def integer_general(value: Any) -> int | None:
    f = units.num(value)
    return None if f is None else int(round(f))


@FUZZ
@given(st.one_of(st.integers(), st.integers(min_value=2**52, max_value=2**60),
                 st.integers(min_value=-(2**60), max_value=-(2**52)), st.just(10**400), st.booleans()))
def test_integers_read_as_through_the_float_round_trip(value: int) -> None:
    assert units.integer(value) == integer_general(value)
    assert type(units.integer(value)) is type(integer_general(value))


UNITS = st.sampled_from(["GH", "GH/s", "gh/s", "MHS", "MH/s", "T", "TH", "KH", "PH/s", " th ", "H", "HS", "XH",
                         "G", "", "Sol/s"])


@FUZZ
@given(UNITS, st.floats(allow_nan=True) | st.integers() | st.none() | st.text(max_size=6))
def test_a_unit_reads_the_same_on_first_and_later_use(unit: str, value: Any) -> None:
    def once() -> Any:
        try:
            return units.ths(value, unit)
        except ValueError as e:
            return str(e)

    units._MULTIPLIERS.clear()
    first, again = once(), once()
    assert first == again or (isinstance(first, float) and math.isnan(first) and math.isnan(again))


@FUZZ
@given(st.dictionaries(st.sampled_from(["MHS 5s", "GHS 1m", "MHS av", "KHS(30s)", "ghs 5S", "HS RT", "Elapsed",
                                        "MHS  ( 1m )", "THS sample", "PHS 15m", "MHSx 5s"]) | st.text(max_size=8),
                       st.integers(0, 9), max_size=6))
def test_rate_keys_read_the_same_on_first_and_later_use(entry: dict[str, Any]) -> None:
    _cgminer._RATE_FORMS.clear()
    first = _cgminer.rate_keys(entry)
    assert _cgminer.rate_keys(entry) == first
    expected: dict[str, tuple[str, Any]] = {}
    for key, value in entry.items():
        m = _cgminer._RATE_KEY.match(key) if "HS" in key.upper() else None
        if m is not None:
            expected.setdefault(m.group(2).lower(), ((m.group(1) or "").upper() + "H", value))
    assert first == expected
