"""What is wrong with one miner, in the words a technician acts on: pure functions of a reading.

Boards and fans are numbered from 1 here, as they are printed on the machine and in the firmwares' own web
pages (``Chain 1``, ``FAN2``); the metrics label them from 0 (``board="1"`` is board 2). A sleeping miner has no
board or fan problems (docs/architecture.md: sleep is the operator's choice and its boards and fans look dead).

Severity: ``fault`` needs a hand at the machine (down, not hashing, a board or fan dead, too hot, no pool to mine
on); ``warn`` is a miner that works below par (hashrate under 90 % of expected with every board present, mining
on a backup pool). The thresholds are the alert rules' (rules/farmwatch.alerts.yml), so the floor view and
Alertmanager agree on what is sick.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from collectors.asic.pools import AllowedPool, PoolPolicy, pool_key, worker
from collectors.asic.reading import MinerReading

__all__ = ["Problem", "down_problem", "hottest", "pool_key", "pool_problem", "reading_problems"]

CHIP_HOT_C = 90.0  # FarmwatchMinerChipTemperatureHigh
BOARD_HOT_C = 80.0  # FarmwatchMinerBoardTemperatureHigh
LOW_RATIO = 0.9  # FarmwatchMinerHashrateLow; the contract's "degraded"


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str  # down, not_hashing, board_missing, board_chips, fan_dead, chip_hot, board_hot, hashrate_low, ...
    text: str  # what the technician reads: "fan 3 dead", "board 2 missing", "95 °C chip", "timeout"
    severity: str  # fault | warn

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "text": self.text, "severity": self.severity}


def down_problem(reason: str | None, message: str | None) -> Problem:
    """A miner that did not answer its last poll: the fixed reason (timeout, refused, auth ...)."""
    return Problem("down", reason or "down", "fault")


def _fmt_temp(c: float) -> str:
    return f"{c:.0f} °C"


def _policy(site_pools: Collection[str] | PoolPolicy) -> PoolPolicy:
    if isinstance(site_pools, PoolPolicy):
        return site_pools
    return PoolPolicy(tuple(AllowedPool(k, k) for k in site_pools))


def pool_problem(url: str, user: str | None, policy: PoolPolicy) -> Problem | None:
    """An "unknown pool" entry for a pool the site does not allow: the pool itself, or a worker on an allowed
    pool that is not the site's (the same hijack: the hashrate is credited to someone else's account)."""
    if not url or policy.allows(url, user) is not False:
        return None
    key = pool_key(url)
    if key is not None and any(a.matches_pool(key) for a in policy.allowed):
        return Problem("unknown_pool", f"unknown worker {worker(url, user)} on {key}", "fault")
    return Problem("unknown_pool", f"unknown pool {key or url}", "fault")


def reading_problems(r: MinerReading, expected_fans: int | None = None,
                     site_pools: Collection[str] | PoolPolicy = ()) -> list[Problem]:
    """The problems one answering miner has, most urgent first. ``site_pools``: the site's pool policy (or its
    pools as :func:`pool_key` gives them); a miner with a pool set that it does not allow has an unknown pool."""
    out: list[Problem] = []
    policy = _policy(site_pools)
    if policy:
        for p in r.pools:
            if (problem := pool_problem(p.url, p.user, policy)) is not None:
                out.append(problem)
    if r.state == "sleeping":
        return out
    if r.state == "not_hashing":
        out.append(Problem("not_hashing", "not hashing", "fault"))
    missing = False
    for b in r.boards:
        n = b.index + 1
        if b.chips == 0:
            out.append(Problem("board_missing", f"board {n} missing", "fault"))
            missing = True
        elif b.chips is not None and b.expected_chips and b.chips < b.expected_chips:
            out.append(Problem("board_chips", f"board {n}: {b.chips} of {b.expected_chips} chips", "fault"))
    if expected_fans != 0:  # hydro and immersion models have no fans; a 0 there is no dead fan
        for i, rpm in enumerate(r.fans_rpm):
            if rpm == 0:
                out.append(Problem("fan_dead", f"fan {i + 1} dead", "fault"))
    chip = max((b.chip_temp_c for b in r.boards if b.chip_temp_c is not None), default=None)
    if chip is not None and chip > CHIP_HOT_C:
        out.append(Problem("chip_hot", f"{_fmt_temp(chip)} chip", "fault"))
    pcb = max((b.temp_c for b in r.boards if b.temp_c is not None), default=None)
    if pcb is not None and pcb > BOARD_HOT_C:
        out.append(Problem("board_hot", f"{_fmt_temp(pcb)} board", "fault"))
    if r.pools and not any(p.status == "alive" for p in r.pools) and any(p.status == "dead" for p in r.pools):
        out.append(Problem("no_pool", "no pool alive", "fault"))
    if (not missing and r.state in ("hashing", "degraded") and r.hashrate_ths is not None
            and r.expected_hashrate_ths and r.hashrate_ths < LOW_RATIO * r.expected_hashrate_ths):
        pct = 100.0 * r.hashrate_ths / r.expected_hashrate_ths
        out.append(Problem("hashrate_low", f"hashrate {pct:.0f} % of expected", "warn"))
    active = [p for p in r.pools if p.active]
    if active and r.pools:
        first = min(r.pools, key=lambda p: p.index if p.index is not None else 0)
        if not first.active and r.state != "not_hashing":
            chosen = active[0]
            number = chosen.index if chosen.index is not None else r.pools.index(chosen)
            out.append(Problem("backup_pool", f"on backup pool {number}", "warn"))
    return out


def hottest(r: MinerReading) -> float | None:
    """The hottest temperature the miner reports: chip sensors first, else board sensors."""
    chips = [b.chip_temp_c for b in r.boards if b.chip_temp_c is not None]
    if chips:
        return max(chips)
    pcbs = [b.temp_c for b in r.boards if b.temp_c is not None]
    return max(pcbs) if pcbs else None
