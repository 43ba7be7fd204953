"""Stock Antminer (bmminer/cgminer RPC on 4028, X9..X21) and Hiveon-style bmminer replies.

Per cycle one joined request ``summary+stats+pools``; ``version`` is identity (cached).

- hashrate: ``summary`` "GHS 1m" when present, else "GHS 5s" (string on old bmminer), else stats "GHS 5s";
  never "GHS av". Unit per :mod:`._bmminer` (``rate_unit``, else the model's algorithm).
- boards: stats data block ``chain_acnN``/``chain_rateN``/temps, chains 1..4 (X19) or 6..8 (S9, Hiveon) -> 0..
- expected: ``total_rateideal`` in ``rate_unit``; fans: populated ``fanN`` slots; uptime ``Elapsed``.
- model: ``version.Type`` or stats ``Type`` without the "Antminer" prefix (and Hiveon's " Hiveon" suffix);
  firmware_version: ``CompileTime`` (else ``Miner``).
- power: none. Stock RPC reports no watts; Hiveon's ``chain_power`` ("34.65 (AB)") is not watts.
- ``devdetails`` is "Access denied" on stock and is never asked for; ``devs`` (one useless BTM_SOC) neither.
"""

from __future__ import annotations

import re

from ..driver import Driver, Replies
from ..reading import MinerReading
from . import _bmminer as bm

_HIVEON = re.compile(r"\s*\bhiveon\b\s*", re.IGNORECASE)


def model_and_firmware(raw: str | None, sec: bm.Sections) -> tuple[str | None, str]:
    """("S9", "hiveon") from "Antminer S9 Hiveon"; ("S19 Pro", "stock") from "Antminer S19 Pro"."""
    hiveon = bool(raw and _HIVEON.search(raw)) or "rwglr" in str(sec.info.get("BMMiner", "")).lower()
    model = bm.strip_vendor(_HIVEON.sub(" ", raw).strip() if raw else raw)
    return model, ("hiveon" if hiveon else "stock")


def parse(replies: Replies, device: str) -> MinerReading:
    sec = bm.sections(replies)
    model, firmware = model_and_firmware(bm.raw_type(sec), sec)
    return bm.build(
        sec,
        device,
        driver=DRIVER.name,
        firmware=firmware,
        model=model,
        firmware_version=bm.compile_time(sec),
    )


DRIVER = Driver(
    name="antminer",
    # "ANTMINER" is in every stock Type string; custom firmwares on Antminer hardware match first (custom=True).
    signatures=("ANTMINER", "HIVEON", "BMMINER"),
    commands=("summary", "stats", "pools"),
    identity_commands=("version",),
    parse=parse,
    custom=False,
    priority=90,  # the most generic stock signature: other stock drivers' more specific ones go first
)
