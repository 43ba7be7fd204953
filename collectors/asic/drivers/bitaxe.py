"""Bitaxe and other ESP-Miner (AxeOS) boards: HTTP ``GET /api/system/info`` on port 80, no login.

What is read (ESP-Miner openapi; units per key):

- hashrate: ``hashRate`` (GH/s); expected: ``expectedHashrate`` (GH/s, newer AxeOS), else
  ``smallCoreCount * asicCount * frequency`` (MH/s, the firmware's own estimate).
- power: ``power`` (W, the board's INA measurement: "reported").
- one board (``asicCount`` chips): ``temp`` (ASIC, chip_temp_c), ``vrTemp`` (the VR, temp_c).
- fans: ``fanrpm``, and ``fan2rpm`` on boards with a second fan (one slot each, in that order).
- pool: ``stratumURL`` + ``stratumPort`` (host and port are separate fields), ``stratumUser``,
  ``sharesAccepted``/``sharesRejected`` (per session, not per pool).
- identity: the device model (``deviceModel``: "Supra", "Gamma", "NerdQAxe++"), from ``/api/system/asic``
  (AxeOS 2.5+, NerdQAxe firmware) or ``/api/system/info`` where the firmware puts it there; the ASIC chip
  (``ASICModel`` "BM1368") is the model only when the firmware names no device model (older AxeOS: the chip
  does not tell a Supra from a Hex, so it is not guessed). ``macAddr`` (dashes on some versions), ``hostname``,
  ``version``/``axeOSVersion``; no serial number. ``/api/system/asic`` is identity: read at the first poll and
  once per identity interval; a firmware without it (404) keeps the rest of the reading, with a note.
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


ASIC_PATH = "/api/system/asic"


async def fetch(ctx: FetchContext) -> dict[str, Any]:
    port = ctx.web_port(80)
    replies: dict[str, Any] = {"system/info": (await ctx.get(port, PATH)).json()}
    part = "identity (/api/system/asic)"
    if ctx.due("system/asic"):
        asic = await ctx.optional(part, ctx.get(port, ASIC_PATH))
        ctx.remember("system/asic", asic.json() if asic is not None else None)
        ctx.state["system/asic-note"] = next((n for n in ctx.notes if n.part == part), None)
    if ctx.state.get("system/asic") is not None:
        replies["system/asic"] = ctx.state["system/asic"]
    elif (missing := ctx.state.get("system/asic-note")) is not None:
        ctx.note(missing.part, missing.reason, missing.message)  # still missing: the model is the chip's name
    return replies


def device_model(info: dict[str, Any], asic: Any) -> str | None:
    """The board's model name as the firmware gives it ("Supra", "NerdQAxe++"), else the ASIC chip name."""
    for source in (asic, info):
        if isinstance(source, dict):
            name = text(source.get("deviceModel"))
            if name:
                return " ".join(name.split())
    return text(info.get("ASICModel")) or (text(asic.get("ASICModel")) if isinstance(asic, dict) else None)


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
    fans = [rpm(info.get(key)) for key in ("fanrpm", "fan2rpm") if key in info]
    model = device_model(info, replies.get("system/asic"))
    return MinerReading(
        device=device,
        driver=NAME,
        make="NerdAxe" if (model or "").lower().startswith("nerd") else "Bitaxe",
        model=model,
        firmware="axeos",
        firmware_version=text(info.get("axeOSVersion")) or text(info.get("version")),
        mac=mac(info.get("macAddr")),
        hostname=text(info.get("hostname")),
        hashrate_ths=hashrate,
        expected_hashrate_ths=expected or None,
        power_w=power,
        power_source="reported" if power is not None else None,
        fans_rpm=fans if any(f is not None for f in fans) else [],
        boards=[board],
        pools=pools,
        uptime_s=integer(info.get("uptimeSeconds")),
    )


DRIVER = Driver(
    name=NAME,
    signatures=("AXEOS", "ESP-MINER"),
    web_signatures=("axeos", "bitaxe", "nerdqaxe", "nerdaxe"),  # ESP-Miner forks serve the same API
    commands=(),
    parse=parse,
    fetch=fetch,
    port=80,
    priority=60,
    make="Bitaxe",
)
