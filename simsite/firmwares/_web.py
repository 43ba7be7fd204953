"""Shared parts of the simulated HTTP personalities: routing, logins that are a pure function of the miner
(so every poll of every process agrees), and value helpers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from .. import http as h
from ..cgminer import Firmware, Handler, Parsed
from ..miner import SimMiner, Snapshot
from ..models import MODELS, ModelSpec

Route = Callable[[SimMiner, Snapshot, h.HttpRequest], bytes]

NOT_FOUND = h.response(404, {"error": "not found"})


def add_models(*specs: ModelSpec) -> None:
    for spec in specs:
        MODELS.setdefault(spec.key, spec)


def token(m: SimMiner, kind: str) -> str:
    return f"{kind}-{m.seed:x}-{m.index:x}"


def dashed_mac(m: SimMiner) -> str:
    return m.mac.replace(":", "-")


def bitmain_cgi(m: SimMiner, req: h.HttpRequest, realm: str, pages: dict[str, Callable[[], Any]]) -> bytes:
    """The Bitmain-style ``/cgi-bin/*.cgi`` web API (stock Antminer and firmwares derived from it): HTTP Digest
    with root/root in ``realm``, reads only (GET), each path's JSON from ``pages`` (built only when asked), else a
    plain-text 404."""
    if not h.digest_ok(req, realm, "root", "root"):
        return h.digest_challenge(realm, token(m, "nonce"))
    if req.method != "GET":
        return h.response(405, {"error": "method"})
    page = pages.get(req.path)
    if page is None:
        return h.response(404, "not found", content_type="text/plain")
    return h.response(200, page())


def bitmain_pools(snap: Snapshot, dead: str) -> dict[str, Any]:
    """``pools.cgi``: lower-case keys, "Alive" or ``dead`` (the word differs between firmwares), no active flag."""
    return {"STATUS": {"STATUS": "S"}, "POOLS": [
        {"index": p.index, "url": p.url, "user": p.user, "status": "Alive" if p.alive else dead,
         "accepted": p.accepted, "rejected": p.rejected, "stale": p.stale} for p in snap.pools]}


def board_rows(snap: Snapshot) -> list[Any]:
    return [b for b in snap.boards]


class WebFirmware(Firmware):
    """A firmware that answers HTTP on its main port (``web_port``) and nothing cgminer-shaped."""

    reads: ClassVar[dict[str, Handler]] = {}
    web_port: ClassVar[int] = 80
    page: ClassVar[str] = "<html><head><title>Miner</title></head><body></body></html>"

    def setup(self, miner: SimMiner) -> None:
        miner.port = self.web_port
        miner.extra["desc"] = self.name

    def routes(self) -> dict[tuple[str, str], Route]:
        return {}

    def answer_raw(self, miner: SimMiner, snap: Snapshot, raw: bytes) -> bytes | None:
        if not h.is_http(raw):
            return None
        req = h.parse(raw)
        if req is None:
            return h.response(400, "bad request", content_type="text/plain")
        if req.method == "GET" and req.path == "/":
            return h.response(200, self.page, content_type="text/html")
        if self.lacks(miner, req.path):
            return NOT_FOUND
        route = self.routes().get((req.method, req.path))
        if route is None:
            known = any(path == req.path for _m, path in self.routes())
            return h.response(405, {"error": "method"}) if known else NOT_FOUND
        return route(miner, snap, req)

    def answer(self, miner: SimMiner, snap: Snapshot, p: Parsed) -> str:
        # A cgminer request to a web server: what its HTTP parser says to bytes that are not HTTP.
        return "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class RestBeside:
    """Mixin for an RPC firmware that also serves a REST API on port 80 (Braiins OS+, VNish): the RPC replies
    come from the base class, HTTP requests go to ``rest``; truth adds the identity the REST API exposes."""

    driver: ClassVar[str]

    def rest_reply(self, miner: SimMiner, snap: Snapshot, req: h.HttpRequest) -> bytes:
        raise LookupError(f"{type(self).__name__} serves no REST API")

    def extra_ports(self, miner: SimMiner) -> tuple[int, ...]:
        return (80,)

    def answer_raw(self, miner: SimMiner, snap: Snapshot, raw: bytes) -> bytes | None:
        req = h.parse(raw) if h.is_http(raw) else None
        return self.rest_reply(miner, snap, req) if req is not None else None

    def truth_hooks(self, miner: SimMiner, snap: Snapshot) -> dict[str, Any]:
        from ..truth import board

        return {"driver": self.driver, "mac": miner.mac, "serial": miner.serial, "hostname": miner.hostname,
                "power_source": "estimated", "boards": [board(b) for b in snap.boards]}
