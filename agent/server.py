"""HTTP endpoints on the agent's one event loop: /metrics (cached, gzip), /healthz, and a landing page at /."""

from __future__ import annotations

import html
import time
from typing import TYPE_CHECKING

from aiohttp import web

from .exposition import OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE

if TYPE_CHECKING:
    from .daemon import Agent

MAX_REQUEST_BYTES = 16 * 1024


def parse_listen(address: str) -> tuple[str, int]:
    """":10428" -> ("0.0.0.0", 10428); "127.0.0.1:9" -> ("127.0.0.1", 9); "[::1]:9" -> ("::1", 9)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"listen address {address!r} is not [HOST]:PORT")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)


def wants_openmetrics(accept: str) -> bool:
    return "application/openmetrics-text" in accept


def build_app(agent: Agent) -> web.Application:
    app = web.Application(client_max_size=MAX_REQUEST_BYTES)

    async def metrics(request: web.Request) -> web.Response:
        rendered = agent.rendered()
        om = wants_openmetrics(request.headers.get("Accept", ""))
        gz = "gzip" in request.headers.get("Accept-Encoding", "")
        body = rendered.body(openmetrics=om, gzipped=gz)
        headers = {"Content-Type": OPENMETRICS_CONTENT_TYPE if om else TEXT_CONTENT_TYPE}
        if gz:
            headers["Content-Encoding"] = "gzip"
        return web.Response(body=body, headers=headers)

    async def healthz(request: web.Request) -> web.Response:
        ok, detail = agent.health()
        return web.Response(status=200 if ok else 503, text=detail + "\n")

    async def index(request: web.Request) -> web.Response:
        return web.Response(text=landing_page(agent), content_type="text/html")

    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/", index)
    return app


def landing_page(agent: Agent) -> str:
    up, total = agent.store.counts()
    rows = []
    for group in agent.groups:
        st = group.stats
        age = f"{time.time() - st.last_completed:.0f}s ago" if st.cycles else "not yet"
        rows.append(
            f"<tr><td>{html.escape(group.name)}</td><td>{len(group.sessions)}</td><td>{st.cycles}</td>"
            f"<td>{st.last_duration:.2f}s</td><td>{age}</td><td>{group.interval:.0f}s</td></tr>"
        )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>farmwatch</title></head><body>"
        f"<h1>farmwatch</h1><p>site <b>{html.escape(agent.site)}</b> &middot; version {html.escape(agent.version)}</p>"
        f"<p>miners up: <b>{up}</b> of {total}</p>"
        "<table border='1' cellpadding='4'><tr><th>group</th><th>devices</th><th>cycles</th>"
        "<th>last cycle</th><th>completed</th><th>interval</th></tr>" + "".join(rows) + "</table>"
        "<p><a href='/metrics'>/metrics</a> &middot; <a href='/healthz'>/healthz</a></p>"
        "<p>Values are from the agent's own poll cycle, not read at scrape time; a device that stops answering "
        "keeps only <code>farmwatch_miner_up</code>, its last success time and the reason.</p>"
        "</body></html>"
    )
