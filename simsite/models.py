"""Model facts the simulator uses: hashboard slots, chips per board, populated fan slots, nameplate hashrate and
power. Bitmain/MicroBT/Canaan public specifications and the public captures; where a chip count is not published
(marked ``# unverified``) the number is a plausible stand-in and only affects simulated replies."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ModelSpec:
    key: str  # short model name as in ``poll --json`` "model"
    make: str
    boards: int
    chips: int  # per board
    fans: int  # populated fan slots
    ths: float  # nameplate TH/s
    watts: float  # nameplate W at that hashrate


def _m(key: str, make: str, boards: int, chips: int, fans: int, ths: float, watts: float) -> ModelSpec:
    return ModelSpec(key, make, boards, chips, fans, ths, watts)


MODELS: dict[str, ModelSpec] = {
    m.key: m
    for m in (
        _m("S9", "Antminer", 3, 63, 2, 13.5, 1323),
        _m("S17", "Antminer", 3, 48, 4, 56.0, 2520),
        _m("S19", "Antminer", 3, 76, 4, 95.0, 3250),
        _m("S19j Pro", "Antminer", 3, 126, 4, 100.0, 3050),
        _m("S19j No PIC", "Antminer", 3, 88, 4, 90.0, 3100),  # unverified nameplate
        _m("S19 Pro", "Antminer", 3, 114, 4, 110.0, 3250),
        _m("S19 XP", "Antminer", 3, 110, 4, 140.0, 3010),
        _m("S19k Pro", "Antminer", 3, 77, 4, 120.0, 2760),
        _m("S21", "Antminer", 3, 108, 4, 200.0, 3500),
        _m("T21", "Antminer", 3, 108, 4, 190.0, 3610),
        _m("M30S", "Whatsminer", 3, 111, 2, 88.0, 3344),  # VE20 bin
        _m("M30S+", "Whatsminer", 3, 156, 2, 100.0, 3400),  # unverified chip count
        _m("M50", "Whatsminer", 3, 105, 2, 114.0, 3306),  # VH50 bin
        _m("M50S", "Whatsminer", 3, 135, 2, 126.0, 3276),  # VH50 bin
        _m("M60", "Whatsminer", 3, 215, 2, 172.0, 3422),  # VK30 bin
        _m("M60S", "Whatsminer", 3, 245, 2, 186.0, 3441),  # VK30 bin
        _m("1246", "Avalon", 3, 120, 4, 90.0, 3420),
        _m("1366", "Avalon", 3, 120, 4, 130.0, 3250),  # unverified chip count
        _m("1466", "Avalon", 3, 120, 4, 150.0, 3230),  # unverified chip count
        _m("1566", "Avalon", 3, 160, 4, 185.0, 3420),  # unverified chip count
    )
}
