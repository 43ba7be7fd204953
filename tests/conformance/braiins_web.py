"""A loopback Braiins OS legacy web server (bOS 21.x, bOS+ up to 25.05): GraphQL on ``POST /graphql`` and the
LuCI admin pages, answering from recorded replies.

It behaves as those releases do where it matters to a reader: the GraphQL login is a mutation that sets a
``session_id`` cookie; a query without that cookie gets GraphQL's "Unauthorized" error; a query asking for
something the release has no recording of gets a GraphQL error (as a field the schema lacks would); LuCI logs in
with its form and a 302 carrying ``sysauth``; every other path is a 404 (no ``/api/v1`` on these releases).
Every request is recorded with its body, so tests can check that only reads (and the logins) were sent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from collectors.asic.http import GRAPHQL_LOGIN
from tests.support.replay_web import ReplayWeb

GQL_COOKIE, LUCI_COOKIE = "gq-1", "lc-1"


def part_of(document: str) -> str:
    """Which recorded reply a query document asks for (its distinguishing field)."""
    if "childSolvers" in document:
        return "boards"
    if "poolGroups" in document:
        return "pools"
    if "appeals" in document:
        return "events"
    return "system"


def _json(value: Any, **kw: Any) -> web.Response:
    return web.Response(body=json.dumps(value).encode(), content_type="application/json", **kw)


@dataclass
class ReplayBraiinsLegacy(ReplayWeb):
    routes: Mapping[str, bytes] = field(default_factory=dict)  # GET path -> body (LuCI pages)
    graphql: Mapping[str, bytes] = field(default_factory=dict)  # "system" / "boards" / "pools" -> reply
    user: str = "root"
    password: str = "root"
    bodies: list[tuple[str, str, Any]] = field(default_factory=list)  # (method, path, decoded body)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        if request.method == "POST" and request.path == "/graphql":
            body = json.loads(raw or b"{}")
            self.requests.append((request.method, request.path_qs))
            self.bodies.append((request.method, request.path, body))
            return self._graphql(request, body)
        if request.method == "POST" and request.path == "/cgi-bin/luci":
            form = _form(raw)
            self.requests.append((request.method, request.path_qs))
            self.bodies.append((request.method, request.path, form))
            if form.get("luci_username") == self.user and form.get("luci_password") == self.password:
                return web.Response(status=302, headers={"Location": "/cgi-bin/luci/",
                                                         "Set-Cookie": f"sysauth={LUCI_COOKIE}; path=/cgi-bin/luci"})
            return web.Response(status=403, text="login failed")
        if request.path.startswith("/cgi-bin/luci/") and request.cookies.get("sysauth") != LUCI_COOKIE:
            self.requests.append((request.method, request.path_qs))
            self.bodies.append((request.method, request.path, None))
            return web.Response(status=403, text="forbidden")
        self.bodies.append((request.method, request.path, None))
        return await super()._handle(request)

    def _graphql(self, request: web.Request, body: Mapping[str, Any]) -> web.Response:
        document = " ".join(str(body.get("query", "")).split())
        if document == " ".join(GRAPHQL_LOGIN.split()):
            v = body.get("variables") or {}
            if v.get("username") == self.user and v.get("password") == self.password:
                return _json({"data": {"auth": {"login": {"void": None}}}},
                             headers={"Set-Cookie": f"session_id={GQL_COOKIE}; Path=/"})
            return _json({"data": {"auth": {"login": {"message": "Invalid username or password"}}}})
        if request.cookies.get("session_id") != GQL_COOKIE:
            return _json({"data": None, "errors": [{"message": "Unauthorized"}]})
        found = self.graphql.get(part_of(document))
        if found is None:
            return _json({"data": None, "errors": [{"message": "Cannot query field on type \"BosminerInfo\""}]})
        return web.Response(body=found, content_type="application/json")


def _form(raw: bytes) -> dict[str, str]:
    return dict(parse_qsl(raw.decode("utf-8", errors="replace")))
