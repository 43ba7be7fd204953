"""Shards, /sd, /probe (SSRF-safe), TLS + basic auth from a web config file, bounded requests, and SIGHUP
reload / SIGTERM of the real daemon: all over real sockets on loopback."""

from __future__ import annotations

import asyncio
import base64
import datetime
import gzip
import ipaddress
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import aiohttp
import bcrypt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from agent.config import load_config
from agent.runtime import agent_from_config, miner_groups
from agent.webconfig import load_web_config
from agent.yamlread import ConfigError
from simsite import SimSite

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- shards -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 5])
def test_n_shards_cover_a_site_exactly_once(tmp_path: Path, n: int) -> None:
    (tmp_path / "site.yaml").write_text(
        "site: s\ngpus: {enabled: false}\nminers:\n"
        '  - targets: ["10.1.0.0/23", "10.1.9.7:4029"]\n'
        '  - {targets: ["10.2.0.10-10.2.0.250"], driver: whatsminer}\n'
    )
    cfg = load_config(tmp_path / "site.yaml")
    everything = [str(t) for g in cfg.miners for t in g.targets]
    seen: list[str] = []
    for i in range(n):
        seen += [s.device for g in miner_groups(cfg, (i, n)) for s in g.sessions]
    assert sorted(seen) == sorted(everything)  # each device in exactly one shard
    if n > 1:  # and the split is roughly even (a stable hash, not ranges)
        for i in range(n):
            share = sum(len(g.sessions) for g in miner_groups(cfg, (i, n)))
            assert abs(share - len(everything) / n) < 0.25 * len(everything) / n


def test_shard_flag_overrides_config_and_bad_shard_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "site.yaml").write_text('site: s\ngpus: {enabled: false}\nshard: 0/2\nminers:\n  - targets: ["10.3.0.0/24"]\n')
    a = agent_from_config(tmp_path / "site.yaml")
    b = agent_from_config(tmp_path / "site.yaml", shard=(1, 2))
    da = {s.device for g in a.groups for s in g.sessions}
    db = {s.device for g in b.groups for s in g.sessions}
    assert da and db and not da & db and len(da | db) == 254
    assert b.shard == (1, 2)
    from agent.cli import main

    assert main(["run", "--config", str(tmp_path / "site.yaml"), "--shard", "2/2"]) == 2


# -- /sd and /probe ------------------------------------------------------------------------------------------
async def test_sd_lists_devices_and_probe_only_reaches_configured_ranges(tmp_path: Path) -> None:
    site = SimSite.build(count=6, seed=31, base_ip="127.47.0.1", latency_ms=(1.0, 2.0))
    async with site:
        ips = [m.ip for m in site.miners]
        (tmp_path / "site.yaml").write_text(
            "site: sd-site\ngpus: {enabled: false}\nminers:\n"
            f'  - targets: ["{ips[0]}-{ips[-1]}"]\n    interval: 30s\n    timeout: 3s\n'
        )
        agent = agent_from_config(tmp_path / "site.yaml", listen="127.0.0.1:0")
        await agent.start()
        try:
            assert agent.bound is not None
            base = f"http://127.0.0.1:{agent.bound[1]}"
            await agent.scheduler.run_cycle(agent.groups[0])
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{base}/sd") as r:
                    assert r.status == 200 and r.content_type == "application/json"
                    groups = await r.json()
                assert sorted(t for g in groups for t in g["targets"]) == sorted(f"{ip}:4028" for ip in ips)
                labels = groups[0]["labels"]
                assert labels["__meta_farmwatch_site"] == "sd-site"
                assert labels["__meta_farmwatch_driver"] in {"antminer", "whatsminer", "braiins", "luxos", "vnish", "avalon"}
                assert labels["__meta_farmwatch_up"] == "1"

                m = site.miners[2]
                async with http.get(f"{base}/probe", params={"target": m.ip, "module": "auto"}) as r:
                    assert r.status == 200
                    text = await r.text()
                assert "farmwatch_probe_success 1" in text
                assert f'farmwatch_miner_up{{device="{m.ip}:4028"}} 1' in text
                assert f'farmwatch_miner_hashrate_hashes_per_second{{device="{m.ip}:4028"}}' in text
                async with http.get(f"{base}/probe", params={"target": f"{m.ip}:4028", "module": m.firmware},
                                    headers={"Accept": "application/openmetrics-text"}) as r:
                    assert r.status == 200 and (await r.text()).endswith("# EOF\n")

                # Outside the configured ranges, names, ranges, URLs, other ports: 403, nothing sent.
                before = len(site.requests)
                for target in ("127.0.0.1:22", "127.47.1.1", "localhost", "metadata.google.internal", "169.254.169.254",
                               f"{ips[0]}-{ips[1]}", f"http://{m.ip}/", f"user@{m.ip}", f"{m.ip}:22", "[::1]:4028",
                               f"{ips[0]}/30"):
                    async with http.get(f"{base}/probe", params={"target": target}) as r:
                        assert r.status == 403, (target, r.status, await r.text())
                assert len(site.requests) == before
                async with http.get(f"{base}/probe", params={"target": m.ip, "module": "reboot"}) as r:
                    assert r.status == 400
                async with http.get(f"{base}/probe") as r:
                    assert r.status == 400
        finally:
            await agent.stop()


# -- TLS and basic auth --------------------------------------------------------------------------------------
def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "farmwatch-test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    crt, pem = tmp_path / "server.crt", tmp_path / "server.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    return crt, pem


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def test_tls_and_basic_auth_protect_every_endpoint(tmp_path: Path) -> None:
    crt, key = self_signed(tmp_path)
    secret = "s3cret pass"
    hashed = bcrypt.hashpw(secret.encode(), bcrypt.gensalt(4)).decode()
    (tmp_path / "web.yml").write_text(
        f"tls_server_config:\n  cert_file: {crt.name}\n  key_file: {key.name}\n"
        f"basic_auth_users:\n  prometheus: '{hashed}'\n"
    )
    (tmp_path / "site.yaml").write_text(
        'site: tls\ngpus: {enabled: false}\nminers:\n  - targets: ["127.48.0.1"]\n'
    )
    agent = agent_from_config(tmp_path / "site.yaml", listen="127.0.0.1:0", web_config=tmp_path / "web.yml")
    await agent.start()
    try:
        assert agent.bound is not None
        port = agent.bound[1]
        base = f"https://127.0.0.1:{port}"
        ctx = ssl.create_default_context(cafile=str(crt))
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx)) as http:
            for path in ("/metrics", "/healthz", "/sd", "/", "/probe?target=127.48.0.1"):
                async with http.get(base + path) as r:
                    assert r.status == 401, path
                    assert r.headers["WWW-Authenticate"].startswith("Basic")
            for auth in (basic("prometheus", "wrong"), basic("nobody", secret), "Basic !!!", "Bearer x"):
                async with http.get(base + "/metrics", headers={"Authorization": auth}) as r:
                    assert r.status == 401
            ok = {"Authorization": basic("prometheus", secret)}
            async with http.get(base + "/metrics", headers={**ok, "Accept-Encoding": "gzip",
                                                            "Accept": "application/openmetrics-text"}) as r:
                assert r.status == 200
                assert r.headers["Content-Encoding"] == "gzip"
                assert (await r.text()).endswith("# EOF\n")  # aiohttp decompresses
            async with http.get(base + "/healthz", headers=ok) as r:
                assert r.status == 200
            # No file or directory access, whatever the path.
            for path in ("/../../etc/passwd", "/metrics/../../etc/passwd", "/static/", "/%2e%2e/etc/passwd",
                         "/etc/passwd", "/.git/config"):
                async with http.get(base + path, headers=ok) as r:
                    assert r.status == 404, path
                    assert "root:" not in await r.text()
            async with http.post(base + "/metrics", headers=ok, data=b"x" * 100) as r:
                assert r.status in (405, 413)
            async with http.get(base + "/metrics", headers={**ok, "X-Big": "a" * 20000}) as r:
                assert r.status in (400, 431)
        # Plain HTTP on the TLS port gets no metrics.
        with pytest.raises((aiohttp.ClientError, ConnectionError)):
            async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/metrics") as r:
                assert r.status >= 400
                raise ConnectionError("refused as expected")
        # Without the CA the server's certificate is not trusted.
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            async with aiohttp.ClientSession() as http, http.get(base + "/healthz"):
                pass
    finally:
        await agent.stop()


def test_web_config_problems_name_file_line_key_and_never_echo_a_password(tmp_path: Path) -> None:
    (tmp_path / "web.yml").write_text(
        "tls_server_config:\n  cert_file: missing.crt\n  client_auth_type: Sometimes\n"
        "basic_auth_users:\n  admin: hunter2-plaintext\nextra: 1\n"
    )
    with pytest.raises(ConfigError) as e:
        load_web_config(tmp_path / "web.yml")
    text = "\n".join(str(p) for p in e.value.problems)
    assert "hunter2" not in text
    assert "basic_auth_users.admin" in text and "bcrypt" in text
    assert "tls_server_config.cert_file" in text and "tls_server_config.key_file" in text
    assert "client_auth_type" in text and "extra" in text
    assert f"{tmp_path / 'web.yml'}:5" in text  # the line of the bad hash


async def test_too_many_requests_in_flight_get_503(tmp_path: Path) -> None:
    from agent import server

    (tmp_path / "site.yaml").write_text('site: c\ngpus: {enabled: false}\nminers: []\n')
    agent = agent_from_config(tmp_path / "site.yaml", listen="127.0.0.1:0")
    await agent.start()
    try:
        assert agent.bound is not None
        url = f"http://127.0.0.1:{agent.bound[1]}/metrics"
        statuses: list[int] = []

        async def hit(http: aiohttp.ClientSession) -> None:
            async with http.get(url) as r:  # not gzip: each is decompressed in a thread, so many overlap
                await r.read()
                statuses.append(r.status)

        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            await asyncio.gather(*(hit(http) for _ in range(server.MAX_IN_FLIGHT * 4)))
        assert set(statuses) <= {200, 503} and 200 in statuses
    finally:
        await agent.stop()


# -- the daemon: SIGHUP reload, SIGTERM --------------------------------------------------------------------
def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as r:
        return str(r.read().decode())


def _wait(predicate, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if predicate():
                return
        except (OSError, urllib.error.URLError, ValueError):
            pass
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def test_sighup_reloads_config_keeps_unchanged_devices_and_sigterm_stops(tmp_path: Path) -> None:
    port = free_port()
    cfg = tmp_path / "site.yaml"

    def write(targets: list[list[str]], site: str = "r1") -> None:
        groups = "".join(f"  - targets: {json.dumps(t)}\n    interval: 30s\n    timeout: 1s\n" for t in targets)
        cfg.write_text(f'site: {site}\ngpus: {{enabled: false}}\nlisten: "127.0.0.1:{port}"\nminers:\n{groups}')

    # Nothing listens on these loopback addresses: devices are refused at once, and still listed (addresses
    # written alone are expected miners; a range would be a scope, where an empty address is not listed).
    three = ["127.49.0.1", "127.49.0.2", "127.49.0.3"]
    write([three, ["127.49.1.1"]])
    proc = subprocess.Popen([sys.executable, "-m", "agent", "run", "--config", str(cfg)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        sd = f"http://127.0.0.1:{port}/sd"

        def devices() -> set[str]:
            return {t for g in json.loads(_get(sd)) for t in g["targets"]}

        _wait(lambda: devices() == {"127.49.0.1:4028", "127.49.0.2:4028", "127.49.0.3:4028", "127.49.1.1:4028"})
        # Both groups have finished a cycle (their first starts are jittered): only then is there state to keep.
        def both_groups_polled() -> bool:
            text = _get(f"http://127.0.0.1:{port}/metrics")
            return all(f'farmwatch_miner_up{{device="{d}"}} 0' in text for d in ("127.49.0.1:4028", "127.49.1.1:4028"))

        _wait(both_groups_polled)
        # Group 0 unchanged, group 1 replaced, site renamed.
        write([three, ["127.49.2.1", "127.49.2.2"]], site="r2")
        proc.send_signal(signal.SIGHUP)
        _wait(lambda: devices() == {"127.49.0.1:4028", "127.49.0.2:4028", "127.49.0.3:4028", "127.49.2.1:4028",
                                    "127.49.2.2:4028"})
        _wait(lambda: 'site="r2"' in _get(f"http://127.0.0.1:{port}/metrics"))
        text = _get(f"http://127.0.0.1:{port}/metrics")
        assert 'device="127.49.1.1:4028"' not in text  # gone from the store
        assert 'farmwatch_miner_up{device="127.49.0.1:4028"} 0' in text  # unchanged device kept its state
        # A broken config changes nothing and says why.
        cfg.write_text("site: r3\nminers:\n  - targets: [\"10.0.0.300\"]\n")
        proc.send_signal(signal.SIGHUP)
        time.sleep(3)
        assert 'site="r2"' in _get(f"http://127.0.0.1:{port}/metrics")
        assert len(devices()) == 5
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        assert proc.stderr is not None
        log = proc.stderr.read()
        assert "reload" in log and "10.0.0.300" in log and "still running the previous config" in log
        assert "Traceback" not in log
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_gzip_body_is_one_standard_gzip_member(tmp_path: Path) -> None:
    """Both formats share compressed segments; each document must still be a single, standard gzip stream
    (what curl, browsers and Go's gzip reader all accept)."""
    import zlib

    from agent.exposition import render
    from collectors.families import Families

    fams = Families()
    for i in range(3):
        f = fams.get(f"farmwatch_test_{i}", "counter" if i == 1 else "gauge", "help")
        for j in range(9000):
            f.add(f'{{device="10.0.{j // 250}.{j % 250}:4028"}}', j * 1.5)
    out = render(fams)
    for gz in (out.gz_text, out.gz_openmetrics):
        d = zlib.decompressobj(wbits=31)
        raw = d.decompress(gz)
        assert d.eof and d.unused_data == b""  # exactly one member
        assert raw == gzip.decompress(gz)
    assert out.openmetrics.endswith(b"# EOF\n")
    assert b"# TYPE farmwatch_test_1_total counter" in out.text
    assert b"# TYPE farmwatch_test_1 counter" in out.openmetrics
    assert out.text.count(b"\n") == 3 * 9000 + 6
