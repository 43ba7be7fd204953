"""``/probe?target=&module=`` (snmp_exporter style) and ``/sd`` (Prometheus HTTP service discovery).

``/probe`` polls one miner (``module=auto`` or a driver) or one SNMP device (``module=snmp``) now and answers
with its series, the miner's site-map location on its ``_info`` as on ``/metrics``, for operators who keep the
target list in Prometheus. ``/sd`` lists both kinds, so one probe job covers the site. It is not a way into the network: the target must be an address (no name is resolved) inside the
miner target ranges of this agent's config (every shard's, so a probe can be routed to any agent of a site);
anything else gets 403 without a packet being sent. Probes run under their own small concurrency limit.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from collectors.asic.group import MinerGroup
from collectors.asic.metrics import LOCATION_KEYS, miner_families
from collectors.asic.poll import MinerSession, poll
from collectors.asic.store import MinerStore
from collectors.errors import DeviceError
from collectors.families import Families

from .exposition import Rendered, render
from .targets import _DOTTED_NUMBERS, MINER_PORT, SNMP_PORT, Target, _cidr, _range, _split_port, parse_target

MAX_PROBES = 16  # probes in flight at once; more get 503 at once (a scrape storm must not pile up sockets)
DEFAULT_PROBE_TIMEOUT = 10.0
MAX_SNMP_DEVICES = 4096  # SNMP devices whose profile and identity /probe keeps between probes


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


@dataclass
class SnmpProbeGroup:
    """A configured ``snmp:`` group: its timeout, and how to build a device of it (credentials, profile)."""

    timeout: float
    make_device: Callable[[str, int], Any]  # (host, port) -> collectors.snmp.poll.SnmpDevice


class Prober:
    def __init__(self, allow: AllowList, groups: list[ProbeGroup], *, limit: int = MAX_PROBES,
                 snmp_allow: AllowList | None = None, snmp_groups: list[SnmpProbeGroup] | None = None) -> None:
        self.allow = allow
        self.groups = groups
        self.snmp_allow = snmp_allow or AllowList()
        self.snmp_groups = snmp_groups or []
        self.limit = limit
        self.in_flight = 0
        self.locator: Any = None  # the agent's site map (``locate(ip=, mac=, serial=)``), for location labels
        self._engine: Any = None  # one SNMP engine for every SNMP probe, created on the agent's loop
        # SNMP devices probed before: their profile and identity are kept, as the collector keeps them, so a
        # probe reads values only (one GET of sysObjectID + identity per device per identity interval).
        self._snmp_devices: dict[tuple[int, str, int], Any] = {}

    def check_snmp(self, target_text: str) -> tuple[Target, SnmpProbeGroup]:
        """An SNMP device of this site's ``snmp:`` targets, or ProbeDenied/TargetError (nothing sent)."""
        if len(target_text) > 300 or any(c in target_text for c in "/@?#"):
            raise ProbeDenied("target must be HOST or HOST:PORT")
        target = parse_target(target_text, SNMP_PORT)
        return target, self.snmp_groups[self.snmp_allow.group_of(target)]

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
        self._locate(store, target.host)
        fams = Families()
        miner_families(fams, store)
        fams.get("farmwatch_probe_success", "gauge", "1 when the probed device was read.").add("", 1 if ok else 0)
        fams.get("farmwatch_probe_duration_seconds", "gauge", "Wall time of the probe.").add(
            "", round(loop.time() - started, 4))
        return render(fams)

    def _locate(self, store: MinerStore, host: str) -> None:
        """The site map's location on the probed miner's ``_info``, as the agent's own /metrics has it: rack,
        PDU and inhibition rules then work on probed series too."""
        if self.locator is None:
            return
        for state in store.devices.values():
            loc = self.locator.locate(ip=host, mac=state.identity.mac, serial=state.identity.serial)
            state.location = ({k: str(v) for k in LOCATION_KEYS if (v := getattr(loc, k, None)) not in (None, "")}
                              if loc else {})

    async def probe_snmp(self, target: Target, group: SnmpProbeGroup, timeout: float) -> Rendered:
        from collectors.snmp.client import Engine
        from collectors.snmp.collector import DeviceStatus, record_success
        from collectors.snmp.metrics import snmp_families
        from collectors.snmp.poll import poll as snmp_poll
        from collectors.snmp.poll import unwrap_counters

        if self._engine is None:
            self._engine = Engine()
        key = (id(group), target.host, target.port)
        dev = self._snmp_devices.get(key)
        if dev is None:
            if len(self._snmp_devices) >= MAX_SNMP_DEVICES:
                self._snmp_devices.clear()  # bounded: a scan of a /16 through /probe must not grow memory
            dev = self._snmp_devices[key] = group.make_device(target.host, target.port)
        st = DeviceStatus(dev.device, polled=True)
        loop = asyncio.get_running_loop()
        started = loop.time()
        self.in_flight += 1
        try:
            reading = await snmp_poll(self._engine, dev, deadline=started + timeout)
        except DeviceError as e:
            st.error_reason, st.error_message = e.reason, e.message
            st.sys_object_id = dev.sys_object_id if e.reason == "unsupported" else None
        else:
            unwrap_counters(dev, reading)
            record_success(st, reading)
        finally:
            self.in_flight -= 1
        st.duration = loop.time() - started
        fams = Families()
        snmp_families(fams, [st])
        fams.get("farmwatch_probe_success", "gauge", "1 when the probed device was read.").add("", 1 if st.up else 0)
        fams.get("farmwatch_probe_duration_seconds", "gauge", "Wall time of the probe.").add(
            "", round(st.duration, 4))
        return render(fams)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None


def sd_targets(site: str, groups: list[MinerGroup], store: MinerStore, shard: tuple[int, int] | None) -> list[dict[str, object]]:
    """Prometheus HTTP SD: one target group per expected miner this agent polls (an empty scope address is not
    listed), with ``__meta_farmwatch_*`` labels."""
    out: list[dict[str, object]] = []
    shard_text = f"{shard[0]}/{shard[1]}" if shard else ""
    for group in groups:
        for session in group.sessions:
            meta = {"__meta_farmwatch_site": site, "__meta_farmwatch_group": group.name,
                    "__meta_farmwatch_shard": shard_text, "__meta_farmwatch_collector": "miner",
                    "__meta_farmwatch_module": session.driver_name or "auto"}
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


def sd_snmp_targets(site: str, collectors: list[Any], shard: tuple[int, int] | None) -> list[dict[str, object]]:
    """The SNMP devices this agent polls, for /sd: ``__meta_farmwatch_module="snmp"`` (what /probe needs) and
    the device's profile, class, name and up from its last poll."""
    out: list[dict[str, object]] = []
    shard_text = f"{shard[0]}/{shard[1]}" if shard else ""
    for c in collectors:
        if getattr(c, "name", None) != "snmp":
            continue
        for dev in c.devices:
            meta = {"__meta_farmwatch_site": site, "__meta_farmwatch_group": "snmp",
                    "__meta_farmwatch_shard": shard_text, "__meta_farmwatch_collector": "snmp",
                    "__meta_farmwatch_module": "snmp"}
            st = c.status.get(dev.device)
            if st is not None and st.polled:
                meta["__meta_farmwatch_up"] = "1" if st.up else "0"
                for key, value in (("profile", st.profile), ("class", st.device_class), ("name", st.name),
                                   ("make", st.make), ("model", st.model)):
                    if value:
                        meta[f"__meta_farmwatch_{key}"] = str(value)
            out.append({"targets": [dev.device], "labels": meta})
    return out
