"""Stock Antminer web CGI (HTTP Digest, port 80), used by the ``antminer`` driver next to the RPC.

Bodies (captures in research/asic.md):

- ``/cgi-bin/get_system_info.cgi``: ``minertype``, ``macaddr`` (validated: a sanitized "3M" is no MAC),
  ``serinum`` (X19+), ``hostname``, ``system_filesystem_version`` (firmware version). Identity: read rarely.
- ``/cgi-bin/get_miner_conf.cgi``: ``bitmain-work-mode`` "1" = sleep (the operator's sleep mode).
- ``/cgi-bin/stats.cgi`` (X19+; also Bitmain-derived clones such as Elphapex): ``STATUS`` is an object,
  ``INFO.type`` the model, ``STATS[0]``: ``rate_5s``, ``rate_ideal``, ``rate_unit`` ("GH/s", "MH/s"),
  ``fan[]`` (numbers or strings), ``chain[]`` ``{index, rate_real, asic_num, temp_pcb[], temp_chip[], sn}``
  where chip temperatures may be milli-degrees as strings ("25687" = 25.687 °C), ``elapsed``.
- ``/cgi-bin/summary.cgi``: ``SUMMARY[0].status[]`` ``{type, status, code, msg}``; an item whose status is not
  "s" is an error. ``/cgi-bin/pools.cgi``: ``POOLS[]`` with cgminer keys (``url``/``URL`` ...).
- Old firmware (S9/X17): ``/cgi-bin/get_miner_status.cgi`` = ``{summary, pools, devs}`` with every number a
  string, and a broken ``devs[0].freq`` that carries the rest of the bmminer stats as ``k=v,k=v,...|``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..models import lookup
from ..reading import Board, MinerErrorEntry, MinerReading, Pool
from ..units import as_dict, hottest, integer, mac, num, rpm, text, ths, truthy
from . import _bmminer as bm

SYSTEM_INFO = "/cgi-bin/get_system_info.cgi"
MINER_CONF = "/cgi-bin/get_miner_conf.cgi"
STATS = "/cgi-bin/stats.cgi"
SUMMARY = "/cgi-bin/summary.cgi"
POOLS = "/cgi-bin/pools.cgi"
OLD_STATUS = "/cgi-bin/get_miner_status.cgi"


def _milli(values: Any) -> list[float]:
    out: list[float] = []
    for v in values if isinstance(values, list) else []:
        f = num(v)
        if f is None or f == 0:
            continue
        out.append(f / 1000.0 if abs(f) >= 1000 else f)
    return out


def identity(info: Mapping[str, Any] | None) -> dict[str, str | None]:
    info = info or {}
    return {
        "model": bm.strip_vendor(text(info.get("minertype"))),
        "mac": mac(info.get("macaddr")),
        "serial": text(info.get("serinum")),
        "hostname": text(info.get("hostname")),
        "firmware_version": text(info.get("system_filesystem_version")),
    }


def sleeping(conf: Mapping[str, Any] | None) -> bool:
    return str((conf or {}).get("bitmain-work-mode", "")).strip() == "1"


def make_and_algorithm(model: str | None) -> tuple[str, str]:
    name = (model or "").upper()
    if name.startswith("DG"):
        return "Elphapex", "scrypt"  # Elphapex DG1/DG Home: Scrypt
    return "Antminer", bm.algorithm_of(model)


def summary_errors(summary: Any) -> list[MinerErrorEntry] | None:
    """Items of ``summary.cgi`` whose status is not "s"; None (errors not read) without a status list."""
    out: list[MinerErrorEntry] = []
    entries = summary.get("SUMMARY") if isinstance(summary, Mapping) else None
    first = entries[0] if isinstance(entries, list) and entries and isinstance(entries[0], dict) else {}
    status = first.get("status")
    if not isinstance(status, list):
        return None
    for item in status:
        if not isinstance(item, dict) or str(item.get("status", "")).lower() == "s":
            continue
        kind = text(item.get("type")) or "status"
        msg = text(item.get("msg"))
        out.append(MinerErrorEntry(code=integer(item.get("code")) or None, message=f"{kind}: {msg or 'not ok'}"))
    return out


def web_pools(reply: Any) -> list[Pool]:
    raw = reply.get("POOLS") if isinstance(reply, dict) else reply
    out: list[Pool] = []
    for i, p in enumerate(x for x in raw or [] if isinstance(x, dict)) if isinstance(raw, list) else ():
        g = {k.lower(): v for k, v in p.items()}
        st = (text(g.get("status")) or "").lower()
        idx = integer(g.get("index", g.get("pool")))
        out.append(
            Pool(
                url=text(g.get("url")) or "",
                user=text(g.get("user")),
                status="alive" if st == "alive" else "dead" if st in ("dead", "rejecting") else "unknown",
                accepted=integer(g.get("accepted")),
                rejected=integer(g.get("rejected")),
                stale=integer(g.get("stale")),
                index=idx if idx is not None else i,
                active=truthy(g.get("stratum active")) if "stratum active" in g else None,
            )
        )
    return out


def parse_stats(stats: Mapping[str, Any], device: str, driver: str) -> MinerReading:
    """A reading from ``stats.cgi`` alone (pools, summary status and identity are merged by the caller)."""
    info = as_dict(stats.get("INFO"))
    entries = stats.get("STATS")
    data = entries[0] if isinstance(entries, list) and entries and isinstance(entries[0], dict) else {}
    model = bm.strip_vendor(text(info.get("type")))
    make, algorithm = make_and_algorithm(model)
    unit = text(data.get("rate_unit")) or bm.ALGORITHM_RATE_UNIT.get(algorithm, "GH")
    boards: list[Board] = []
    for position, c in enumerate(x for x in data.get("chain") or [] if isinstance(x, dict)):
        idx = integer(c.get("index"))
        chips = integer(c.get("asic_num"))
        rate = ths(c.get("rate_real"), unit)
        present = bool(chips) or bool(rate)
        pcb = _milli(c.get("temp_pcb"))
        chip = _milli(c.get("temp_chip"))
        boards.append(
            Board(
                index=idx if idx is not None else position,
                hashrate_ths=rate if present else None,
                chips=chips,
                temp_c=hottest(pcb) if present else None,
                chip_temp_c=hottest(chip) if present else None,
            )
        )
    rate5 = ths(data.get("rate_5s"), unit)
    ideal = ths(data.get("rate_ideal"), unit)
    raw_fans = data.get("fan")
    fans = [rpm(f) for f in raw_fans] if isinstance(raw_fans, list) else []
    return MinerReading(
        device=device,
        driver=driver,
        make=make,
        model=model,
        algorithm=algorithm,
        firmware="stock",
        firmware_version=text(info.get("CompileTime")) or text(info.get("miner_version")),
        serial=None,
        hashrate_ths=max(rate5, 0.0) if rate5 is not None else None,
        expected_hashrate_ths=ideal or None,
        fans_rpm=fans,
        boards=boards,
        uptime_s=integer(data.get("elapsed")),
    )


def _kv_text(value: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in value.replace("|", ",").split(","):
        key, sep, val = part.partition("=")
        if sep:
            out[key.strip()] = val.strip()
    return out


def parse_old_status(status: Mapping[str, Any], device: str, driver: str, model: str | None) -> MinerReading:
    """``get_miner_status.cgi`` of S9/X17-era firmware: summary, pools and (broken) devs, all strings."""
    summary = as_dict(status.get("summary"))
    devs = [d for d in status.get("devs") or [] if isinstance(d, dict)]
    stats: dict[str, str] = {}
    for d in devs:
        for value in d.values():
            if isinstance(value, str) and "=" in value and "," in value:
                stats.update(_kv_text(value))
    boards: list[Board] = []
    for position, d in enumerate(devs):
        n = integer(d.get("index"))
        n = position + 1 if n is None else n
        chips = integer(d.get("chain_acn"))
        rate = ths(stats.get(f"chain_rate{n}"), "GH")
        chip_t = num(stats.get(f"temp2_{n}"))
        board_t = num(d.get("temp"))
        boards.append(
            Board(index=n - 1, hashrate_ths=rate, chips=chips, temp_c=board_t or None, chip_temp_c=chip_t or None)
        )
    make, algorithm = make_and_algorithm(model)
    # The fanN slots of the embedded stats text, read as the RPC's are (bmminer.fans: the model's populated
    # slots keep their places, a stopped fan among them stays 0); else the devs' own "fan" values.
    facts = lookup(model)
    fans: list[int | None] = bm.fans(stats, facts.fans if facts else None) if any(
        f"fan{k}" in stats for k in range(1, 17)) else []
    if not any(fans):
        fans = [r for d in devs if (r := rpm(d.get("fan")))]
    rate = ths(summary.get("ghs5s"), "GH")
    return MinerReading(
        device=device,
        driver=driver,
        make=make,
        model=model,
        algorithm=algorithm,
        firmware="stock",
        hashrate_ths=max(rate, 0.0) if rate is not None else None,
        fans_rpm=fans,
        boards=boards,
        pools=web_pools(status.get("pools")),
        uptime_s=integer(summary.get("elapsed")),
    )
