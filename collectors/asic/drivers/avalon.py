"""Canaan Avalon (A10xx-A15xx, Q, Mini 3, Nano 3/3S) on the cgminer RPC, TCP 4028.

What is read, and from where:

==========  ================================================================================================
command     fields
==========  ================================================================================================
summary     ``MHS 1m`` (MH/s, current) -> ``MHS 5s``; never ``MHS av`` (lifetime: an idle Avalon Q still
            shows 44.5 TH/s there); ``Elapsed``
stats       ``STATS[n]."MM IDm"`` (or ``"MM IDm:Summary"`` wrapped in ``'STATS':{...}``), one per module:
            ``GHSspd`` (5 s, GH/s; hashrate when summary is absent), ``GHSmm`` (nominal -> expected),
            ``MGHS[b0 b1 ..]`` (per-board GH/s), ``MTmax[..]`` (per-board hottest chip), ``PVT_Tn[..]`` (chip
            temperatures of board n; their count is the board's chips), ``Fan1..FanN``, ``WALLPOWER`` (W)
            else ``PS[..]`` (PSU telemetry; index 4 is watts), ``MPO`` (power limit), ``SoftOFF``,
            ``SYSTEMSTATU`` ("Work: In Idle" when idle), ``ECHU``/``ECMM`` (error bitmaps), ``Ver``;
            ``HBinfo`` ``'HBn':{PVT_T0[..] ..}`` (chip data per board on the Q)
pools       ``POOLS[]`` (stock cgminer keys)
version     ``PROD``/``MODEL`` (model), ``MAC`` (12 hex without colons on older firmware), ``LVERSION``
==========  ================================================================================================

Power: ``WALLPOWER`` is measured at the wall and is used when present. Firmware of the 1246 era has only the
``PS[err vout .. .. watts .. ..]`` block from the PSU: ``PS[4]`` is the PSU's power reading (3189 W on a 1246 with
``MPO[3200]``), used when the block reports no error (``PS[0] == 0``) and a positive value; all-zero blocks
(``POW_I2C[FAILED]``) and an idle Q's zero give unknown, never 0. Both are ``reported``.

The bracket strings are parsed by :func:`parse_mm`: ``KEY[value]`` pairs separated by spaces, values may hold
spaces, commas, colons and balanced brackets; wrappers like ``'STATS':{...}`` are unwrapped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from math import isfinite
from typing import Any

from ...errors import ParseError
from ..driver import Driver, Replies
from ..fastjson import number_list
from ..reading import Board, MinerErrorEntry, MinerReading
from ..units import hottest, integer, mac, num, plain_floats, rpm, text
from ._cgminer import first, items, pools

NAME = "avalon"
MAKE = "AvalonMiner"

_MM_KEY = re.compile(r"^MM ID(\d{1,9})(?::.*)?$")  # digit runs bounded: int() refuses >4300 digits
_BLOCK = re.compile(r"'([^']*)'\s*:\s*\{")
_FAN = re.compile(r"^Fan(\d{0,9})$")  # "Fan1".."FanN"; 7xx/9xx modules: one "Fan"
_FW = re.compile(r"(\d{8}_[0-9A-Fa-f]+)")
_NO_SENSOR = -273.0
WARMUP_S = 300  # seconds after a (re)start while cgminer's 1-minute average still carries its zero start


# ----------------------------------------------------------------------------------------------- bracket strings


def _closing(text_: str, p: int, open_ch: str, close_ch: str) -> int:
    """Index just past the ``close_ch`` that closes an ``open_ch`` just before ``p`` (nesting counted), -1 when
    it never closes. Jumps bracket to bracket with str.find: a character loop here was ~0.5 ms per Avalon poll,
    its largest single cost."""
    depth = 1
    while True:
        close = text_.find(close_ch, p)
        if close < 0:
            return -1
        nested = text_.find(open_ch, p, close)
        if nested >= 0:
            depth += 1
            p = nested + 1
        else:
            depth -= 1
            p = close + 1
            if depth == 0:
                return p


# One ``key[value]`` with no bracket inside either: an Avalon MM string is ~50 of these, none nested.
_PAIR = re.compile(r"([^\[\]]*)\[([^\[\]]*)\]")


def parse_brackets(text_: str) -> dict[str, str]:
    """``Ver[1246-83] SYSTEMSTATU[Work: In Work, Hash Board: 3 ] MGHS[1 2 3]`` -> {"Ver": "1246-83", ...}.

    Values end at the matching ``]`` (nested brackets are kept inside the value); a key is the text between
    the previous value and its ``[`` (so ``Nonce Mask[25]`` keeps its space); an unterminated value runs to
    the end. The first occurrence of a key wins.
    """
    pairs = _PAIR.findall(text_)
    # Every bracket in one of the pairs: nothing nested, nothing unterminated, and each pair starts where the one
    # before it ended, so the pairs are what the bracket walk below finds, in one C call instead of ~50 steps
    # (an Avalon poll's largest single cost). Anything else takes the walk.
    if len(pairs) != text_.count("[") or len(pairs) != text_.count("]"):
        return _walk_brackets(text_)
    out: dict[str, str] = {}
    for raw_key, value in pairs:
        key = (raw_key.split("{")[-1] if "{" in raw_key else raw_key).strip().strip("}'\",: ")
        if key and key not in out:
            out[key] = value.strip()
    return out


def _walk_brackets(text_: str) -> dict[str, str]:
    """parse_brackets() bracket by bracket, nesting counted (what the fast path hands over)."""
    out: dict[str, str] = {}
    i, n = 0, len(text_)
    while i < n:
        open_at = text_.find("[", i)
        if open_at < 0:
            break
        key = text_[i:open_at].split("{")[-1].strip().strip("}'\",: ")
        p = _closing(text_, open_at + 1, "[", "]")
        value = text_[open_at + 1 : p - 1] if p >= 0 else text_[open_at + 1 :]
        p = p if p >= 0 else n
        if key and key not in out:
            out[key] = value.strip()
        i = p
    return out


def split_blocks(text_: str) -> dict[str, str]:
    """``'STATS':{...}`` / ``'HB0':{...} 'HB1':{...}`` -> {"STATS": "...", "HB0": "..."}; {} when unwrapped."""
    out: dict[str, str] = {}
    pos = 0
    while True:
        m = _BLOCK.search(text_, pos)
        if m is None:
            break
        p = _closing(text_, m.end(), "{", "}")
        out.setdefault(m.group(1), text_[m.end() : p - 1] if p >= 0 else text_[m.end() :])
        pos = p if p >= 0 else len(text_)
    return out


def parse_mm(value: Any) -> dict[str, str]:
    """One ``MM IDn`` string (plain or ``'STATS':{...}``-wrapped) as a dict of bracket values."""
    if not isinstance(value, str):
        return {}
    blocks = split_blocks(value)
    if blocks:
        merged: dict[str, str] = {}
        for body in blocks.values():
            for k, v in parse_brackets(body).items():
                merged.setdefault(k, v)
        return merged
    return parse_brackets(value)


def numbers(value: str | None) -> list[float | None]:
    """Space-separated numbers; positions are kept (``nan``/garbage -> None)."""
    if value is None:
        return []
    tokens = value.split()
    if "_" not in value:
        plain = plain_floats(tokens)  # the common case: every token a finite plain number
        if plain is not None:
            return plain  # type: ignore[return-value]  # list is invariant; no None in it
    out: list[float | None] = []
    append = out.append
    for tok in tokens:
        # A plain number (hundreds per module: one per chip) is float() alone; anything else, and "1_000" which
        # float() would read differently from num(), goes through num().
        if "_" not in tok:
            try:
                f = float(tok)
            except ValueError:
                pass
            else:
                append(f if isfinite(f) else None)
                continue
        append(num(tok))
    return out


def _scalar(mm: Mapping[str, str], key: str) -> float | None:
    vals = numbers(mm.get(key))
    return vals[0] if vals else None


def _temp(value: float | None) -> float | None:
    """Avalon temperatures: -273 and 0 mean "no sensor / no data"."""
    if value is None or value == 0 or value <= _NO_SENSOR:
        return None
    return hottest([value])


# ----------------------------------------------------------------------------------------------- modules


class _Module:
    """One MM (miner module) of a stats reply, with the per-board chip data that belongs to it."""

    def __init__(self, mm: dict[str, str], hb: dict[int, dict[str, str]]) -> None:
        self.mm = mm
        self.hb = hb
        self._chip_temps: dict[int, list[float] | None] = {}  # parsed once: boards() asks for each several times

    def board_count(self) -> int:
        rates = self.mm.get("MGHS")
        if rates is not None:
            return len(numbers(rates))
        return len(self.hb) or sum(1 for k in self.mm if re.fullmatch(r"PVT_T\d+", k))

    def chip_temps(self, board: int) -> list[float] | None:
        if board not in self._chip_temps:
            self._chip_temps[board] = self._read_chip_temps(board)
        return self._chip_temps[board]

    def _read_chip_temps(self, board: int) -> list[float] | None:
        raw = self.mm.get(f"PVT_T{board}")
        if raw is None and board in self.hb:
            block = self.hb[board]
            raw = block.get(f"PVT_T{board}") or next(
                (v for k, v in block.items() if k.startswith("PVT_T")), None
            )
        if raw is None:
            return None
        fast = number_list(raw) if isinstance(raw, str) else None
        if fast is not None:
            return fast  # type: ignore[return-value]  # ints and floats, compared and counted alike below
        return [v for v in numbers(raw) if v is not None]

    def boards(self, first_index: int) -> list[Board]:
        if self.board_count() == 0:
            # 7xx-9xx modules (one per AUC chain slot) report no per-board data (no MGHS, no PVT_Tn): the
            # module is the unit, one row, its current rate and chip count unknown (GHSmm is nominal), its
            # hottest chip ``TMax``. ``Temp`` is the module's inlet air, not a board temperature.
            return [Board(index=first_index, chip_temp_c=_temp(_scalar(self.mm, "TMax")))]
        rates = numbers(self.mm.get("MGHS"))
        tmax = numbers(self.mm.get("MTmax"))
        count = self.board_count()
        single = count == 1
        out: list[Board] = []
        for b in range(count):
            rate = rates[b] if b < len(rates) else None
            temps = self.chip_temps(b)
            if temps is None:
                chips = None
            elif not temps or min(temps) > _NO_SENSOR:  # the usual case: count the zeros in C, not each chip
                chips = len(temps) - temps.count(0)
            else:
                chips = sum(1 for t in temps if t != 0 and t > _NO_SENSOR)
            if chips is None and rate is not None and rate <= 0 and any(
                self.chip_temps(other) for other in range(count) if other != b
            ):
                # Other boards report per-chip temperatures and this one reports none while hashing
                # nothing: the board is absent (contract: a missing board has chips 0).
                chips = 0
            chip_temp = _temp(tmax[b]) if b < len(tmax) else None
            if chip_temp is None and temps:
                chip_temp = hottest([t for t in temps if t != 0] if 0 in temps else temps)
                if chip_temp is not None:
                    chip_temp = float(chip_temp)  # the fast reading keeps integers as ints
            board_temp = None
            if single:
                # The Q/Mini have one board with inlet/outlet sensors on it.
                board_temp = hottest(
                    [t for t in (_temp(_scalar(self.mm, "HBITemp")), _temp(_scalar(self.mm, "HBOTemp"))) if t]
                )
            out.append(
                Board(
                    index=first_index + b,
                    hashrate_ths=None if rate is None else rate * 1e-3,
                    chips=chips,
                    temp_c=board_temp,
                    chip_temp_c=chip_temp,
                )
            )
        return out

    def fans(self) -> list[int | None]:
        found = {int(m.group(1) or 1): k for k in self.mm if k[:3] == "Fan" and (m := _FAN.match(k))}
        if not found:
            return []
        # A number missing between listed fans (Fan1, Fan3) is a slot the module does not report: unknown,
        # and the fans after it keep their places.
        return [rpm(self.mm[found[n]]) if n in found else None for n in range(1, max(found) + 1)]

    def power(self) -> float | None:
        wall = _scalar(self.mm, "WALLPOWER")
        if wall is not None and wall > 0:
            return wall
        ps = numbers(self.mm.get("PS"))
        if len(ps) > 4 and ps[0] == 0 and ps[4] is not None and ps[4] > 0:
            return ps[4]
        return None

    def sleeping(self) -> bool:
        soft = _scalar(self.mm, "SoftOFF")
        status = self.mm.get("SYSTEMSTATU", "")
        return bool(soft) or "idle" in status.lower()

    def errors(self, first_index: int) -> list[MinerErrorEntry] | None:
        """Error bitmaps ``ECHU`` (per board) and ``ECMM`` (controller); None when the block has neither."""
        if "ECHU" not in self.mm and "ECMM" not in self.mm:
            return None
        out: list[MinerErrorEntry] = []
        # A 7xx-9xx module is one row of the reading: its ECHU entries are the boards inside that module.
        where = f"module {first_index} " if self.board_count() == 0 else ""
        for b, code in enumerate(numbers(self.mm.get("ECHU"))):
            if code:
                c = int(code)
                board = b if where else first_index + b
                out.append(MinerErrorEntry(code=c, message=f"{where}hash board {board} error bits 0x{c:x}"))
        ecmm = _scalar(self.mm, "ECMM")
        if ecmm:
            c = int(ecmm)
            out.append(MinerErrorEntry(code=c, message=f"{where}controller error bits 0x{c:x}"))
        return out


def _hb_blocks(value: Any) -> dict[int, dict[str, str]]:
    if not isinstance(value, str):
        return {}
    out: dict[int, dict[str, str]] = {}
    for name, body in split_blocks(value).items():
        m = re.fullmatch(r"HB(\d{1,9})", name.strip())
        if m:
            out[int(m.group(1))] = parse_brackets(body)
    return out


def modules(stats: Mapping[str, Any] | None) -> list[_Module]:
    """Every MM of a stats/estats/litestats reply, in STATS order then MM ID order, each module once.

    An AUC controller that lost and found modules again lists the same module (same ``DNA``) under several AUC
    entries, the stale copies with a shorter ``Elapsed`` (the 9xx capture: 50 entries for 20 modules). Only
    the longest-running entry of each DNA is kept: summing the ghosts would report 2.5x the nominal rate and
    30 phantom fans."""
    out: list[_Module] = []
    for entry in items(stats, "STATS"):
        # startswith first: a STATS entry has dozens of keys and only its MM IDs need the pattern.
        keyed = sorted((int(m.group(1)), k) for k in entry if k[:5] == "MM ID" and (m := _MM_KEY.match(k)))
        hb = _hb_blocks(entry.get("HBinfo"))
        for _, key in keyed:
            mm = parse_mm(entry[key])
            if mm:
                out.append(_Module(mm, hb if len(keyed) == 1 else {}))
    return _distinct(out)


def _distinct(mods: list[_Module]) -> list[_Module]:
    best: dict[str, int] = {}
    for i, mod in enumerate(mods):
        dna = mod.mm.get("DNA", "").strip()
        if not dna:
            continue
        if dna not in best or (_scalar(mod.mm, "Elapsed") or 0) > (_scalar(mods[best[dna]].mm, "Elapsed") or 0):
            best[dna] = i
    keep = set(best.values())
    return [m for i, m in enumerate(mods) if i in keep or not m.mm.get("DNA", "").strip()]


# ----------------------------------------------------------------------------------------------- identity


def _clean_name(raw: str) -> str | None:
    """One model name from a ``MODEL``/``PROD`` value or the code before the first ``-`` of a module's ``Ver``:

    - 7xx-9xx: ``Ver[7411706-...]``, ``Ver[8411804-...]``, ``Ver[9211809-...]``: three-digit model + YYMM -> 741;
    - 10xx-15xx: ``Ver[1047-...]``, ``Ver[1246-83-...]``, ``1126pro`` -> 1047, 1246, 1126 Pro;
    - ``Q``, ``Mini3``, ``nano3``, ``Nano3s`` -> Q, Mini 3, Nano 3, Nano 3S."""
    s = re.sub(r"^avalon\s*(?:miner)?", "", " ".join(raw.split()), flags=re.IGNORECASE).strip(" -_")
    dated = re.fullmatch(r"A?([6-9]\d{2})\d{4}", s)
    if dated:
        return f"Avalon {dated.group(1)}"
    number = re.fullmatch(r"A?(1\d{3}|[6-9]\d{2})\s*(pro)?\w*", s, flags=re.IGNORECASE)
    if number:
        return f"Avalon {number.group(1)}" + (" Pro" if number.group(2) else "")
    named = re.fullmatch(r"(mini|nano)\s*(\d+)\s*(s?)", s, flags=re.IGNORECASE)
    if named:
        return f"Avalon {named.group(1).capitalize()} {named.group(2)}{named.group(3).upper()}"
    if re.fullmatch(r"[A-Za-z]{1,2}\d?", s):
        return f"Avalon {s.upper()}"
    return None


def model_name(version: Mapping[str, Any], mods: list[_Module]) -> str | None:
    """``PROD "Avalon Q"``/``MODEL "Q"`` -> "Avalon Q"; "Mini3" -> "Avalon Mini 3"; MM ``Ver[1246-..]`` -> "Avalon 1246"."""
    stated = [c for c in (text(version.get("MODEL")), text(version.get("PROD"))) if c]
    for raw in stated:
        name = _clean_name(raw)
        if name:
            return name
    codes = [mod.mm.get("Ver", "").split("-", 1)[0].split("_", 1)[0] for mod in mods]
    names = [n for n in (_clean_name(c) for c in codes if c) if n]
    if names:
        # An AUC chain may mix models (the 8xx capture: one 841 and two 821): the one most modules are.
        return max(dict.fromkeys(names), key=names.count)
    return next((c for c in stated + codes if c), None)


def _firmware_version(version: Mapping[str, Any], mods: list[_Module]) -> str | None:
    lver = text(version.get("LVERSION")) or text(version.get("VERSION"))  # Nano 3: VERSION
    if lver:
        return lver
    for mod in mods:
        m = _FW.search(mod.mm.get("Ver", ""))
        if m:
            return m.group(1)
        if mod.mm.get("Ver"):
            return mod.mm["Ver"]
    return None


# ----------------------------------------------------------------------------------------------- parse


def parse(replies: Replies, device: str) -> MinerReading:
    summary = first(replies.get("summary"), "SUMMARY")
    stats = replies.get("stats") or replies.get("estats") or replies.get("litestats")
    mods = modules(stats)
    if not summary and not mods:
        raise ParseError("neither a summary nor an MM stats string in the replies")
    version = first(replies.get("version"), "VERSION")
    dev = first(replies.get("devs"), "DEVS")

    boards: list[Board] = []
    fans: list[int | None] = []
    errors: list[MinerErrorEntry] | None = None
    powers: list[float] = []
    limits: list[float] = []
    nominal: list[float] = []
    for mod in mods:
        mod_errors = mod.errors(len(boards))
        if mod_errors is not None:
            errors = (errors or []) + mod_errors
        boards.extend(mod.boards(len(boards)))
        fans.extend(mod.fans())
        p = mod.power()
        if p is not None:
            powers.append(p)
        mpo = _scalar(mod.mm, "MPO")
        if mpo is not None and mpo > 0:
            limits.append(mpo)
        mm_nominal = _scalar(mod.mm, "GHSmm")
        if mm_nominal is not None and mm_nominal > 0:
            nominal.append(mm_nominal)

    hashrate = _mhs(summary, "MHS 1m")
    if (integer(summary.get("Elapsed")) or WARMUP_S) < WARMUP_S and _mhs(summary, "MHS 5s"):
        # cgminer's "MHS 1m" is a decaying average that starts from zero: two minutes after a start it still
        # reads ~80 % of the rate (the 741 capture: 42.6 vs 52.1 TH/s at Elapsed 118), a false "degraded".
        hashrate = _mhs(summary, "MHS 5s")
    if hashrate is None:
        hashrate = _mhs(dev, "MHS 1m")
    if hashrate is None:
        hashrate = _mhs(summary, "MHS 5s")
    if hashrate is None and mods:
        spd = [_scalar(m.mm, "GHSspd") for m in mods]
        if all(s is not None for s in spd):
            hashrate = sum(s or 0.0 for s in spd) * 1e-3
    if hashrate == 0:
        # MGHS is an average that outlives the work: a module that hashes nothing has no board hashing.
        for b in boards:
            if b.hashrate_ths:
                b.hashrate_ths = 0.0

    sleeping = bool(mods) and all(m.sleeping() for m in mods)
    power = sum(powers) if powers and len(powers) == len(mods) else None

    uptime = integer(summary.get("Elapsed"))
    if uptime is None and mods:
        uptime = integer(_scalar(mods[0].mm, "Elapsed"))
    if uptime is None:
        uptime = integer(first(stats, "STATS").get("Elapsed"))

    return MinerReading(
        device=device,
        driver=NAME,
        make=MAKE,
        model=model_name(version, mods),
        firmware="stock",
        firmware_version=_firmware_version(version, mods),
        mac=mac(version.get("MAC")),
        hashrate_ths=hashrate,
        expected_hashrate_ths=sum(nominal) * 1e-3 if nominal and len(nominal) == len(mods) else None,
        power_w=power,
        power_source="reported" if power is not None else None,
        fans_rpm=fans,
        boards=boards,
        pools=pools(replies.get("pools")),
        uptime_s=uptime,
        errors=errors,
        sleeping=sleeping,
        power_limit_w=sum(limits) if limits else None,
    )


def _mhs(entry: Mapping[str, Any], key: str) -> float | None:
    value = num(entry.get(key)) if entry else None
    return None if value is None else value * 1e-6


DRIVER = Driver(
    name=NAME,
    # Avalon firmware calls itself "cgminer"; AVALON appears in devdetails (Name/Driver), version (PROD) and
    # stats (ID "AVA100"/"AVALON0" and the MM strings). Checked last among stock firmwares so that no other
    # firmware's reply that happens to mention the word is taken for an Avalon.
    # 7xx-9xx AUC controllers name no "Avalon" anywhere (stats ID "AV70", cgminer description): their per-module
    # "MM IDn" strings are Canaan's alone.
    signatures=("AVALON", '"MM ID'),
    web_signatures=("avalon",),
    commands=("summary", "stats", "pools"),
    parse=parse,
    identity_commands=("version",),
    join=True,
    priority=95,
)
