import os
import subprocess
import sys
import time
from collections import Counter

import pytest

from agent import targets
from agent.targets import (
    Target,
    TargetError,
    expand_spec,
    expand_targets,
    parse_shard,
    parse_target,
    shard_of,
)


def hosts(specs: list[str], port: int = 4028) -> list[str]:
    return [str(t) for t in expand_targets(specs, port)]


def test_single_ip_gets_default_port() -> None:
    assert expand_spec("10.0.9.7", 4028) == [Target("10.0.9.7", 4028)]
    assert expand_spec("10.0.20.5", 161) == [Target("10.0.20.5", 161)]


def test_explicit_port_wins() -> None:
    assert hosts(["10.0.9.7:4029"]) == ["10.0.9.7:4029"]


def test_hostname_is_lower_cased_and_keeps_port() -> None:
    assert hosts(["Miner-01.Site.Example:80", "pdu-a"], 161) == ["miner-01.site.example:80", "pdu-a:161"]


def test_ipv6_literals() -> None:
    assert expand_spec("[::1]:4028", 1) == [Target("::1", 4028)]
    assert hosts(["[fd00::0001]"]) == ["[fd00::1]:4028"]
    assert hosts(["fd00::2"]) == ["[fd00::2]:4028"]


def test_cidr_skips_network_and_broadcast() -> None:
    assert hosts(["10.0.0.0/30"]) == ["10.0.0.1:4028", "10.0.0.2:4028"]
    block = expand_spec("10.0.0.0/22", 4028)
    assert len(block) == 1022
    assert (str(block[0]), str(block[-1])) == ("10.0.0.1:4028", "10.0.3.254:4028")


def test_cidr_32_and_31_keep_every_address() -> None:
    assert hosts(["10.0.0.7/32"]) == ["10.0.0.7:4028"]
    assert hosts(["10.0.0.6/31"]) == ["10.0.0.6:4028", "10.0.0.7:4028"]


def test_cidr_with_port() -> None:
    assert hosts(["10.0.0.0/30:4029"]) == ["10.0.0.1:4029", "10.0.0.2:4029"]


def test_cidr_with_host_bits_suggests_the_network() -> None:
    with pytest.raises(TargetError, match=r"host bits set; did you mean 10\.0\.0\.0/22\?"):
        expand_spec("10.0.1.5/22", 4028)


def test_range_is_inclusive() -> None:
    assert hosts(["10.0.8.254-10.0.9.1"]) == [
        "10.0.8.254:4028",
        "10.0.8.255:4028",
        "10.0.9.0:4028",
        "10.0.9.1:4028",
    ]


def test_range_short_form_and_single_address() -> None:
    assert hosts(["10.0.8.10-12"]) == ["10.0.8.10:4028", "10.0.8.11:4028", "10.0.8.12:4028"]
    assert hosts(["10.0.8.10-10.0.8.10"]) == ["10.0.8.10:4028"]


def test_reversed_range_is_an_error() -> None:
    with pytest.raises(TargetError, match="reversed"):
        expand_spec("10.0.8.250-10.0.8.10", 4028)


def test_overlapping_specs_are_deduplicated_in_first_seen_order() -> None:
    got = hosts(["10.0.0.5", "10.0.0.0/29", "10.0.0.3-10.0.0.9", "10.0.0.5:4028"])
    assert got == [f"10.0.0.{n}:4028" for n in (5, 1, 2, 3, 4, 6, 7, 8, 9)]


def test_same_host_on_another_port_is_another_target() -> None:
    assert hosts(["10.0.0.5", "10.0.0.5:4029"]) == ["10.0.0.5:4028", "10.0.0.5:4029"]


def test_absurd_sizes_are_refused_quickly() -> None:
    started = time.monotonic()
    with pytest.raises(TargetError, match="16,777,216 addresses"):
        expand_spec("10.0.0.0/8", 4028)
    with pytest.raises(TargetError, match="limit"):
        expand_spec("fd00::/64", 4028)
    with pytest.raises(TargetError, match="limit"):
        expand_spec("10.0.0.0-10.255.255.255", 4028)
    assert time.monotonic() - started < 1


def test_total_size_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(targets, "MAX_ADDRESSES", 10)
    with pytest.raises(TargetError, match="in all"):
        expand_targets(["10.0.0.0/29", "10.0.1.0/29"], 4028)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("10.0.0.300", "not an IP address"),
        ("10.0.0.1:0", "port '0'"),
        ("10.0.0.1:70000", "port '70000'"),
        ("10.0.0.1:http", "port 'http'"),
        ("10.0.0.0/33", "not a valid CIDR"),
        ("10.0.0.1-fd00::1", "same IP version"),
        ("bad host!", "not an IP address, host name"),
        ("[::1", "missing ']'"),
        ("", "empty"),
    ],
)
def test_bad_specs_explain_themselves(spec: str, message: str) -> None:
    with pytest.raises(TargetError, match=message):
        expand_spec(spec, 4028)


def test_parse_target_wants_one_device() -> None:
    assert parse_target("10.0.0.1:4029", 4028) == Target("10.0.0.1", 4029)
    with pytest.raises(TargetError, match="names 2 devices"):
        parse_target("10.0.0.0/30", 4028)


def test_parse_shard() -> None:
    assert parse_shard("0/4") == (0, 4)
    assert parse_shard(" 3 / 4 ") == (3, 4)
    for bad in ("4/4", "1/0", "-1/2", "a/b", "1"):
        with pytest.raises(TargetError, match="0 <= i < n"):
            parse_shard(bad)


def test_shards_partition_targets_evenly() -> None:
    block = expand_spec("10.0.0.0/20", 4028)
    counts = Counter(shard_of(t, 4) for t in block)
    assert set(counts) == {0, 1, 2, 3}
    assert all(900 < n < 1150 for n in counts.values())


def test_shard_is_stable_across_processes() -> None:
    code = "from agent.targets import Target, shard_of; print([shard_of(Target(f'10.0.0.{i}', 4028), 7) for i in range(50)])"
    runs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        runs.add(done.stdout)
    assert runs == {str([shard_of(Target(f"10.0.0.{i}", 4028), 7) for i in range(50)]) + "\n"}
