"""The miners' metric families, built from the miner store (names: docs/architecture.md, "Metrics"). The cycle
families of each group (``farmwatch_cycle_*{collector="asic",group}``) are the agent's, built like every other
collector's from the group's CycleStats."""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import REASONS
from ..families import ESCAPE, Families, add_health, labels
from .expected import SCOPE_STATES, UNREACHED
from .models import lookup
from .pools import PoolPolicy, account, pool_host, worker
from .reading import MinerReading
from .store import DeviceState, MinerReadings, MinerStore

TH = 1e12
LOCATION_KEYS = ("container", "rack", "shelf", "slot", "pdu", "outlet")
POOL_STATUS_UP = {"alive": 1, "dead": 0, "disabled": 0}


def miner_families(fams: Families, store: MinerStore, pools: PoolPolicy | None = None) -> None:
    up = fams.get("farmwatch_miner_up", "gauge", "1 when the miner's last poll was read, else 0.")
    last = fams.get(
        "farmwatch_miner_last_success_timestamp_seconds", "gauge", "Unix time of the last successful poll."
    )
    err = fams.get(
        "farmwatch_miner_error", "info", "Why the miner is down (present only while it is down); reason is one of "
        + ", ".join(REASONS) + "."
    )
    info = fams.get("farmwatch_miner", "info", "Identity and location of each miner (value 1).")
    for dev in store.devices.values():
        if not dev.polled or (dev.scope and not store.is_expected(dev)):
            continue  # an empty or unidentified scope address is not a miner: counted in farmwatch_scope_addresses
        d = add_health(up, last, err, ("device", dev.device), dev.up, dev.last_success, dev.error_reason)
        info.add(_info_labels(dev), 1)
        if dev.identity_conflict:
            fams.get("farmwatch_miner_identity_conflict", "gauge", "1 while two machines answer on the address in "
                     "turn (MAC or serial changed twice within an hour); _info shows the last one only.").add(d, 1)
        if dev.reading is not None:
            _reading_samples(fams, dev.device, d, dev.reading)
            if pools is not None:
                pool_families(fams, dev.device, dev.reading, pools)


def _info_labels(dev: DeviceState) -> str:
    """The ``farmwatch_miner_info`` label set, written out in one f-string: built with labels() from a list of
    pairs it was a twentieth of a render (17 labels a miner)."""
    ident = dev.identity
    t = ESCAPE
    loc = dev.location
    where = ",".join([f'{k}="{loc.get(k, "").translate(t)}"' for k in LOCATION_KEYS]) if loc else _NO_LOCATION
    return (f'{{device="{dev.device.translate(t)}",driver="{(ident.driver or "").translate(t)}",'
            f'make="{(ident.make or "").translate(t)}",model="{(ident.model or "").translate(t)}",'
            f'algorithm="{(ident.algorithm or "").translate(t)}",firmware="{(ident.firmware or "").translate(t)}",'
            f'firmware_version="{(ident.firmware_version or "").translate(t)}",'
            f'mac="{(ident.mac or "").translate(t)}",serial="{(ident.serial or "").translate(t)}",'
            f'hostname="{(ident.hostname or "").translate(t)}",{where}}}')


_NO_LOCATION = ",".join(f'{k}=""' for k in LOCATION_KEYS)


def _reading_samples(fams: Families, device: str, d: str, r: MinerReading) -> None:
    """Value series of one reading; ``d`` is the pre-rendered ``{device="..."}`` label set."""
    g = fams.get
    pre = d[:-1]  # the label set without its closing brace, for the series with one more label
    state = g("farmwatch_miner_state", "gauge", "Current state (1 on the series of the current state): "
              "hashing, degraded, not_hashing, sleeping, unknown.")
    state.add(pre + f',state="{r.state}"}}', 1)
    if r.hashrate_ths is not None:
        g("farmwatch_miner_hashrate_hashes_per_second", "gauge",
          "Current hashrate (the firmware's ~1 minute figure, else 5 s), hashes per second.").add(d, r.hashrate_ths * TH)
    if r.expected_hashrate_ths is not None:
        g("farmwatch_miner_expected_hashrate_hashes_per_second", "gauge",
          "Hashrate the miner should do at its current profile (firmware or model nameplate).").add(
            d, r.expected_hashrate_ths * TH)
    if r.power_w is not None:
        g("farmwatch_miner_power_watts", "gauge",
          "Power draw; source = reported (device measures), estimated (firmware estimate), pdu, nameplate.").add(
            pre + f',source="{r.power_source or "reported"}"}}', r.power_w)
    if r.power_limit_w is not None:
        g("farmwatch_miner_power_limit_watts", "gauge", "Power limit or target set on the miner.").add(d, r.power_limit_w)
    if r.uptime_s is not None:
        g("farmwatch_miner_uptime_seconds", "gauge", "Seconds since the mining process started.").add(d, r.uptime_s)
    facts = lookup(r.model)
    if facts is not None:
        g("farmwatch_miner_expected_boards", "gauge", "Hashboard slots of the model.").add(d, facts.boards)
        g("farmwatch_miner_expected_fans", "gauge", "Fans the model has (0 for hydro/immersion).").add(d, facts.fans)
    fan = g("farmwatch_miner_fan_speed_rpm", "gauge", "Fan speed per fan slot of the model; 0 is a stopped fan "
            "(a slot whose reading is unreadable has no sample).")
    unreadable = 0
    for i, rpm in enumerate(r.fans_rpm):
        if rpm is None:
            unreadable += 1
        else:
            fan.add(pre + f',fan="{i}"}}', rpm)
    if unreadable:
        g("farmwatch_miner_fans_unreadable", "gauge", "Fan slots whose reading was unreadable (NaN, garbage): "
          "unknown, neither spinning nor stopped; present only while there are some.").add(d, unreadable)
    if r.boards:
        bh = g("farmwatch_miner_board_hashrate_hashes_per_second", "gauge", "Hashrate per hashboard.")
        bc = g("farmwatch_miner_board_chips", "gauge", "ASIC chips answering on the board (0 = board missing).")
        be = g("farmwatch_miner_board_expected_chips", "gauge", "ASIC chips the board should have.")
        bt = g("farmwatch_miner_board_temperature_celsius", "gauge", "Hottest board (PCB) sensor.")
        bct = g("farmwatch_miner_board_chip_temperature_celsius", "gauge", "Hottest chip sensor on the board.")
        for b in r.boards:
            bl = pre + f',board="{b.index}"}}'
            if b.hashrate_ths is not None:
                bh.add(bl, b.hashrate_ths * TH)
            if b.chips is not None:
                bc.add(bl, b.chips)
            if b.expected_chips is not None:
                be.add(bl, b.expected_chips)
            if b.temp_c is not None:
                bt.add(bl, b.temp_c)
            if b.chip_temp_c is not None:
                bct.add(bl, b.chip_temp_c)
    if r.pools:
        pi = g("farmwatch_miner_pool", "info", "Pool configured on the miner: URL and worker (value 1).")
        pu = g("farmwatch_miner_pool_up", "gauge", "1 when the pool is alive, 0 when dead or disabled.")
        pa = g("farmwatch_miner_pool_active", "gauge", "1 on the pool the miner is mining on.")
        acc = g("farmwatch_miner_pool_accepted_shares", "counter", "Shares the pool accepted.")
        rej = g("farmwatch_miner_pool_rejected_shares", "counter", "Shares the pool rejected.")
        stale = g("farmwatch_miner_pool_stale_shares", "counter", "Stale shares.")
        for i, p in enumerate(r.pools):
            index = str(p.index if p.index is not None else i)
            pl = pre + f',pool="{index}"}}'
            # labels((device, pool, url, user)) written out: pre already holds the escaped device label.
            pi.add(f'{pl[:-1]},url="{p.url.translate(ESCAPE)}",user="{(p.user or "").translate(ESCAPE)}"}}', 1)
            if p.status in POOL_STATUS_UP:
                pu.add(pl, POOL_STATUS_UP[p.status])
            if p.active is not None:
                pa.add(pl, 1 if p.active else 0)
            if p.accepted is not None:
                acc.add(pl, p.accepted)
            if p.rejected is not None:
                rej.add(pl, p.rejected)
            if p.stale is not None:
                stale.add(pl, p.stale)
    if r.errors is not None:  # no sample where the driver does not read errors: unknown, not "none"
        g("farmwatch_miner_firmware_errors", "gauge", "Error codes the firmware currently reports.").add(
            d, r.error_count if r.error_count is not None else len(r.errors))
    if r.truncated:
        cut = g("farmwatch_miner_truncated", "info", "A part of the miner's reading cut to the agent's per-device "
                "bounds (value 1): pools, pool_index (repeated indexes renumbered), boards, fans, errors, strings.")
        for part in r.truncated:
            cut.add(labels((("device", device), ("part", part))), 1)
    if r.missing:
        partial = g("farmwatch_miner_partial", "info", "A part of the miner's reading that could not be read this "
                    "time (value 1; that part is unknown, the rest was read): reason is one of "
                    + ", ".join(REASONS) + ".")
        for n in r.missing:
            partial.add(labels((("device", device), ("part", n.part), ("reason", n.reason))), 1)


def pool_families(fams: Families, device: str, r: MinerReading, policy: PoolPolicy) -> None:
    """Where the miner's hashrate goes: whether each pool is one the site allows (only with ``pools:`` set; no
    sample where it cannot be told), the share of the miner's hashrate on each active pool with its host and
    account (the fleet-wide view sums these), and the firmware's own dev-fee pools where the driver knows them."""
    g = fams.get
    if policy:
        allowed = g("farmwatch_miner_pool_allowed", "gauge", "1 when the pool and its worker are allowed by pools: in "
                    "site.yaml, 0 when not (no sample when the worker is unknown).")
        for i, p in enumerate(r.pools):
            verdict = policy.allows(p.url, p.user)
            if verdict is not None:
                index = str(p.index if p.index is not None else i)
                allowed.add(labels((("device", device), ("pool", index))), 1 if verdict else 0)
    active = [(i, p) for i, p in enumerate(r.pools) if p.active]
    if active and r.state in ("hashing", "degraded"):
        share = g("farmwatch_miner_pool_hashrate_share", "gauge", "Share of the miner's hashrate on each pool it "
                  "mines on (1 on its one active pool), with the pool's host and account (the worker's name up to "
                  "its first dot).")
        for i, p in active:
            index = str(p.index if p.index is not None else i)
            share.add(labels((("device", device), ("pool", index), ("pool_host", pool_host(p.url)),
                              ("account", account(worker(p.url, p.user))))), 1.0 / len(active))
    if r.fee_pools:
        fee = g("farmwatch_miner_fee_pool", "info", "The firmware's own developer-fee pool (value 1): the "
                "firmware mines a part of the time for its developer there; not one of the site's pools.")
        for p in r.fee_pools:
            fee.add(labels((("device", device), ("pool_host", pool_host(p.url)), ("user", p.user or ""))), 1)


def scope_families(fams: Families, groups: Iterable[str], store: MinerReadings) -> None:
    """``farmwatch_scope_addresses{group,state}`` of the groups that have CIDR or range targets."""
    scope = fams.get("farmwatch_scope_addresses", "gauge", "Addresses of the CIDR and range targets by state: miner "
                     "(found, or listed in the site map: expected from then on), unidentified (answers, but not as a "
                     "miner farmwatch reads), empty (nothing answers, or not polled yet).")
    for name in groups:
        counts = scope_counts(name, store)
        if sum(counts.values()):
            for state_name in SCOPE_STATES:
                scope.add(labels((("group", name), ("state", state_name))), counts[state_name])


def scope_counts(name: str, store: MinerReadings) -> dict[str, int]:
    """The scope addresses (from CIDRs and ranges) of group ``name`` by state; addresses written alone are not
    counted."""
    counts = dict.fromkeys(SCOPE_STATES, 0)
    is_expected = store.is_expected
    # One pass over the store's states (the scheduler marks each with its host, group and scope), not over the
    # sessions: formatting 20,000 session names per render cost ~0.1 s on the agent's loop.
    for dev in store.states():
        if not dev.scope or dev.group != name:
            continue
        if is_expected(dev):
            counts["miner"] += 1
        elif dev.polled and dev.error_reason is not None and dev.error_reason not in UNREACHED:
            counts["unidentified"] += 1
        else:
            counts["empty"] += 1
    return counts

