"""Loopback servers that answer from recorded replies for the web and API 3 firmwares: an HTTP server
(path -> body, optional Digest or token check) and a Whatsminer API 3 server (cmd/param -> body). Every request
is recorded so tests can prove that only reads were sent."""

from __future__ import annotations

import asyncio
import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from simsite import http as simhttp
from tests.support.replay import PACE, LoopbackServer, deliver


@dataclass
class ReplayWeb:
    routes: Mapping[str, bytes]  # "/path" (with query when it matters) -> body
    digest: tuple[str, str, str] | None = None  # realm, user, password
    digest_qop: bool = True  # False: an RFC 2069 challenge (no qop), as a device fishing for a password sends
    authorizations: list[str] = field(default_factory=list)  # every Authorization header received
    login: Mapping[str, bytes] = field(default_factory=dict)  # POST path -> body (logins)
    host: str = "127.0.0.1"
    port: int = 0
    requests: list[tuple[str, str]] = field(default_factory=list)
    pace: tuple[int, float] | None = PACE  # see server.PACE
    chunked: bool = False  # Transfer-Encoding: chunked instead of Content-Length (one chunk per piece)
    _runner: web.AppRunner | None = None

    async def _send(self, request: web.Request, body: bytes, status: int = 200,
                    headers: Mapping[str, str] | None = None) -> web.StreamResponse:
        resp = web.StreamResponse(status=status, headers={"Content-Type": "application/json", **(headers or {})})
        if self.chunked and request.version >= (1, 1):  # never to HTTP/1.0 (the identification probe)
            resp.enable_chunked_encoding()
        else:
            resp.content_length = len(body)
        await resp.prepare(request)
        size, gap = self.pace if self.pace is not None else (max(1, len(body)), 0.0)
        for at in range(0, len(body), size):
            if at:
                await asyncio.sleep(gap)
            await resp.write(body[at : at + size])
        await resp.write_eof()
        return resp

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path_qs))
        body = await request.read()
        if "Authorization" in request.headers:
            self.authorizations.append(request.headers["Authorization"])
        if self.digest is not None:
            raw = simhttp.HttpRequest(request.method, request.path, dict(request.query),
                                      {k.lower(): v for k, v in request.headers.items()}, body)
            if not simhttp.digest_ok(raw, *self.digest):
                realm = self.digest[0]
                qop = ', qop="auth"' if self.digest_qop else ""
                return web.Response(status=401, headers={
                    "WWW-Authenticate": f'Digest realm="{realm}", nonce="abc123"{qop}, algorithm=MD5'})
        if request.method == "POST" and request.path in self.login:
            return await self._send(request, self.login[request.path], headers={"Set-Cookie": "session=s1; Path=/"})
        found = self.routes.get(request.path_qs, self.routes.get(request.path))
        if found is None:
            return web.Response(status=404, text="not found")
        return await self._send(request, found)

    async def __aenter__(self) -> ReplayWeb:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


@dataclass
class ReplayApi3(LoopbackServer):
    replies: Mapping[str, bytes]  # "cmd" or "cmd.param" -> body (JSON, unframed)
    host: str = "127.0.0.1"
    port: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    pace: tuple[int, float] | None = PACE
    _server: asyncio.Server | None = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            (size,) = struct.unpack("<I", await reader.readexactly(4))
            req = json.loads(await reader.readexactly(size))
            self.requests.append(req)
            key = req.get("cmd", "") + (f".{req['param']}" if req.get("param") else "")
            body = self.replies.get(key) or json.dumps({"code": -1, "msg": "invalid cmd"}).encode()
            await deliver(writer, struct.pack("<I", len(body)) + body, self.pace)
        finally:
            writer.close()

