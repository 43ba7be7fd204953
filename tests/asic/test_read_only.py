"""Read-only guarantee (docs/architecture.md, "Read-only" contract): every request a full `farmwatch demo` run sends to every
simulated device — cgminer commands, btminer and Whatsminer API 3 commands, HTTP requests — is on the list of reads.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from agent.demo import run_demo
from collectors.asic.http import GRAPHQL_LOGIN
from simsite import SimSite
from simsite.site import Request

# The contract's reads (docs/architecture.md, "Read-only"), written out here on purpose.
CGMINER_READS = frozenset(
    "summary stats estats litestats devs edevs devdetails pools version config fans temps power profiles "
    "tunerstatus coin events voltageget healthchipget".split()
)
BTMINER_READS = frozenset("get_version get_psu get_miner_info get_error_code status".split())
# HTTP POST is allowed only to log in / obtain a token, or to read-only query endpoints.
_LOGIN_PATH = re.compile(r"(login|logon|auth|token|session|unlock)", re.IGNORECASE)
_WRITE_WORDS = re.compile(
    rb"(mutation|reboot|restart|set[_a-z]*pool|addpool|switchpool|removepool|upgrade|firmware|update|blink|led|"
    rb"power_?target|set_?power|factory|reset)",
    re.IGNORECASE,
)


def _graphql_login(body: bytes) -> bool:
    """The GraphQL login document exactly as the contract allows it (a login), with only username/password."""
    try:
        doc = json.loads(body)
    except ValueError:
        return False
    if not isinstance(doc, dict) or set(doc.get("variables") or {}) - {"username", "password"}:
        return False
    squash = " ".join(str(doc.get("query", "")).split())
    return squash == " ".join(GRAPHQL_LOGIN.split())


def violation(r: Request) -> str | None:
    """Why ``r`` is not a read, or None."""
    if not r.raw:
        # Nothing was sent on this connection: the agent connected, then gave up before writing. Under load the
        # demo's first cycle (300 miners and the simulated site on one event loop) can pass a poll's deadline
        # (0.6 x 3 s = 1.8 s, shorter than the simulator's 2 s read timeout) between connect and write; the
        # simulator then logs the connection with no bytes. No bytes, no write.
        return None
    if r.raw[:4] in (b"GET ", b"POST", b"PUT ", b"DELE", b"PATC", b"HEAD", b"OPTI"):
        method, _, target = r.commands[0].partition(" ") if r.commands else ("?", "", "")
        path = urlsplit(target).path
        body = r.raw.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in r.raw else b""
        if method in ("GET", "HEAD"):
            return None if not _WRITE_WORDS.search(target.encode()) else f"GET to a write endpoint {target}"
        if method != "POST":
            return f"HTTP {method} {target}"
        if _LOGIN_PATH.search(path):
            return None
        if path.rstrip("/").endswith("graphql") and not re.search(rb"\bmutation\b", body, re.IGNORECASE):
            return None  # a Braiins GraphQL query
        if path.rstrip("/").endswith("graphql") and _graphql_login(body):
            return None  # the Braiins GraphQL login (a mutation that only logs in)
        if path == "/cgi-bin/luci":  # the LuCI login form, nothing else
            form = parse_qs(body.decode("latin-1"))
            return None if set(form) == {"luci_username", "luci_password"} else f"LuCI POST {sorted(form)}"
        if path.rstrip("/").endswith("userpanel"):  # IceRiver: post=4 reads the panel
            form = parse_qs(body.decode("latin-1")) | parse_qs(urlsplit(target).query)
            return None if form.get("post") == ["4"] else f"IceRiver userpanel post={form.get('post')}"
        return f"HTTP POST {target} {body[:80]!r}"
    if not r.commands:
        return f"unparsed request {r.raw[:60]!r}"
    for c in r.commands:
        if c in CGMINER_READS or c in BTMINER_READS:
            continue
        if c.startswith("get.") or c == "get_token":  # Whatsminer API 3 reads (and its token for them)
            continue
        return f"command {c!r}"
    return None


def test_violation_rules_catch_writes() -> None:
    def req(raw: bytes, commands: list[str]) -> Request:
        return Request("127.0.0.1", 4028, raw, commands, None, 0.0)

    assert violation(req(b'{"command":"summary+stats"}', ["summary", "stats"])) is None
    assert violation(req(b'{"command":"restart"}', ["restart"]))
    assert violation(req(b'{"command":"summary+addpool"}', ["summary", "addpool"]))
    assert violation(req(b"GET /cgi-bin/get_system_info.cgi HTTP/1.1\r\n\r\n", ["GET /cgi-bin/get_system_info.cgi"])) is None
    assert violation(req(b"POST /cgi-bin/reboot.cgi HTTP/1.1\r\n\r\n", ["POST /cgi-bin/reboot.cgi"]))
    assert violation(req(b"POST /graphql HTTP/1.1\r\n\r\n{\"query\":\"mutation{reboot}\"}", ["POST /graphql"]))
    assert violation(req(b"POST /api/auth HTTP/1.1\r\n\r\n{}", ["POST /api/auth"])) is None
    login = json.dumps({"query": GRAPHQL_LOGIN, "variables": {"username": "root", "password": "x"}}).encode()
    assert violation(req(b"POST /graphql HTTP/1.1\r\n\r\n" + login, ["POST /graphql"])) is None
    wrapped = json.dumps({"query": GRAPHQL_LOGIN + " mutation { bos { reboot } }"}).encode()
    assert violation(req(b"POST /graphql HTTP/1.1\r\n\r\n" + wrapped, ["POST /graphql"]))
    assert violation(req(b"POST /cgi-bin/luci HTTP/1.1\r\n\r\nluci_username=root&luci_password=x",
                         ["POST /cgi-bin/luci"])) is None
    assert violation(req(b"POST /cgi-bin/luci HTTP/1.1\r\n\r\nluci_username=r&luci_password=x&reboot=1",
                         ["POST /cgi-bin/luci"]))
    assert violation(req(b"\x00\x00\x00\x00", ["set.miner.pools"]))
    assert violation(req(b"", [])) is None  # connected, nothing sent
    assert violation(req(b"\x00", []))  # sent something that is no known read


@pytest.mark.slow
async def test_full_demo_run_sends_only_reads() -> None:
    sites: list[SimSite] = []
    demo = asyncio.ensure_future(run_demo(miners=300, seed=4, listen="127.0.0.1:0", interval=3.0,
                                          base_ip="127.214.0.1", duration=12.0, on_site=sites.append))
    done, _ = await asyncio.wait({demo}, timeout=60)
    if not done:  # a shutdown that never finishes: show where every task is stuck, then fail
        stacks = io.StringIO()
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task():
                task.print_stack(limit=6, file=stacks)
        demo.cancel()
        pytest.fail("run_demo(duration=12) did not return within 60 s; tasks:\n" + stacks.getvalue()[-6000:])
    demo.result()
    (site,) = sites
    assert len(site.requests) < site.max_requests  # the log was never trimmed: it holds every request
    assert len({r.ip for r in site.requests}) >= 0.9 * len(site.miners), "the demo did not poll the site"
    bad = sorted({f"{r.ip}:{r.port} {why}" for r in site.requests if (why := violation(r)) is not None})
    assert not bad, bad[:20]
    kinds = {("http" if r.raw[:4] in (b"GET ", b"POST") else "rpc") for r in site.requests}
    assert "rpc" in kinds
