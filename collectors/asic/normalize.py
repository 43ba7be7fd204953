"""Apply model facts to a driver's reading and derive efficiency and ``state`` (DESIGN.md definitions)."""

from __future__ import annotations

from .models import ModelFacts, lookup
from .reading import Board, MinerReading

DEGRADED_SHARE = 0.9  # under 90 % of expected hashrate is "degraded"


def board_missing(board: Board) -> bool:
    return board.chips == 0 or (board.chips is None and not board.hashrate_ths)


def finalize(reading: MinerReading, *, nameplate_power: bool = False) -> MinerReading:
    facts = lookup(reading.model)
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
    for i in range(facts.boards):
        if i not in seen:
            reading.boards.append(Board(index=i, chips=0))
    reading.boards.sort(key=lambda b: b.index)
    if facts.chips_per_board is not None:
        for b in reading.boards:
            if b.expected_chips is None:
                b.expected_chips = facts.chips_per_board
    if facts.fans == 0:
        reading.fans_rpm = []
    elif len(reading.fans_rpm) > facts.fans:
        reading.fans_rpm = reading.fans_rpm[: facts.fans]
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
