"""One poll of one SNMP device: identify its profile (cached), GET its scalars, walk its tables, decode.

A :class:`SnmpDevice` keeps what is worth keeping between cycles: the engine target, the profile, identity
(re-read every ``identity_interval``) and the state that keeps Counter32 columns monotonic across wraps.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from ..errors import AuthError, DeviceError, DeviceTimeout, ParseError, UnsupportedDevice
from . import decode
from .client import Auth, Engine, Target
from .profile import PROBE_ORDER, Column, Oid, Profile, candidates, profiles
from .reading import SnmpReading

SYS_OBJECT_ID: Oid = (1, 3, 6, 1, 2, 1, 1, 2, 0)
SYS_NAME: Oid = (1, 3, 6, 1, 2, 1, 1, 5, 0)
_PROBE_USER = Auth(user="farmwatch-probe")  # unknown user: any SNMPv3 agent still answers with a report


@dataclass
class SnmpDevice:
    host: str
    port: int = 161
    auth: Auth = field(default_factory=lambda: Auth(community="public"))
    profile_name: str | None = None  # None: from sysObjectID, then probes
    timeout: float = 10.0  # whole poll
    retries: int = 1
    interval: float = 60.0
    max_values: int = 50  # varbinds asked per GETBULK (split over the columns walked together)
    identity_interval: float = 3600.0
    profile: Profile | None = None
    identity: dict[Oid, decode.Raw] = field(default_factory=dict)
    sys_name: str | None = None
    sys_object_id: str | None = None  # as read at identification ("none" when the agent has none)
    by_probe: bool = False  # the profile was chosen because a standard MIB answered, not by sysObjectID
    identity_at: float = 0.0
    target: Target | None = None
    counters: dict[tuple[str, str, str], tuple[float, float]] = field(default_factory=dict)  # raw, offset
    table_rows: dict[str, int] = field(default_factory=dict)  # rows each table had last poll: sizes the walk

    @property
    def device(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def request_timeout(self) -> float:
        return max(0.3, min(2.0, self.timeout / (2 * (self.retries + 1))))


async def _target(engine: Engine, dev: SnmpDevice) -> Target:
    if dev.target is None:
        dev.target = await engine.target(dev.host, dev.port, dev.auth, dev.request_timeout(), dev.retries)
    return dev.target


async def _identify(t: Target, dev: SnmpDevice) -> Profile:
    """The profile for the device: the one named in the config; else the longest sysObjectID prefix whose
    profile's own check OID (``match.probe``, where it has both) answers; else a standard MIB that only one
    class of device implements (UPS-MIB, XUPS-MIB: a UPS). Anything else is ``unsupported`` with its
    sysObjectID: a device is never given a class because some generic MIB (IF-MIB, ENTITY-SENSOR) answers,
    since a PDU answers those too and would be read as a switch with no power."""
    base = await t.get([SYS_OBJECT_ID, SYS_NAME])
    object_id = base.get(SYS_OBJECT_ID)
    dev.sys_name = decode.text(base.get(SYS_NAME))
    dev.sys_object_id = ".".join(map(str, object_id)) if isinstance(object_id, tuple) else "none"
    dev.by_probe = False
    if dev.profile_name is not None:
        return profiles()[dev.profile_name]
    for found in candidates(object_id if isinstance(object_id, tuple) else None):
        if found.probe is None or await t.probe(found.probe):
            return found
    for name in PROBE_ORDER:
        candidate = profiles()[name]
        if candidate.probe is not None and await t.probe(candidate.probe):
            dev.by_probe = True
            return candidate
    raise UnsupportedDevice(f"{dev.device}: no profile for sysObjectID {dev.sys_object_id}")


async def _columns(t: Target, columns: tuple[Column, ...]) -> dict[Oid, decode.Raw]:
    """Identity or scalar values: a GET of the fixed ones, one GETNEXT of the ``first: true`` ones."""
    fixed = [c.oid for c in columns if not c.first]
    out = await t.get(fixed) if fixed else {}
    out.update(await t.first([c.oid for c in columns if c.first]))
    return out


async def _read(engine: Engine, dev: SnmpDevice) -> SnmpReading:
    t = await _target(engine, dev)
    t.values = 0
    now = time.monotonic()
    if dev.profile is None or now - dev.identity_at > dev.identity_interval:
        dev.profile = await _identify(t, dev)
        dev.table_rows.clear()
        dev.identity = await _columns(t, dev.profile.identity)
        dev.identity_at = now
    p = dev.profile
    scalars = await _columns(t, p.scalars)
    walks: dict[Oid, dict[Oid, decode.Raw]] = {}
    for table in p.tables:
        got = await t.walk(table.walk_oids(), dev.max_values, dev.table_rows.get(table.kind))
        dev.table_rows[table.kind] = max((len(rows) for rows in got.values()), default=0)
        walks.update(got)
    reading = decode.decode(p, dev.device, identity=dev.identity, scalars=scalars, walks=walks,
                            sys_name=dev.sys_name, values=t.values)
    if (p.scalars or p.tables) and not any(v is not None for v in reading.scalars.values()) and not any(
            reading.tables.values()):
        # Nothing the profile reads exists: a UPS-MIB that answers its identity and nothing else (a CyberPower card,
        # CPS-MIB only), an agent of the right vendor whose MIB is not this one (an Enlogic card answering only its
        # system group). Up with every value null would read as a device drawing nothing: it is unsupported.
        raise UnsupportedDevice(f"{dev.device}: none of profile {p.name}'s objects exist (noSuchObject); "
                                f"sysObjectID {dev.sys_object_id}")
    return reading


async def _v3_alive(engine: Engine, dev: SnmpDevice) -> bool:
    """Does an SNMPv3 engine answer at the address? (Unauthenticated discovery, one short try.)"""
    try:
        probe = await engine.target(dev.host, dev.port, _PROBE_USER, min(1.0, dev.request_timeout()), 0)
        await probe.get([SYS_NAME])
    except AuthError:
        return True  # unknownUserName report: an agent is there
    except DeviceError:
        return False
    return True


async def poll(engine: Engine, dev: SnmpDevice, *, deadline: float) -> SnmpReading:
    """Read one device before ``deadline`` (event-loop time). Raises DeviceError; nothing else escapes."""
    try:
        async with asyncio.timeout_at(deadline):
            try:
                return await _read(engine, dev)
            except DeviceTimeout:
                if dev.auth.user is None and await _v3_alive(engine, dev):
                    raise AuthError(f"{dev.device}: the agent answers SNMPv3 but not this community "
                                    "(wrong community, or v2c disabled)") from None
                raise
    except TimeoutError:
        dev.target = None
        raise DeviceTimeout(f"{dev.device}: no complete reply within {dev.timeout:g}s") from None
    except DeviceError:
        dev.profile = None if dev.profile_name is None else dev.profile  # identify again next time
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, ArithmeticError) as e:
        dev.profile = None
        raise ParseError(f"{dev.device}: unreadable reply ({type(e).__name__}: {e})") from e


def unwrap_counters(dev: SnmpDevice, reading: SnmpReading) -> None:
    """Keep ``counter: 32`` columns monotonic: a drop of more than half the range is a wrap, not a reset."""
    if dev.profile is None:
        return
    for table in dev.profile.tables:
        for col in table.columns:
            if col.counter != 32:
                continue
            for row in reading.rows(table.kind):
                raw = row.num(col.field)
                if raw is None:
                    continue
                key = (table.kind, row.index, col.field)
                last, offset = dev.counters.get(key, (raw, 0.0))
                if raw < last:
                    offset = offset + 2**32 if last - raw > 2**31 else 0.0  # wrapped, or the agent restarted
                dev.counters[key] = (raw, offset)
                row.values[col.field] = raw + offset
