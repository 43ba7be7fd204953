"""Ebang Ebit / DWM controllers (soft_v9.x web UI): JSON pages behind a session-cookie login, HTTPS on 443 (HTTP
when the target names port 80 or 8080).

Login ``POST /user/login`` (form ``username``, ``word``, ``yuyan``=1, ``login``) -> session cookie. The status
pages answer only an empty ``POST`` and reply ``{"status": 1, "feedback": {...}}``; all four are reads:

========================  ==========================================================================================
page                      fields
========================  ==========================================================================================
/Cgminer/CgminerStatus    ``fivesecfigure`` "12.44T" (current, unit suffix K/M/G/T/P -> TH/s; ``fiveavg`` and
                          ``averfigure`` are averages), ``accepted``/``rejected`` (the current pool's),
                          ``worktime`` "123:6:37" (h:m:s uptime), ``cgminerstatus`` (the current pool's URL)
/alarm/GetAlarmLoop       ``calValue`` (GH/s the controller calculates from its frequency: expected hashrate),
                          alarms ``eth1Alarm``/``calAlarm``/``poolAlarm``/``tempAlarm`` (non-zero -> errors)
/Status/getsystemstatus   ``productname`` (model), ``systemsoftwareversion``, fans ``devicefan``/``devicefan2``
                          (RPM), board temperatures ``device1temp``..``device3temp`` ("60,55|55,51": sensors
                          per board side, hottest is the board's; 0 = no board there)
/Cgminer/CgminerGetVal    configured pools ``Mip1..3``/``Mwork1..3`` (the current one carries the counters)
========================  ==========================================================================================

``device4temp`` repeats the alarm loop's ``tmpValue`` (the controller's overall reading), not a fourth board.
Chips, power, MAC and serial are not on these pages (null). Boards are those with a temperature reading.
"""

from __future__ import annotations

import re
from typing import Any

from ...errors import AuthError, ParseError
from .. import http
from ..context import FetchContext
from ..driver import Driver, Replies
from ..reading import Board, MinerErrorEntry, MinerReading, Pool
from ..units import as_dict, duration_s, hottest, integer, num, rpm, text, ths

NAME = "ebang"
MAKE = "Ebang"
LOGIN = "/user/login"
PAGES = {"status": "/Cgminer/CgminerStatus", "alarm": "/alarm/GetAlarmLoop", "system": "/Status/getsystemstatus",
         "pools": "/Cgminer/CgminerGetVal"}
_RATE = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?)\s*([KMGTP]?)", re.IGNORECASE)
_ALARMS = (("eth1Alarm", "network"), ("calAlarm", "hashrate"), ("poolAlarm", "pool"), ("tempAlarm", "temperature"))


def rate_ths(value: Any) -> float | None:
    """TH/s from "12.44T" / "980.5G" (a bare number is GH/s, the page's unit elsewhere)."""
    m = _RATE.match(str(value)) if value is not None else None
    if m is None:
        return None
    return ths(m.group(1), (m.group(2) or "G").upper() + "H")


def _feedback(replies: Replies, key: str) -> dict[str, Any]:
    return as_dict(as_dict(replies.get(key)).get("feedback"))


def parse(replies: Replies, device: str) -> MinerReading:
    status = _feedback(replies, "status")
    if not status:
        raise ParseError("CgminerStatus reply has no feedback")
    alarm, system, conf = _feedback(replies, "alarm"), _feedback(replies, "system"), _feedback(replies, "pools")
    boards: list[Board] = []
    for n in (1, 2, 3):
        temps = [t for t in (num(x) for x in re.split(r"[,|]", str(system.get(f"device{n}temp", "")))) if t]
        hot = hottest(temps, floor=0.0)
        if hot is not None:
            boards.append(Board(index=n - 1, temp_c=hot))
    current = text(status.get("cgminerstatus"))
    pools: list[Pool] = []
    for k in (1, 2, 3):
        url = text(conf.get(f"Mip{k}"))
        if not url:
            continue
        mine = url == current
        pools.append(Pool(url=url, user=text(conf.get(f"Mwork{k}")), index=k - 1, active=mine,
                          status="alive" if mine else "unknown",
                          accepted=integer(status.get("accepted")) if mine else None,
                          rejected=integer(status.get("rejected")) if mine else None))
    if not pools and current:
        pools.append(Pool(url=current, index=0, active=True, status="alive",
                          accepted=integer(status.get("accepted")), rejected=integer(status.get("rejected"))))
    errors = [MinerErrorEntry(code=integer(alarm.get(k)), message=f"{what} alarm")
              for k, what in _ALARMS if integer(alarm.get(k))] if alarm else None
    product = text(system.get("productname"))
    expected = ths(alarm.get("calValue"), "GH")
    return MinerReading(
        device=device,
        driver=NAME,
        make=MAKE,
        model=f"{MAKE} {product}" if product else None,
        firmware="ebang",
        firmware_version=text(system.get("systemsoftwareversion")),
        hashrate_ths=rate_ths(status.get("fivesecfigure")),
        expected_hashrate_ths=expected or None,
        fans_rpm=[rpm(system.get(k)) for k in ("devicefan", "devicefan2") if k in system],
        boards=boards,
        pools=pools,
        uptime_s=duration_s(status.get("worktime")),
        errors=errors,
    )


def _base(ctx: FetchContext) -> tuple[str, int]:
    port = ctx.session.port
    if port in (80, 8080, 8081):
        return "http", port
    return "https", 443


async def fetch(ctx: FetchContext) -> dict[str, Any]:
    scheme, port = _base(ctx)

    async def login() -> dict[str, str]:
        user, password = ctx.login("admin", None)  # no documented default: a configured password only
        resp = await http.request("POST", http.url(ctx.host, port, LOGIN, scheme), deadline=ctx.deadline,
                                  form={"username": user, "word": password, "yuyan": "1", "login": "Login",
                                        "get_password": ""})
        if not resp.cookies:
            raise AuthError("Ebang login refused (no session cookie)")
        return dict(resp.cookies)

    cookies = ctx.state.get("cookies") or await login()
    out: dict[str, Any] = {}
    for attempt in (1, 2):
        try:
            for key, path in PAGES.items():
                resp = await http.request("POST", http.url(ctx.host, port, path, scheme), deadline=ctx.deadline,
                                          cookies=cookies)
                body = resp.json()
                if not isinstance(body, dict) or "feedback" not in body:  # the login page: session expired
                    raise AuthError(f"Ebang {path}: not logged in")
                out[key] = body
            break
        except AuthError:
            if attempt == 2:
                raise
            cookies = await login()
    ctx.state["cookies"] = cookies
    return out


DRIVER = Driver(
    name=NAME,
    signatures=("EBANG",),
    web_signatures=("ebang",),
    commands=(),
    parse=parse,
    fetch=fetch,
    port=443,
    priority=60,
    make=MAKE,
)
