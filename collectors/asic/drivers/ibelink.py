"""iBeLink (BM-N1/N1Max, BM-K1, BM-KS... cgminer 5.x on TCP 4028): one ``DEVS`` entry (a PGA) per hash board.

==========  ================================================================================================
command     fields
==========  ================================================================================================
summary     ``MHS 5s`` (MH/s of the machine's own algorithm: Eaglesong on the N1, Blake2s on the K1 ...; ``MHS
            av`` never), ``Elapsed``, ``Temp1``..``Temp8`` (board temperatures; 0.00 = no such board),
            ``macaddress`` (12 hex digits). ``PWM``/``PWM1..3`` are fan control values, not RPM: fans are
            unknown. ``Power Type`` is the PSU model, not watts. ``Pool Rejected%`` and ``Device Rejected%``
            are garbage (99.48 and 1677.8 while pools say 1.76 %).
devs        one PGA per board: ``Name`` (model, "BM-N1Max"), ``MHS 5s`` (board rate), ``Asics`` (chips),
            ``Chain SN``. ``Temperature`` is 0.00 on every device (not a reading). ``Active`` is a 64-bit mask
            printed as an unsigned integer above 2^63-1 (Python's JSON reads it exactly; it is not used).
pools       ``POOLS[]``
==========  ================================================================================================
"""

from __future__ import annotations

from ..driver import Driver, Replies
from ..reading import MinerReading
from ..units import mac, num, text
from . import cgminer as generic
from ._cgminer import first, items

NAME = "ibelink"
MAKE = "iBeLink"
# Algorithm by model family (iBeLink's product line: N = CKB, K = Kadena, KS = Kaspa, S = Siacoin, D = Dash).
_ALGORITHMS = (("BM-N", "eaglesong"), ("BM-K", "blake2s"), ("BM-KS", "kheavyhash"), ("BM-S", "blake2b"),
               ("BM-D", "x11"))


def algorithm_of(model: str | None) -> str:
    name = (model or "").upper()
    best = ""
    found = "unknown"
    for prefix, algorithm in _ALGORITHMS:
        if name.startswith(prefix) and len(prefix) > len(best):
            best, found = prefix, algorithm
    return found


def parse(replies: Replies, device: str) -> MinerReading:
    r = generic.parse(replies, device)
    summary = first(replies.get("summary"), "SUMMARY")
    devs = items(replies.get("devs"), "DEVS")
    model = next((m for d in devs if (m := text(d.get("Name")))), None) or r.model
    r.driver, r.make, r.notes = NAME, MAKE, [n for n in r.notes if n != generic.NOTE]
    r.model = f"{MAKE} {model}" if model else None
    r.algorithm = algorithm_of(model)
    r.mac = mac(summary.get("macaddress"))
    r.fans_rpm = []  # PWM values only
    for board, dev in zip(r.boards, devs, strict=False):
        t = num(summary.get(f"Temp{board.index + 1}"))
        board.temp_c = t if t is not None and 0 < t < 200 else None
        if str(dev.get("Status", "Alive")) != "Alive" or str(dev.get("Enabled", "Y")) != "Y":
            board.chips, board.hashrate_ths = 0, 0.0  # a dead or disabled chain hashes nothing
    return r


DRIVER = Driver(
    name=NAME,
    signatures=("IBELINK", '"BM-N1', '"BM-K1', '"BM-KS', '"BM-S1'),
    commands=("summary", "devs", "pools"),
    parse=parse,
    priority=40,
    make=MAKE,
)
