"""Pool-side reconciliation (issue 18.3): Braiins Pool's workers API read from a pool served on loopback with
replies written here from the pool's documented format (no real pool is ever called), through the real agent
configured from site.yaml: each worker's hashrate in H/s from the unit the pool names, unknown fields left out,
a refused token shown as the account's error, the token never in /metrics or the log, and only GETs sent.
The rules that set these against the miners' own figures are tested with promtool (rules/tests/pools.test.yml)."""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web

from agent.runtime import agent_from_config
from collectors.poolapi.braiins import PoolApiError, parse_workers
from tests.support.prom import free_port

TOKEN = "read-only-profile-token"


def reply(workers: dict[str, dict[str, Any]], coin: str = "btc") -> bytes:
    return json.dumps({coin: {"workers": workers}}).encode()


def test_workers_are_read_in_the_unit_the_pool_names_and_unknown_stays_unknown() -> None:
    got = parse_workers(reply({
        "acct.rig2": {"state": "low", "last_share": 1733380000, "hash_rate_unit": "Th/s", "hash_rate_5m": 95.5,
                      "hash_rate_60m": "97.25", "hash_rate_24h": None, "shares_5m": 80, "shares_60m": 1000},
        "acct.rig1": {"state": "ok", "last_share": 1733380100, "hash_rate_unit": "Gh/s", "hash_rate_5m": 104000.5,
                      "hash_rate_60m": 103500, "hash_rate_24h": 104100, "shares_5m": 90, "shares_60m": 1100,
                      "shares_24h": 26000},
        "acct.odd": {"hash_rate_unit": "furlongs", "hash_rate_5m": 1, "hash_rate_60m": -5, "shares_60m": True},
    }))
    assert [w.worker for w in got] == ["acct.odd", "acct.rig1", "acct.rig2"]
    odd, rig1, rig2 = got
    assert rig1.hashrate == {"5m": 104000.5e9, "60m": 103500e9, "24h": 104100e9}
    assert rig1.shares == {"5m": 90.0, "60m": 1100.0, "24h": 26000.0} and rig1.state == "ok"
    assert rig2.hashrate == {"5m": 95.5e12, "60m": 97.25e12, "24h": None}  # null: unknown, not 0
    assert rig2.shares["24h"] is None and rig2.last_share == 1733380000
    assert odd.hashrate == {"5m": None, "60m": None, "24h": None} and odd.shares["60m"] is None and odd.state is None
    for bad in (b"<html>rate limited</html>", b'{"btc": {"workers": []}}', b'{"ltc": {"workers": {}}}', b"[]"):
        with pytest.raises(PoolApiError):
            parse_workers(bad)
    assert parse_workers(reply({})) == []  # an account without workers


async def test_the_agent_reads_the_pool_with_its_token_and_exports_each_worker(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    seen: list[tuple[str, str, str | None]] = []

    async def workers(request: web.Request) -> web.Response:
        token = request.headers.get("Pool-Auth-Token")
        seen.append((request.method, request.path, token))
        if token != TOKEN:
            return web.Response(status=401, text="invalid token")
        return web.Response(body=reply({
            "farm.w1": {"state": "ok", "last_share": 1733380100, "hash_rate_unit": "Th/s", "hash_rate_5m": 101.5,
                        "hash_rate_60m": 97.5, "hash_rate_24h": 98.0, "shares_5m": 900, "shares_60m": 10000,
                        "shares_24h": 240000}}), content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/accounts/workers/json/btc/", workers)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.199.9.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    (tmp_path / "good.token").write_text(TOKEN + "\n")
    (tmp_path / "old.token").write_text("revoked-token\n")
    base = f"http://127.199.9.1:{port}"
    (tmp_path / "site.yaml").write_text(yaml.safe_dump({
        "site": "pools", "listen": f"127.0.0.1:{free_port()}", "gpus": {"enabled": False},
        "miners": [{"targets": ["127.199.9.2"], "interval": "30s", "timeout": "1s"}],
        "pool_api": {"interval": "10s", "accounts": [
            {"name": "braiins", "api": "braiins", "url": base, "token_file": "good.token", "normal_gap": 0.025},
            {"name": "braiins-old", "api": "braiins", "url": base, "token_file": "old.token"}]}}))
    agent = agent_from_config(tmp_path / "site.yaml")
    caplog.set_level(logging.INFO)
    try:
        await agent.start()
        assert agent.bound is not None
        url = f"http://127.0.0.1:{agent.bound[1]}/metrics"

        def metrics() -> str:
            with urllib.request.urlopen(url, timeout=10) as r:
                return str(r.read().decode())

        text = ""
        for _ in range(100):
            text = await asyncio.to_thread(metrics)
            if 'farmwatch_pool_api_up{pool="braiins-old"}' in text and 'farmwatch_pool_api_up{pool="braiins"}' in text:
                break
            await asyncio.sleep(0.2)
        w = 'pool="braiins",worker="farm.w1"'
        assert f'farmwatch_pool_worker_hashrate_hashes_per_second{{{w},window="60m"}} 97500000000000' in text, text
        assert f'farmwatch_pool_worker_hashrate_hashes_per_second{{{w},window="5m"}} 101500000000000' in text
        assert "window=\"24h\"" not in text  # read, not exported
        assert f'farmwatch_pool_worker_shares{{{w},window="60m"}} 10000' in text
        assert f'farmwatch_pool_worker_last_share_timestamp_seconds{{{w}}} 1733380100' in text
        assert f'farmwatch_pool_worker_state{{{w},state="ok"}} 1' in text
        assert 'farmwatch_pool_reconcile_normal_gap_ratio{pool="braiins"} 0.025' in text
        assert 'farmwatch_pool_reconcile_normal_gap_ratio{pool="braiins-old"} 0.03' in text
        assert 'farmwatch_pool_api_up{pool="braiins"} 1' in text
        # The revoked token: the account is down with its reason, no worker series of its own.
        assert 'farmwatch_pool_api_up{pool="braiins-old"} 0' in text
        assert 'farmwatch_pool_api_error_info{pool="braiins-old",error="HTTP 401 (token refused)"} 1' in text
        assert 'pool="braiins-old",worker=' not in text
        assert TOKEN not in text and "revoked-token" not in text
        assert TOKEN not in caplog.text and "revoked-token" not in caplog.text
        # Read only: GETs of the workers endpoint, nothing else.
        assert {(m, p) for m, p, _t in seen} == {("GET", "/accounts/workers/json/btc/")}
        assert {t for _m, _p, t in seen} == {TOKEN, "revoked-token"}
    finally:
        await agent.stop()
        await runner.cleanup()


def test_a_bad_pool_api_section_names_file_line_key(tmp_path: Path) -> None:
    from agent.config import check_config

    path = tmp_path / "site.yaml"
    path.write_text('site: s\nminers:\n  - targets: ["10.0.0.1"]\npool_api:\n  interval: 2s\n  accounts:\n'
                    '    - {name: a, api: luxor, token_file: t}\n'
                    '    - {name: b, api: braiins}\n'
                    '    - {name: c, api: braiins, token_env: NOPE_NOT_SET_X, url: "pool.example", normal_gap: 1.5}\n')
    problems = [str(p) for p in check_config(path, check_secrets=False)]
    assert any("site.yaml:5: pool_api.interval: at least 10s" in p for p in problems), problems
    assert any("site.yaml:7: pool_api.accounts[0].api" in p and "luxor" in p for p in problems), problems
    assert any("site.yaml:8: pool_api.accounts[1]: missing token_file" in p for p in problems), problems
    assert any("pool_api.accounts[2].url" in p for p in problems), problems
    assert any("pool_api.accounts[2].normal_gap" in p for p in problems), problems
