"""``/probe?target=&module=`` (snmp_exporter style) and ``/sd`` (Prometheus HTTP service discovery).

``/probe`` polls one miner now and answers with its series, for operators who keep the target list in
Prometheus. It is not a way into the network: the target must be an address (no name is resolved) inside the
miner target ranges of this agent's config (every shard's, so a probe can be routed to any agent of a site);
anything else gets 403 without a packet being sent. Probes run under their own small concurrency limit.
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass

from collectors.asic.poll import MinerSession, poll
from collectors.errors import DeviceError

from .exposition import Families, Rendered, render
from .metrics import miner_families
from .scheduler import MinerGroup
from .store import MinerStore
from .targets import _DOTTED_NUMBERS, MINER_PORT, Target, _cidr, _range, _split_port, parse_target

MAX_PROBES = 16  # probes in flight at once; more get 503 at once (a scrape storm must not pile up sockets)
DEFAULT_PROBE_TIMEOUT = 10.0


class ProbeDenied(Exception):
    """The target is outside the configured ranges, or is not an address."""


def _driver_ports() -> set[int]:
    from collectors.asic.drivers import registry

    return {d.port for d in registry().values()}


@dataclass(frozen=True, slots=True)
class _Span:
    first: int
    last: int
    version: int
    ports: frozenset[int]
    group: int


class AllowList:
    """Membership in target specs without expanding them: a /12 stays one interval."""

    def __init__(self) -> None:
        self.spans: list[_Span] = []
        self.hosts: dict[tuple[str, int], int] = {}  # host names as written (never resolved)

    def add(self, spec: str, default_port: int, group: int, *, port_given: bool = True) -> None:
        """``port_given``: the group fixes the port (``port:``). Otherwise a spec without its own port also
        admits every driver's primary API port: the agent polls an HTTP-only miner there, and /sd lists it so."""
        text = spec.strip()
        body, given = _split_port(text)
        port = default_port if given is None else given
        ports = frozenset({port} if given is not None or port_given else {port, *_driver_ports()})
        if "/" in body:
            first, last, version = _cidr(body, text)
        elif "-" in body and (_DOTTED_NUMBERS.match(body.replace("-", "").replace(" ", "")) or ":" in body):
            first, last, version = _range(body, text)
        else:
            try:
                addr = ipaddress.ip_address(body)
            except ValueError:
                name = body.lower().rstrip(".")
                self.hosts[(name, port)] = group
                for other in sorted(ports - {port}):
                    self.hosts.setdefault((name, other), group)
                return
            first = last = int(addr)
            version = addr.version
        self.spans.append(_Span(first, last, version, ports, group))

    def group_of(self, target: Target) -> int:
        """Index of the first miner group whose specs hold ``target``; raises ProbeDenied."""
        try:
            addr = ipaddress.ip_address(target.host)
        except ValueError:
            group = self.hosts.get((target.host, target.port))
            if group is None:
                raise ProbeDenied(f"{target} is not in the configured target ranges") from None
            return group
        value = int(addr)
        for span in self.spans:
            if span.version == addr.version and target.port in span.ports and span.first <= value <= span.last:
                return span.group
        raise ProbeDenied(f"{target} is not in the configured target ranges")


@dataclass
class ProbeGroup:
    """What a probe of a device in one configured group needs: the group's timeout and credentials."""

    timeout: float = DEFAULT_PROBE_TIMEOUT
    session_template: MinerSession | None = None


class Prober:
    def __init__(self, allow: AllowList, groups: list[ProbeGroup], *, limit: int = MAX_PROBES) -> None:
        self.allow = allow
        self.groups = groups
        self.limit = limit
        self.in_flight = 0

    def check(self, target_text: str) -> tuple[Target, ProbeGroup]:
        """The target as a device of this site, or ProbeDenied/TargetError (nothing is sent either way)."""
        if len(target_text) > 300:
            raise ProbeDenied("target too long")
        # A URL-ish target (scheme, path, credentials) is never a miner address.
        if any(c in target_text for c in "/@?#") or "://" in target_text:
            raise ProbeDenied("target must be HOST or HOST:PORT")
        body, _port = _split_port(target_text.strip())
        if "-" in body and not any(c.isalpha() for c in body):
            raise ProbeDenied("target must be one device, not a range")
        target = parse_target(target_text, MINER_PORT)
        return target, self.groups[self.allow.group_of(target)]

    async def probe(self, target: Target, group: ProbeGroup, module: str, timeout: float) -> Rendered:
        template = group.session_template
        session = MinerSession(
            host=target.host,
            port=target.port,
            driver_name=None if module == "auto" else module,
            nameplate_power=template.nameplate_power if template else False,
            credentials=template.credentials if template else None,
            auto_port=(template.auto_port if template else True) and not target.port_given,
        )
        store = MinerStore()
        loop = asyncio.get_running_loop()
        started = loop.time()
        ok = False
        self.in_flight += 1
        try:
            reading = await poll(session, deadline=started + timeout)
        except DeviceError as e:
            store.record_failure(session.device, e)
        else:
            store.record_success(session.device, reading)
            ok = True
        finally:
            self.in_flight -= 1
        fams = Families()
        miner_families(fams, store)
        fams.get("farmwatch_probe_success", "gauge", "1 when the probed device was read.").add("", 1 if ok else 0)
        fams.get("farmwatch_probe_duration_seconds", "gauge", "Wall time of the probe.").add(
            "", round(loop.time() - started, 4))
        return render(fams)


def sd_targets(site: str, groups: list[MinerGroup], store: MinerStore, shard: tuple[int, int] | None) -> list[dict[str, object]]:
    """Prometheus HTTP SD: one target group per expected miner this agent polls (an empty scope address is not
    listed), with ``__meta_farmwatch_*`` labels."""
    out: list[dict[str, object]] = []
    shard_text = f"{shard[0]}/{shard[1]}" if shard else ""
    for group in groups:
        for session in group.sessions:
            meta = {"__meta_farmwatch_site": site, "__meta_farmwatch_group": group.name,
                    "__meta_farmwatch_shard": shard_text, "__meta_farmwatch_module": session.driver_name or "auto"}
            state = store.devices.get(session.device)
            if group.is_scope(session) and not store.expected.is_expected(session.host):
                continue  # an address of a scope where no miner was found: nothing to scrape
            if state is not None:
                ident = state.identity
                for key in ("driver", "make", "model", "firmware", "mac", "serial"):
                    value = getattr(ident, key)
                    if value:
                        meta[f"__meta_farmwatch_{key}"] = str(value)
                meta["__meta_farmwatch_up"] = "1" if state.up else "0"
                for key, value in state.location.items():
                    meta[f"__meta_farmwatch_{key}"] = value
            out.append({"targets": [session.device], "labels": meta})
    return out
