"""The collector contract and cycle statistics live in ``collectors/collector.py`` (collectors implement them
without importing the agent); the agent's modules import them from here."""

from collectors.collector import FAILED_IN_A_ROW, Collector, CycleStats, Timed

__all__ = ["FAILED_IN_A_ROW", "Collector", "CycleStats", "Timed"]
