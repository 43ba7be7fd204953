"""Apply model facts to a driver's reading and derive efficiency and ``state`` (definitions: docs/architecture.md, "`poll --json`")."""

from __future__ import annotations

import math

from .bounds import bound
from .models import ModelFacts, lookup
from .reading import Board, MinerReading, Note

DEGRADED_SHARE = 0.9  # under 90 % of expected hashrate is "degraded"
# Above any machine ever built (the whole Bitcoin network is under 1e9 TH/s): a value past it is a broken
# reply, and multiplied into hashes per second it would overflow to +Inf in the exposition.
MAX_THS = 1e9
MAX_WATTS = 1e7


def board_missing(board: Board) -> bool:
    """No chip answers (chips 0), or, where the firmware gives no chip count, the board hashes exactly 0.
    A board whose chips and rate are both unknown is unknown, not missing."""
    return board.chips == 0 or (board.chips is None and board.hashrate_ths == 0)


def _finite(value: float | None, *, low: float | None = None, high: float | None = None) -> float | None:
    """``value`` when it is a finite number inside the bounds, else None (unknown)."""
    if value is None or not math.isfinite(value):
        return None
    if (low is not None and value < low) or (high is not None and value > high):
        return None
    return value


def _fan(value: int | None) -> int | None:
    """An RPM reading: a negative (or non-finite) one is unknown, never a stopped fan."""
    if value is None or not isinstance(value, int) or value < 0:
        return None
    return value


def known_fans(fans: list[int | None]) -> list[int | None]:
    """``fans`` with unreadable slots as None; [] (fans unknown) when no slot has a reading."""
    out = [_fan(v) for v in fans]
    return out if any(v is not None for v in out) else []


def _count(value: int | None) -> int | None:
    """A counter or count (shares, uptime, chips): a negative one is unknown, never exported."""
    return value if value is not None and value >= 0 else None


def sanitize(reading: MinerReading) -> MinerReading:
    """Drop what no device can mean, whatever the driver let through: NaN/inf, physically impossible magnitudes,
    negative counters (unknown). Negative rates read as 0 (as the drivers clamp them); a negative or unreadable
    fan is unknown (None in its slot), and a reading with no readable fan has fans unknown ([])."""
    r = reading
    r.hashrate_ths = _finite(r.hashrate_ths, high=MAX_THS)
    if r.hashrate_ths is not None:
        r.hashrate_ths = max(r.hashrate_ths, 0.0)
    r.expected_hashrate_ths = _finite(r.expected_hashrate_ths, low=0.0, high=MAX_THS)
    r.power_w = _finite(r.power_w, low=0.0, high=MAX_WATTS)
    if r.power_w is None:
        r.power_source = None
    r.power_limit_w = _finite(r.power_limit_w, low=0.0, high=MAX_WATTS)
    r.uptime_s = _count(r.uptime_s)
    r.fans_rpm = known_fans(r.fans_rpm)
    # Per board and per pool the same checks written out (``x - x == 0.0``: finite), as these run for every
    # board and pool of every miner every cycle.
    for b in r.boards:
        h = b.hashrate_ths
        if h is not None:
            b.hashrate_ths = (h if h >= 0.0 else 0.0) if h - h == 0.0 and h <= MAX_THS else None
        if b.chips is not None and b.chips < 0:
            b.chips = None
        if b.expected_chips is not None and b.expected_chips < 0:
            b.expected_chips = None
        t = b.temp_c
        if t is not None and t - t != 0.0:
            b.temp_c = None
        t = b.chip_temp_c
        if t is not None and t - t != 0.0:
            b.chip_temp_c = None
    for p in r.pools:
        if p.accepted is not None and p.accepted < 0:
            p.accepted = None
        if p.rejected is not None and p.rejected < 0:
            p.rejected = None
        if p.stale is not None and p.stale < 0:
            p.stale = None
    return r


def _unit_factor(total: float, boards: float) -> float | None:
    """1000 or 0.001 when ``total`` and the boards' sum are the same rate in units a factor 1,000 apart."""
    ratio = total / boards
    for factor in (1000.0, 0.001):
        if factor / 1.5 <= ratio <= factor * 1.5:
            return factor
    return None


def reconcile_units(reading: MinerReading, facts: ModelFacts | None) -> None:
    """A firmware whose total and whose boards' sum disagree by a unit factor (one in GH/s, one in MH/s) must not
    export either 1,000x off unnoticed. With a nameplate, the figure nearer to it is right and the other is
    rescaled to it; without one, which is right cannot be told: the total stands, the boards' rates become
    unknown. Either way a ``parse`` note says so."""
    rates = [b.hashrate_ths for b in reading.boards if b.hashrate_ths]
    total = reading.hashrate_ths
    if not total or not rates or len(rates) != sum(1 for b in reading.boards if b.chips or b.hashrate_ths):
        return
    factor = _unit_factor(total, sum(rates))
    if factor is None:
        return
    nameplate = facts.hashrate_ths if facts else None
    if nameplate:
        boards_right = abs(math.log(sum(rates) / nameplate)) < abs(math.log(total / nameplate))
        if boards_right:
            reading.hashrate_ths = sum(rates)
            used = "the boards' sum (nearer the model's nameplate)"
        else:
            for b in reading.boards:
                if b.hashrate_ths:
                    b.hashrate_ths *= factor
            used = "the total (nearer the model's nameplate); board rates rescaled"
    else:
        for b in reading.boards:
            b.hashrate_ths = None
        used = "the total; board rates unknown (no nameplate to tell which unit is right)"
    message = f"total and board sum disagree by a factor {factor:g}: used {used}"
    reading.missing.append(Note(part="board hashrate", reason="parse", message=message))
    reading.notes.append(f"board hashrate not read (parse): {message}")


def finalize(reading: MinerReading, *, nameplate_power: bool = False) -> MinerReading:
    bound(reading)  # first: nothing after it handles 30,000 pools or a 3 MB URL
    sanitize(reading)
    facts = lookup(reading.model)
    reconcile_units(reading, facts)
    if facts is not None:
        _apply_facts(reading, facts, nameplate_power)
    hr = reading.hashrate_ths
    if reading.power_w is not None and hr:
        reading.efficiency_jth = round(reading.power_w / hr, 3)
    reading.state = derive_state(reading)
    return reading


def _apply_facts(reading: MinerReading, facts: ModelFacts, nameplate_power: bool) -> None:
    reading.make = reading.make or facts.make
    reading.algorithm = facts.algorithm
    if reading.expected_hashrate_ths is None and not reading.sleeping:
        reading.expected_hashrate_ths = facts.hashrate_ths
    seen = {b.index for b in reading.boards}
    # A slot the driver's board data leaves out is a missing board (chips 0); with no board data at all (the
    # firmware did not answer it, or nothing in it could be parsed) every slot is unknown (chips null).
    chips = 0 if reading.boards else None
    for i in range(facts.boards):
        if i not in seen:
            reading.boards.append(Board(index=i, chips=chips))
    reading.boards.sort(key=lambda b: b.index)
    if facts.chips_per_board is not None:
        for b in reading.boards:
            if b.expected_chips is None:
                b.expected_chips = facts.chips_per_board
    if facts.fans == 0:
        reading.fans_rpm = []
    elif len(reading.fans_rpm) > facts.fans:
        reading.fans_rpm = known_fans(reading.fans_rpm[: facts.fans])
    if nameplate_power and reading.power_w is None and facts.power_w is not None and not reading.sleeping:
        reading.power_w = float(facts.power_w)
        reading.power_source = "nameplate"


def derive_state(reading: MinerReading) -> str:
    if reading.sleeping:
        return "sleeping"
    hr = reading.hashrate_ths
    if hr is None:
        return "unknown"
    if hr <= 0:
        return "not_hashing"
    if any(board_missing(b) for b in reading.boards):
        return "degraded"
    expected = reading.expected_hashrate_ths
    if expected and hr < DEGRADED_SHARE * expected:
        return "degraded"
    return "hashing"
