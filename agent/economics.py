"""Configured prices and limits as metrics, so that Prometheus rules can price hashrate and power.

``economics:`` in ``site.yaml`` sets the hashprice (USD per TH/s per day), the energy price (USD per kWh) and the
site's contracted power limit. The recording rules join them on ``instance`` to every miner of the same agent
(revenue, power cost, margin), and the contract-limit alert compares site power with the limit. A value that is
not configured exports no series, so rules built on it stay empty rather than computing with a made-up price.
"""

from __future__ import annotations

from collectors.families import Families

from .settings import EconomicsConfig

HASHPRICE = "farmwatch_hashprice_usd_per_terahash_day"
ENERGY_PRICE = "farmwatch_energy_price_usd_per_kilowatt_hour"
SITE_POWER_LIMIT = "farmwatch_site_power_limit_watts"


def economics_families(fams: Families, cfg_economics: EconomicsConfig | None) -> None:
    """Add one unlabelled gauge per configured value of ``economics:`` to ``fams``."""
    if cfg_economics is None:
        return
    values = (
        (HASHPRICE, "Configured hashprice: revenue in USD per TH/s of hashrate per day.",
         cfg_economics.hashprice_usd_per_th_day),
        (ENERGY_PRICE, "Configured energy price in USD per kWh.", cfg_economics.energy_price_usd_per_kwh),
        (SITE_POWER_LIMIT, "Configured (contracted) site power limit in watts.",
         cfg_economics.site_power_limit_watts),
    )
    for name, help_, value in values:
        if value is not None:
            fams.get(name, "gauge", help_).add("", value)
