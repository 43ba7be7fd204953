"""Two machines answering on one address in turn (an IP conflict, two miners behind one forwarded port): the
identity shown is one machine's, never a mix of both, and the flapping is flagged (issue 11, finding 7)."""

from __future__ import annotations

import asyncio

from agent.exposition import render
from collectors.asic.http import close_session
from collectors.asic.metrics import miner_families
from collectors.asic.poll import MinerSession, poll
from collectors.asic.reading import MinerReading
from collectors.asic.store import MinerStore
from collectors.families import Families
from simsite import SimSite


async def _read(fw: str, base_ip: str) -> MinerReading:
    site = SimSite.build(count=1, seed=13, base_ip=base_ip, mix={fw: 1.0}, latency_ms=(0.0, 0.0))
    await site.start()
    try:
        m = site.miners[0]
        loop = asyncio.get_running_loop()
        return await poll(MinerSession(host=m.ip, port=m.port), deadline=loop.time() + 10)
    finally:
        await close_session()
        await site.stop()


def _exposition(store: MinerStore) -> str:
    fams = Families()
    miner_families(fams, store)
    return render(list(fams)).text.decode()


async def test_alternating_machines_are_never_mixed_and_are_flagged() -> None:
    a = await _read("whatsminer", "127.138.0.1")  # reports MAC and serial
    b = await _read("avalon", "127.138.1.1")  # reports a MAC, no serial
    assert a.mac and a.serial and b.mac and b.mac != a.mac and b.serial is None
    store = MinerStore()
    device = "10.0.0.7:4028"
    store.record_success(device, a)
    store.record_success(device, b)
    ident = store.devices[device].identity
    assert (ident.mac, ident.serial, ident.driver) == (b.mac, None, b.driver)  # before: b's MAC with a's serial
    assert "farmwatch_miner_identity_conflict" not in _exposition(store)  # one change: a DHCP move, say
    store.record_success(device, a)
    text = _exposition(store)
    assert f'farmwatch_miner_identity_conflict{{device="{device}"}} 1' in text
    assert f'mac="{a.mac}"' in text and f'serial="{a.serial}"' in text and f'mac="{b.mac}"' not in text
