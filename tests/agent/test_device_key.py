"""One miner, one ``device``: an HTTP-only miner configured without a port is identified, then polled and keyed
at its web port (docs/architecture.md, ``poll --json``: ``device`` is the HTTP port for HTTP-only firmwares), exactly as
``farmwatch scan --write-targets`` writes it. In the daemon the store entry moves with it: no ``host:4028``
series is left behind, /sd and /probe agree, and a config reload keeps what was learnt. Real sockets against
the simulated site."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from agent.daemon import Agent
from agent.runtime import agent_from_config, reload_plan
from collectors.asic.store import MinerStore
from collectors.errors import DeviceTimeout
from simsite import SimSite


def _config(path: Path, ips: list[str], interval: str = "30s") -> None:
    path.write_text(
        "site: key-site\ngpus: {enabled: false}\nminers:\n"
        f'  - targets: ["{ips[0]}-{ips[1]}", "{ips[2]}:4028"]\n    interval: {interval}\n    timeout: 3s\n'
    )


async def test_daemon_rekeys_an_http_only_miner_to_its_web_port(tmp_path: Path) -> None:
    site = SimSite.build(count=3, seed=9, base_ip="127.78.10.1", mix={"bitaxe": 1.0}, latency_ms=(0.0, 0.0))
    async with site:
        ips = [m.ip for m in site.miners]
        cfg = tmp_path / "site.yaml"
        _config(cfg, ips)
        agent = agent_from_config(cfg, listen="127.0.0.1:0")
        await agent.start()
        try:
            assert agent.bound is not None
            base = f"http://127.0.0.1:{agent.bound[1]}"
            group = agent.groups[0]
            # Without a port: the web port once identified. With one (``:4028``): kept, as written.
            want = {f"{ips[0]}:80", f"{ips[1]}:80", f"{ips[2]}:4028"}
            await agent.scheduler.run_cycle(group)
            assert set(agent.store.devices) == want
            assert all(d.up and d.reading is not None and d.reading.device == d.device
                       for d in agent.store.devices.values())
            text = agent.rendered().text.decode()
            assert f'farmwatch_miner_up{{device="{ips[0]}:80"}} 1' in text
            assert f'device="{ips[0]}:4028"' not in text and f'device="{ips[1]}:4028"' not in text
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{base}/sd") as r:
                    assert r.status == 200
                    sd = {t for g in await r.json() for t in g["targets"]}
                assert sd == want
                # Prometheus probing the /sd targets: the web port of a port-less spec is in range.
                async with http.get(f"{base}/probe", params={"target": f"{ips[0]}:80"}) as r:
                    assert r.status == 200
                    assert f'farmwatch_miner_up{{device="{ips[0]}:80"}} 1' in await r.text()
                async with http.get(f"{base}/probe", params={"target": ips[1]}) as r:
                    assert r.status == 200
                    assert f'farmwatch_miner_up{{device="{ips[1]}:80"}} 1' in await r.text()
                async with http.get(f"{base}/probe", params={"target": f"{ips[2]}:80"}) as r:
                    assert r.status == 403  # ``ip:4028`` was written: only that port

            # Next cycle: nothing to identify again, same keys.
            sessions = list(group.sessions)
            await agent.scheduler.run_cycle(group)
            assert set(agent.store.devices) == want

            # SIGHUP with the same config keeps the group; a changed group reuses the sessions (matched by the
            # target as configured), so the learnt port and driver stay and nothing is re-keyed back.
            assert await _reload(agent, cfg) and agent.groups[0] is group
            _config(cfg, ips, interval="20s")
            assert await _reload(agent, cfg) and agent.groups[0] is not group
            assert agent.groups[0].sessions == sessions and all(
                a is b for a, b in zip(agent.groups[0].sessions, sessions, strict=True))
            assert set(agent.store.devices) == want
            await agent.scheduler.run_cycle(agent.groups[0])
            assert set(agent.store.devices) == want
            assert all(d.up for d in agent.store.devices.values())
        finally:
            await agent.stop()


async def _reload(agent: Agent, cfg: Path) -> bool:
    await agent.apply(reload_plan(cfg, None, None))
    return True


def test_store_rekey_moves_the_state_and_leaves_nothing_behind() -> None:
    store = MinerStore()
    store.record_failure("10.0.0.1:4028", DeviceTimeout("t"), backoff_until=5.0)
    state = store.rekey("10.0.0.1:4028", "10.0.0.1:80")
    assert list(store.devices) == ["10.0.0.1:80"] and state.device == "10.0.0.1:80"
    assert state.failures == 1 and state.next_attempt == 5.0
    store.ensure("10.0.0.2:4028")
    store.ensure("10.0.0.2:80")
    store.rekey("10.0.0.2:4028", "10.0.0.2:80")  # already known under the new key: no duplicate
    assert sorted(store.devices) == ["10.0.0.1:80", "10.0.0.2:80"]
