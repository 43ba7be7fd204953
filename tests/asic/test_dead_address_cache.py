"""An address whose miner went dark for good does not keep the driver's cache (identity replies, login tokens)
forever: on a /16 scope where every address once held a miner that was ~3.7 KB each, 240 MB, bounded only by the
address count (docs/reliability.md). A miner that is down for a while (a reboot, a breaker) keeps it."""

from __future__ import annotations

from collectors.asic.group import MinerGroup, Poller
from collectors.asic.poll import MinerSession
from collectors.asic.store import MinerStore
from collectors.collector import MAX_BACKOFF_S, backoff_seconds
from simsite import SimSite


async def test_a_dead_address_drops_the_driver_cache_once_its_backoff_is_at_the_cap() -> None:
    site = SimSite.build(count=1, seed=3, base_ip="127.74.0.1", mix={"whatsminer": 1.0}, latency_ms=(0.0, 0.0))
    m = site.miners[0]
    session = MinerSession(host=m.ip, port=m.port)
    group = MinerGroup(name="g", sessions=[session], interval=1.0, timeout=2.0)
    store = MinerStore()
    group.poller = Poller(store)
    async with site:
        await group.run_cycle()
        state = store.get(session.device)
        assert state is not None and state.up
        assert session.state, "the driver kept nothing to forget"
    # The miner is gone. Each cycle below is one more failed poll, as if the backoff had passed.
    kept_while_down: list[bool] = []
    for failures in range(1, 30):
        state.next_attempt = 0.0
        await group.run_cycle()
        assert not state.up and state.failures == failures
        at_cap = backoff_seconds(failures, group.interval) >= MAX_BACKOFF_S
        kept_while_down.append(bool(session.state))
        if at_cap:
            assert session.state == {}, f"cache kept after {failures} failures at the backoff cap"
            break
        assert session.state, f"cache dropped after only {failures} failures"
    else:
        raise AssertionError("never reached the backoff cap")
    assert kept_while_down[0]  # a miner down once (a reboot) keeps its tokens and identity
