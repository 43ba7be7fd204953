"""What a poll keeps between cycles is shared across the fleet (issue 16, memory): every miner's cached identity
reply repeats the same keys and mostly the same strings, and holding a private copy of each for an hour was ~3 kB
a miner. Polled over real sockets from the simulated site; the readings stay exact."""

from __future__ import annotations

import asyncio

from collectors.asic.context import shared
from collectors.asic.poll import MinerSession, poll
from simsite import SimSite


async def test_two_miners_cached_identity_replies_share_their_keys_and_strings() -> None:
    site = SimSite.build(count=4, seed=21, base_ip="127.122.40.1", mix={"antminer": 1.0}, latency_ms=(0.5, 1.0))
    async with site:
        loop = asyncio.get_running_loop()
        sessions = [MinerSession(host=m.ip, port=m.port) for m in site.miners[:2]]
        readings = [await poll(s, deadline=loop.time() + 5) for s in sessions]
    a, b = (s.state["rpc-identity"]["version"] for s in sessions)
    assert a == b or a["VERSION"][0].keys() == b["VERSION"][0].keys()
    ka = next(k for k in a if k == "VERSION")
    kb = next(k for k in b if k == "VERSION")
    assert ka is kb  # one key object for the fleet, not one per miner
    ta, tb = a["VERSION"][0].get("Type"), b["VERSION"][0].get("Type")
    if ta == tb:
        assert ta is tb
    for r, m in zip(readings, site.miners[:2], strict=True):
        assert r.driver == "antminer" and r.model is not None and r.model in m.truth()["model"]


def test_a_kept_value_keeps_its_shape_and_types() -> None:
    deep: object = "leaf"
    for _ in range(200):  # deeper than the rebuild goes: kept as it came, no recursion error
        deep = [deep]
    value = {"STATUS": [{"STATUS": "S", "When": 1, "Msg": "x" * 100}], "n": 1.5, "none": None, "t": (1, 2),
             "deep": deep}
    out = shared(value)
    assert out == value
    assert out["STATUS"][0]["Msg"] == "x" * 100 and out["t"] == (1, 2)
