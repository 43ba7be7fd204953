"""Property-based fuzzing of every parser (bounded here; ``make fuzz`` runs the same properties far longer, plus
the coverage-guided atheris targets in tests/support/fuzz_atheris.py). Findings and fixes: docs/reliability.md.

Property: a parser returns its typed result or raises the project's own error — ``DeviceError`` for device
replies, a list of problems for config files. Any other exception, NaN/inf in a reading or in /metrics, or a
negative counter is a bug.
"""

from __future__ import annotations

import csv
import io
import json
import math
import tempfile
from pathlib import Path
from typing import Any

import pynvml as N
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.config import check_config
from agent.exposition import render
from agent.sitemap import read_sitemap
from collectors.asic import rpc
from collectors.asic.drivers import registry
from collectors.asic.units import dash_list, duration_s, integer, mac, num, ths, truthy
from collectors.families import Families
from collectors.nvml.families import _reading
from collectors.nvml.fields import FIELDS, VALUE_MEMBER, decode
from collectors.nvml.readings import GpuReading
from tests.support.fuzz_support import (
    EXAMPLES,
    HOSTILE_SCALARS,
    check_decode,
    check_parse,
    damage_bytes,
    hostile_values,
    mutate,
    valid_raw_replies,
    valid_replies,
)

FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
DRIVERS = sorted(registry())
# Drivers whose firmware the simulated site runs (the seeds of the near-valid inputs).
SIMULATED = sorted({fw for fw, _r in valid_replies()} & set(DRIVERS))


# ----------------------------------------------------------------------------------------------- transport bytes


@FUZZ
@given(st.binary(max_size=2048))
def test_decode_reply_on_arbitrary_bytes(raw: bytes) -> None:
    check_decode(raw)


@FUZZ
@given(st.data())
def test_decode_reply_on_damaged_real_replies(data: st.DataObject) -> None:
    seeds = valid_raw_replies()
    _fw, _cmd, raw = seeds[data.draw(st.integers(0, len(seeds) - 1))]
    for _ in range(data.draw(st.integers(1, 3))):
        raw = damage_bytes(raw, data.draw)
    check_decode(raw)


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(("STATUS", "SUMMARY", "POOL", "DEV", "ASC", "STATS", "X")),
                          st.lists(st.tuples(st.text(max_size=12), st.text(max_size=12)), max_size=6)),
                max_size=6),
       st.sampled_from(("|", ",", "=", "\\", "")))
def test_text_format_replies(sections: list[tuple[str, list[tuple[str, str]]]], noise: str) -> None:
    text = "|".join(f"{name}=0," + ",".join(f"{k}={v}" for k, v in pairs) for name, pairs in sections) + noise
    for raw in (text.encode("utf-8", "surrogatepass"), ("STATUS=S," + text).encode("utf-8", "surrogatepass")):
        check_decode(raw)


def test_known_hostile_framings() -> None:
    """The findings of earlier fuzz runs, kept as regressions (docs/reliability.md)."""
    for raw in (
        b'{"STATUS":[{"STATUS":"S"}],"SUMMARY":[{"Elapsed":' + b"1" * 5000 + b"}]}",  # int() digit limit
        b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}",  # nested past the recursion limit
        b'{"a":NaN,"b":1e999,"c":-Infinity}\x00',
        b'{"a":"\xff\xfe\xc3("}',
        b"\x00" * 10,
        b"STATUS",
    ):
        check_decode(raw)


# ----------------------------------------------------------------------------------------------- driver parse


@pytest.mark.parametrize("driver", SIMULATED)
def test_every_driver_reads_its_undamaged_replies(driver: str) -> None:
    polls = [r for fw, r in valid_replies() if fw == driver]
    for replies in polls:
        assert check_parse(driver, replies) is not None


def test_lone_surrogate_in_a_device_string_does_not_break_the_exposition() -> None:
    """Found by fuzzing: ``"\\ud800"`` is a valid JSON escape; as a model or pool URL label it made the render
    raise UnicodeEncodeError, which stops /metrics from updating for every device."""
    for fw, replies in valid_replies():
        if fw == "antminer":
            raw = json.dumps(replies["version"]).replace("Antminer", "Antminer \\ud800", 1).encode()
            damaged = dict(replies, version=rpc.decode_reply(raw))
            assert "\ud800" in json.dumps(damaged, ensure_ascii=False)
            assert check_parse(fw, damaged) is not None
            return
    pytest.skip("no antminer in the simulated site")


@FUZZ
@given(st.data())
def test_driver_parse_on_near_valid_replies(data: st.DataObject) -> None:
    """Real replies with real key names, whose values are replaced by hostile ones, deleted, nested, grown."""
    polls = valid_replies()
    fw, replies = polls[data.draw(st.integers(0, len(polls) - 1))]
    damaged = mutate(replies, data.draw, data.draw(st.integers(1, 6)))
    # Any driver may be handed any firmware's replies (a miner re-flashed between polls).
    driver = fw if data.draw(st.booleans()) else data.draw(st.sampled_from(DRIVERS))
    check_parse(driver, damaged)


@FUZZ
@given(st.sampled_from(DRIVERS),
       st.dictionaries(st.sampled_from(("summary", "stats", "devs", "pools", "version", "config", "devdetails",
                                        "temps", "fans", "power", "tunerstatus", "status", "get_version",
                                        "get_miner_info", "get_error_code", "estats", "litestats")),
                       st.dictionaries(st.sampled_from(("STATUS", "SUMMARY", "STATS", "DEVS", "POOLS", "VERSION",
                                                        "CONFIG", "DEVDETAILS", "TEMPS", "FANS", "POWER",
                                                        "TUNERSTATUS", "Msg")),
                                       hostile_values(), max_size=6),
                       max_size=8))
def test_driver_parse_on_structured_garbage(driver: str, replies: dict[str, Any]) -> None:
    check_parse(driver, replies)


@FUZZ
@given(st.sampled_from(DRIVERS), st.dictionaries(st.text(max_size=16), hostile_values(), max_size=6))
def test_driver_parse_on_any_json_under_any_key(driver: str, replies: dict[str, Any]) -> None:
    """HTTP drivers key replies by endpoint and some answer arrays: anything JSON can be, under any key."""
    check_parse(driver, replies)


@pytest.mark.parametrize("driver", SIMULATED)
@pytest.mark.parametrize("value", HOSTILE_SCALARS, ids=lambda v: repr(v)[:20])
def test_every_hostile_value_in_every_key(driver: str, value: Any) -> None:
    """Exhaustive over the hostile table: each value put into every leaf of one real poll of this driver."""
    replies = next(r for fw, r in valid_replies() if fw == driver)
    from tests.support.fuzz_support import _copy, _slots

    damaged = _copy(replies)
    for parent, key in _slots(damaged):
        if not isinstance(parent[key], dict | list):
            parent[key] = _copy(value)
    check_parse(driver, damaged)


# ----------------------------------------------------------------------------------------------- value coercion


@FUZZ
@given(hostile_values())
def test_unit_coercions_never_raise(value: Any) -> None:
    f = num(value)
    assert f is None or math.isfinite(f)
    integer(value)
    dash_list(value)
    duration_s(value)
    mac(value)
    truthy(value)
    for unit in ("GH", "MH/s", "T", "PH", "KH"):
        ths(value, unit)


# ----------------------------------------------------------------------------------------------- NVML values


def _field_value(field_id: int, value_type: int, value: Any) -> Any:
    fv = N.c_nvmlFieldValue_t()
    fv.fieldId = field_id
    fv.valueType = value_type
    fv.nvmlReturn = N.NVML_SUCCESS
    member = VALUE_MEMBER[value_type] if 0 <= value_type < len(VALUE_MEMBER) else "ullVal"
    setattr(fv.value, member, value)
    return fv


_NVML_VALUES = st.one_of(
    st.tuples(st.just(0), st.floats(allow_nan=True, allow_infinity=True)),  # double
    st.tuples(st.just(1), st.integers(0, 2**32 - 1)),
    st.tuples(st.just(2), st.integers(0, 2**64 - 1)),
    st.tuples(st.just(3), st.integers(0, 2**64 - 1)),
    st.tuples(st.just(4), st.integers(-(2**63), 2**63 - 1)),
    st.tuples(st.just(5), st.integers(-(2**31), 2**31 - 1)),
    st.tuples(st.just(6), st.integers(0, 2**16 - 1)),
    st.tuples(st.integers(7, 255), st.integers(0, 2**64 - 1)),  # a valueType newer than the bindings
)


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(FIELDS), _NVML_VALUES), min_size=1, max_size=len(FIELDS)))
def test_nvml_field_values_convert_to_finite_base_units(values: list[tuple[Any, tuple[int, Any]]]) -> None:
    r = GpuReading()
    for spec, (value_type, raw) in values:
        spec.apply(r, decode(_field_value(spec.id, value_type, raw)))
    fams = Families()
    _reading(fams, "GPU-0", '{gpu="GPU-0"}', r)
    for line in render(fams).text.decode().split("\n"):
        if line and not line.startswith("#"):
            v = float(line.rsplit(" ", 1)[1])
            assert math.isfinite(v), line
            name = line.split("{")[0]
            if name.endswith("_total"):
                assert v >= 0, line


# ----------------------------------------------------------------------------------------------- config files

_CONFIG_SCALARS = st.one_of(
    st.sampled_from(HOSTILE_SCALARS[:60]),
    st.sampled_from(("60s", "0s", "-1s", "1e9h", "10.0.0.0/8", "0.0.0.0/0", "::/0", "10.0.0.1-10.0.0.0",
                     "10.0.0.1:99999", "auto", "antminer", "nope", "/dev/zero", "/dev/null", "/proc/self/mem",
                     "../../../etc/shadow", "sitemap.csv", "site.yaml", ":10428", "[::1]:0", "0/1", "SHA", "AES",
                     "x" * 10_000, "!!python/object:os.system", "*alias", "&anchor")),
    st.text(max_size=20),
    st.integers(),
    st.floats(),
)


def _config_value(depth: int = 0) -> st.SearchStrategy[Any]:
    if depth >= 2:
        return _CONFIG_SCALARS
    keys = st.sampled_from(("targets", "driver", "interval", "timeout", "concurrency", "per_subnet_concurrency",
                            "port", "credentials", "web_username", "web_password_file", "web_password_env",
                            "password", "community", "community_file", "v3", "user", "auth_protocol",
                            "auth_password_file", "priv_protocol", "enabled", "profile", "retries"))
    return st.one_of(
        _CONFIG_SCALARS,
        st.lists(st.deferred(lambda: _config_value(depth + 1)), max_size=4),
        st.dictionaries(keys, st.deferred(lambda: _config_value(depth + 1)), max_size=5),
    )


_TOP = st.dictionaries(
    st.sampled_from(("site", "listen", "miners", "snmp", "gpus", "sitemap", "power_domains", "power", "economics",
                     "identity_interval", "shard", "bogus", "passwd")),
    _config_value(),
    max_size=8,
)


def _check_config_text(text: str, sitemap: str | None = None, sitemap_name: str = "sitemap.csv") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "site.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        if sitemap is not None:
            (Path(tmp) / sitemap_name).write_text(sitemap, encoding="utf-8", errors="surrogatepass")
        problems = check_config(path)
        assert isinstance(problems, list)
        for p in problems:
            assert isinstance(p.message, str) and p.file
            str(p)


@FUZZ
@given(_TOP)
def test_check_config_on_hostile_structures(doc: dict[str, Any]) -> None:
    _check_config_text(yaml.safe_dump(doc, allow_unicode=True))


@FUZZ
@given(st.text(max_size=400))
def test_check_config_on_arbitrary_text(text: str) -> None:
    _check_config_text(text)


_SITEMAP_COLUMNS = ("mac", "serial", "ip", "container", "rack", "shelf", "slot", "pdu", "outlet", "MAC", "", "x")
_CELLS = st.one_of(st.sampled_from(("AA:BB:CC:DD:EE:FF", "aabbccddeeff", "10.0.0.1", "::1", "300.1.1.1", "R1",
                                    "", " ", "#", '"', "\x00", "x" * 5000, "=cmd()", "AA-BB-CC-DD-EE-FF")),
                   st.text(max_size=12))


@FUZZ
@given(st.lists(st.sampled_from(_SITEMAP_COLUMNS), min_size=1, max_size=8),
       st.lists(st.lists(_CELLS, max_size=9), max_size=12))
def test_sitemap_csv_and_yaml(header: list[str], rows: list[list[str]]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "map.csv"
        csv_path.write_text(buf.getvalue(), encoding="utf-8", errors="surrogatepass")
        read_sitemap(csv_path)
        yaml_path = Path(tmp) / "map.yaml"
        entries = [dict(zip(header, row, strict=False)) for row in rows]
        yaml_path.write_text(yaml.safe_dump(entries, allow_unicode=True), encoding="utf-8", errors="surrogatepass")
        read_sitemap(yaml_path)
    _check_config_text("miners:\n  - targets: [10.0.0.1]\nsitemap: sitemap.csv\n", buf.getvalue())


@FUZZ
@given(st.text(max_size=300))
def test_sitemap_raw_text(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("map.csv", "map.yaml"):
            path = Path(tmp) / name
            path.write_text(text, encoding="utf-8", errors="surrogatepass")
            read_sitemap(path)


def test_secret_file_that_never_ends_is_refused_quickly(tmp_path: Path) -> None:
    """Found by fuzzing: ``web_password_file: /dev/zero`` made check-config read forever (and a FIFO blocked)."""
    import os
    import time

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    (tmp_path / "site.yaml").write_text(
        "miners:\n  - targets: [10.0.0.1]\n    credentials: {web_password_file: /dev/zero}\n"
        "  - targets: [10.0.0.2]\n    credentials: {web_password_file: fifo}\n"
    )
    t0 = time.monotonic()
    problems = check_config(tmp_path / "site.yaml")
    assert time.monotonic() - t0 < 5
    assert [p.message for p in problems] == [
        "secret file /dev/zero is not a regular file",
        f"secret file {fifo} is not a regular file",
    ]
