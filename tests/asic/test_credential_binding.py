"""The fleet's web password goes only where it belongs (issue 11, finding 6): to devices identified as a
firmware it is for (``credentials.firmwares``, else the group's driver), never answering an RFC 2069 Digest
challenge, and in a URL only for Goldshell, whose login takes nothing else."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agent.config import load_config
from agent.yamlread import ConfigError
from collectors.asic import http
from collectors.asic.configure import web_credentials
from collectors.asic.http import PlainSecret, WebCredentials, close_session
from collectors.asic.poll import MinerSession, poll
from collectors.errors import DeviceError
from simsite import SimSite
from tests.support.replay_web import ReplayWeb

GOLDSHELL_PASSWORD = "123456789"  # the simulator's (and the firmware's default) password


async def _poll_goldshell(base_ip: str, creds: WebCredentials) -> tuple[object, list[bytes]]:
    site = SimSite.build(count=1, seed=6, base_ip=base_ip, mix={"goldshell": 1.0}, latency_ms=(0.0, 0.0))
    await site.start()
    m = site.miners[0]
    loop = asyncio.get_running_loop()
    try:
        try:
            result: object = await poll(MinerSession(host=m.ip, port=m.port, credentials=creds),
                                        deadline=loop.time() + 10)
        except DeviceError as e:
            result = e
    finally:
        await close_session()
        await site.stop()
    return result, [r.raw for r in site.requests]


async def test_a_device_identified_as_another_firmware_never_gets_the_password() -> None:
    secret = PlainSecret(GOLDSHELL_PASSWORD)
    result, raw = await _poll_goldshell("127.137.0.1", WebCredentials(password=secret, firmwares=frozenset({"braiins"})))
    assert isinstance(result, DeviceError) and result.reason == "auth", result
    assert "credentials.firmwares" in result.message
    assert not any(GOLDSHELL_PASSWORD.encode() in r for r in raw)  # before: sent in the login URL
    result, raw = await _poll_goldshell("127.137.1.1", WebCredentials(password=secret,
                                                                       firmwares=frozenset({"goldshell"})))
    assert not isinstance(result, DeviceError), result
    # Goldshell's login is a GET with the password in the query: the one documented exception.
    assert any(r.startswith(b"GET /user/login?") and GOLDSHELL_PASSWORD.encode() in r for r in raw)


async def test_a_digest_challenge_without_qop_is_refused_before_any_response_is_computed() -> None:
    routes = {"/cgi-bin/stats.cgi": b'{"STATUS":{"STATUS":"S"}}'}
    loop = asyncio.get_running_loop()
    try:
        async with ReplayWeb(routes, digest=("antMiner Configuration", "root", "pw"), digest_qop=False) as srv:
            with pytest.raises(DeviceError) as e:
                await http.request("GET", http.url(srv.host, srv.port, "/cgi-bin/stats.cgi"),
                                   deadline=loop.time() + 5, digest=http.digest("root", "pw"))
            assert e.value.reason == "auth" and "qop" in e.value.message
            assert srv.authorizations == []
        async with ReplayWeb(routes, digest=("antMiner Configuration", "root", "pw")) as srv:  # with qop: fine
            got = await http.request("GET", http.url(srv.host, srv.port, "/cgi-bin/stats.cgi"),
                                     deadline=loop.time() + 5, digest=http.digest("root", "pw"))
            assert got.status == 200 and srv.authorizations
    finally:
        await close_session()


def test_credentials_firmwares_in_the_config(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("fleet\n")
    (tmp_path / "pw").chmod(0o600)
    (tmp_path / "site.yaml").write_text(
        "site: s\nminers:\n"
        '  - targets: ["10.0.0.1"]\n    credentials: {web_password_file: pw, firmwares: [braiins, goldshell]}\n'
        '  - targets: ["10.0.0.2"]\n    driver: vnish\n    credentials: {web_password_file: pw}\n'
        '  - targets: ["10.0.0.3"]\n    credentials: {web_password_file: pw}\n')
    cfg = load_config(tmp_path / "site.yaml")
    assert [web_credentials(g).firmwares for g in cfg.miners] == [
        frozenset({"braiins", "goldshell"}), frozenset({"vnish"}), None]
    (tmp_path / "bad.yaml").write_text(
        'site: s\nminers:\n  - targets: ["10.0.0.1"]\n    credentials: {web_password_file: pw, firmwares: [goldshel]}\n')
    with pytest.raises(ConfigError) as e:
        load_config(tmp_path / "bad.yaml")
    assert "firmwares" in str(e.value) and "goldshell" in str(e.value)
