"""Loopback addresses for simulated miners: consecutive from a base, skipping .0 and .255 last octets."""

from __future__ import annotations

import ipaddress


def addresses(base_ip: str, count: int) -> list[str]:
    x = int(ipaddress.IPv4Address(base_ip))
    out: list[str] = []
    while len(out) < count:
        if x & 0xFF not in (0, 255):
            out.append(str(ipaddress.IPv4Address(x)))
        x += 1
    last = ipaddress.IPv4Address(x - 1)
    if count and not (ipaddress.IPv4Address(base_ip).is_loopback and last.is_loopback):
        raise ValueError(f"{base_ip} + {count} miners leaves 127.0.0.0/8 (every simulated miner is on lo)")
    return out
