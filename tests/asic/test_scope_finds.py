"""The record of scope finds (collectors/asic/expected.py): a miner seen again under the same MAC at another scope
address (DHCP moved it) retires the old address, also when the old find came from the file of an earlier run, and
a find whose MAC changed (a control board swapped) is no longer retired by its old MAC."""

from __future__ import annotations

from pathlib import Path

from collectors.asic.expected import Expected


def found(e: Expected, host: str, mac: str | None) -> list[str]:
    return e.found(host, f"{host}:4028", driver="whatsminer", model="M30S+", mac=mac, serial=None, now=1.0)


def test_a_miner_seen_at_a_new_address_retires_the_old_one_and_only_it() -> None:
    e = Expected()
    for i in range(50):
        assert found(e, f"10.0.0.{i}", f"aa:00:00:00:00:{i:02x}") == []
    assert found(e, "10.0.1.7", "aa:00:00:00:00:07") == ["10.0.0.7"]
    assert "10.0.0.7" not in e.finds and "10.0.1.7" in e.finds
    assert len(e.finds) == 50
    assert found(e, "10.0.1.7", "aa:00:00:00:00:07") == []  # read again where it is now: nothing to retire


def test_finds_loaded_from_an_earlier_run_are_retired_by_mac(tmp_path: Path) -> None:
    first = Expected(tmp_path)
    found(first, "10.0.0.1", "aa:00:00:00:00:01")
    found(first, "10.0.0.2", "aa:00:00:00:00:02")
    first.save()
    again = Expected(tmp_path)
    again.load()
    assert set(again.finds) == {"10.0.0.1", "10.0.0.2"}
    assert found(again, "10.0.0.9", "aa:00:00:00:00:02") == ["10.0.0.2"]
    assert set(again.finds) == {"10.0.0.1", "10.0.0.9"}


def test_a_find_whose_mac_changed_is_not_retired_by_its_old_mac() -> None:
    e = Expected()
    found(e, "10.0.0.1", "aa:00:00:00:00:01")
    found(e, "10.0.0.1", "bb:00:00:00:00:01")  # control board swapped: same address, new MAC
    assert found(e, "10.0.0.5", "aa:00:00:00:00:01") == []  # the old MAC elsewhere is another machine now
    assert set(e.finds) == {"10.0.0.1", "10.0.0.5"}
    assert found(e, "10.0.0.6", "bb:00:00:00:00:01") == ["10.0.0.1"]


def test_finds_without_a_mac_retire_nothing() -> None:
    e = Expected()
    found(e, "10.0.0.1", None)
    found(e, "10.0.0.2", None)
    assert found(e, "10.0.0.3", None) == []
    assert len(e.finds) == 3
