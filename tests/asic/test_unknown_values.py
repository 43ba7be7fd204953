"""Unknown is null, never 0 (docs/architecture.md, ``poll --json``): bytes through the parsers, then the reading, its JSON and
its /metrics series. What a device cannot tell (NaN, garbage, a value it never sends) stays unknown all the way:

- an unreadable fan slot is None (no sample), a fan that reads 0 stays 0, and no readable fan at all is ``[]``;
- NaN is never the zero that makes a miner look asleep (which would mute its board and fan alarms);
- boards with nothing parseable have ``chips: null``, not ``0`` (a missing board);
- the since-boot average is never the current hashrate (Whatsminer ``MHS av``/``hash-average``, ePIC
  ``Average MHs``);
- errors are ``null`` (no ``farmwatch_miner_firmware_errors`` sample) where the driver does not read them, ``[]``
  where it read none;
- a sleeping stock Antminer reports the model's fans as zeros (stopped, and known to be) like LuxOS and Avalon.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from agent.exposition import render
from collectors.asic import rpc
from collectors.asic.drivers import antminer, avalon, bitaxe, braiins, epic, luxos, vnish, whatsminer
from collectors.asic.metrics import miner_families
from collectors.asic.normalize import board_missing, finalize, sanitize
from collectors.asic.reading import Board, MinerReading
from collectors.asic.store import MinerStore
from collectors.families import Families
from simsite import SimSite
from simsite.faults import not_numbers
from tests.asic.test_drivers_cgminer_family import (
    DEV,
    bos_join,
    decode,
    lux_replies,
    status,
    x19_replies,
    x19_stats,
)
from tests.asic.test_drivers_whatsminer import SUMMARY_FIELDS, cg, devs, flat, parsed
from tests.support.simulated import make_agent


def series(r: MinerReading) -> dict[str, float]:
    """Every sample of the reading as /metrics serves it, by name and labels."""
    store = MinerStore()
    store.record_success(r.device, r, now=1.0)
    fams = Families()
    miner_families(fams, store)
    out = {}
    for line in render(list(fams)).text.decode().splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def names(r: MinerReading) -> set[str]:
    return {k.split("{")[0] for k in series(r)}


def x19(**stats: Any) -> MinerReading:
    return finalize(antminer.parse(x19_replies(**stats), DEV))


# --- 1. fans: unreadable is unknown, 0 stays 0 --------------------------------------------------------------
def test_unreadable_fan_slot_is_unknown_while_a_stopped_fan_stays_zero() -> None:
    # fan1 NaN, fan2 0 (dead), fan3 garbage, fan4 spinning: the slots stay in place.
    r = x19(fan_num=4, fan1=float("nan"), fan2=0, fan3="n/a", fan4=5040)
    assert r.fans_rpm == [None, 0, None, 5040]
    assert r.to_json()["fans_rpm"] == [None, 0, None, 5040]
    assert json.loads(json.dumps(r.to_json(), allow_nan=False))["fans_rpm"] == [None, 0, None, 5040]
    s = series(r)
    fans = {k: v for k, v in s.items() if k.startswith("farmwatch_miner_fan_speed_rpm")}
    assert fans == {f'farmwatch_miner_fan_speed_rpm{{device="{DEV}",fan="1"}}': 0.0,
                    f'farmwatch_miner_fan_speed_rpm{{device="{DEV}",fan="3"}}': 5040.0}
    assert s[f'farmwatch_miner_fans_unreadable{{device="{DEV}"}}'] == 2


def test_luxos_unreadable_fans_reply_falls_back_to_stats_slots() -> None:
    replies = lux_replies()
    replies["fans"] = decode("{" + status("1 Fan(s)") + ',"FANS":[{"FAN":"FAN1","RPM":NaN}],"id":1}')
    assert finalize(luxos.parse(replies, DEV)).fans_rpm == [1900, 1900, 2300, 2300]


def test_negative_fan_reading_is_unknown_not_stopped() -> None:
    r = x19(fan_num=4, fan1=6000, fan2=-5880, fan3=5040, fan4=5040)
    assert r.fans_rpm == [6000, None, 5040, 5040]
    assert sanitize(MinerReading(device="d", driver="x", fans_rpm=[-1, 3000, 0])).fans_rpm == [None, 3000, 0]
    assert sanitize(MinerReading(device="d", driver="x", fans_rpm=[-1, -2])).fans_rpm == []


def _bos_fans(rpm: str) -> dict[str, Any]:
    replies = bos_join()
    replies["fans"] = decode("{" + status("2 Fan(s)") + f',"FANS":[{{"ID":0,"RPM":{rpm}}},{{"ID":1,"RPM":{rpm}}}],"id":1}}')
    return replies


def _lux_fans(rpm: str) -> dict[str, Any]:
    """FANS and the stats fanN slots (its fallback) unreadable alike."""
    replies = lux_replies()
    stats = json.dumps(replies["stats"], allow_nan=True)
    for n, speed in ((1, 1900), (2, 1900), (3, 2300), (4, 2300)):
        stats = stats.replace(f'"fan{n}": {speed}', f'"fan{n}": {rpm}')
    replies["stats"] = rpc.decode_reply(stats.encode())
    replies["fans"] = decode("{" + status("2 Fan(s)") + f',"FANS":[{{"FAN":"FAN1","RPM":{rpm}}},'
                             f'{{"FAN":"FAN2","RPM":{rpm}}},{{"FAN":"FAN3","RPM":{rpm}}},{{"FAN":"FAN4","RPM":{rpm}}}],"id":1}}')
    return replies


def _braiins_rest(rpm: str) -> dict[str, Any]:
    body = ('{"miner_stats":{"real_hashrate":{"last_1m":{"gigahash_per_second":100000.0}}}}',
            f'{{"fans":[{{"position":0,"rpm":{rpm}}},{{"position":1,"rpm":{rpm}}}]}}')
    return {"rest:miner/stats": json.loads(body[0]), "rest:cooling/state": json.loads(body[1]),
            "rest:miner/details": {"miner_identity": {"miner_model": "Antminer S19 Pro"}}}


def _whatsminer(rpm: str) -> dict[str, Any]:
    fields = json.dumps(dict(SUMMARY_FIELDS, **{"Fan Speed In": 0, "Fan Speed Out": 0}))
    fields = fields.replace('"Fan Speed In": 0', f'"Fan Speed In": {rpm}').replace('"Fan Speed Out": 0', f'"Fan Speed Out": {rpm}')
    body = json.dumps({"STATUS": [{"STATUS": "S"}], "id": 1})[:-1] + f', "SUMMARY": [{fields}]}}'
    return parsed(summary=body.encode(), devs=devs())


def _whatsminer_v3(rpm: str) -> dict[str, Any]:
    summary = json.loads(f'{{"msg":{{"summary":{{"hash-1min":171.2,"fan-speed-in":{rpm},"fan-speed-out":{rpm}}}}}}}')
    return {whatsminer.V3_SUMMARY: summary, whatsminer.V3_INFO: {"msg": {"miner": {"type": "M60S_VK40"}}}}


FAN_CASES = {
    "antminer": lambda v: antminer.parse(x19_replies(fan_num=4, fan1=v, fan2=v, fan3=v, fan4=v), DEV),
    "braiins-rpc": lambda v: braiins.parse(_bos_fans(json.dumps(v)), DEV),
    "braiins-rest": lambda v: braiins.parse(_braiins_rest(json.dumps(v)), DEV),
    "luxos": lambda v: luxos.parse(_lux_fans(json.dumps(v)), DEV),
    "whatsminer": lambda v: whatsminer.parse(_whatsminer(json.dumps(v)), DEV),
    "whatsminer-api3": lambda v: whatsminer.parse(_whatsminer_v3(json.dumps(v)), DEV),
}


@pytest.mark.parametrize("value", [math.nan, math.inf, "garbage", -600])
@pytest.mark.parametrize("driver", sorted(FAN_CASES))
def test_no_readable_fan_means_fans_unknown_and_no_fan_series(driver: str, value: Any) -> None:
    r = finalize(FAN_CASES[driver](value))
    assert r.fans_rpm == [], driver
    assert r.hashrate_ths, driver  # the rest of the reading is read
    assert not names(r) & {"farmwatch_miner_fan_speed_rpm", "farmwatch_miner_fans_unreadable"}
    # ... while the same reply with the fans at 0 is a row of stopped fans (a dead-fan alarm, rightly).
    zero = finalize(FAN_CASES[driver](0))
    assert zero.fans_rpm and set(zero.fans_rpm) == {0}, driver


# --- 2. NaN never reads as asleep ---------------------------------------------------------------------------
def _all_nan(replies: dict[str, Any]) -> dict[str, Any]:
    """Every number of every reply replaced by NaN/1e999/-1e999/Infinity (the simulator's ``nan`` fault)."""
    return {k: rpc.decode_reply(not_numbers(json.dumps(v).encode())) for k, v in replies.items()}


def test_all_nan_stock_antminer_is_unknown_not_sleeping() -> None:
    replies = _all_nan(x19_replies())
    assert not math.isfinite(replies["stats"]["STATS"][1]["fan1"])  # really a NaN reply
    r = finalize(antminer.parse(replies, DEV))
    assert not r.sleeping and r.state == "unknown"
    assert r.fans_rpm == [] and [b.chips for b in r.boards] == [None, None, None]
    assert not names(r) & {"farmwatch_miner_fan_speed_rpm", "farmwatch_miner_board_chips"}


def test_all_nan_luxos_is_unknown_not_sleeping() -> None:
    r = finalize(luxos.parse(_all_nan(lux_replies()), DEV))
    assert not r.sleeping and r.state == "unknown"
    assert r.fans_rpm == []


def test_sleep_needs_explicit_zeros() -> None:
    asleep = {"GHS 5s": "0.00", "total_rateideal": 0.0, "fan_num": 0, "Mode": 2}
    asleep.update({f"chain_acn{n}": 0 for n in range(1, 5)} | {f"fan{n}": 0 for n in range(1, 5)})
    assert x19(**asleep).state == "sleeping"  # the sleeping S17+ shape: zero everywhere
    for key, unknown in (("fan1", math.nan), ("chain_acn2", "nan"), ("GHS 5s", math.inf), ("fan_num", math.nan),
                         ("total_rateideal", "x")):
        r = x19(**dict(asleep, **{key: unknown}))
        assert not r.sleeping and r.state != "sleeping", key
    assert x19(**dict(asleep, Mode=254, fan1=math.nan)).state == "sleeping"  # the firmware's own sleep mode


# --- 3. boards that cannot be parsed are unknown, not missing ----------------------------------------------
def test_unparseable_boards_are_chips_null_not_missing() -> None:
    nan = {f"chain_acn{n}": math.nan for n in range(1, 5)} | {f"chain_rate{n}": "nan" for n in range(1, 5)}
    r = x19(**nan)
    assert r.hashrate_ths == pytest.approx(104.5005)
    assert [b.chips for b in r.boards] == [None, None, None]
    assert r.to_json()["boards"][0]["chips"] is None
    assert r.state == "hashing"  # not "degraded" by three "missing" boards
    assert "farmwatch_miner_board_chips" not in names(r)


def test_boards_read_as_zero_chips_are_still_missing() -> None:
    r = x19(**{f"chain_acn{n}": 0 for n in range(1, 5)}, **{f"chain_rate{n}": "" for n in range(1, 5)})
    assert [b.chips for b in r.boards] == [0, 0, 0] and r.state == "degraded"
    one = x19(chain_acn3=math.nan, chain_rate3="nan")  # board 2 unknown, board 1 missing (chain_acn2 0)
    assert [b.chips for b in one.boards] == [114, 0, None]


def test_board_missing_needs_a_zero() -> None:
    assert not board_missing(Board(index=0))
    assert board_missing(Board(index=0, chips=0)) and board_missing(Board(index=0, hashrate_ths=0.0))
    assert not board_missing(Board(index=0, hashrate_ths=1.0))


# --- 4. never the since-boot average ------------------------------------------------------------------------
def test_whatsminer_board_average_is_not_a_current_rate() -> None:
    only_av = cg("DEVS", [{"Slot": i, "MHS av": 33000000.0, "Effective Chips": 111} for i in range(3)], code=9)
    no_current = {k: v for k, v in SUMMARY_FIELDS.items() if k not in ("MHS 1m", "MHS 5s")}
    r = finalize(whatsminer.parse(parsed(summary=cg("SUMMARY", [no_current]), devs=only_av), DEV))
    assert [b.hashrate_ths for b in r.boards] == [None, None, None]
    assert r.hashrate_ths is None  # not 99 TH/s summed from the boards' since-boot averages
    # Current board figures still add up to a current miner figure.
    r = whatsminer.parse(parsed(summary=cg("SUMMARY", [no_current]), devs=devs()), DEV)
    assert r.hashrate_ths == pytest.approx(78.000003)


def test_whatsminer_api3_hash_average_is_not_a_current_rate() -> None:
    replies = {
        whatsminer.V3_SUMMARY: {"msg": {"summary": {"hash-average": 170.8, "elapsed": 5}}},
        whatsminer.V3_EDEVS: {"msg": {"edevs": [{"id": i, "hash-average": 57.0, "effective-chips": 75}
                                                 for i in range(3)]}},
    }
    r = whatsminer.parse(replies, DEV)
    assert r.hashrate_ths is None and [b.hashrate_ths for b in r.boards] == [None, None, None]


def test_epic_session_average_is_not_a_current_rate() -> None:
    session = {"Uptime": 749962, "Average MHs": 1828940.24, "Last Work Timestamp": 1618667989}
    hbs = [{"Index": i, "Temperature": 60} for i in range(3)]
    assert epic.parse({"summary": {"Session": session, "HBs": hbs}}, DEV).hashrate_ths is None
    last = dict(session, LastAverageMHs={"Hashrate": 1815381.27, "Timestamp": 1618664400})
    assert epic.parse({"summary": {"Session": last, "HBs": hbs}}, DEV).hashrate_ths == pytest.approx(1.81538127)
    stale = dict(last, LastAverageMHs={"Hashrate": 1815381.27, "Timestamp": 1618664400 - 86400})
    assert epic.parse({"summary": {"Session": stale, "HBs": hbs}}, DEV).hashrate_ths is None
    rates = [dict(hb, Hashrate=[600000.0, 1]) for hb in hbs]  # per-board current figures win
    assert epic.parse({"summary": {"Session": last, "HBs": rates}}, DEV).hashrate_ths == pytest.approx(1.8)


# --- 5. errors: not read (null, no sample) vs none reported ([] -> 0) ----------------------------------------
ERRORS = 'farmwatch_miner_firmware_errors{device="' + DEV + '"}'


def test_errors_not_read_are_null_and_export_no_sample() -> None:
    bitaxe_info = {"hashRate": 1000.0, "power": 15.0, "fanrpm": 4000, "ASICModel": "BM1370"}
    vnish_stats = x19_stats().replace("Antminer S19 Pro", "Antminer S19 Pro (vnish 1.2.6)")
    not_read = {
        "antminer RPC": antminer.parse(x19_replies(), DEV),
        "braiins RPC": braiins.parse(bos_join(), DEV),
        "luxos": luxos.parse(lux_replies(), DEV),
        "vnish RPC": vnish.parse(dict(x19_replies(), stats=decode(vnish_stats)), DEV),
        "bitaxe": bitaxe.parse({"system/info": bitaxe_info}, DEV),
        "whatsminer, no error reads": whatsminer.parse(
            parsed(summary=cg("SUMMARY", [{k: v for k, v in SUMMARY_FIELDS.items() if k != "Error Code Count"}])),
            DEV),
    }
    for name, r in not_read.items():
        r = finalize(r)
        assert r.errors is None, name
        assert r.to_json()["errors"] is None, name
        assert ERRORS not in series(r), name


def test_errors_read_and_none_reported_export_zero() -> None:
    r = finalize(whatsminer.parse(parsed(summary=cg("SUMMARY", [SUMMARY_FIELDS]),
                                         get_error_code=flat({"error_code": []})), DEV))
    assert r.errors == [] and r.to_json()["errors"] == [] and series(r)[ERRORS] == 0
    r = finalize(whatsminer.parse(parsed(summary=cg("SUMMARY", [SUMMARY_FIELDS]),
                                         get_error_code=flat({"error_code": [{"110": "2024-01-01"}]})), DEV))
    assert series(r)[ERRORS] == 1
    web = {"web:stats": {"STATS": [{"rate_5s": 1000.0, "rate_unit": "GH/s", "fan": [3000]}]},
           "web:summary": {"SUMMARY": [{"status": [{"type": "rate", "status": "s"}]}]}}
    assert antminer.parse(web, DEV).errors == []
    assert antminer.parse({"web:stats": web["web:stats"]}, DEV).errors is None  # summary.cgi not answered


def test_avalon_errors_read_only_where_the_block_has_them() -> None:
    stats = ('{"STATUS":[{"STATUS":"S"}],"STATS":[{"STATS":0,"ID":"AVA100",'
             '"MM ID0":"Ver[1246-21072802] MGHS[30000.1 30000.2 30000.3] Fan1[5000] Fan2[nan] %s"}],"id":1}')
    summary = cg("SUMMARY", [{"Elapsed": 5, "MHS 1m": 90000000.0}])
    with_codes = avalon.parse(parsed(summary=summary, stats=(stats % "ECHU[0 0 0] ECMM[0]").encode()), DEV)
    assert with_codes.errors == [] and with_codes.fans_rpm == [5000, None]
    assert avalon.parse(parsed(summary=summary, stats=(stats % "").encode()), DEV).errors is None


# --- 6. a sleeping stock Antminer reports its model's fans, stopped ------------------------------------------
def test_sleeping_antminer_reports_the_models_fans_as_zeros() -> None:
    r = x19(Mode=254, fan_num=0, fan1=0, fan2=0, fan3=0, fan4=0, **{"GHS 5s": 0})
    assert r.state == "sleeping" and r.fans_rpm == [0, 0, 0, 0]  # S19 Pro: 4 fans
    # Told by the web work mode (the RPC data alone does not read asleep: total_rateideal is still set).
    replies = dict(x19_replies(fan_num=0, fan1=0, fan2=0, fan3=0, fan4=0, **{"GHS 5s": 0}),
                   **{"web:miner_conf": {"bitmain-work-mode": "1"}})
    replies["summary"] = decode("{" + status("Summary") + ',"SUMMARY":[{"Elapsed":5,"GHS 5s":0}],"id":1}')
    r = finalize(antminer.parse(replies, DEV))
    assert r.state == "sleeping" and r.fans_rpm == [0, 0, 0, 0]
    # Unknown slots are not zeros; an unknown model has no fan count to fill.
    assert x19(Mode=254, fan_num=0, fan1=0, fan2=math.nan, fan3=0, fan4=0).fans_rpm == []
    replies = x19_replies(Mode=254, fan_num=0, fan1=0, fan2=0, fan3=0, fan4=0)
    replies["version"] = decode(json.dumps(replies["version"]).replace("S19 Pro", "S99 Future"))
    replies["stats"] = decode(json.dumps(replies["stats"]).replace("S19 Pro", "S99 Future"))
    r = finalize(antminer.parse(replies, DEV))
    assert r.model == "S99 Future" and r.sleeping and r.fans_rpm == []


# --- through the simulator ----------------------------------------------------------------------------------
async def test_nan_replies_over_the_wire_raise_no_sleep_board_or_fan_state() -> None:
    site = SimSite.build(count=24, seed=5, base_ip="127.47.0.1", latency_ms=(1.0, 2.0),
                         faults={"sleeping": 0.3})
    async with site:
        agent, group = make_agent(site)
        await agent.scheduler.run_cycle(group)
        sleepers = [m for m in site.miners if m.firmware == "antminer" and m.fault == "sleeping"]
        assert sleepers
        for m in sleepers:  # 6: the sleeping stock Antminer's fans are the truth's stopped fans
            r = agent.store.devices[f"{m.ip}:{m.port}"].reading
            assert r is not None and r.state == "sleeping"
            assert r.fans_rpm == m.truth()["fans_rpm"] and r.fans_rpm and set(r.fans_rpm) == {0}
        victims = [m for m in site.miners if m.firmware in ("antminer", "luxos") and m.fault is None]
        assert {m.firmware for m in victims} == {"antminer", "luxos"}
        for m in victims:
            site.set_fault(m.ip, "nan")
        site.advance()
        await agent.scheduler.run_cycle(group)
        for m in victims:
            state = agent.store.devices[f"{m.ip}:{m.port}"]
            assert state.up and state.reading is not None, m.firmware
            r = state.reading
            assert r.state == "unknown", (m.firmware, r.state)  # never "sleeping" (that would mute alarms)
            kept = names(r)
            assert not kept & {"farmwatch_miner_fan_speed_rpm", "farmwatch_miner_board_chips",
                               "farmwatch_miner_firmware_errors"}, (m.firmware, kept)
