"""HTTP endpoints: /metrics (pre-rendered, gzip), /healthz, /sd, /probe, and a landing page at /.

The server runs on its own thread and event loop. Measured at 20,000 miners (bench/scale.py), the polling loop
is CPU-bound for most of a cycle and each of its iterations handles thousands of socket events; a scrape
served from that loop waited 1-2 s for its turn. /metrics and /healthz only read a finished, immutable
rendering and a few counters, so they are answered here at once; /sd and /probe need the agent's state
and run as coroutines on the agent's loop; the floor view (/, /miner/, /api/v1/: agent/floor/) reads the store
from the server's worker threads and never waits for the agent's loop.

Protection (issue 8): optional TLS and basic auth from ``--web.config.file`` (exporter-toolkit format), request
line and header sizes bounded, bodies refused (every endpoint is GET, or ``POST /-/reload`` without a body) but a
window POSTed to /api/v1/curtailment (4 KiB at most, agent/curtailment_api.py), at most ``MAX_IN_FLIGHT`` requests at
once (the rest get 503 at once), no static files or directories: anything but the routes below is 404.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import socket
import ssl
import threading
import zlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from aiohttp import web

from . import curtailment_api, webguard
from .exposition import OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE
from .floor import routes as floor
from .probe import MAX_PROBES, ProbeDenied
from .targets import TargetError
from .webconfig import WebConfig

if TYPE_CHECKING:
    from .exposition import Rendered
    from .probe import Prober


class Agent(floor.Agent, curtailment_api.Agent, Protocol):
    """What the HTTP server reads of the agent (a protocol: the agent builds the server, so naming the ``Agent``
    class here would make the two import each other; tests/project/test_imports.py)."""

    @property
    def prober(self) -> Prober | None: ...
    @property
    def reload_error(self) -> str: ...
    def rendered(self) -> Rendered: ...
    def health(self) -> tuple[bool, str]: ...
    def sd_targets(self) -> list[dict[str, object]]: ...
    async def reload(self) -> bool: ...

log = logging.getLogger("farmwatch.http")

MAX_REQUEST_BYTES = 16 * 1024
MAX_LINE_BYTES = 4096  # request line and each header line
MAX_IN_FLIGHT = 32  # scrapes (/metrics, /healthz, /sd, the floor pages) being worked on at once
SEND_PIECE = 16 * 1024  # compressed bytes per write when sending plain text: ~200 KiB of it
# Compressed bytes per write when sending the gzip body as it is. Each write takes the GIL back from the polling
# loop and the render thread; at 16 KiB a 9 MB body under a GIL-busy thread took 59-78 ms to scrape, at 64 KiB
# 21-24 ms (bench/scrape_contention.py). What a slow reader leaves unsent is copied into its transport's buffer,
# so this is also the memory a stalled client may hold: 64 KiB x MAX_CONNECTIONS = 16 MiB at most.
SEND_PIECE_GZIP = 64 * 1024
RELEASE_IN_FLIGHT: web.RequestKey[Callable[[], None]] = web.RequestKey("release_in_flight")
T = TypeVar("T")


def parse_listen(address: str) -> tuple[str, int]:
    """":10428" -> ("0.0.0.0", 10428); "127.0.0.1:9" -> ("127.0.0.1", 9); "[::1]:9" -> ("::1", 9)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"listen address {address!r} is not [HOST]:PORT")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)


def wants_openmetrics(accept: str) -> bool:
    return "application/openmetrics-text" in accept


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def build_app(agent: Agent, web_config: WebConfig | None = None,
              on_agent_loop: Callable[[Coroutine[Any, Any, Any]], Awaitable[Any]] | None = None) -> web.Application:
    """The application. ``on_agent_loop`` runs a coroutine on the agent's loop (when the server has its own)."""
    cfg = web_config or WebConfig()
    # Requests in flight by kind, checked and counted here, on the server's one thread, in one step: probes
    # (which wait on a device for up to its timeout) have their own limit and never take a scrape's place.
    in_flight = {"scrape": 0, "probe": 0}
    limits = {"scrape": MAX_IN_FLIGHT, "probe": agent.prober.limit if agent.prober is not None else MAX_PROBES}

    async def call(coro: Coroutine[Any, Any, T]) -> T:
        return await (on_agent_loop(coro) if on_agent_loop is not None else coro)

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if (request.content_length or request.headers.get("Transfer-Encoding")) \
                and not curtailment_api.accepts_body(request):
            return web.Response(status=413, text="request bodies are not accepted\n")
        kind = "probe" if request.path == "/probe" else "scrape"
        if in_flight[kind] >= limits[kind]:
            what = "probes" if kind == "probe" else "requests"
            return web.Response(status=503, text=f"too many {what} in flight\n", headers={"Retry-After": "1"})
        in_flight[kind] += 1
        held = True

        def release() -> None:  # once: when the handler starts sending a finished body, or at the end
            nonlocal held
            if held:
                held = False
                in_flight[kind] -= 1

        request[RELEASE_IN_FLIGHT] = release
        try:
            if not curtailment_api.own_auth(request) and not await cfg.authorized(request.headers.get("Authorization")):
                return web.Response(status=401, text="unauthorized\n",
                                    headers={"WWW-Authenticate": 'Basic realm="farmwatch"'})
            return await handler(request)
        finally:
            release()

    app = web.Application(client_max_size=MAX_REQUEST_BYTES, middlewares=[guard])

    async def server_header(request: web.Request, response: web.StreamResponse) -> None:
        response.headers["Server"] = "farmwatch"  # not aiohttp's "Python/3.x aiohttp/3.y.z": no versions to look up

    app.on_response_prepare.append(server_header)

    async def metrics(request: web.Request) -> web.StreamResponse:
        rendered = agent.rendered()
        om = wants_openmetrics(request.headers.get("Accept", ""))
        gz = "gzip" in request.headers.get("Accept-Encoding", "")
        headers = {"Content-Type": OPENMETRICS_CONTENT_TYPE if om else TEXT_CONTENT_TYPE}
        if gz:
            headers["Content-Encoding"] = "gzip"
        size = rendered.size_openmetrics if om else rendered.size_text
        return await send_body(request, rendered.body(openmetrics=om, gzipped=True), headers,
                               gunzip=not gz, plain_size=size or None)

    async def healthz(request: web.Request) -> web.Response:
        ok, detail = agent.health()
        return web.Response(status=200 if ok else 503, text=detail + "\n")

    async def sd(request: web.Request) -> web.Response:
        async def targets() -> list[dict[str, object]]:
            return agent.sd_targets()

        return web.Response(text=json.dumps(await call(targets())), content_type="application/json")

    async def probe(request: web.Request) -> web.Response:
        prober = agent.prober
        if prober is None:
            return web.Response(status=404, text="probing is not configured\n")
        target_text = request.query.get("target", "")
        module = request.query.get("module", "auto")
        if not target_text:
            return web.Response(status=400, text="target parameter is missing\n")
        from collectors.asic.drivers import registry

        if module not in ("auto", "snmp") and module not in registry():
            return web.Response(status=400, text="unknown module; use auto, snmp or a driver name\n")
        try:
            if module == "snmp":  # a PDU, UPS, sensor or switch of the snmp: targets
                snmp_target, snmp_group = prober.check_snmp(target_text)
            else:
                target, group = prober.check(target_text)
        except ProbeDenied as e:
            log.info("probe refused: %s", e)
            return web.Response(status=403, text=f"forbidden: {e}\n")
        except TargetError as e:
            return web.Response(status=400, text=f"bad target: {e}\n")
        timeout = snmp_group.timeout if module == "snmp" else group.timeout
        header = request.headers.get("X-Prometheus-Scrape-Timeout-Seconds")
        if header:
            with contextlib.suppress(ValueError):
                timeout = max(0.5, min(timeout, float(header) - 0.5))
        if module == "snmp":
            rendered = await call(prober.probe_snmp(snmp_target, snmp_group, timeout))
        else:
            rendered = await call(prober.probe(target, group, module, timeout))
        om = wants_openmetrics(request.headers.get("Accept", ""))
        return web.Response(body=rendered.body(openmetrics=om, gzipped=False),
                            headers={"Content-Type": OPENMETRICS_CONTENT_TYPE if om else TEXT_CONTENT_TYPE})

    async def reload(request: web.Request) -> web.Response:
        """Prometheus's ``POST /-/reload``: re-read the config now, as SIGHUP does; 200 when it was applied,
        500 with the problems when the previous config keeps running. Behind the same TLS and basic auth as
        every other endpoint; a GET is 405 (a link or a crawler must not trigger it)."""
        ok = await call(agent.reload())
        if ok:
            return web.Response(text="config reloaded\n")
        return web.Response(status=500, text=f"failed to reload config: {agent.reload_error}\n")

    app.router.add_get("/metrics", metrics)
    app.router.add_post("/-/reload", reload)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/sd", sd)
    app.router.add_get("/probe", probe)
    floor.add_routes(app, agent)  # "/", /miner/..., /api/v1/... (agent/floor/routes.py)
    curtailment_api.add_routes(app, agent, cfg)  # /api/v1/curtailment: windows declared over HTTP
    return app


async def send_body(request: web.Request, gz_body: bytes, headers: dict[str, str], *, gunzip: bool,
                    plain_size: int | None) -> web.StreamResponse:
    """Send the finished, shared (never copied) gzip body, or its plain text decompressed piece by piece as it is
    sent: memory per client is one piece plus the socket's buffers, whatever the body's size and however slowly
    the client reads. A client that takes no piece for SEND_STALL_S is dropped. The scrape's in-flight slot is
    given back once sending starts (the connection cap bounds senders)."""
    resp = web.StreamResponse(headers=headers)
    if not gunzip:
        resp.content_length = len(gz_body)
    elif plain_size is not None:
        resp.content_length = plain_size
    try:
        await resp.prepare(request)
        release = request.get(RELEASE_IN_FLIGHT)
        if release is not None:
            release()
        if request.method == "HEAD":  # the headers only (a StreamResponse would send what it is given)
            await resp.write_eof()
            return resp
        view = memoryview(gz_body)
        inflate = zlib.decompressobj(wbits=31) if gunzip else None
        step = SEND_PIECE if inflate is not None else SEND_PIECE_GZIP
        for at in range(0, len(view), step):
            piece = view[at : at + step]
            data = inflate.decompress(piece) if inflate is not None else piece
            if data:
                await asyncio.wait_for(resp.write(data), webguard.SEND_STALL_S)
        if inflate is not None:
            rest = inflate.flush()
            if rest:
                await asyncio.wait_for(resp.write(rest), webguard.SEND_STALL_S)
        await resp.write_eof()
    except (TimeoutError, ConnectionError):
        if request.transport is not None:
            request.transport.abort()  # a reader that stopped reading, or one that left
    return resp


class WebServer:
    """The HTTP server on its own thread and event loop; start() returns once the socket is bound."""

    def __init__(self, agent: Agent, listen: str, web_config: WebConfig | None) -> None:
        self.agent = agent
        self.listen = listen
        self.web_config = web_config or WebConfig()
        self.bound: tuple[str, int] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._agent_loop: asyncio.AbstractEventLoop | None = None
        self._ssl: ssl.SSLContext | None = None
        self._listener: socket.socket | None = None
        self._accepting: asyncio.Task[None] | None = None
        self.max_connections, _polling = webguard.budget()
        self.guard: webguard.ConnectionGuard | None = None

    def replace_config(self, new: WebConfig) -> None:
        """SIGHUP: new users take effect at once; new certificate files are loaded into the running TLS
        context (new connections use them). Turning TLS on or off needs a restart."""
        if (new.tls is None) != (self.web_config.tls is None):
            log.warning("reload: enabling or disabling TLS needs a restart; keeping the current TLS setting")
            new.tls = self.web_config.tls
        elif new.tls is not None and self._ssl is not None:
            self._ssl.load_cert_chain(str(new.tls.cert_file), str(new.tls.key_file))
        self.web_config.users = new.users
        self.web_config.tls = new.tls
        self.web_config.reset_cache()

    async def _on_agent_loop(self, coro: Coroutine[Any, Any, T]) -> T:
        assert self._agent_loop is not None
        fut = asyncio.run_coroutine_threadsafe(coro, self._agent_loop)
        return await asyncio.wrap_future(fut)

    async def _setup(self) -> tuple[str, int]:
        host, port = parse_listen(self.listen)
        app = build_app(self.agent, self.web_config, self._on_agent_loop)
        self._runner = web.AppRunner(app, access_log=None, max_line_size=MAX_LINE_BYTES,
                                     max_field_size=MAX_LINE_BYTES, handler_cancellation=True,
                                     keepalive_timeout=webguard.KEEPALIVE_S, lingering_time=1.0)
        await self._runner.setup()
        self._ssl = self.web_config.tls.context() if self.web_config.tls else None
        # Not aiohttp's TCPSite: every connection passes the guard (cap, header deadline; agent/webguard.py).
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(webguard.RateLimitedHandler())
        handler_factory = self._runner.server
        assert handler_factory is not None  # set by setup()
        self.guard = webguard.ConnectionGuard(handler_factory, self.max_connections)
        self._listener = webguard.listen_socket(host, port)
        self._accepting = loop.create_task(self.guard.serve(self._listener, self._ssl))
        return self._listener.getsockname()[:2]  # type: ignore[no-any-return]

    async def start(self) -> None:
        self._agent_loop = asyncio.get_running_loop()
        ready: concurrent.futures.Future[tuple[str, int]] = concurrent.futures.Future()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                ready.set_result(loop.run_until_complete(self._setup()))
            except BaseException as e:  # bind failure: reported to start()
                ready.set_exception(e)
                loop.close()
                return
            try:
                loop.run_forever()
            finally:
                if self._accepting is not None:
                    self._accepting.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        loop.run_until_complete(self._accepting)
                if self._listener is not None:
                    self._listener.close()
                if self._runner is not None:
                    loop.run_until_complete(self._runner.cleanup())
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=run, name="farmwatch-http", daemon=True)
        self._thread.start()
        self.bound = await asyncio.wrap_future(ready)

    async def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
            await asyncio.get_running_loop().run_in_executor(None, thread.join, 10.0)
        self._thread = None
        self._loop = None

