"""The streaming render (issue 16, memory): each family's lines are compressed in the render thread while the
others are still being built, so the exposition is never held as text all at once — and a scrape gets the same
documents, byte for byte, as from the render that joined everything first."""

from __future__ import annotations

import gzip
import os
import zlib
from concurrent.futures import ThreadPoolExecutor

import pytest

from agent.exposition import StreamingRender, crc32_combine, render
from agent.metrics import agent_families
from collectors.asic.group import MinerGroup
from collectors.asic.metrics import miner_families
from collectors.asic.reading import Board, MinerReading, Pool
from collectors.asic.store import MinerStore
from collectors.errors import DeviceTimeout
from collectors.families import SINK_CHUNK_LINES, Families


@pytest.mark.parametrize("sizes", [(0, 0), (0, 5), (5, 0), (1, 1), (1000, 70_000), (3, 1 << 20), (123_457, 9)])
def test_crc32_combine_is_the_crc_of_the_concatenation(sizes: tuple[int, int]) -> None:
    a, b = os.urandom(sizes[0]), os.urandom(sizes[1])
    assert crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)


def reading(i: int) -> MinerReading:
    return MinerReading(
        device=f"10.0.{i // 250}.{i % 250 + 1}:4028", driver="antminer", make="Antminer", model="S19 Pro",
        firmware="stock", firmware_version="49.0.1.3", mac="AA:BB:CC:DD:EE:FF", state="hashing",
        hashrate_ths=100 + i / 7, expected_hashrate_ths=110.0, fans_rpm=[6000, 5880],
        # A lone surrogate in a label value: "replace" keeps every other device's series in both paths.
        boards=[Board(index=b, hashrate_ths=33.3 + b, chips=114, expected_chips=114, temp_c=70.0 + b)
                for b in range(3)],
        pools=[Pool(url=f"stratum+tcp://pool{i % 3}:3333", user="acct.w\ud800" if i == 7 else f"acct.w{i}",
                    status="alive", accepted=i, rejected=1, stale=0, index=0, active=True)],
        uptime_s=50474 + i,
    )


def build(store: MinerStore, fams: Families) -> Families:
    agent_families(fams, site="s1", version="0.1.0", groups=[MinerGroup(name="g", sessions=[])], store=store,
                   render_seconds=0.01)
    miner_families(fams, store)
    return fams


@pytest.fixture(scope="module")
def store() -> MinerStore:
    s = MinerStore()
    for i in range(2 * SINK_CHUNK_LINES + 37):  # several full chunks per per-miner family, and a remainder
        r = reading(i)
        s.record_success(r.device, r)
    s.record_failure("10.9.9.9:4028", DeviceTimeout("no answer"), backoff_until=0.0)
    return s


def test_streamed_documents_equal_the_joined_ones(store: MinerStore) -> None:
    joined = render(build(store, Families()))
    with ThreadPoolExecutor(max_workers=1) as pool:
        streams = StreamingRender(pool)
        fams = build(store, Families(streams))
        streamed = pool.submit(render, fams, streams).result()
    # gzip.decompress checks each document's CRC-32 and length: the combined checksums are right.
    assert gzip.decompress(streamed.gz_text) == gzip.decompress(joined.gz_text)
    assert gzip.decompress(streamed.gz_openmetrics) == gzip.decompress(joined.gz_openmetrics)
    assert (streamed.size_text, streamed.size_openmetrics) == (joined.size_text, joined.size_openmetrics)
    text = streamed.text.decode()
    assert text.count("farmwatch_miner_up{") == len(store.devices)
    assert 'user="acct.w?"' in text  # the surrogate replaced, not the exposition lost


def test_a_family_never_holds_more_than_one_chunk_of_text_while_streaming(store: MinerStore) -> None:
    held: list[int] = []

    def sink(fam, chunk: str) -> None:  # type: ignore[no-untyped-def]
        held.append(len(fam.lines) + sum(c.count("\n") for c in fam.chunks))

    fams = build(store, Families(sink))
    big = [f for f in fams if f.sunk]
    assert big, "no family reached a chunk: the test fleet is too small to show anything"
    assert max(held) <= SINK_CHUNK_LINES
    assert all(len(f.lines) < SINK_CHUNK_LINES and not f.chunks for f in fams)


def test_a_render_queued_before_its_chunks_are_compressed_fails_loudly(store: MinerStore) -> None:
    """With more than one worker the render could read a family before its last chunk is in: an error, never a
    document silently missing samples."""
    parked: list[tuple[object, str]] = []

    class Hold:  # an executor that runs nothing until told: the chunks are still queued when render() reads them
        def submit(self, fn, *args):  # type: ignore[no-untyped-def]
            parked.append((fn, *args))

    streams = StreamingRender(Hold())  # type: ignore[arg-type]
    fams = build(store, Families(streams))
    assert parked
    with pytest.raises(RuntimeError, match="were compressed"):
        render(fams, streams)
