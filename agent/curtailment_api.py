"""``/api/v1/curtailment``: curtailment windows declared over HTTP by the operator or the site's demand-response
controller (issue 18.1), next to the file the agent watches (agent/curtailment.py).

- ``GET /api/v1/curtailment``: every declared window (file and API), with its state (scheduled, active, over).
- ``POST /api/v1/curtailment`` with a JSON body ``{"id", "start", "end", "scope", "target_kw", "ramp",
  "baseline"}`` (the file's keys and forms; ``id`` optional): 201 and the window; 400 with one problem per
  field (``{"problems": [{"field": "end", "message": "must be after start"}]}``); 409 for an id in use.
- ``DELETE /api/v1/curtailment/{id}``: a window that has not started is withdrawn; an active one ends now (the
  settlement record keeps what happened until then); one that is over, or one from the file, is 409.

This is the operator writing to farmwatch, never farmwatch writing to a miner: nothing here reaches a device.
Writes need authentication, and are refused (403) when the agent has none configured: basic auth from
``--web.config.file`` (checked by the server's middleware like every request), or a bearer token read from
``curtailment: {api_token_file}`` (read at each request, so a rotated token takes effect at once). Windows are
kept in ``<storage.path>/curtailment-api.yaml`` (the file's own format), so a restart keeps them; without a
storage path a write is refused (409) rather than accepted and lost at the next restart. Every accepted or
refused write is logged (``farmwatch.audit``) with who, from where and what.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import datetime as dt
import hmac
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

from collectors.asic.expected import write_atomic

from .curtailment import CurtailmentFile, Window, declared, parse_windows, read_window
from .secret import Secret, SecretError
from .webconfig import WebConfig
from .yamlread import ConfigError, YamlReader, compose_yaml

log = logging.getLogger("farmwatch.curtailment")
audit = logging.getLogger("farmwatch.audit")

PATH = "/api/v1/curtailment"
FILE_NAME = "curtailment-api.yaml"
MAX_BODY = 4096  # one window is a few hundred bytes
MAX_WINDOWS = 1000  # kept in the state file; the oldest that are over make way
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_KEYS = ("id", "start", "end", "scope", "target_kw", "ramp", "baseline")
_REQUIRED = ("start", "end", "scope", "target_kw")


class Agent(Protocol):
    """What the routes read of the agent."""

    @property
    def curtailment(self) -> CurtailmentFile | None: ...
    @property
    def curtailment_api(self) -> ApiWindows: ...
    @property
    def curtailment_token(self) -> Secret | None: ...


class ApiWindows:
    """The windows declared over HTTP, kept in ``directory`` (None: no storage path, writes refused).

    ``windows`` is replaced whole (a tuple) under a lock: the render on the agent's loop reads it without one."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.windows: tuple[Window, ...] = ()
        self._lock = threading.Lock()

    @property
    def path(self) -> Path | None:
        return self.directory / FILE_NAME if self.directory is not None else None

    def load(self) -> None:
        """The windows of an earlier run. A damaged file is moved aside (``.bad``) and logged, never overwritten:
        it may hold the only record of a window someone is paid for."""
        path = self.path
        if path is None or not path.exists():
            return
        try:
            windows = parse_windows(path)
        except ConfigError as exc:
            aside = path.with_name(path.name + ".bad")
            with contextlib.suppress(OSError):
                os.replace(path, aside)
            log.error("curtailment API windows: %s; moved to %s, starting with none", exc, aside.name)
            return
        self.windows = tuple(_with_origin(w) for w in windows)
        log.info("curtailment API windows: %d from %s", len(self.windows), path)

    def add(self, window: Window, taken: set[str]) -> str | None:
        """Keep a new window; an error message (the id is in use) or None."""
        with self._lock:
            if window.id in taken or any(w.id == window.id for w in self.windows):
                return f'id "{window.id}" is in use'
            kept = list(self.windows)
            if len(kept) >= MAX_WINDOWS:
                kept.sort(key=lambda w: w.end)
                kept = kept[len(kept) - MAX_WINDOWS + 1:]
            self._save((*kept, window))
        return None

    def end(self, wid: str, now: float) -> tuple[str, Window | None]:
        """Withdraw a window not started, or end an active one now: (what happened, the window as it is now);
        ("unknown" | "over", None) when there is nothing to do."""
        with self._lock:
            match = [w for w in self.windows if w.id == wid]
            if not match:
                return "unknown", None
            w = match[0]
            rest = tuple(x for x in self.windows if x.id != wid)
            if now < w.start:
                self._save(rest)
                return "withdrawn", w
            if now >= w.end:
                return "over", w
            ended = Window(w.id, w.start, now, w.scope_kind, w.scope, w.container, w.target_w, w.ramp_s,
                           w.baseline_s, origin="api")
            self._save((*rest, ended))
            return "ended", ended

    def _save(self, windows: tuple[Window, ...]) -> None:
        """Write the file first, then publish: a window the disk refused is not shown as declared."""
        assert self.path is not None
        write_atomic(self.path, dump(windows))
        self.windows = windows


def _with_origin(w: Window) -> Window:
    return Window(w.id, w.start, w.end, w.scope_kind, w.scope, w.container, w.target_w, w.ramp_s, w.baseline_s,
                  origin="api")


def dump(windows: tuple[Window, ...]) -> str:
    """The windows in the curtailment file's own format (parse_windows reads it back exactly: times as Unix
    seconds, strings JSON-quoted, which YAML reads as double-quoted scalars)."""
    lines = ["# Curtailment windows declared through POST /api/v1/curtailment; written by farmwatch.", "windows:"]
    for w in windows:
        if w.scope_kind == "site":
            scope = "site"
        elif w.scope_kind == "rack" and w.container is not None:
            scope = f"{{rack: {json.dumps(w.scope)}, container: {json.dumps(w.container)}}}"
        else:
            scope = f"{{{w.scope_kind}: {json.dumps(w.scope)}}}"
        lines.append(f"  - {{id: {json.dumps(w.id)}, start: {w.start!r}, end: {w.end!r}, scope: {scope}, "
                     f"target_kw: {w.target_w / 1000.0!r}, ramp: {w.ramp_s:.3f}s, baseline: {w.baseline_s:.3f}s}}")
    return "\n".join(lines) + "\n"


def parse_body(body: bytes, now: float) -> tuple[Window | None, list[dict[str, str]]]:
    """A POSTed window, or the problems with it, one per field (``field`` "" for the body as a whole)."""
    def problem(key: str, message: str) -> tuple[None, list[dict[str, str]]]:
        return None, [{"field": key, "message": message}]

    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        return problem("", f"the body is not JSON: {exc}")
    if not isinstance(data, dict):
        return problem("", "the body must be a JSON object with start, end, scope and target_kw")
    problems = [{"field": k, "message": "unknown key (known: " + ", ".join(_KEYS) + ")"} for k in data if k not in _KEYS]
    problems += [{"field": k, "message": "is required"} for k in _REQUIRED if k not in data]
    if "id" in data and not (isinstance(data["id"], str) and _ID.fullmatch(data["id"])):
        problems.append({"field": "id", "message": "1-64 letters, digits, '.', '_', ':' or '-', starting with a "
                         "letter or digit"})
    for key in ("ramp", "baseline"):
        if key in data and not isinstance(data[key], str):
            problems.append({"field": key, "message": "expected a duration such as 10m or 30s"})
    if problems:
        return None, problems
    data.setdefault("id", "api-" + dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ"))
    # The file's own reader checks the rest, so a window means the same whichever way it came in. JSON is YAML
    # (json.dumps writes no tabs, which YAML would refuse).
    y = YamlReader("request")
    node, _syntax = compose_yaml(json.dumps(data), "request")
    window = read_window(y, node, "") if node is not None else None
    problems = [{"field": p.key, "message": p.message} for p in y.problems]
    if window is None or problems:
        return None, problems or [{"field": "", "message": "not a window"}]
    if window.end <= now:
        return problem("end", "is in the past: a window is declared before or while it happens")
    return _with_origin(window), []


def _view(w: Window, now: float) -> dict[str, Any]:
    def iso(t: float) -> str:
        return dt.datetime.fromtimestamp(t, dt.UTC).isoformat().replace("+00:00", "Z")

    return {"id": w.id, "origin": w.origin, "state": "scheduled" if now < w.start else "active" if now < w.end
            else "over", "start": iso(w.start), "end": iso(w.end), "scope_kind": w.scope_kind, "scope": w.scope,
            "container": w.container, "target_kw": w.target_w / 1000.0, "ramp_s": w.ramp_s,
            "baseline_s": w.baseline_s}


def own_auth(request: web.Request) -> bool:
    """A bearer token on the curtailment API is checked by its handlers, not as basic auth by the middleware."""
    return request.path.startswith(PATH) and request.headers.get("Authorization", "").startswith("Bearer ")


def accepts_body(request: web.Request) -> bool:
    """The one request with a body the server takes: a window POSTed here, small."""
    return (request.method == "POST" and request.path == PATH and not request.headers.get("Transfer-Encoding")
            and (request.content_length or 0) <= MAX_BODY)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(data, ensure_ascii=False) + "\n", status=status,
                        content_type="application/json")


def add_routes(app: web.Application, agent: Agent, cfg: WebConfig,
               clock: Callable[[], float] = time.time) -> None:
    def who(request: web.Request) -> tuple[str | None, web.Response | None]:
        """The writer's name for the audit log, or the refusal to send."""
        header = request.headers.get("Authorization", "")
        token = agent.curtailment_token
        if header.startswith("Bearer "):
            if token is None:
                return None, _json({"error": "bearer tokens are not configured (curtailment: {api_token_file})"},
                                   401)
            try:
                expected = token.reveal_fresh()
            except SecretError as exc:
                log.error("curtailment API token: %s", exc)
                return None, _json({"error": "the API token cannot be read on the agent (see its log)"}, 503)
            if not hmac.compare_digest(header[7:].strip().encode(), expected.encode()):
                return None, _json({"error": "wrong token"}, 401)
            return "token", None
        if cfg.auth_required:  # the middleware has checked this user's password
            with contextlib.suppress(binascii.Error, UnicodeDecodeError, ValueError):
                return "user " + base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")[0], None
            return "user ?", None
        if token is not None:
            return None, _json({"error": "send the API token: Authorization: Bearer TOKEN"}, 401)
        return None, _json({"error": "no authentication is configured, so windows cannot be declared over HTTP: "
                            "set basic_auth_users in --web.config.file or curtailment: {api_token_file} in "
                            "site.yaml"}, 403)

    def peer(request: web.Request) -> str:
        return request.remote or "?"

    async def list_windows(request: web.Request) -> web.Response:
        if own_auth(request):
            _name, refusal = who(request)
            if refusal is not None:
                return refusal
        now = clock()
        cfile = agent.curtailment
        out: dict[str, Any] = {"windows": [_view(w, now) for w in declared(cfile, agent.curtailment_api.windows)],
                               "writable": agent.curtailment_api.path is not None}
        if cfile is not None:
            out["file"] = {"ok": cfile.ok, "error": cfile.error or None}
        return _json(out)

    async def post_window(request: web.Request) -> web.Response:
        name, refusal = who(request)
        if refusal is not None:
            audit.warning("curtailment POST refused from %s: HTTP %d", peer(request), refusal.status)
            return refusal
        if agent.curtailment_api.path is None:
            return _json({"error": "no storage path (--storage.path or storage: {path}): a window declared now "
                          "would be lost at the next restart"}, 409)
        if request.content_type != "application/json":
            return _json({"problems": [{"field": "", "message": "send Content-Type: application/json"}]}, 415)
        window, problems = parse_body(await request.read(), clock())
        if window is None:
            audit.info("curtailment POST by %s from %s refused: %s", name, peer(request),
                       "; ".join(f"{p['field'] or 'body'}: {p['message']}" for p in problems))
            return _json({"problems": problems}, 400)
        cfile = agent.curtailment
        taken = {w.id for w in cfile.windows} if cfile is not None else set()
        loop = asyncio.get_running_loop()
        try:
            error = await loop.run_in_executor(None, agent.curtailment_api.add, window, taken)
        except OSError as exc:
            log.error("curtailment API: cannot write %s: %s", agent.curtailment_api.path, exc.strerror or exc)
            return _json({"error": f"the window could not be stored: {exc.strerror or exc}"}, 500)
        if error is not None:
            return _json({"problems": [{"field": "id", "message": error}]}, 409)
        view = _view(window, clock())
        audit.info("curtailment window declared by %s from %s: %s", name, peer(request), json.dumps(view))
        return _json(view, 201)

    async def delete_window(request: web.Request) -> web.Response:
        name, refusal = who(request)
        if refusal is not None:
            audit.warning("curtailment DELETE refused from %s: HTTP %d", peer(request), refusal.status)
            return refusal
        wid = request.match_info["id"]
        cfile = agent.curtailment
        if cfile is not None and any(w.id == wid for w in cfile.windows):
            return _json({"error": f'window "{wid}" is declared in {cfile.path}: change it there'}, 409)
        loop = asyncio.get_running_loop()
        try:
            what, w = await loop.run_in_executor(None, agent.curtailment_api.end, wid, clock())
        except OSError as exc:
            return _json({"error": f"the change could not be stored: {exc.strerror or exc}"}, 500)
        if w is None:
            return _json({"error": f'no window "{wid}"'}, 404)
        if what == "over":
            return _json({"error": f'window "{wid}" is over: its record stays as it is'}, 409)
        view = _view(w, clock())
        audit.info("curtailment window %s by %s from %s: %s", what, name, peer(request), json.dumps(view))
        return _json({"result": what, "window": view})

    app.router.add_get(PATH, list_windows)
    app.router.add_post(PATH, post_window)
    app.router.add_delete(PATH + "/{id}", delete_window)
