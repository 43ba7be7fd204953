"""Target specs: the addresses an operator writes in ``site.yaml`` or on the command line, expanded to devices.

A spec is one of ``HOST``, ``HOST:PORT``, ``[IPV6]:PORT``, a CIDR block (``10.0.0.0/22``) or an inclusive range
(``10.0.8.10-10.0.8.250``, or the short form ``10.0.8.10-250``); CIDR and ranges may carry ``:PORT`` too.
Expansion is ordered and de-duplicated so that the same config always yields the same device list.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

MINER_PORT = 4028
SNMP_PORT = 161
# A /12 of IPv4. Beyond this a spec is a typo (an IPv6 /64, a range with swapped octets), not a site.
MAX_ADDRESSES = 1 << 20

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOSTNAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*\.?$")
_DOTTED_NUMBERS = re.compile(r"^[0-9.]+$")


class TargetError(ValueError):
    """A spec that cannot be expanded; the message is written for the operator."""


@dataclass(frozen=True, slots=True)
class Target:
    host: str  # an IP in canonical form, or a lower-case host name; IPv6 without brackets
    port: int
    # False when the spec named no port (``port`` is the default): a miner identified as HTTP-only is then
    # polled, and keyed, at its driver's web port instead. Not part of the target's identity.
    port_given: bool = field(default=True, compare=False, repr=False)

    def __str__(self) -> str:
        if ":" in self.host:
            return f"[{self.host}]:{self.port}"
        return f"{self.host}:{self.port}"


def _parse_port(text: str, spec: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise TargetError(f"{spec!r}: port {text!r} is not a number from 1 to 65535")
    return int(text)


def _split_port(spec: str) -> tuple[str, int | None]:
    """Separate an optional ``:PORT``; a bare IPv6 literal has several colons and no port."""
    if spec.startswith("["):
        end = spec.find("]")
        if end < 0:
            raise TargetError(f"{spec!r}: missing ']' after the IPv6 address")
        body, rest = spec[1:end], spec[end + 1 :]
        if not rest:
            return body, None
        if not rest.startswith(":"):
            raise TargetError(f"{spec!r}: expected ':PORT' after ']'")
        return body, _parse_port(rest[1:], spec)
    if spec.count(":") == 1:
        body, port = spec.split(":")
        return body, _parse_port(port, spec)
    return spec, None


def _address(text: str, spec: str) -> IPAddress:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise TargetError(f"{spec!r}: {text!r} is not an IP address") from None


def _host_text(value: int, version: int) -> str:
    if version == 4:  # formatting by hand is several times faster than IPv4Address(n).__str__ for big blocks
        return f"{value >> 24}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}"
    return str(ipaddress.IPv6Address(value))


def _check_size(count: int, spec: str) -> None:
    if count > MAX_ADDRESSES:
        raise TargetError(
            f"{spec!r} covers {count:,} addresses; the limit is {MAX_ADDRESSES:,} per spec (split it, or shard)"
        )


def _cidr(body: str, spec: str) -> tuple[int, int, int]:
    """First and last host of a block, and the IP version."""
    try:
        net = ipaddress.ip_network(body, strict=False)
    except ValueError:
        raise TargetError(f"{spec!r} is not a valid CIDR block") from None
    if net.network_address != ipaddress.ip_interface(body).ip:
        raise TargetError(f"{spec!r} has host bits set; did you mean {net}?")
    _check_size(net.num_addresses, spec)
    first, last = int(net.network_address), int(net.broadcast_address)
    # Skip the network and broadcast addresses (IPv6: the subnet-router anycast address), except where the
    # block is a point-to-point /31 (/127) or a single host, which have no such addresses.
    if net.version == 4 and net.prefixlen < 31:
        first, last = first + 1, last - 1
    elif net.version == 6 and net.prefixlen < 127:
        first += 1
    return first, last, net.version


def _range(body: str, spec: str) -> tuple[int, int, int]:
    left, right = (part.strip() for part in body.split("-", 1))
    start = _address(left, spec)
    if right.isdigit() and start.version == 4:  # short form: 10.0.8.10-250 replaces the last octet
        right = left.rsplit(".", 1)[0] + "." + right
    end = _address(right, spec)
    if start.version != end.version:
        raise TargetError(f"{spec!r}: both ends of a range must be the same IP version")
    if int(end) < int(start):
        raise TargetError(f"{spec!r}: range is reversed ({end} comes before {start})")
    _check_size(int(end) - int(start) + 1, spec)
    return int(start), int(end), start.version


def _host(body: str, spec: str) -> str:
    try:
        return ipaddress.ip_address(body).compressed
    except ValueError:
        pass
    if _DOTTED_NUMBERS.match(body):  # "10.0.0.300" is a mistyped IP, not a host name
        raise TargetError(f"{spec!r}: {body!r} is not an IP address")
    if len(body) > 253 or not _HOSTNAME.match(body):
        raise TargetError(f"{spec!r} is not an IP address, host name, CIDR block or range")
    return body.rstrip(".").lower()


def _iter_spec(spec: str, default_port: int) -> Iterator[Target]:
    text = spec.strip()
    if not text:
        raise TargetError("empty target")
    body, given = _split_port(text)
    port = default_port if given is None else given
    explicit = given is not None
    if "/" in body:
        first, last, version = _cidr(body, text)
    elif "-" in body and (_DOTTED_NUMBERS.match(body.replace("-", "").replace(" ", "")) or ":" in body):
        first, last, version = _range(body, text)
    else:
        yield Target(_host(body, text), port, explicit)
        return
    for value in range(first, last + 1):
        yield Target(_host_text(value, version), port, explicit)


def is_scope(spec: str) -> bool:
    """A CIDR block or a range: addresses in which miners are *found*, unlike a single address, which names an
    expected miner (docs/targets.md)."""
    body, _port = _split_port(spec.strip())
    return "/" in body or ("-" in body and bool(_DOTTED_NUMBERS.match(body.replace("-", "").replace(" ", ""))
                                                 or ":" in body))


def expand_spec(spec: str, default_port: int) -> list[Target]:
    """Every device one spec names, in address order. Raises :class:`TargetError`."""
    return list(_iter_spec(spec, default_port))


def expand_targets(specs: Iterable[str], default_port: int) -> list[Target]:
    """Devices of several specs in order of first appearance, without duplicates. Raises :class:`TargetError`."""
    seen: dict[Target, None] = {}
    for spec in specs:
        for target in _iter_spec(spec, default_port):
            seen[target] = None
        if len(seen) > MAX_ADDRESSES:
            raise TargetError(
                f"the specs cover more than {MAX_ADDRESSES:,} addresses in all (shard the site)"
            )
    return list(seen)


def parse_target(spec: str, default_port: int) -> Target:
    """Exactly one device (``farmwatch poll``): a block or range is an error."""
    targets = expand_spec(spec, default_port)
    if len(targets) != 1:
        raise TargetError(f"{spec!r} names {len(targets):,} devices; give one host")
    return targets[0]


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` with 0 <= i < n, for ``--shard`` and ``shard:``."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or not 0 <= int(match[1]) < int(match[2]):
        raise TargetError(f"{text!r} is not a shard; use i/n with 0 <= i < n (e.g. 0/4)")
    return int(match[1]), int(match[2])


def shard_of(target: Target, n: int) -> int:
    """Which of ``n`` shards polls ``target``: stable across processes and Python versions (unlike ``hash``)."""
    digest = hashlib.blake2b(str(target).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % n
