"""Bitaxe and other ESP-Miner (AxeOS) boards: HTTP ``GET /api/system/info`` on port 80, no login.

What is read (ESP-Miner openapi; units per key):

- hashrate: ``hashRate`` (GH/s); expected: ``expectedHashrate`` (GH/s, newer AxeOS), else
  ``smallCoreCount * asicCount * frequency`` (MH/s, the firmware's own estimate).
- power: ``power`` (W, the board's INA measurement: "reported").
- one board (``asicCount`` chips): ``temp`` (ASIC, chip_temp_c), ``vrTemp`` (the VR, temp_c).
- fans: ``fanrpm`` (one fan).
- pool: ``stratumURL`` + ``stratumPort`` (host and port are separate fields), ``stratumUser``,
  ``sharesAccepted``/``sharesRejected`` (per session, not per pool).
- identity: ``ASICModel`` ("BM1366") as model, ``macAddr`` (dashes on some versions), ``hostname``,
  ``version``/``axeOSVersion``; no serial number.
- uptime ``uptimeSeconds``. Errors: not available from this firmware.
"""

from __future__ import annotations

from typing import Any

from ...errors import ParseError
from ..context import FetchContext
from ..driver import Driver, Replies
from ..reading import Board, MinerReading, Pool
from ..units import integer, mac, num, rpm, text, ths

NAME = "bitaxe"
PATH = "/api/system/info"


async def fetch(ctx: FetchContext) -> dict[str, Any]:
    return {"system/info": (await ctx.get(ctx.web_port(80), PATH)).json()}


def _positive(value: Any) -> float | None:
    f = num(value)
    return f if f is not None and f > 0 else None


def parse(replies: Replies, device: str) -> MinerReading:
    info = replies.get("system/info")
    if not isinstance(info, dict) or "hashRate" not in info:
        raise ParseError("/api/system/info has no hashRate")
    hashrate = ths(info.get("hashRate"), "GH")
    expected = ths(info.get("expectedHashrate"), "GH")
    if not expected:
        cores, asics, freq = num(info.get("smallCoreCount")), num(info.get("asicCount")), num(info.get("frequency"))
        expected = cores * asics * freq * 1e-6 if cores and asics and freq else None
    power = _positive(info.get("power"))
    chips = integer(info.get("asicCount"))
    board = Board(
        index=0,
        hashrate_ths=hashrate,
        chips=chips,
        temp_c=_positive(info.get("vrTemp")),
        chip_temp_c=_positive(info.get("temp")),
    )
    pools: list[Pool] = []
    host = text(info.get("stratumURL"))
    if host:
        port = integer(info.get("stratumPort"))
        url = host if "://" in host else f"stratum+tcp://{host}"
        if port and not url.rsplit("/", 1)[-1].count(":"):
            url = f"{url}:{port}"
        pools.append(
            Pool(
                url=url,
                user=text(info.get("stratumUser")),
                status="alive" if hashrate else "unknown",
                accepted=integer(info.get("sharesAccepted")),
                rejected=integer(info.get("sharesRejected")),
                index=0,
                active=not bool(integer(info.get("isUsingFallbackStratum"))),
            )
        )
    fan = rpm(info.get("fanrpm"))
    return MinerReading(
        device=device,
        driver=NAME,
        make="Bitaxe",
        model=text(info.get("ASICModel")),
        firmware="axeos",
        firmware_version=text(info.get("axeOSVersion")) or text(info.get("version")),
        mac=mac(info.get("macAddr")),
        hostname=text(info.get("hostname")),
        hashrate_ths=hashrate,
        expected_hashrate_ths=expected or None,
        power_w=power,
        power_source="reported" if power is not None else None,
        fans_rpm=[fan] if fan is not None else [],
        boards=[board],
        pools=pools,
        uptime_s=integer(info.get("uptimeSeconds")),
    )


DRIVER = Driver(
    name=NAME,
    signatures=("AXEOS", "ESP-MINER"),
    commands=(),
    parse=parse,
    fetch=fetch,
    port=80,
    priority=60,
    make="Bitaxe",
)
