"""MinerVa (MV7/MV8, cgminer 4.10 on TCP 4028): standard cgminer replies with one STATS entry per hash chain.

==========  ================================================================================================
command     fields
==========  ================================================================================================
summary     ``MHS 1m`` (MH/s, current; ``MHS av`` never), ``Elapsed``, ``Netid`` (the MAC, 12 hex digits without
            separators). Its ``Device Rejected%`` is meaningless (26.89 with 1 rejected of 490) and unread.
stats       chains ``C12n`` (``Chain ID`` "1".."4"): ``Chip Count``, ``MHS 1m`` (board rate), ``Temp Avg``
            (board), ``Status``; ``Fan0 Speed``/``Fan1 Speed`` (RPM) repeated on every chain entry: the
            machine's two fans, read once. ``Fan Duty`` is a percentage.
pools       ``POOLS[]``
version     ``Type`` when present (model)
==========  ================================================================================================

The replies name no vendor; the chain entries' ``Name`` does: "C12" is the MV8's chain (as Foreman identifies
it), so a ``"Name": "C12"`` stats entry identifies MinerVa and the model is "MinerVa MV8" unless the firmware
gives a ``Type``. Power, expected hashrate and errors are not reported.
"""

from __future__ import annotations

from ..driver import Driver, Replies
from ..reading import MinerReading
from ..units import integer, mac, text
from . import cgminer as generic
from ._cgminer import first

NAME = "minerva"
MAKE = "MinerVa"
_CHAIN_MODELS = {"C12": "MV8"}  # chain entry Name -> model


def parse(replies: Replies, device: str) -> MinerReading:
    r = generic.parse(replies, device)
    r.driver, r.make, r.algorithm, r.notes = NAME, MAKE, "sha256", [n for n in r.notes if n != generic.NOTE]
    stats = [e for e in generic.stats_entries(replies.get("stats")) if generic.is_chain(e)]
    for board, entry in zip(r.boards, stats, strict=False):
        chain = integer(entry.get("Chain ID"))
        board.index = chain - 1 if chain is not None and chain >= 1 else board.index
        board.temp_c = generic.temperature(entry, ("Temp Avg", "Temp"))
    model = text(r.model) or _CHAIN_MODELS.get(str(stats[0].get("Name", "")).upper() if stats else "")
    r.model = f"{MAKE} {model}" if model and not model.lower().startswith("minerva") else model
    r.mac = mac(first(replies.get("summary"), "SUMMARY").get("Netid"))
    return r


DRIVER = Driver(
    name=NAME,
    signatures=("MINERVA", '"NAME": "C12"'),  # the identification replies are matched as upper-cased JSON
    commands=("summary", "stats", "pools"),
    identity_commands=("version",),
    parse=parse,
    priority=40,
    make=MAKE,
)
