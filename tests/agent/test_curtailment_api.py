"""Curtailment windows declared over HTTP (issue 18.1): ``/api/v1/curtailment`` on the real ``farmwatch run``
process, over loopback, polling three simulated miners.

Refused when the agent has no authentication configured; with a bearer token file or the web config's basic
auth, a POSTed window is validated (each problem names its field), exported like a file's window (with the
miners it covers), audited in the log, kept in --storage.path across a restart, and can be ended early.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import bcrypt

from agent.curtailment import parse_windows
from agent.curtailment_api import dump, parse_body
from simsite import SimSite
from tests.support.prom import free_port

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "t0ken-for-the-controller"


def call(url: str, method: str = "GET", body: Any = None, auth: str | None = None,
         raw: bytes | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"} if body is not None or raw is not None else {}
    if auth:
        headers["Authorization"] = auth
    data = raw if raw is not None else json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, text = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


@contextmanager
def running(cfg: Path, storage: Path, log: Path, *extra: str) -> Iterator[str]:
    for _attempt in range(3):  # a free port can be taken by another process before the agent binds it
        port = free_port()
        with open(log, "a") as out:
            proc = subprocess.Popen([sys.executable, "-m", "agent", "run", "--config", str(cfg),
                                     "--web.listen-address", f"127.0.0.1:{port}", "--storage.path", str(storage),
                                     *extra], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=out,
                                    env={**os.environ, "PYTHONPATH": str(ROOT)})
        base = f"http://127.0.0.1:{port}"
        end = time.monotonic() + 60
        while proc.poll() is None:
            try:
                if call(f"{base}/healthz")[0] in (200, 401, 503):
                    break
            except OSError:
                pass
            assert time.monotonic() < end, "agent did not start"
            time.sleep(0.2)
        if proc.poll() is None:
            break
        assert "cannot listen" in log.read_text(), log.read_text()
    try:
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def metrics_for(base: str, window: str, auth: str | None = None) -> tuple[list[str], list[str]]:
    """(the window's info lines, the devices its scope covers) on /metrics."""
    req = urllib.request.Request(f"{base}/metrics", headers={"Authorization": auth} if auth else {})
    with urllib.request.urlopen(req, timeout=30) as r:
        text = r.read().decode()
    info = [ln for ln in text.splitlines() if ln.startswith("farmwatch_curtailment_window_info{")
            and f'window="{window}"' in ln]
    devices = sorted(m[1] for m in re.finditer(
        r'^farmwatch_miner_curtailment_scope_info\{device="([^"]+)",window="' + re.escape(window) + '"', text, re.M))
    return info, devices


def site_yaml(tmp_path: Path, site: SimSite, curtailment: str) -> Path:
    targets = json.dumps([f"{m.ip}:{m.port}" for m in site.miners])
    cfg = tmp_path / "site.yaml"
    cfg.write_text(f"site: api\ngpus: {{enabled: false}}\nminers:\n  - targets: {targets}\n    interval: 1s\n"
                   f"    timeout: 800ms\n{curtailment}")
    return cfg


async def test_no_authentication_configured_means_no_window_is_accepted(tmp_path: Path) -> None:
    site = SimSite.build(count=1, seed=5, base_ip="127.197.0.1", latency_ms=(1.0, 2.0))
    await site.start()
    try:
        cfg = site_yaml(tmp_path, site, "")
        with running(cfg, tmp_path / "state", tmp_path / "log") as base:
            now = time.time()
            status, body = await asyncio.to_thread(call, f"{base}/api/v1/curtailment", "POST",
                                                   {"start": now + 60, "end": now + 600, "scope": "site",
                                                    "target_kw": 1})
            assert status == 403
            assert "no authentication is configured" in body["error"] and "api_token_file" in body["error"]
            status, body = await asyncio.to_thread(call, f"{base}/api/v1/curtailment")
            assert status == 200 and body["windows"] == []
            # A body of unknown length (chunked) is refused before anything reads it, as every other body is.
            host, port = base.removeprefix("http://").split(":")

            def chunked() -> bytes:
                with socket.create_connection((host, int(port)), timeout=10) as sock:
                    sock.sendall(b"POST /api/v1/curtailment HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
                                 b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
                    return sock.recv(200)

            assert (await asyncio.to_thread(chunked)).startswith(b"HTTP/1.1 413")
            assert (await asyncio.to_thread(call, f"{base}/metrics", "POST", {"a": 1}))[0] in (405, 413)
        assert "curtailment POST refused" in (tmp_path / "log").read_text()
    finally:
        await site.stop()


async def test_a_window_posted_with_a_token_is_validated_exported_audited_and_survives_a_restart(
        tmp_path: Path) -> None:
    site = SimSite.build(count=3, seed=6, base_ip="127.197.1.1", latency_ms=(1.0, 2.0))
    await site.start()
    (tmp_path / "token").write_text(TOKEN + "\n")
    (tmp_path / "file.yaml").write_text("windows:\n  - {id: from-file, start: 1800000000, end: 1800003600, "
                                        "scope: site, target_kw: 1}\n")
    cfg = site_yaml(tmp_path, site, "curtailment: {file: file.yaml, api_token_file: token}\n")
    storage, log = tmp_path / "state", tmp_path / "log"
    bearer = f"Bearer {TOKEN}"
    url_of = "{}/api/v1/curtailment".format
    devices = sorted(f"{m.ip}:{m.port}" for m in site.miners)
    try:
        with running(cfg, storage, log) as base:
            url = url_of(base)
            start = time.time() + 5.0
            good = {"id": "ercot-1", "start": start, "end": start + 3600, "scope": "site", "target_kw": 2.5,
                    "ramp": "5m"}

            def post(body: Any, auth: str | None = bearer, raw: bytes | None = None) -> tuple[int, Any]:
                return call(url, "POST", body, auth, raw)

            assert (await asyncio.to_thread(post, good, "Bearer wrong"))[0] == 401
            assert (await asyncio.to_thread(post, good, None))[0] == 401  # a token is configured: it is required
            # Every problem names its field.
            status, body = await asyncio.to_thread(post, {"start": start, "end": start - 10, "scope": {"row": 1},
                                                          "target_kw": -1, "ramp": 600, "colour": "red"})
            assert status == 400
            fields = {p["field"] for p in body["problems"]}
            assert fields == {"colour", "ramp"}, body  # shape first: unknown keys and wrong types
            status, body = await asyncio.to_thread(post, {"start": "noon", "end": start - 10, "scope": {"row": 1},
                                                          "target_kw": -1})
            assert status == 400
            assert {p["field"] for p in body["problems"]} == {"start", "scope", "scope.row", "target_kw"}, body
            status, body = await asyncio.to_thread(post, {"start": start, "end": start - 10, "scope": "site",
                                                          "target_kw": 1})
            assert (status, body["problems"]) == (400, [{"field": "end", "message": "must be after start"}])
            status, body = await asyncio.to_thread(post, {"end": start + 10, "scope": "site"})
            assert status == 400 and {p["field"] for p in body["problems"]} == {"start", "target_kw"}
            status, body = await asyncio.to_thread(post, None, bearer, b"{not json")
            assert status == 400 and body["problems"][0]["field"] == ""
            status, _ = await asyncio.to_thread(post, None, bearer, b'{"id": "' + b"x" * 5000 + b'"}')
            assert status == 413  # bodies are bounded
            assert (await asyncio.to_thread(post, {**good, "id": "from-file"}))[0] == 409  # the file's id

            status, body = await asyncio.to_thread(post, good)
            assert status == 201, body
            assert (body["id"], body["origin"], body["state"], body["target_kw"], body["ramp_s"]) == \
                ("ercot-1", "api", "scheduled", 2.5, 300.0)
            assert (await asyncio.to_thread(post, good))[0] == 409  # the same id twice
            # Without an id the agent names it; a rack scope with its container.
            status, other = await asyncio.to_thread(post, {"start": start + 7200, "end": start + 9000,
                                                           "scope": {"rack": "R9", "container": "C1"},
                                                           "target_kw": 0})
            assert status == 201 and other["id"].startswith("api-") and other["container"] == "C1"

            # Exported like a file's window, with every polled miner of its (site) scope.
            async def exported() -> tuple[list[str], list[str]]:
                return await asyncio.to_thread(metrics_for, base, "ercot-1")

            end = time.monotonic() + 30
            while (got := await exported())[1] != devices:
                assert time.monotonic() < end, got
                await asyncio.sleep(0.3)
            (info,) = got[0]
            assert 'origin="api"' in info and 'scope_kind="site"' in info
            status, listed = await asyncio.to_thread(call, url)
            assert status == 200
            assert [(w["id"], w["origin"]) for w in listed["windows"]] == \
                [("from-file", "file"), ("ercot-1", "api"), (other["id"], "api")]
            # A window not started is withdrawn; one from the file cannot be changed here.
            status, body = await asyncio.to_thread(call, f"{url}/{other['id']}", "DELETE", None, bearer)
            assert (status, body["result"]) == (200, "withdrawn")
            assert (await asyncio.to_thread(call, f"{url}/from-file", "DELETE", None, bearer))[0] == 409
            assert (await asyncio.to_thread(call, f"{url}/nope", "DELETE", None, bearer))[0] == 404
            assert (await asyncio.to_thread(call, f"{url}/ercot-1", "DELETE"))[0] == 401

        text = log.read_text()
        assert re.search(r"curtailment window declared by token from 127\.0\.0\.1: .*ercot-1", text), text
        assert "curtailment window withdrawn by token" in text
        assert TOKEN not in text  # the token is never logged

        # A restart keeps the window (and not the withdrawn one).
        with running(cfg, storage, log) as base:
            status, listed = await asyncio.to_thread(call, url_of(base))
            assert [w["id"] for w in listed["windows"]] == ["from-file", "ercot-1"]
            end = time.monotonic() + 30
            while (got := await asyncio.to_thread(metrics_for, base, "ercot-1"))[1] != devices:
                assert time.monotonic() < end, got
                await asyncio.sleep(0.3)
            # Active now: ending it early keeps its start and ends it now.
            while time.time() < start:
                await asyncio.sleep(0.2)
            status, body = await asyncio.to_thread(call, f"{url_of(base)}/ercot-1", "DELETE", None, bearer)
            assert status == 200 and body["result"] == "ended", body
            (kept,) = parse_windows(storage / "curtailment-api.yaml")
            assert kept.start == start and time.time() - 10 < kept.end <= time.time()
            assert (await asyncio.to_thread(call, f"{url_of(base)}/ercot-1", "DELETE", None, bearer))[0] == 409
    finally:
        await site.stop()


async def test_basic_auth_users_of_the_web_config_may_declare_windows(tmp_path: Path) -> None:
    site = SimSite.build(count=1, seed=7, base_ip="127.197.2.1", latency_ms=(1.0, 2.0))
    await site.start()
    hashed = bcrypt.hashpw(b"pw", bcrypt.gensalt(4)).decode()
    (tmp_path / "web.yml").write_text(f"basic_auth_users:\n  noc: '{hashed}'\n")
    basic = "Basic " + base64.b64encode(b"noc:pw").decode()
    try:
        cfg = site_yaml(tmp_path, site, "")
        with running(cfg, tmp_path / "state", tmp_path / "log", "--web.config.file", str(tmp_path / "web.yml")) as base:
            now = time.time()
            window = {"start": now + 60, "end": now + 600, "scope": {"domain": "feed-A"}, "target_kw": 1}
            url = f"{base}/api/v1/curtailment"
            assert (await asyncio.to_thread(call, url, "POST", window))[0] == 401
            assert (await asyncio.to_thread(call, url, "POST", window, "Bearer x"))[0] == 401  # no token file
            status, body = await asyncio.to_thread(call, url, "POST", window, basic)
            assert status == 201 and body["scope_kind"] == "domain", body
        assert "curtailment window declared by user noc from 127.0.0.1" in (tmp_path / "log").read_text()
    finally:
        await site.stop()


def test_the_state_file_reads_back_exactly_and_past_windows_are_refused(tmp_path: Path) -> None:
    now = 1_800_000_000.0
    w, problems = parse_body(json.dumps({"id": "a", "start": "2027-01-15T08:00:00Z", "end": now + 3600.25,
                                         "scope": {"rack": "R\"1", "container": "C:1"}, "target_kw": 0.125,
                                         "baseline": "1h30m"}).encode(), now)
    assert problems == [] and w is not None
    (tmp_path / "s.yaml").write_text(dump((w,)))
    (back,) = parse_windows(tmp_path / "s.yaml")
    assert back == w.__class__(**{**{f: getattr(w, f) for f in w.__dataclass_fields__}, "origin": "file"})
    _, problems = parse_body(json.dumps({"start": now - 7200, "end": now - 3600, "scope": "site",
                                         "target_kw": 1}).encode(), now)
    assert [p["field"] for p in problems] == ["end"]
