"""Building a deterministic fleet: firmware and model mix, identities, per-board nominal values, faults."""

from __future__ import annotations

from . import noise as n
from .faults import check
from .firmwares import get, names
from .miner import BoardSpec, PoolSpec, SimMiner
from .models import MODELS

# A realistic mixed site: mostly stock Antminers and Whatsminers, some custom firmware and Avalons.
DEFAULT_MIX = {
    "antminer": 0.35,
    "whatsminer": 0.2,
    "braiins": 0.1,
    "luxos": 0.1,
    "vnish": 0.1,
    "avalon": 0.15,
}

# Every vendor and firmware generation a site runs, web-API and API 3 firmwares included (the demo's fleet and
# the discovery bench). ``python -m simsite --mix mixed``.
MIXED_MIX = {
    **DEFAULT_MIX,
    "antminer_web": 0.06,
    "whatsminer3": 0.05,
    "braiins_rest": 0.03,
    "braiins_gql": 0.03,
    "vnish_rest": 0.03,
    "epic": 0.02,
    "goldshell": 0.02,
    "auradine": 0.02,
    "bitaxe": 0.02,
    "iceriver": 0.02,
}

_POOL_HOSTS = (
    "stratum+tcp://btc.global.luxor.tech:700",
    "stratum+tcp://ss.antpool.com:3333",
    "stratum+tcp://stratum.braiins.com:3333",
    "stratum+tcp://btc.f2pool.com:1314",
    "stratum+tcp://sha256.poolbinance.com:443",
)
_OUI = {"Antminer": 0x3CA5, "Whatsminer": 0xC411, "Avalon": 0xB4A2}
_SERIAL_PREFIX = {"Antminer": "JYZZ", "Whatsminer": "HEM", "Avalon": "1246"}
_B32 = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_FAN_BASE = {"Antminer": 5400, "Whatsminer": 4800, "Avalon": 5300}


def _serial(make: str, h: int, length: int = 17) -> str:
    prefix = _SERIAL_PREFIX.get(make, "SN")
    chars = []
    for _ in range(length - len(prefix)):
        chars.append(_B32[h & 31])
        h >>= 5
    return prefix + "".join(chars)


def make_miner(
    index: int,
    ip: str,
    port: int,
    seed: int,
    mix: dict[str, float],
    latency_ms: tuple[float, float],
    fault: str | None,
    poll_interval_s: int,
) -> SimMiner:
    fw_name = n.pick(mix, seed, index, n.CH_FIRMWARE)
    fw = get(fw_name)
    spec = MODELS[n.pick(fw.models, seed, index, n.CH_MODEL)]
    h = n.mix(seed, index, n.CH_IDENT)
    oui = _OUI.get(spec.make, 0x0203)
    mac = ":".join(
        f"{x:02X}"
        for x in (
            oui >> 8,
            oui & 0xFF,
            0x0F & (h >> 40) | 0x10,
            (h >> 32) & 0xFF,
            (h >> 24) & 0xFF,
            (h >> 16) & 0xFF,
        )
    )
    boards = []
    for slot in range(spec.boards):
        nominal = round(
            spec.ths * 1000.0 / spec.boards * (1.0 + 0.015 * n.sym(seed, index, n.CH_BOARD, slot, 1)), 2
        )
        pcb = 60.0 + 8.0 * n.unit(seed, index, n.CH_TEMP, slot, 1)
        chip_delta = 5.0 + 4.0 * n.unit(seed, index, n.CH_TEMP, slot, 2)
        hw0 = int(200 * n.unit(seed, index, n.CH_BOARD, slot, 7))
        boards.append(BoardSpec(spec.chips, nominal, pcb, chip_delta, hw0))
    base_fan = _FAN_BASE.get(spec.make, 5000)
    fans = [int(base_fan * (1.0 + 0.08 * n.sym(seed, index, n.CH_FAN, k))) for k in range(spec.fans)]
    first = int(n.unit(seed, index, n.CH_POOL) * len(_POOL_HOSTS))
    user = f"farm{seed % 1000:d}.w{index:05d}"
    pools = [
        PoolSpec(
            _POOL_HOSTS[(first + k) % len(_POOL_HOSTS)],
            user,
            alive=not (k == 2 and n.unit(seed, index, n.CH_POOL, 2) < 0.3),
            active=k == 0,
            accepted0=int(1000 + 5000 * n.unit(seed, index, n.CH_POOL, 3)) if k == 0 else 0,
            rate=40 + int(20 * n.unit(seed, index, n.CH_POOL, 4)),
        )
        for k in range(3)
    ]
    lo, hi = latency_ms
    latency = lo + (hi - lo) * n.unit(seed, index, n.CH_LATENCY)
    uptime0 = 3600 + int(30 * 86400 * n.unit(seed, index, n.CH_UPTIME))
    miner = SimMiner(
        index=index,
        ip=ip,
        port=port,
        firmware=fw_name,
        spec=spec,
        seed=seed,
        mac=mac,
        serial=_serial(spec.make, h >> 3),
        hostname=f"{spec.make.lower()}-{index:05d}",
        fault=fault,
        latency_ms=latency,
        jitter_ms=0.2 * latency,
        board_specs=boards,
        fan_rpm=fans,
        pool_specs=pools,
        uptime0_s=uptime0,
        boot_when=1_760_000_000 - uptime0 + (index % 997),
        poll_interval_s=poll_interval_s,
        env0_c=24.0 + 4.0 * n.sym(seed, index, n.CH_TEMP, 99),
        avg_ratio=1.0 + 0.01 * n.sym(seed, index, n.CH_HASH5S, 77),
        temp_step=fw.temp_step,
        fan_step=fw.fan_step,
        missing_slot=int(n.unit(seed, index, n.CH_FAULT_SLOT) * spec.boards),
        dead_fan=int(n.unit(seed, index, n.CH_FAULT_SLOT, 1) * spec.fans),
    )
    fw.setup(miner)
    return miner


def assign_faults(count: int, seed: int, faults: dict[str, float] | None) -> list[str | None]:
    """Exactly ``round(fraction * count)`` miners per fault, chosen by a seeded shuffle; one fault per miner."""
    return n.exact_shares(count, seed * 7919 + 17, faults, check, "fault")


def check_mix(mix: dict[str, float]) -> dict[str, float]:
    unknown = set(mix) - set(names())
    if unknown or not any(w > 0 for w in mix.values()):
        raise ValueError(f"bad firmware mix {mix!r}; firmwares: {names()}")
    return {k: w for k, w in mix.items() if w > 0}
