"""Innosilicon (A9 ZMaster and other "innominer" firmware, DragonMint/T-series on cgminer 4.10, the 2018 sgminer
4.4 A9 firmware) on the cgminer RPC, TCP 4028.

==========  ================================================================================================
command     fields
==========  ================================================================================================
summary     current hashrate (``MHS 1m``, else ``MHS 5s``; never ``MHS av``), ``Elapsed``. The A9 (Equihash)
            prints Sol/s under the ``MHS`` label (51451.63 on a 50 kSol/s machine): for an Equihash model the
            figure is read as Sol/s whatever the label says. The summary's percentage and difficulty fields
            (``Device Hardware%`` 1584 ...) are garbage on this firmware and are not read.
stats       chains ``HLTn``/``DTnn`` (or sgminer's ``STATS0``..``STATSn``, an entry without chips being an empty
            slot): ``Num active chips`` (chips), ``Temp`` (board), ``Temp max`` (hottest chip). The per-chain
            ``MHS av`` is a since-boot average, and on the A9 not even in the summary's unit (57x): never read.
            ``Fan duty`` is a percentage; no RPM is reported, so fans are unknown.
pools       ``POOLS[]`` (or ``POOL0``..``POOLn`` on sgminer 4.4)
version     ``Type`` when the firmware has one; else the model from the description ("innominer a9-1.1.0")
==========  ================================================================================================

With no summary (or one with only ``MHS av``) the hashrate is null with a note. T3-generation firmware prints
the input power as ``power`` (W) on its stats entries: read as ``reported`` where present. Expected hashrate,
errors, MAC and serial are not in these replies (the web API has them, behind a login; not read).
"""

from __future__ import annotations

import re

from ...errors import ParseError
from ..driver import Driver, Replies
from ..models import lookup
from ..reading import Board, MinerReading
from ..units import integer, num, ths
from . import cgminer as generic
from ._cgminer import current_rate, description_parts, first, has_average_only, rate_keys

NAME = "innosilicon"
MAKE = "Innosilicon"
_DESC_MODEL = re.compile(r"^([A-Za-z]+\d+[A-Za-z+]*)-")  # "a9-1.1.0" -> "a9"
# Innosilicon's product lines by model family (the "...Master" names): the algorithm when the model has no facts
# row. T-series is SHA-256.
_FAMILIES = (("A4", "scrypt"), ("A5", "x11"), ("A6", "scrypt"), ("A8", "cryptonight"), ("A9", "equihash"),
             ("A10", "ethash"), ("A11", "ethash"), ("D9", "blake256"), ("S11", "blake2b"), ("T", "sha256"))
_FAMILY = re.compile(r"^INNOSILICON\s+([A-Z]+\d*)")


def algorithm_of(model: str | None) -> str:
    m = _FAMILY.match((model or "").upper())
    family = m.group(1) if m else ""
    for prefix, algorithm in _FAMILIES:
        if family == prefix or (prefix == "T" and family.startswith("T")):
            return algorithm
    return "unknown"


def model_name(replies: Replies) -> str | None:
    """"Innosilicon A9" from the version Type or the description's firmware tag; None when neither names it."""
    raw = generic.model_of(replies)
    if raw is None:
        _name, version = description_parts(replies.get("summary") or replies.get("stats") or replies.get("version"))
        m = _DESC_MODEL.match(version or "")
        raw = m.group(1).upper() if m else None
    if raw is None:
        return None
    raw = re.sub(r"^(innosilicon|inno)\s*", "", raw.strip(), flags=re.IGNORECASE)
    return f"{MAKE} {raw}"


def summary_rate(summary: dict[str, object], algorithm: str) -> float | None:
    if algorithm != "equihash":
        return current_rate(summary)
    keys = rate_keys(summary)
    for window in ("1m", "30s", "5s"):
        if window in keys:
            value = ths(keys[window][1], "H")  # Sol/s, whatever the label's prefix
            if value is not None:
                return max(value, 0.0)
    return None


def parse(replies: Replies, device: str) -> MinerReading:
    summary = first(replies.get("summary"), "SUMMARY")
    stats = generic.stats_entries(replies.get("stats"))
    if not summary and not stats:
        raise ParseError("no summary or stats section in the replies")
    model = model_name(replies)
    facts = lookup(model)
    algorithm = facts.algorithm if facts else algorithm_of(model)
    boards: list[Board] = []
    for i, e in enumerate(e for e in stats if generic.is_chain(e)):
        chain = integer(e.get("Chain ID"))
        boards.append(Board(index=chain if chain is not None else i, chips=generic.chip_count(e),
                            temp_c=generic.temperature(e, ("Temp",)),
                            chip_temp_c=generic.temperature(e, ("Temp max",))))
    hashrate = summary_rate(summary, algorithm) if summary else None
    notes: list[str] = []
    if hashrate is None and (not summary or has_average_only(summary)):
        notes.append(generic.AVERAGE_ONLY_NOTE if summary or any(has_average_only(e) for e in stats)
                     else "no summary reply: current hashrate unknown")
    name, version = description_parts(replies.get("summary") or replies.get("stats") or replies.get("version"))
    # T3-generation firmware prints the machine's input power as "power" (W) on its stats entries.
    power = next((p for e in stats if (p := num(e.get("power"))) is not None and p > 0), None)
    return MinerReading(
        device=device,
        driver=NAME,
        make=MAKE,
        model=model,
        algorithm=algorithm,
        firmware=name,
        firmware_version=version,
        hashrate_ths=hashrate,
        power_w=power,
        power_source="reported" if power is not None else None,
        boards=boards,
        pools=generic.pool_list(replies.get("pools")),
        uptime_s=integer(summary.get("Elapsed")) if summary else integer(
            next((e.get("Elapsed") for e in stats if "Elapsed" in e), None)),
        notes=notes,
    )


DRIVER = Driver(
    name=NAME,
    signatures=("INNOMINER", "INNOSILICON", "DRAGONMINT"),
    web_signatures=("dragonmint",),
    commands=("summary", "stats", "pools"),
    identity_commands=("version",),
    parse=parse,
    priority=40,
    make=MAKE,
)
