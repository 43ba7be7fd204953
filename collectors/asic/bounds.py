"""Per-device bounds on what one miner may put into the exposition (issue 11, finding 3).

A reply is bounded in bytes (4 MiB) but not in what it holds: a miner that reported 30,000 pools grew
``/metrics`` from 0.8 to 18.8 MB, and a Prometheus job with ``sample_limit`` or ``label_value_length_limit``
then marks the *whole agent* down, every miner of the site with it. Five pools sharing one index produced
duplicate series that Prometheus silently collapses. :func:`bound` cuts a reading to fixed limits, keeps the
label keys (pool and board index) unique, and says what it cut in ``reading.truncated`` (exported as
``farmwatch_miner_truncated_info{device,part}``) and in a note (``poll`` and ``poll --json``).

The limits are far above any real machine (the most seen: 4 boards, 6 fans, 3 pools; cgminer itself allows 128
pools only because it never shows them) so that nothing real is ever cut.
"""

from __future__ import annotations

from .reading import MinerReading

MAX_POOLS = 16
MAX_BOARDS = 32
MAX_FANS = 32
MAX_ERRORS = 256  # error entries kept; the count exported is still the number the firmware reported
MAX_STRING = 256  # characters in any string that becomes a label value (URL, worker, identity)
# Samples one miner can add at most: the fixed series (up, last success, error, info, state, hashrate, expected,
# power per source (2), limit, uptime, expected boards/fans, unreadable fans, firmware errors) + 5 per board +
# 1 per fan + 6 per pool + partial-read (at most 16) and truncation (at most 6) markers.
FIXED_SAMPLES = 16
MAX_SAMPLES_PER_MINER = FIXED_SAMPLES + 5 * MAX_BOARDS + MAX_FANS + 6 * MAX_POOLS + 16 + 6

_IDENTITY = ("make", "model", "firmware", "firmware_version", "mac", "serial", "hostname")


def _cut(text: str | None) -> tuple[str | None, bool]:
    if text is None or len(text) <= MAX_STRING:
        return text, False
    return text[:MAX_STRING], True


def bound(r: MinerReading) -> MinerReading:
    """Cut ``r`` to the limits above in place; what was cut is listed in ``r.truncated`` and in a note."""
    cut: dict[str, str] = {}
    if len(r.pools) > MAX_POOLS:
        cut["pools"] = f"{len(r.pools)} pools reported, the first {MAX_POOLS} kept"
        r.pools = r.pools[:MAX_POOLS]
    # The pool label is the firmware's index, else the position (agent/metrics.py): both kinds can collide.
    indexes = [p.index if p.index is not None else i for i, p in enumerate(r.pools)]
    if len(set(indexes)) != len(indexes):
        # Two pools under one label would be one series twice; number them by position instead, all of them,
        # so the labels stay stable from one poll to the next.
        cut["pool_index"] = "pools share an index: numbered by position instead"
        for i, p in enumerate(r.pools):
            p.index = i
    seen: set[int] = set()
    boards = []
    for b in r.boards:
        if b.index in seen or not 0 <= b.index < MAX_BOARDS:
            cut["boards"] = f"boards beyond index {MAX_BOARDS - 1} or repeated indexes dropped"
            continue
        seen.add(b.index)
        boards.append(b)
    r.boards = boards
    if len(r.fans_rpm) > MAX_FANS:
        cut["fans"] = f"{len(r.fans_rpm)} fans reported, the first {MAX_FANS} kept"
        r.fans_rpm = r.fans_rpm[:MAX_FANS]
    if r.errors is not None and len(r.errors) > MAX_ERRORS:
        r.error_count = len(r.errors)
        cut["errors"] = f"{len(r.errors)} firmware errors reported, the first {MAX_ERRORS} kept"
        r.errors = r.errors[:MAX_ERRORS]
    long = False
    for key in _IDENTITY:
        value = getattr(r, key)
        if value is not None and len(value) > MAX_STRING:  # _cut's test first: the strings are short every cycle
            setattr(r, key, value[:MAX_STRING])
            long = True
    for p in r.pools:
        if len(p.url) > MAX_STRING or (p.user is not None and len(p.user) > MAX_STRING):
            url, _ = _cut(p.url)
            user, _ = _cut(p.user)
            p.url, p.user = url or "", user
            long = True
    for e in r.errors or ():
        message, was = _cut(e.message)
        if was:
            e.message = message or ""
            long = True
    if long:
        cut["strings"] = f"strings longer than {MAX_STRING} characters cut to {MAX_STRING}"
    if cut:
        r.truncated = sorted(cut)
        r.notes.extend(f"truncated: {why}" for _part, why in sorted(cut.items()))
    return r
