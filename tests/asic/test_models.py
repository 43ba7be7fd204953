"""The model facts table: lookups by the names firmwares report, family fallback for chip bins, no guesses."""

from __future__ import annotations

import pytest

from collectors.asic.models import all_models, lookup, normalise

REQUIRED = [
    "Antminer S19",
    "Antminer S19j",
    "Antminer S19j Pro",
    "Antminer S19 Pro",
    "Antminer S19 XP",
    "Antminer S19k Pro",
    "Antminer S21",
    "Antminer S21 Pro",
    "Antminer S21 XP",
    "Antminer T21",
    "Antminer S9",
    "Antminer S9 SE",
    "Antminer S9k",
    "Antminer S17",
    "Antminer S17+",
    "Antminer T17",
    "Antminer T15",
    "Antminer L7",
    "Whatsminer M30S",
    "Whatsminer M30S+",
    "Whatsminer M30S++",
    "Whatsminer M31S",
    "Whatsminer M50",
    "Whatsminer M50S",
    "Whatsminer M53",
    "Whatsminer M60",
    "Whatsminer M60S",
    "Whatsminer M63",
    "Whatsminer M20S",
    "Avalon 1047",
    "Avalon 1246",
    "Avalon 1366",
    "Avalon 1466",
    "Avalon 1566",
    "Avalon Q",
]


@pytest.mark.parametrize("name", REQUIRED)
def test_table_covers_the_common_fleet(name: str) -> None:
    facts = lookup(name)
    assert facts is not None, name
    assert facts.boards >= 1 and facts.fans >= 0
    assert facts.hashrate_ths is None or facts.hashrate_ths > 0
    assert facts.power_w is None or facts.power_w > 0


def test_rows_are_well_formed() -> None:
    for key, facts in all_models().items():
        assert key == normalise(facts.name)
        assert facts.make, facts.name
        assert facts.boards >= 1 and facts.fans >= 0, facts.name
        assert facts.chips_per_board is None or facts.chips_per_board > 0, facts.name


@pytest.mark.parametrize(
    "reported, expected_key",
    [
        ("Antminer S19 Pro", "S19PRO"),
        ("Antminer S19 Pro (vnish 1.2.6)", "S19PRO"),
        ("S19j Pro", "S19JPRO"),
        ("Antminer S21 XP", "S21XP"),
        ("M50S VH75", "M50S"),  # Whatsminer chip bin falls back to the family
        ("M50S_VH75", "M50S"),
        ("M20S V10", "M20S"),
        ("M30S++ VG30", "M30S++"),
        ("M30S+ VE40", "M30S+"),
        ("M60S_VK40", "M60S"),
        ("Avalon 1246", "1246"),
        ("AvalonMiner 1566", "1566"),
        ("Avalon Q", "Q"),
        ("Avalon Mini 3", "MINI3"),
    ],
)
def test_lookup_by_reported_names(reported: str, expected_key: str) -> None:
    facts = lookup(reported)
    assert facts is not None and facts.key == expected_key


def test_variant_does_not_fall_to_a_wrong_family() -> None:
    # An S19k Pro is not an S19: unknown names get no facts instead of a neighbour's.
    assert lookup("Antminer S19k Pro").key == "S19KPRO"  # type: ignore[union-attr]
    assert lookup("Antminer S19 Hydro") is None
    assert lookup("Antminer S99") is None
    assert lookup("M99S VH75") is None
    assert lookup("") is None and lookup(None) is None


def test_whatsminer_families_leave_chips_unknown_and_hydro_has_no_fans() -> None:
    assert lookup("M50S VH75").chips_per_board is None  # type: ignore[union-attr]
    m53 = lookup("M53 VH30")
    assert m53 is not None and m53.fans == 0 and m53.boards == 4
    assert lookup("Antminer L7").algorithm == "scrypt"  # type: ignore[union-attr]
