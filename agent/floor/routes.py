"""The floor view's routes on the agent's HTTP server (agent/server.py adds them with :func:`add_routes`).

Every handler is a GET behind the server's auth middleware like ``/metrics``. The model is built or read in the
web server's executor (a worker thread), never on the agent's polling loop. JSON API (``/api/v1``):

- ``summary``: site totals; ``miners`` (filters ``container``, ``rack``, ``state``, ``model``): one row per miner,
  by device, in pages (``limit``, ``cursor``: agent/floor/paging.py);
- ``miners/<device>``: its row, the ``poll --json`` reading and its last cycles; ``racks``: the rack grids;
- ``todo``: down and sick miners, faults first, in pages like ``miners``. Unknown values are ``null``.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable
from importlib import resources
from typing import Any, Protocol, TypeVar

from aiohttp import web
from aiohttp.web import ContentCoding

from .model import FILTER_KEYS, Floor, MinerRow, device_key, racks, todo, todo_key, todo_raw
from .pages import index_page, miner_page
from .paging import Page, PageError, page_request, take
from .source import FloorSource
from .view import FloorView


class Agent(FloorSource, Protocol):
    """What the floor's routes read of the agent: the floor's own source and the view the agent keeps current."""

    @property
    def floor(self) -> FloorView: ...

T = TypeVar("T")
_CSS = resources.files(__package__).joinpath("floor.css").read_bytes()


def _filters(request: web.Request) -> dict[str, str]:
    return {k: request.query[k][:200] for k in FILTER_KEYS if request.query.get(k)}


def _json(request: web.Request, data: Any, status: int = 200) -> web.Response:
    return _compressed(request, web.Response(text=json.dumps(_finite(data), ensure_ascii=False, allow_nan=False),
                                             status=status, content_type="application/json"))


def _compressed(request: web.Request, resp: web.Response) -> web.Response:
    """gzip when the client takes it: the 20,000-miner page is 1.7 MB of HTML and 98 kB gzipped (bench/floor.py),
    which matters on a site's Wi-Fi."""
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        resp.enable_compression(ContentCoding.gzip)
    return resp


def add_routes(app: web.Application, agent: Agent) -> None:
    view: FloorView = agent.floor

    async def off_loop(fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(None, functools.partial(fn, *args))

    async def index(request: web.Request) -> web.Response:
        filters = _filters(request)

        def page() -> str:
            return index_page(view.current(), filters)

        return _compressed(request, web.Response(text=await off_loop(page), content_type="text/html"))

    async def miner(request: web.Request) -> web.Response:
        device = request.match_info["device"]

        def page() -> str | None:
            floor = view.current()
            row = floor.by_device.get(device)
            if row is None:
                return None
            return miner_page(row, _reading(agent, device), view.points(device), floor.summary.interval)

        text = await off_loop(page)
        if text is None:
            return web.Response(status=404, text=f"no miner {device!r} on this agent\n")
        return _compressed(request, web.Response(text=text, content_type="text/html"))

    async def css(request: web.Request) -> web.Response:
        return web.Response(body=_CSS, content_type="text/css", headers={"Cache-Control": "max-age=300"})

    async def api_summary(request: web.Request) -> web.Response:
        floor = await off_loop(view.current)
        return _json(request, floor.summary.to_json())

    async def paged(request: web.Request, listing: str, rows_of: Callable[[Floor, dict[str, str]], list[MinerRow]],
                    fields: int, raw: Callable[[MinerRow], list[Any]], key: Callable[[list[Any]], tuple[Any, ...]],
                    echo_filters: bool) -> web.Response:
        """One page of a list of miner rows (agent/floor/paging.py); ``raw`` gives a row's ``fields`` cursor fields,
        ``key`` the order they sort in."""
        filters = _filters(request)
        try:
            page = page_request(request.query, fields)

            def body() -> dict[str, Any]:
                floor = view.current()
                rows = rows_of(floor, filters)
                part, cursor = take(rows, page, raw, key)
                return {"generated_at": floor.summary.generated_at, **({"filters": filters} if echo_filters else {}),
                        "count": len(rows), **_paging(request, page, cursor), listing: [r.to_json() for r in part]}

            return _json(request, await off_loop(body))
        except PageError as e:  # a bad limit, or a cursor that is not this list's
            return _json(request, {"error": str(e)}, 400)

    async def api_miners(request: web.Request) -> web.Response:
        return await paged(request, "miners", lambda floor, f: floor.select(f, floor.ordered()), 1,
                           lambda r: [r.device], device_key, True)

    async def api_miner(request: web.Request) -> web.Response:
        device = request.match_info["device"]

        def body() -> dict[str, Any] | None:
            floor = view.current()
            row = floor.by_device.get(device)
            if row is None:
                return None
            return {**row.to_json(), "reading": _reading(agent, device),
                    "history": [p.to_json() for p in view.points(device)]}

        data = await off_loop(body)
        if data is None:
            return _json(request, {"error": f"no miner {device!r} on this agent"}, 404)
        return _json(request, data)

    async def api_racks(request: web.Request) -> web.Response:
        filters = _filters(request)

        def body() -> dict[str, Any]:
            floor = view.current()
            rack_list, loose = racks(floor.select(filters))
            return {"generated_at": floor.summary.generated_at, "racks": [r.to_json() for r in rack_list],
                    "unplaced": [m.device for m in loose]}

        return _json(request, await off_loop(body))

    async def api_todo(request: web.Request) -> web.Response:
        return await paged(request, "todo", lambda floor, f: todo(floor.select(f)), 6, todo_raw, todo_key,
                           False)

    r = app.router
    r.add_get("/", index)
    r.add_get("/floor.css", css)
    r.add_get("/miner/{device}", miner)
    r.add_get("/api/v1/summary", api_summary)
    r.add_get("/api/v1/miners", api_miners)
    r.add_get("/api/v1/miners/{device}", api_miner)
    r.add_get("/api/v1/racks", api_racks)
    r.add_get("/api/v1/todo", api_todo)


def _paging(request: web.Request, page: Page, cursor: str | None) -> dict[str, Any]:
    """The paging fields of a list reply: the limit used, the next page's cursor and path (null on the last)."""
    nxt = None
    if cursor is not None:
        query = {k: v for k, v in request.query.items() if k in (*FILTER_KEYS, "limit")}
        nxt = str(request.rel_url.with_query({**query, "cursor": cursor}))
    return {"limit": page.limit, "next_cursor": cursor, "next": nxt}


def _reading(agent: Agent, device: str) -> dict[str, Any] | None:
    state = agent.store.get(device)
    reading = state.reading if state is not None and state.up else None
    return _finite(reading.to_json()) if reading is not None else None


def _finite(x: Any) -> Any:
    """JSON has no NaN: a non-finite float from a device is unknown (null), as everywhere else."""
    if isinstance(x, float):
        return x if x == x and x not in (float("inf"), float("-inf")) else None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_finite(v) for v in x]
    return x
