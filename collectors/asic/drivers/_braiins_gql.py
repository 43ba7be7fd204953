"""Braiins OS 21.x and Braiins OS+ up to 25.05: the legacy web API, GraphQL on ``POST /graphql``, with the
LuCI admin pages beside it for what GraphQL does not say (the MAC).

Logins: GraphQL ``auth { login }`` (the one mutation the read-only guard lets through, word for word:
:data:`..http.GRAPHQL_LOGIN`) -> ``session_id`` cookie; LuCI ``POST /cgi-bin/luci`` with the
``luci_username``/``luci_password`` form -> its session cookie. Both are kept per miner and redone once on a
401/403 or a GraphQL "unauthorized" error.

Per cycle four read-only query documents, each on its own so that one a release refuses leaves the others
(the fields every release from 21.09 to 25.05 answers; a field a release lacks would fail the whole document,
so nothing newer, e.g. ``hbSerialNumber``, is asked):

- system: ``bos { hostname info { version { full } } uptime { durationS } }`` and ``bosminer.info``:
  ``workSolver { realHashrate { mhs5S } nominalMhs }``, ``fans { name rpm }``,
  ``summary { power { approxConsumptionW limitW } }``.
- boards: ``workSolver.childSolvers``: ``name`` (the chain number as a string, "1".."3" or "6".."8"),
  ``realHashrate.mhs5S``, ``nominalMhs``, ``hwDetails { chips }``, ``temperatures { name degreesC }``.
- pools: ``poolGroups { pools { url user status active shares { acceptedSolutions rejectedSolutions } } }``.
- events: ``events { appeals { kind message timestamp } }``: the notices the dashboard shows now -> ``errors``.

The MAC is identity: ``GET /cgi-bin/luci/admin/network/iface_status/lan`` (``[{"macaddr": ...}]``), re-read
every identity interval; so is the model, which only the RPC's ``devdetails`` names (``Model``). System or boards must answer (they carry the hashrate); pools, events and the MAC
are optional: one that fails leaves that part unknown and a note (``<part> not read (reason): ...``).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from ...errors import AuthError, DeviceError, ParseError
from ..context import FetchContext
from ..driver import Replies
from ..http import graphql_login_body
from ..reading import Board, MinerErrorEntry, MinerReading, Pool
from ..units import as_dict, as_list, hottest, integer, mac, num, rpm, text, ths
from . import _bmminer as bm
from ._weblogin import with_token

QUERIES = {
    "system": "{ bos { hostname info { version { full } } uptime { durationS } } "
              "bosminer { info { workSolver { realHashrate { mhs5S } nominalMhs } fans { name rpm } "
              "summary { power { approxConsumptionW limitW } } } } }",
    "boards": "{ bosminer { info { workSolver { childSolvers { name realHashrate { mhs5S } nominalMhs "
              "hwDetails { chips } temperatures { name degreesC } } } } } }",
    "pools": "{ bosminer { info { poolGroups { name pools { url user status active "
             "shares { acceptedSolutions rejectedSolutions } } } } } }",
    # the dashboard's current notices (an empty list when all is well), not a history
    "events": "{ events { appeals { kind message timestamp } } }",
}
REQUIRED = ("system", "boards")  # at least one of them: they carry the hashrate
LUCI_LAN = "/cgi-bin/luci/admin/network/iface_status/lan"
_UNAUTHORIZED = re.compile(r"unauthori[sz]ed|not logged|login required|forbidden|permission", re.IGNORECASE)


async def _login(ctx: FetchContext, user_password: tuple[str, str]) -> str:
    resp = await ctx.post(ctx.web_port(80), "/graphql", json_body=graphql_login_body(*user_password))
    resp.json()  # not JSON (an HTML page, a 404 body): not this API -> protocol/parse, the next API is tried
    cookie = resp.cookies.get("session_id")
    if not cookie:
        raise AuthError("GraphQL login refused (no session cookie)")
    return cookie


async def _query(ctx: FetchContext, cookie: str, document: str) -> Any:
    resp = await ctx.post(ctx.web_port(80), "/graphql", json_body={"query": document},
                          cookies={"session_id": cookie})
    body = resp.json()
    errors = as_list(as_dict(body).get("errors"))
    if errors and not as_dict(as_dict(body).get("data")):
        message = "; ".join(text(as_dict(e).get("message")) or "error" for e in errors)[:200]
        if _UNAUTHORIZED.search(message):
            raise AuthError(f"GraphQL: {message}")
        raise ParseError(f"GraphQL error: {message}")
    return body


async def fetch(ctx: FetchContext, default_user: str, default_password: str) -> dict[str, Any]:
    """The GraphQL cycle (and the LuCI MAC when due). Raises DeviceError when neither system nor boards answers:
    the firmware has no GraphQL, or the miner is down."""
    creds = ctx.login(default_user, default_password)

    async def login(c: FetchContext) -> str:
        try:
            return await _login(c, creds)
        except AuthError:
            # bOS 21.x and early bOS+ ship root with an empty password: with the documented defaults allowed
            # (no password configured), that default is tried too
            if c.credentials.password is not None:
                raise
            cookie = await _login(c, (creds[0], ""))
            c.state["empty-password"] = True  # LuCI takes the same login
            return cookie

    async def read(cookie: str) -> dict[str, Any]:
        parts = await asyncio.gather(*(_query(ctx, cookie, q) for q in QUERIES.values()), return_exceptions=True)
        out: dict[str, Any] = {}
        failed: list[tuple[str, DeviceError]] = []
        for name, got in zip(QUERIES, parts, strict=True):
            if isinstance(got, AuthError):
                raise got
            if isinstance(got, DeviceError):
                failed.append((name, got))
            elif isinstance(got, BaseException):
                raise got
            else:
                out[f"gql:{name}"] = got
        if not any(f"gql:{name}" in out for name in REQUIRED):
            raise failed[0][1]
        for name, e in failed:
            ctx.note(name, e.reason, f"GraphQL {name} query: {e.message}")
        return out

    replies: dict[str, Any] = await with_token(ctx, login, read, key="gql-session")
    replies.update(await _luci_mac(ctx, (creds[0], "") if ctx.state.get("empty-password") else creds))
    replies.update(await _rpc_model(ctx))
    return replies


async def _rpc_model(ctx: FetchContext) -> dict[str, Any]:
    """The RPC's ``devdetails`` (identity, cached): GraphQL does not name the model, BOSminer's devdetails
    does ("Model": "Antminer S9"), and the model decides the board, chip and fan facts. A closed or silent 4028
    costs at most a fifth of the time left and leaves the model unknown until the next identity interval."""
    if not ctx.due("rpc-devdetails") and "rpc-devdetails" in ctx.state:
        found = ctx.state["rpc-devdetails"]
        return {"rpc:devdetails": found} if found is not None else {}
    found = await ctx.optional("devdetails", ctx.rpc(("devdetails",), join=False), share=0.2)
    reply = (found or {}).get("devdetails")
    ctx.remember("rpc-devdetails", reply)
    return {"rpc:devdetails": reply} if reply is not None else {}


async def _luci_mac(ctx: FetchContext, creds: tuple[str, str]) -> dict[str, Any]:
    """The LAN interface status from LuCI (identity, cached), or a ``mac`` note: the MAC is optional."""
    if not ctx.due("luci-lan") and "luci-lan" in ctx.state:
        return {"luci:lan": ctx.state["luci-lan"]}
    if not ctx.due("luci-failed") and "luci-failed" in ctx.state:
        # failed within this identity interval: not asked again every cycle, still noted
        reason, message = ctx.state["luci-failed"]
        ctx.note("mac", reason, message)
        return {}
    port = ctx.web_port(80)
    try:
        cookies = ctx.state.get("luci-cookies")
        if not cookies:
            resp = await ctx.post(port, "/cgi-bin/luci", allow_status=(302, 303),
                                  form={"luci_username": creds[0], "luci_password": creds[1]})
            cookies = dict(resp.cookies)
            if not cookies:
                raise AuthError("LuCI login refused (no session cookie)")
            ctx.state["luci-cookies"] = cookies
        try:
            body = (await ctx.get(port, LUCI_LAN, cookies=cookies)).json()
        except AuthError:
            ctx.state.pop("luci-cookies", None)
            raise
    except DeviceError as e:
        ctx.remember("luci-failed", (e.reason, f"LuCI {LUCI_LAN}: {e.message}"))
        ctx.note("mac", e.reason, f"LuCI {LUCI_LAN}: {e.message}")
        return {}
    ctx.forget("luci-failed")
    return {"luci:lan": ctx.remember("luci-lan", body)}


# ------------------------------------------------------------------------------------------------- parse

def _data(reply: Any) -> dict[str, Any]:
    d = as_dict(reply)
    return as_dict(d.get("data")) if "data" in d else d


def _solver(reply: Any) -> dict[str, Any]:
    return as_dict(as_dict(as_dict(_data(reply).get("bosminer")).get("info")).get("workSolver"))


def temp_kind(name: Any) -> str | None:
    """"board" or "chip" for a sensor name of any release ("Board", "Max Board", "MAX_BOARD", "Chip", "Max Chip",
    "MAX_CHIP"); inlet/outlet and unknown names are neither. Matched by name: the list order changed too."""
    n = re.sub(r"[\s_]+", " ", str(name or "")).strip().lower()
    if "chip" in n:
        return "chip"
    if "board" in n or "pcb" in n:
        return "board"
    return None


def _board(solver: dict[str, Any], index: int) -> Board:
    temps: dict[str, list[float]] = {"board": [], "chip": []}
    for t in as_list(solver.get("temperatures")):
        t = as_dict(t)
        kind, value = temp_kind(t.get("name")), num(t.get("degreesC"))
        if kind is not None and value is not None and value != 0:  # 0.0 is an unread sensor on these firmwares
            temps[kind].append(value)
    return Board(
        index=index,
        hashrate_ths=ths(as_dict(solver.get("realHashrate")).get("mhs5S"), "MH"),
        chips=integer(as_dict(solver.get("hwDetails")).get("chips")),
        temp_c=hottest(temps["board"]),
        chip_temp_c=hottest(temps["chip"]),
    )


def _pools(reply: Any) -> list[Pool]:
    out: list[Pool] = []
    info = as_dict(as_dict(_data(reply).get("bosminer")).get("info"))
    for group in as_list(info.get("poolGroups")):
        for p in as_list(as_dict(group).get("pools")):
            p = as_dict(p)
            status = _POOL_STATUS.get((text(p.get("status")) or "").lower(), "unknown")
            shares = as_dict(p.get("shares"))
            out.append(Pool(
                url=text(p.get("url")) or "",
                user=text(p.get("user")),
                status=status,
                accepted=integer(shares.get("acceptedSolutions")),
                rejected=integer(shares.get("rejectedSolutions")),
                stale=None,  # this schema has no stale counter
                index=len(out),
                active=p.get("active") if isinstance(p.get("active"), bool) else None,
            ))
    return out


# 24.09+ say ALIVE/DEAD; 21.x says Running/Active for a live pool
_POOL_STATUS = {"alive": "alive", "running": "alive", "active": "alive", "dead": "dead", "rejecting": "dead",
                "offline": "dead", "unreachable": "dead", "disabled": "disabled"}


def appeals(reply: Any) -> list[MinerErrorEntry] | None:
    """The notices the dashboard shows now (``events.appeals``): kind and message; None when not read."""
    if reply is None:
        return None
    found = as_dict(as_dict(_data(reply).get("events"))).get("appeals")
    if not isinstance(found, list):
        return None
    out = []
    for a in (as_dict(x) for x in found):
        kind, message = text(a.get("kind")), text(a.get("message")) or "notice"
        out.append(MinerErrorEntry(code=None, message=f"{kind}: {message}" if kind else message))
    return out


def parse(replies: Replies, device: str, driver: str) -> MinerReading:
    system = replies.get("gql:system")
    solver = _solver(system)
    bos = as_dict(_data(system).get("bos"))
    info = as_dict(as_dict(_data(system).get("bosminer")).get("info"))

    solvers = [as_dict(s) for s in as_list(_solver(replies.get("gql:boards")).get("childSolvers"))]
    numbers = [integer(s.get("name")) for s in solvers]
    base = bm.chain_base([n for n in numbers if n is not None]) if any(n is not None for n in numbers) else 0
    boards = [_board(s, (n - base) if n is not None else k) for k, (s, n) in enumerate(zip(solvers, numbers, strict=True))]

    hashrate = ths(as_dict(solver.get("realHashrate")).get("mhs5S"), "MH")
    if hashrate is None and boards and all(b.hashrate_ths is not None for b in boards):
        hashrate = sum(b.hashrate_ths or 0.0 for b in boards)
    expected = ths(solver.get("nominalMhs"), "MH")
    if expected is None and solvers:
        nominal = [ths(s.get("nominalMhs"), "MH") for s in solvers]
        expected = sum(n for n in nominal if n) if all(nominal) else None
    if hashrate is None and not solvers:
        raise ParseError("Braiins GraphQL answered neither the work solver's hashrate nor its hashboards")

    fans = sorted((as_dict(f) for f in as_list(info.get("fans"))), key=lambda f: integer(f.get("name")) or 0)
    power = as_dict(as_dict(info.get("summary")).get("power"))
    watts, limit = num(power.get("approxConsumptionW")), num(power.get("limitW"))
    lan = as_list(replies.get("luci:lan"))
    details = [as_dict(d) for d in as_list(as_dict(replies.get("rpc:devdetails")).get("DEVDETAILS"))]
    model = bm.strip_vendor(next((text(d.get("Model")) for d in details if text(d.get("Model"))), None))
    return MinerReading(
        device=device,
        driver=driver,
        make="Antminer",
        model=model,  # GraphQL and LuCI do not name it: the RPC's devdetails, when it answers
        algorithm=bm.algorithm_of(model),
        firmware="braiins",
        firmware_version=text(as_dict(as_dict(bos.get("info")).get("version")).get("full")),
        mac=mac(as_dict(lan[0]).get("macaddr")) if lan else None,
        hostname=text(bos.get("hostname")),
        hashrate_ths=max(hashrate, 0.0) if hashrate is not None else None,
        expected_hashrate_ths=expected or None,
        power_w=watts if watts and watts > 0 else None,
        power_source="estimated" if watts and watts > 0 else None,  # "approx": the firmware's own estimate
        power_limit_w=limit if limit and limit > 0 else None,
        fans_rpm=[rpm(f.get("rpm")) for f in fans],
        boards=boards,
        pools=_pools(replies.get("gql:pools")),
        uptime_s=integer(as_dict(bos.get("uptime")).get("durationS")),
        errors=appeals(replies.get("gql:events")),
        notes=[] if model else ["model unknown: Braiins OS GraphQL and LuCI do not state it, nor did the RPC's devdetails"],
    )
