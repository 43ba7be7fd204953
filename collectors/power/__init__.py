"""Power domains (feeds, breakers, PDUs with budgets, and what hangs on each) and the joins of the domain file
with device readings that one agent can make by itself. Not a collector: it polls nothing. The config loader reads
the domain file into :mod:`.domains`; the agent hands this unit the domains, its miners and the readings of the
collectors that measure power, and :mod:`.families` writes every ``farmwatch_power_domain_*`` family. Joins
across devices and shards are Prometheus recording rules (docs/power.md)."""
