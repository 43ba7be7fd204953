"""Secrets never leak: distinctive values in secret files and the environment, then every output a user or a log
shipper sees — `check-config` (good and broken configs), the daemon's debug log against the simulated site (web
firmwares that log in, with right and wrong passwords), `/`, `/metrics` (both formats), `/healthz` — is grepped
for them. And no default password is used unless the config says so."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from simsite import SimSite
from simsite.fleet import MIXED_MIX

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {
    "pw": "S3cr3t-web-7f1d9a",
    "community": "S3cr3t-comm-91ab",
    "authpw": "S3cr3t-auth-55aa",
    "privpw": "S3cr3t-priv-66bb",
}
ENV_SECRET = "S3cr3t-env-2b8c"
INLINE_SECRET = "S3cr3t-inline-0c0c"


def needles() -> list[bytes]:
    values = [*SECRETS.values(), ENV_SECRET, INLINE_SECRET]
    out = [v.encode() for v in values]
    for user in ("admin", "root"):
        for v in values:  # a Basic auth header or a logged URL with credentials
            out.append(base64.b64encode(f"{user}:{v}".encode()))
    return out


def assert_clean(where: str, data: bytes) -> None:
    found = [n.decode() for n in needles() if n in data]
    assert not found, f"{where} contains secret value(s) {found}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(tmp: Path, port: int, base: str, *, broken: bool = False) -> Path:
    for name, value in SECRETS.items():
        (tmp / name).write_text(value + "\n")
        (tmp / name).chmod(0o600)
    net = base.rsplit(".", 1)[0]
    text = f"""site: secret-test
listen: "127.0.0.1:{port}"
miners:
  - targets: ["{net}.1-{net}.12"]
    interval: 2s
    timeout: 1.5s
    credentials: {{web_username: admin, web_password_file: pw}}
  - targets: ["{net}.13-{net}.24"]
    interval: 2s
    timeout: 1.5s
    credentials: {{web_password_env: FW_TEST_PW}}
  - targets: ["{net}.25-{net}.36"]
    interval: 2s
    timeout: 1.5s
snmp:
  - targets: ["127.0.0.9"]
    community_file: community
  - targets: ["127.0.0.10"]
    v3: {{user: monitor, auth_protocol: SHA, auth_password_file: authpw, priv_protocol: AES, priv_password_file: privpw}}
"""
    if broken:
        text += f"""  - targets: ["127.0.0.11"]
    community: {INLINE_SECRET}
    interval: 5x
  - targets: ["127.0.0.12"]
    community_env: FW_UNSET_VARIABLE
"""
    path = tmp / ("broken.yaml" if broken else "site.yaml")
    path.write_text(text)
    return path


async def _run(*args: str, env: dict[str, str]) -> tuple[int, bytes]:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "agent", *args, cwd=ROOT, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out


@pytest.mark.slow
async def test_secrets_appear_in_no_output(tmp_path: Path) -> None:
    base = "127.216.0.1"
    site = SimSite.build(count=36, seed=8, base_ip=base, mix=MIXED_MIX, latency_ms=(1.0, 3.0))
    port = _free_port()
    good = write_config(tmp_path, port, base)
    broken = write_config(tmp_path, port, base, broken=True)
    env = {**os.environ, "FW_TEST_PW": ENV_SECRET}

    rc, out = await _run("check-config", str(good), env=env)
    assert rc == 0, out.decode()
    assert_clean("check-config (good)", out)
    rc, out = await _run("check-config", str(broken), env=env)
    assert rc == 1 and b"problem" in out, out.decode()
    assert b"community" in out  # the inline secret is reported by key, never by value
    assert_clean("check-config (broken)", out)

    bodies: dict[str, bytes] = {}
    async with site:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "agent", "run", "--config", str(good), "--log.level", "debug", cwd=ROOT, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            url = f"http://127.0.0.1:{port}"
            async with aiohttp.ClientSession() as http:
                deadline = time.monotonic() + 40
                metrics = b""
                while time.monotonic() < deadline:
                    await asyncio.sleep(0.5)
                    try:
                        async with http.get(f"{url}/metrics") as r:
                            metrics = await r.read()
                    except aiohttp.ClientError:
                        continue
                    if metrics.count(b"farmwatch_miner_up{") >= 30 and b'farmwatch_cycles_total{collector="asic"' in metrics \
                            and b"} 0\n" not in metrics.split(b"farmwatch_cycles_total", 1)[1][:200]:
                        break
                await asyncio.sleep(4.5)  # two more cycles: logins repeated, failures logged again
                for path, headers in (("/", {}), ("/metrics", {}), ("/healthz", {}),
                                      ("/metrics", {"Accept": "application/openmetrics-text; version=1.0.0"})):
                    async with http.get(f"{url}{path}", headers=headers) as r:
                        bodies[f"{path} {headers}"] = await r.read()
        finally:
            proc.terminate()
            stdout, stderr = await asyncio.wait_for(proc.communicate(), 30)
    log = stdout + stderr
    assert b"level=debug" in log or b"level=info" in log, log[-2000:].decode()
    assert_clean("daemon log", log)
    for where, body in bodies.items():
        assert_clean(where, body)
    metrics = bodies["/metrics {}"]
    assert metrics.count(b"farmwatch_miner_up{") >= 30
    # Logins really happened with the configured secrets (else this test proves nothing about their use) ...
    logins = [r for r in site.requests if r.raw[:4] == b"POST" or b"Authorization:" in r.raw]
    assert logins, "no simulated web firmware was asked to log in"
    # ... and the group without credentials never logged in with a firmware default: its web miners are down
    # with reason auth, and none of its devices received a login or an Authorization header.
    net = base.rsplit(".", 1)[0]
    no_creds = {f"{net}.{i}" for i in range(25, 37)}
    assert not [r for r in logins if r.ip in no_creds], sorted({r.commands[0] for r in logins if r.ip in no_creds})
    web_no_creds = [m for m in site.miners if m.ip in no_creds and m.firmware in
                    ("antminer_web", "braiins_rest", "vnish_rest", "whatsminer3", "iceriver", "auradine")]
    for m in web_no_creds:
        assert f'device="{m.ip}:'.encode() in metrics
        assert f'farmwatch_miner_error_info{{device="{m.ip}:'.encode() not in metrics or \
            b'reason="auth"' in metrics
