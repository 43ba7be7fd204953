"""Property-based fuzzing of the SNMP collector's value path (bounded here; ``FARMWATCH_FUZZ_EXAMPLES`` / ``make
fuzz`` run it longer). Findings and fixes: docs/reliability.md.

The path is the one a device reply takes: pysnmp/pyasn1 values -> ``client.value_of`` -> identity, scalars and
column walks -> ``decode.decode`` with a shipped profile (or one with hostile scale factors) -> two polls through
``poll.unwrap_counters`` -> ``SnmpReading.to_json`` and ``metrics.snmp_families`` -> ``agent.exposition.render``.

Property: nothing but ``DeviceError`` escapes; the ``poll --json`` document has no NaN/inf; every rendered sample
is finite and no counter sample is negative.
"""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyasn1.type import univ
from pysnmp.proto import rfc1902, rfc1905

from agent.exposition import render
from collectors.errors import DeviceError
from collectors.families import Families
from collectors.snmp.client import value_of
from collectors.snmp.collector import DeviceStatus
from collectors.snmp.decode import Raw, decode
from collectors.snmp.metrics import snmp_families
from collectors.snmp.poll import SnmpDevice, unwrap_counters
from collectors.snmp.profile import PROFILE_DIR, Oid, Profile, parse_profile, profiles
from tests.support.fuzz_support import EXAMPLES

FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
PROFILE_NAMES = sorted(profiles())

I32 = (-(2**31), 2**31 - 1)
U32 = (0, 2**32 - 1)
U64 = (0, 2**64 - 1)


def _ints(lo: int, hi: int) -> st.SearchStrategy[int]:
    return st.sampled_from((lo, hi, 0, 1, -1 if lo < 0 else 2, hi - 1, hi // 2 + 1)) | st.integers(lo, hi)


_BYTES = st.sampled_from((
    b"", b"\x00", b"\x00\x00\x00", b"\xff\xfe", b"\xc3(", b"\x80\xff", b"ok\x00junk", b"  ", "\ud800".encode("utf-8", "surrogatepass"), b"\xed\xa0\x80", b'"}\n# EOF\n', b"\\", b"\n\n",
    b"\xe2\x80\xa8", b"\x1c", b"A" * 65_535, b"\xff" * 10_000, "名前".encode(),
)) | st.binary(max_size=40)

# Every value kind an agent (or pysnmp's decoder, or a wrong MIB type) can hand the collector, as real pyasn1
# objects: the SMI types at their extremes, wrong kinds (unbounded INTEGER, BOOLEAN, REAL, OCTET STRING where
# a number belongs and the reverse), and the three SNMPv2 exceptions plus NULL.
PYSNMP_VALUES: st.SearchStrategy[Any] = st.one_of(
    _ints(*I32).map(rfc1902.Integer32),
    _ints(*U32).map(rfc1902.Counter32),
    _ints(*U32).map(rfc1902.Gauge32),
    _ints(*U32).map(rfc1902.Unsigned32),
    _ints(*U32).map(rfc1902.TimeTicks),
    _ints(*U64).map(rfc1902.Counter64),
    (st.sampled_from((10**400, -(10**400), 2**1024, -(2**64), 2**64 + 1)) | st.integers()).map(univ.Integer),
    st.booleans().map(univ.Boolean),
    st.sampled_from((math.inf, -math.inf, 1e308, -1.5)).map(univ.Real),
    _BYTES.map(rfc1902.OctetString),
    _BYTES.map(rfc1902.Opaque),
    st.binary(min_size=4, max_size=4).map(rfc1902.IpAddress),
    st.lists(st.integers(0, 2**32 - 1), min_size=2, max_size=8).map(lambda p: rfc1902.ObjectName([1, 3, *p])),
    st.sampled_from((rfc1905.noSuchObject, rfc1905.noSuchInstance, rfc1905.endOfMibView, univ.Null(""))),
)

# Row index shapes: the usual one- to three-part indexes, none at all, long ones, 2**32 and beyond.
INDEX = st.lists(st.sampled_from((0, 1, 2, 3, 4, 5, 7, 8, 2**31, 2**32 - 1, 2**32, 2**64)) | st.integers(0, 99),
                 max_size=6).map(tuple)

HOSTILE_SCALES = (1e308, -1e308, math.inf, -math.inf, math.nan, -1.0, 5e-324, 1e-320, 3.6e5, 0.0)


def _profile_docs() -> dict[str, Any]:
    return {p.stem: yaml.safe_load(p.read_text()) for p in sorted(PROFILE_DIR.glob("*.yaml"))}


DOCS = _profile_docs()


@st.composite
def hostile_profile(draw: Any) -> Profile:
    """A shipped profile, or one of them with some columns' ``scale`` (and the typed scale) made hostile."""
    name = draw(st.sampled_from(PROFILE_NAMES))
    if not draw(st.integers(0, 3)):
        return profiles()[name]
    doc = copy.deepcopy(next(d for d in DOCS.values() if d["profile"] == name))
    for section in ("scalars", "identity"):
        for spec in (doc.get(section) or {}).values():
            if draw(st.booleans()):
                spec["scale"] = draw(st.sampled_from(HOSTILE_SCALES))
    for table in (doc.get("tables") or {}).values():
        for key, spec in table.items():
            if key == "typed" and isinstance(spec, dict):
                spec["scale"] = {q: draw(st.sampled_from(HOSTILE_SCALES)) for q in ("humidity_ratio", "fan_rpm",
                                                                                      "frequency_hz", "power_w")}
            elif isinstance(spec, dict) and draw(st.booleans()):
                spec["scale"] = draw(st.sampled_from(HOSTILE_SCALES))
    return parse_profile(doc, f"{name}.yaml (hostile scales)")


def _value(draw: Any) -> Raw:
    return value_of(draw(PYSNMP_VALUES))


@st.composite
def device_reply(draw: Any, profile: Profile) -> tuple[dict[Oid, Raw], dict[Oid, Raw], dict[Oid, dict[Oid, Raw]]]:
    """Identity, scalars and walks as ``poll._read`` assembles them, from hostile pysnmp values; columns and
    rows missing at random, helper columns (decimals/si_prefix) holding anything."""
    identity = {c.oid: _value(draw) for c in profile.identity if draw(st.integers(0, 4))}
    scalars = {c.oid: _value(draw) for c in profile.scalars if draw(st.integers(0, 4))}
    keys = draw(st.lists(INDEX, max_size=5))
    suffixes = sorted({c.suffix for t in profile.tables for c in t.columns if c.suffix}) or [()]
    walks: dict[Oid, dict[Oid, Raw]] = {}
    for table in profile.tables:
        for oid in table.walk_oids():
            if not draw(st.integers(0, 5)):
                continue  # the whole column missing (agent lacks it)
            column: dict[Oid, Raw] = {}
            for key in keys:
                if not draw(st.integers(0, 4)):
                    continue  # a row missing from this column (half-answered walk)
                suffix = draw(st.sampled_from(suffixes)) if draw(st.booleans()) else draw(INDEX)
                column[key + suffix] = _value(draw)
            walks[oid] = column
    return identity, scalars, walks


def _check_rendered(fams: Families) -> int:
    text = render(fams).text.decode("utf-8")
    counters = {line.split()[2] for line in text.split("\n") if line.startswith("# TYPE ") and line.endswith(
        " counter")}
    samples = 0
    for line in text.split("\n"):  # the format's only line break ("\x1c" is label text)
        if not line or line.startswith("#"):
            continue
        name_labels, value_text = line.rsplit(" ", 1)
        assert value_text not in ("NaN", "+Inf", "-Inf"), line
        value = float(value_text)
        assert math.isfinite(value), line
        name = name_labels.split("{", 1)[0]
        if name in counters:
            assert value >= 0, line
        samples += 1
    return samples


def check_snmp_poll(profile: Profile, replies: list[tuple[dict[Oid, Raw], dict[Oid, Raw],
                                                          dict[Oid, dict[Oid, Raw]]]]) -> None:
    dev = SnmpDevice(host="10.9.9.9", profile=profile)
    st_ = DeviceStatus(device=dev.device)
    for identity, scalars, walks in replies:  # consecutive polls: counter unwrapping sees the previous one
        try:
            reading = decode(profile, dev.device, identity=identity, scalars=scalars, walks=walks,
                             sys_name="sys\udc80name", values=len(walks))
            unwrap_counters(dev, reading)
        except DeviceError:
            continue
        json.dumps(reading.to_json(), allow_nan=False)  # poll --json: ValueError on NaN/inf
        st_.up, st_.polled, st_.reading, st_.last_success = True, True, reading, 1.0
        st_.profile, st_.device_class, st_.model = profile.name, profile.device_class, reading.model
        st_.make, st_.serial, st_.name, st_.firmware = reading.make, reading.serial, reading.name, reading.firmware
        fams = Families()
        snmp_families(fams, [st_])
        _check_rendered(fams)


@FUZZ
@given(st.data())
def test_snmp_decode_hostile_values(data: st.DataObject) -> None:
    profile = data.draw(hostile_profile())
    polls = data.draw(st.integers(1, 3))
    check_snmp_poll(profile, [data.draw(device_reply(profile)) for _ in range(polls)])


@FUZZ
@given(st.sampled_from(PROFILE_NAMES), PYSNMP_VALUES, st.data())
def test_snmp_one_hostile_value_in_every_column(name: str, value: Any, data: st.DataObject) -> None:
    """One hostile value in every scalar and every cell of a full two-row table, after a poll of good values
    (so Counter32 unwrapping and decimal/prefix helpers see it next to sane neighbours)."""
    profile = profiles()[name]
    raw = value_of(value)
    helper = data.draw(st.sampled_from((0, 1, 2, 9, 17, 18, -1)))  # decimals / si_prefix cells
    good: list[tuple[dict[Oid, Raw], dict[Oid, Raw], dict[Oid, dict[Oid, Raw]]]] = []
    for cell in (5, raw):
        identity = {c.oid: cell for c in profile.identity}
        scalars = {c.oid: cell for c in profile.scalars}
        walks: dict[Oid, dict[Oid, Raw]] = {}
        for table in profile.tables:
            helpers = {o for c in table.columns for o in (c.decimals, c.si_prefix) if o is not None}
            for oid in table.walk_oids():
                walks.setdefault(oid, {})
                for key in ((1,), (1, 2), (1, 2, 3)):
                    for suffix in {c.suffix for c in table.columns} | {()}:
                        walks[oid][key + suffix] = helper if oid in helpers else cell
        good.append((identity, scalars, walks))
    check_snmp_poll(profile, good)


def test_counter32_wrap_and_negative_integer32_never_export_a_negative_counter() -> None:
    """Found by this fuzzer (docs/reliability.md #13): an Integer32 of -2**31 as APC's energy was exported as
    ``farmwatch_pdu_energy_joules_total -773094113280000``; an Integer32 of -1 as IF-MIB's ifInErrors took the same
    path to a negative ``_total``. Counter64 at its maximum stays a (finite) value."""
    p = profiles()["if-mib"]
    col = p.tables[0].columns
    by_field = {c.field: c.oid for c in col}
    walks: dict[Oid, dict[Oid, Raw]] = {by_field["in_errors"]: {(1,): value_of(rfc1902.Integer32(-1))},
             by_field["in_bytes"]: {(1,): value_of(rfc1902.Integer32(-(2**31)))}}
    r = decode(p, "sw:161", identity={}, scalars={}, walks=walks)
    assert r.rows("ports")[0].values == {"in_errors": None, "in_bytes": None}
    apc = profiles()["apc"]
    energy = next(c.oid for c in apc.scalars if c.field == "energy_j")
    assert decode(apc, "pdu:161", identity={}, scalars={energy: -5}, walks={}).scalars["energy_j"] is None
    assert decode(apc, "pdu:161", identity={}, scalars={energy: 2**64 - 1}, walks={}).scalars["energy_j"] == (
        pytest.approx((2**64 - 1) * 360000.0, rel=1e-14))
