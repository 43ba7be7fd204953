"""economics: in site.yaml, checked with file/line/key problems, and exported as three gauges."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from agent.config import check_config, load_config
from agent.economics import economics_families
from agent.exposition import render
from agent.settings import EconomicsConfig
from collectors.families import Families


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def test_economics_defaults_to_unset(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "gpus: false\n"))
    assert config.economics == EconomicsConfig(None, None, None)


def test_economics_loads(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        gpus: false
        economics:
          hashprice_usd_per_th_day: 0.052
          energy_price_usd_per_kwh: 0.045
          site_power_limit_watts: 12000000
        """,
    )
    assert load_config(path).economics == EconomicsConfig(0.052, 0.045, 12_000_000.0)
    assert load_config(write(tmp_path, "gpus: false\neconomics:\n")).economics == EconomicsConfig()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("economics: {hashprice_usd_per_th_day: cheap}\n",
         "site.yaml:2: economics.hashprice_usd_per_th_day: expected a number, got text"),
        ("economics: {energy_price_usd_per_kwh: -0.1}\n",
         "site.yaml:2: economics.energy_price_usd_per_kwh: -0.1 is out of range (must be a finite number, at least 0)"),
        ("economics: {site_power_limit_watts: .inf}\n",
         "site.yaml:2: economics.site_power_limit_watts: inf is out of range (must be a finite number, at least 0)"),
        ("economics: {site_power_limit_watts: true}\n",
         "site.yaml:2: economics.site_power_limit_watts: expected a number, got true/false"),
        ("economics: {hashprice_usd_per_th: 0.05}\n",
         "site.yaml:2: economics.hashprice_usd_per_th: unknown key; did you mean 'hashprice_usd_per_th_day'?"),
        ("economics: [0.05]\n", "site.yaml:2: economics: expected a mapping, got a list"),
    ],
)
def test_economics_problems(tmp_path: Path, body: str, message: str) -> None:
    path = write(tmp_path, "gpus: false\n" + body)
    assert [str(p).replace(str(path), "site.yaml") for p in check_config(path)] == [message]


def test_economics_families_export_configured_values_only() -> None:
    fams = Families()
    economics_families(fams, EconomicsConfig(hashprice_usd_per_th_day=0.05, site_power_limit_watts=1.5e6))
    text = render(fams).text.decode()
    assert "farmwatch_hashprice_usd_per_terahash_day 0.05\n" in text
    assert "farmwatch_site_power_limit_watts 1500000\n" in text
    assert "farmwatch_energy_price_usd_per_kilowatt_hour" not in text
    assert "# TYPE farmwatch_hashprice_usd_per_terahash_day gauge" in text


def test_economics_families_none_adds_nothing() -> None:
    fams = Families()
    economics_families(fams, None)
    economics_families(fams, EconomicsConfig())
    assert list(fams) == []
