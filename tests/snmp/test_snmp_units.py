"""Pure parts of the SNMP collector: profiles, decoding and scaling quirks, counter wraps, power joins, power
domains config, and the power recording rules under promtool."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from agent.config import check_config, load_config
from agent.exposition import render
from agent.power_domains import read_power_domains
from collectors.asic.reading import MinerReading
from collectors.asic.store import MinerStore
from collectors.families import Families
from collectors.power.domains import PowerDomain
from collectors.power.families import power_domain_families
from collectors.snmp.decode import decode
from collectors.snmp.poll import SnmpDevice, unwrap_counters
from collectors.snmp.profile import match_sysobjectid, parse_oid, profiles
from collectors.snmp.reading import Row, SnmpReading

RULES = Path(__file__).resolve().parents[2] / "rules"


def test_every_design_profile_ships_and_detects_by_sysobjectid() -> None:
    assert {"apc", "raritan", "servertech", "eaton", "vertiv", "geist", "ups", "entity-sensor", "if-mib"} <= set(
        profiles())
    assert match_sysobjectid(parse_oid("1.3.6.1.4.1.318.1.3.4.6")).name == "apc"  # type: ignore[union-attr]
    assert match_sysobjectid(parse_oid("1.3.6.1.4.1.13742.6")).name == "raritan"  # type: ignore[union-attr]
    assert match_sysobjectid(parse_oid("1.3.6.1.4.1.9.1.1")).name == "if-mib"  # type: ignore[union-attr]  # Cisco
    assert match_sysobjectid(parse_oid("1.3.6.1.4.1.99999.1")) is None


def test_raritan_decimal_digits_and_wh_energy() -> None:
    p = profiles()["raritan"]
    value, digits = parse_oid("1.3.6.1.4.1.13742.6.5.4.3.1.4"), parse_oid("1.3.6.1.4.1.13742.6.3.5.4.1.7")
    walks = {
        value: {(1, 7, 1): 153, (1, 7, 4): 2301, (1, 7, 5): 352, (1, 7, 8): 1500},
        digits: {(1, 7, 1): 2, (1, 7, 4): 1, (1, 7, 5): 0, (1, 7, 8): 0},
        parse_oid("1.3.6.1.4.1.13742.6.3.5.3.1.3"): {(1, 7): b"miner-07"},
    }
    r = decode(p, "10.0.0.9:161", identity={}, scalars={}, walks=walks)
    (outlet,) = r.rows("outlets")
    assert outlet.index == "7" and outlet.values == {
        "name": "miner-07", "current_a": 1.53, "voltage_v": 230.1, "power_w": 352.0, "energy_j": 1500 * 3600.0}


def test_entity_sensor_scale_precision_type_and_sanity_bounds() -> None:
    p = profiles()["entity-sensor"]
    col = {n: parse_oid(f"1.3.6.1.2.1.99.1.1.1.{n}") for n in (1, 2, 3, 4, 5)}
    walks = {
        col[1]: {(10,): 8, (11,): 6, (12,): 9},  # celsius, watts, percentRH
        col[2]: {(10,): 9, (11,): 8, (12,): 9},  # units, milli, units
        col[3]: {(10,): 1, (11,): 4, (12,): 0},
        col[4]: {(10,): 282, (11,): 6015, (12,): 45},
        col[5]: {(10,): 1, (11,): 1, (12,): 1},
        parse_oid("1.3.6.1.2.1.47.1.1.1.1.7"): {(10,): b"Inlet", (11,): b"PSU1", (12,): b"Hum"},
    }
    r = decode(p, "sw:161", identity={}, scalars={}, walks=walks)
    by = {row.index: row for row in r.rows("sensors")}
    assert by["10"].num("temperature_c") == pytest.approx(28.2)
    assert by["11"].num("power_w") == pytest.approx(0.0006015)  # literal reading of a wrong scale: kept, tiny
    assert by["12"].num("humidity_ratio") == pytest.approx(0.45)
    assert {s["kind"] for s in r.to_json()["sensors"]} == {"temperature", "power", "humidity"}


def test_counter32_wrap_is_undone_and_a_reset_is_not() -> None:
    dev = SnmpDevice(host="sw", profile_name="if-mib")
    dev.profile = profiles()["if-mib"]

    def reading(errors: int) -> SnmpReading:
        r = SnmpReading(device="sw:161", driver="if-mib", device_class="switch")
        r.tables["ports"] = [Row("1", {"in_errors": errors})]
        return r

    seen = []
    for raw in (2**32 - 10, 5, 25, 3):  # wrap, growth, then an agent restart
        r = reading(raw)
        unwrap_counters(dev, r)
        seen.append(r.rows("ports")[0].num("in_errors"))
    assert seen == [2**32 - 10, 2**32 + 5, 2**32 + 25, 3]


def _pdu(device: str, name: str, outlets: dict[str, float]) -> SnmpReading:
    r = SnmpReading(device=device, driver="apc", device_class="pdu", name=name)
    r.tables["outlets"] = [Row(o, {"power_w": w}) for o, w in outlets.items()]
    r.tables["phases"] = [Row("1", {"current_a": 20.0}), Row("2", {"current_a": 12.5})]
    r.scalars["power_w"] = sum(outlets.values())
    return r


def _store() -> MinerStore:
    store = MinerStore()
    for i, (pdu, outlet, rack) in enumerate([("pdu-r01", "1", "R1"), ("10.0.20.5", "2", "R1"),
                                             ("pdu-r01", "3", "R2"), ("pdu-r01", "3", "R2")], start=1):
        st = store.record_success(f"10.0.0.{i}:4028", MinerReading(device=f"10.0.0.{i}:4028", driver="antminer",
                                                                     power_w=3000.0, power_source="reported"))
        st.location = {"container": "C1", "rack": rack, "pdu": pdu, "outlet": outlet}
    return store


def test_the_agent_exports_no_cross_device_join() -> None:
    """Outlet-to-miner and rack sums are recording rules (rules/power.rules.yml, docs/power.md): an agent that
    polls only some of a site's PDUs or miners (a shard) must not export a partial join as the truth."""
    store = _store()
    fams = Families()
    power_domain_families(fams, (), store.devices.values(),
                          {"10.0.20.5:161": _pdu("10.0.20.5:161", "pdu-r01", {"1": 3250.0})})
    text = render(fams).text.decode()
    assert 'source="pdu"' not in text and "farmwatch_rack_power_watts" not in text


DOMAINS = """\
domains:
  - name: feed-A
    budget_kw: 20
  - name: breaker-1
    parent: feed-A
    budget_amps: 32
    voltage: 230
    phases: 2
    pdus: [pdu-r01]
  - name: rack-R2
    parent: feed-A
    budget_kw: 7
    racks: [C1/R2]
    miners: [10.0.0.9]
    gpu_servers: [{name: gpu01, pdu: 10.0.20.5, outlets: [1, 2]}]
"""


def test_power_domains_load_budget_headroom(tmp_path: Path) -> None:
    (tmp_path / "power.yaml").write_text(DOMAINS)
    (tmp_path / "secret").write_text("public\n")
    (tmp_path / "site.yaml").write_text("site: t\npower_domains: power.yaml\nsnmp:\n  - targets: [10.0.20.5]\n"
                                        "    community_file: secret\n")
    cfg = load_config(tmp_path / "site.yaml")
    assert [d.name for d in cfg.power_domains] == ["feed-A", "breaker-1", "rack-R2"]
    assert cfg.power_domains[1].budget_w == 32 * 230 * 2
    readings = {"10.0.20.5:161": _pdu("10.0.20.5:161", "pdu-r01", {"1": 3250.0, "2": 3100.0, "3": 6000.0})}
    fams = Families()
    power_domain_families(fams, cfg.power_domains, _store().devices.values(), readings)
    text = render(fams).text.decode()
    # The PDU's shard: whole-PDU and GPU-server members, in their domain and in every ancestor.
    for domain in ("breaker-1", "feed-A"):
        assert f'farmwatch_power_domain_member_power_watts{{domain="{domain}",member="pdu:pdu-r01"}} 12350' in text
        assert ('farmwatch_power_domain_member_phase_current_amperes'
                f'{{domain="{domain}",member="pdu:pdu-r01",phase="2"}} 12.5') in text
    for domain in ("rack-R2", "feed-A"):
        assert f'farmwatch_power_domain_member_power_watts{{domain="{domain}",member="gpu:gpu01"}} 6350' in text
        assert (f'farmwatch_power_domain_rack_member_info{{domain="{domain}",member="rack:C1/R2",container="C1",'
                'rack="R2"} 1') in text
    # Every shard: the file's facts. Members counted with the children's (feed-A: pdu, rack, miner, gpu).
    assert 'farmwatch_power_domain_members{domain="feed-A"} 4' in text
    assert 'farmwatch_power_domain_members{domain="rack-R2"} 3' in text
    assert 'farmwatch_power_domain_phase_budget_amperes{domain="breaker-1",phase="2"} 32' in text
    assert 'farmwatch_power_domain_info{domain="breaker-1",parent="feed-A"} 1' in text
    # The miner's shard: 10.0.0.9 is not polled here, so no member row (the rules count it unmeasured).
    assert "farmwatch_power_domain_miner_member_info" not in text
    fams = Families()
    power_domain_families(fams, (PowerDomain(name="x", budget_w=1.0, miners=("10.0.0.2",)),),
                          _store().devices.values(), {})
    assert ('farmwatch_power_domain_miner_member_info{domain="x",member="miner:10.0.0.2",device="10.0.0.2:4028"} 1'
            in render(fams).text.decode())
    # The sums of these series are checked under promtool: rules/tests/power-recording.test.yml.


def test_power_domain_problems_have_file_line_and_key(tmp_path: Path) -> None:
    (tmp_path / "power.yaml").write_text(textwrap.dedent("""\
        domains:
          - name: a
            parent: b
            budget_kw: -1
          - name: c
            budget_amp: 3
          - name: c
            budget_kw: 1
        """))
    (tmp_path / "site.yaml").write_text("site: t\npower_domains: power.yaml\n")
    problems = [str(p) for p in check_config(tmp_path / "site.yaml")]
    path = tmp_path / "power.yaml"
    assert f"{path}:4: domains[0].budget_kw: expected a positive number" in problems
    assert any(p.startswith(f"{path}:6: domains[1].budget_amp: unknown key; did you mean 'budget_amps'") for p in problems)
    assert f"{path}:5: domains[1]: needs budget_kw or budget_amps" in problems
    _, direct = read_power_domains(path)
    assert len(direct) == len(problems)


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed (Debian package prometheus)")
def test_power_recording_rules_check_and_unit_tests() -> None:
    for args in (["check", "rules", "power.rules.yml"], ["test", "rules", "tests/power-recording.test.yml"]):
        done = subprocess.run(["promtool", *args], cwd=RULES, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr


def test_every_shipped_profile_can_be_named_in_the_config() -> None:
    from agent.sections.snmp import profile_names

    assert set(profile_names()) == set(profiles())


def test_scaled_readings_carry_no_binary_noise() -> None:
    """Tenths of an amp times 0.1 is 1.4 A in poll --json and /metrics, not 1.4000000000000001."""
    from collectors.snmp.decode import tidy

    assert [tidy(raw * 0.1) for raw in (14, 3, 7, 1234567)] == [1.4, 0.3, 0.7, 123456.7]
    assert str(tidy(14 * 0.1)) == "1.4"
    assert tidy(1.7976931348623157e308) == 1.7976931348623157e308  # never rounded up into infinity
