"""Issue 13, class 3: a firmware whose total and whose boards disagree by a unit factor (one in GH/s, the other
in MH/s) never exports a figure 1,000x off unnoticed: the one nearer the model's nameplate wins, or, with no
nameplate, the boards' rates become unknown; a ``parse`` note says which (bytes through the bmminer parser)."""

from __future__ import annotations

import json

import pytest

from agent.exposition import render
from collectors.asic import rpc
from collectors.asic.drivers import antminer
from collectors.asic.metrics import miner_families
from collectors.asic.normalize import finalize
from collectors.asic.reading import MinerReading
from collectors.asic.store import MinerStore
from collectors.families import Families


def stats(type_: str, total: str, chains: list[str], unit: str | None = "GH") -> dict[str, object]:
    data: dict[str, object] = {"STATS": 0, "Elapsed": 100, "GHS 5s": total, "fan_num": 2, "fan1": 4000, "fan2": 4100}
    if unit:
        data["rate_unit"] = unit
    for n, rate in enumerate(chains, 1):
        data[f"chain_acn{n}"] = 120
        data[f"chain_rate{n}"] = rate
    body = {"STATUS": [{"STATUS": "S"}], "STATS": [{"Type": type_, "CompileTime": "x"}, data], "id": 1}
    return rpc.decode_reply(json.dumps(body).encode())


def read(type_: str, total: str, chains: list[str], unit: str | None = "GH") -> MinerReading:
    return finalize(antminer.parse({"stats": stats(type_, total, chains, unit)}, "10.0.0.1:4028"))


def test_total_in_the_wrong_unit_is_replaced_by_the_boards_near_the_nameplate() -> None:
    # An L7 whose "GHS 5s" is MH/s while chain_rate and rate_unit say GH/s: 9,500 "GH/s" would be 9.5 TH/s.
    r = read("Antminer L7", "9500.00", ["3.16", "3.17", "3.17"])
    assert r.hashrate_ths == pytest.approx(0.0095)
    assert [b.hashrate_ths for b in r.boards] == pytest.approx([0.00316, 0.00317, 0.00317])
    assert [(n.part, n.reason) for n in r.missing] == [("board hashrate", "parse")]
    assert "disagree by a factor" in r.notes[0]


def test_boards_in_the_wrong_unit_are_rescaled_to_the_total() -> None:
    r = read("Antminer S19 Pro", "110000.00", ["37000000.00", "36500000.00", "36500000.00"])
    assert r.hashrate_ths == pytest.approx(110.0)
    assert [round(b.hashrate_ths or 0, 3) for b in r.boards] == [37.0, 36.5, 36.5]
    assert r.state == "hashing"


def test_without_a_nameplate_the_boards_become_unknown_and_the_metric_says_so() -> None:
    r = read("Antminer X99", "50000.00", ["16.6", "16.7", "16.7"])
    assert r.hashrate_ths == pytest.approx(50.0)
    assert [b.hashrate_ths for b in r.boards] == [None, None, None]
    store = MinerStore()
    store.record_success(r.device, r, now=1.0)
    fams = Families()
    miner_families(fams, store)
    text = render(list(fams)).text.decode()
    assert 'farmwatch_miner_partial_info{device="10.0.0.1:4028",part="board hashrate",reason="parse"} 1' in text
    assert "farmwatch_miner_board_hashrate_hashes_per_second" not in text


def test_agreeing_units_leave_no_note() -> None:
    r = read("Antminer S19 Pro", "110000.00", ["37000.00", "36500.00", "36500.00"])
    assert r.notes == [] and r.missing == []
