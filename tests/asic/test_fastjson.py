"""orjson reads a miner's reply first (collectors/asic/fastjson.py); what a reply decodes to must be exactly what
the standard parser and its repairs give: same values, same Python types, same key order, same errors. Each
test compares ``rpc.decode_reply`` against the same function with the orjson path switched off."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectors.asic import fastjson, rpc
from tests.support.fuzz_support import EXAMPLES, damage_bytes, valid_raw_replies

FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
SHARED_FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "asic"


def standard(raw: bytes, monkeypatch: pytest.MonkeyPatch) -> Any:
    with monkeypatch.context() as m:
        m.setattr(rpc, "loads_object", lambda _raw: None)
        return outcome(raw)


def outcome(raw: bytes) -> Any:
    try:
        return rpc.decode_reply(raw)
    except Exception as e:  # the error is part of the result: same class, same message
        return (type(e), str(e))


def same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    return bool(a == b)


def assert_same(raw: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, slow = outcome(raw), standard(raw, monkeypatch)
    assert same(fast, slow), (raw[:200], fast, slow)


# Where orjson and the standard parser part ways: each must come out as the standard parser reads it.
EDGES = [
    b'{"a":18446744073709551615}',          # uint64 max: an int in both
    b'{"a":18446744073709551616}',          # one more: orjson would give a float
    b'{"a":-9223372036854775809}',          # below int64: orjson would give a float
    b'{"a":123456789012345678901234567890,"b":1}',
    b'{"a":1e400}', b'{"a":-1.7976931348623157e309}',  # inf in the standard parser, refused by orjson
    b'{"a":NaN,"b":Infinity,"c":-Infinity}',
    b'{"a":"\\ud800"}', b'{"a":"\\udc00x"}',  # lone surrogates
    b'{"a":"\xed\xa0\x80"}', b'{"a":"\xc0\x80"}', b'{"a":"\xff"}',  # not UTF-8: replacement characters
    b'{"a":1,"a":2,"b":3}', b'{"b":1,"a":2,"b":3}',  # duplicate keys: last value, first position
    b'{"a":-0,"b":-0.0,"c":1E5,"d":0.1e-400,"e":9007199254740993.0,"f":1.0000000000000000000000001}',
    b'{"a":"x\ty\nz"}',                     # raw control characters (strict=False repair)
    b'{"STATS":[{"a":1}{"b":2}],"id":1}\x00',  # bmminer's }{ join, NUL-terminated
    b'{"a":1,}', b'{"a":[1,2,]}', b'{"a":"it\\\'s"}', b'{"a":1}{"b":2}', b'{"a":1} trailing',
    b'{"a":1}\x00\x00\r\n', b'{"a":"\\u0000"}', b'  {"a":1}', b'{',
    b'{"a":' + b"[" * 300 + b"]" * 300 + b"}",     # more openers than the orjson path takes
    b'{"a":' + b"[" * 1000 + b"]" * 1000 + b"}",   # within orjson's 1024 levels, past Python's recursion limit
    b'{"a":' + b"[" * 5000 + b"]" * 5000 + b"}",   # too deep for the standard parser: nested too deeply
]


@pytest.mark.parametrize("raw", EDGES, ids=range(len(EDGES)))
def test_edges_decode_as_the_standard_parser_does(raw: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    assert_same(raw, monkeypatch)


def test_every_simulated_and_kept_real_reply_decodes_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    raws = [raw for _fw, _cmd, raw in valid_raw_replies()]
    if SHARED_FIXTURES.is_dir():  # the real firmware captures, where this checkout has them
        raws += [p.read_bytes() for p in sorted(SHARED_FIXTURES.iterdir()) if p.suffix in (".json", ".txt")]
    fast_hits = 0
    for raw in raws:
        assert_same(raw, monkeypatch)
        fast_hits += fastjson.loads_object(raw.rstrip(b"\x00\r\n\t ")) is not None
    # The fast path is not dead code: most well-formed replies take it.
    assert fast_hits >= len(raws) // 2, (fast_hits, len(raws))


@FUZZ
@given(st.data())
def test_damaged_real_replies_decode_the_same(data: st.DataObject) -> None:
    seeds = valid_raw_replies()
    _fw, _cmd, raw = seeds[data.draw(st.integers(0, len(seeds) - 1))]
    for _ in range(data.draw(st.integers(0, 3))):
        raw = damage_bytes(raw, data.draw)
    with pytest.MonkeyPatch.context() as mp:
        assert_same(raw, mp)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.integers(min_value=2**62, max_value=2**70)
    | st.integers(min_value=-(2**70), max_value=-(2**62)) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


@FUZZ
@given(st.dictionaries(st.text(max_size=6), JSON_VALUES, max_size=5), st.booleans(), st.binary(max_size=3))
def test_any_json_object_decodes_the_same(obj: dict[str, Any], ascii_only: bool, tail: bytes) -> None:
    raw = json.dumps(obj, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass") + tail
    with pytest.MonkeyPatch.context() as mp:
        assert_same(raw, mp)


_TOKENS = st.one_of(st.integers(-300, 300).map(str), st.floats(-300, 300).map(repr),
                    st.sampled_from(["0", "-273", "nan", "inf", "045", "1.", ".5", "1e3", "x", "-", "--4", "1_0"]))


@settings(max_examples=300, deadline=None)
@given(st.lists(_TOKENS, max_size=40), st.sampled_from([" ", "  ", "\t", " \n"]))
def test_number_lists_read_as_the_per_token_reading_does(tokens: list[str], sep: str) -> None:
    """An Avalon board's per-chip list read by orjson (fastjson.number_list) gives the numbers the per-token
    reading (drivers/avalon.py numbers()) keeps, or None and the per-token reading is used."""
    from collectors.asic.drivers.avalon import numbers

    text = sep.join(tokens)
    fast = fastjson.number_list(text)
    if fast is not None:
        assert [float(v) for v in fast] == [v for v in numbers(text) if v is not None]
        assert all(type(v) in (int, float) for v in fast)
