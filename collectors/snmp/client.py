"""SNMP GET and multi-column GETBULK walks on one shared pysnmp ``SnmpEngine``, failures as typed errors.

Below pysnmp's high-level API on purpose (docs/architecture.md, "Decisions the code rests on"): targets are configured in the engine once per
device, requests go straight to the command generator with pre-built numeric varbinds, and replies are read
without building MIB-aware ``ObjectType`` objects. That halves pysnmp's CPU per value. Walks fetch several
columns per GETBULK and stop each column at the end of its subtree (``endOfMibView`` or an OID outside it).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pyasn1.type import univ
from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.entity import config
from pysnmp.entity.rfc3413 import cmdgen
from pysnmp.error import PySnmpError
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
)
from pysnmp.hlapi.v3arch.asyncio.cmdgen import LCD
from pysnmp.proto import errind, rfc1902, rfc1905

from ..errors import AuthError, DeviceError, DeviceTimeout, DeviceUnresolved, ProtocolError
from . import ber
from .profile import Oid
from .udp import UdpClient

AUTH = {
    "MD5": config.USM_AUTH_HMAC96_MD5, "SHA": config.USM_AUTH_HMAC96_SHA,
    "SHA224": config.USM_AUTH_HMAC128_SHA224, "SHA256": config.USM_AUTH_HMAC192_SHA256,
    "SHA384": config.USM_AUTH_HMAC256_SHA384, "SHA512": config.USM_AUTH_HMAC384_SHA512,
}
PRIV = {
    "DES": config.USM_PRIV_CBC56_DES, "3DES": config.USM_PRIV_CBC168_3DES, "AES": config.USM_PRIV_CFB128_AES,
    "AES192": config.USM_PRIV_CFB192_AES, "AES256": config.USM_PRIV_CFB256_AES,
}
_AUTH_ERRORS = (errind.WrongDigest, errind.UnknownUserName, errind.UnsupportedSecurityLevel,
                errind.DecryptionError, errind.AuthenticationError, errind.UnknownSecurityName,
                errind.NotInTimeWindow)
_AUTH_STATUS = {"authorizationError", "noAccess"}
MAX_WALK_REQUESTS = 2000  # per walk: ~50,000 rows at 25 per request, a runaway agent cannot loop us
RCVBUF = 4 * 1024 * 1024  # one engine = one UDP socket for every device; the default buffer drops replies
_END = (rfc1905.EndOfMibView.tagSet, rfc1905.NoSuchObject.tagSet, rfc1905.NoSuchInstance.tagSet)
_NULL = univ.Null("")

Raw = int | bytes | str | tuple[int, ...] | None


@dataclass(frozen=True)
class Auth:
    """SNMP credentials: a community (v2c, or v1 with ``version=1``) or a v3 USM user."""

    community: str | None = None
    version: int = 2
    user: str | None = None
    auth_protocol: str | None = None
    auth_key: str | None = None
    priv_protocol: str | None = None
    priv_key: str | None = None
    context: str = ""

    def __repr__(self) -> str:  # never a secret in a log line
        return f"Auth(v{self.version if self.user is None else 3}, user={self.user!r})"

    def pysnmp(self) -> CommunityData | UsmUserData:
        if self.user is None:
            return CommunityData(self.community or "public", mpModel=0 if self.version == 1 else 1)
        kw: dict[str, Any] = {}
        if self.auth_protocol:
            kw.update(authKey=self.auth_key, authProtocol=AUTH[self.auth_protocol])
        if self.priv_protocol:
            kw.update(privKey=self.priv_key, privProtocol=PRIV[self.priv_protocol])
        return UsmUserData(self.user, **kw)


def value_of(v: Any) -> Raw:
    """A pysnmp value as plain Python: int, bytes, OID tuple, dotted IP; None for noSuch*/endOfMibView/Null."""
    tag = v.tagSet
    if tag in _END or isinstance(v, univ.Null):
        return None
    if isinstance(v, rfc1902.IpAddress):
        return ".".join(str(b) for b in v.asOctets())
    if isinstance(v, univ.Integer):
        return int(v)
    if isinstance(v, univ.OctetString):
        return v.asOctets()
    if isinstance(v, univ.ObjectIdentifier):
        return tuple(v)
    return None


class Engine:
    """One ``SnmpEngine`` for the running event loop, shared by every device of a collector."""

    def __init__(self) -> None:
        self.engine = SnmpEngine()
        self._get = cmdgen.GetCommandGenerator()
        self._bulk = cmdgen.BulkCommandGenerator()
        self._next = cmdgen.NextCommandGenerator()
        self._rcvbuf_set = False
        self._udp: dict[int, UdpClient] = {}
        self._udp_lock = asyncio.Lock()

    def close(self) -> None:
        for client in self._udp.values():
            client.close()
        self._udp.clear()
        self.engine.close_dispatcher()

    async def _udp_client(self, family: int) -> UdpClient:
        async with self._udp_lock:
            client = self._udp.get(family)
            if client is None or client.transport is None or client.transport.is_closing():
                client = self._udp[family] = await UdpClient.open(family)
            return client

    def _tune_socket(self) -> None:
        transport = config.get_transport(self.engine, udp.DOMAIN_NAME)
        dgram = getattr(transport, "transport", None)
        sock = dgram.get_extra_info("socket") if dgram is not None else None
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
            self._rcvbuf_set = True

    async def target(self, host: str, port: int, auth: Auth, timeout: float, retries: int) -> Target:
        if auth.user is None:
            return await self._community_target(host, port, auth, timeout, retries)
        try:
            udp_target = await UdpTransportTarget.create((host, port), timeout=timeout, retries=retries)
        except PySnmpError as e:
            # pysnmp resolves the name here and wraps the DNS failure: a name that does not resolve is its own
            # reason (a DNS or config problem), not a traceback out of `poll snmp://`.
            if isinstance(e.__cause__, socket.gaierror) or "Name or service" in str(e):
                raise DeviceUnresolved(f"cannot resolve {host}") from None
            raise ProtocolError(f"{host}:{port}: {e}") from None
        addr_name, _ = LCD.configure(self.engine, auth.pysnmp(), udp_target, auth.context.encode())
        return Target(self, addr_name, auth.context.encode(), f"{host}:{port}", auth.user is not None)

    async def _community_target(self, host: str, port: int, auth: Auth, timeout: float,
                                retries: int) -> CommunityTarget:
        """v1/v2c: our own socket and BER (``udp.py``), no pysnmp engine state."""
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_DGRAM)
        except (socket.gaierror, UnicodeError):
            raise DeviceUnresolved(f"cannot resolve {host}") from None
        infos.sort(key=lambda info: info[0] != socket.AF_INET)  # IPv4 first, as pysnmp's UDP target did
        family, _, _, _, sockaddr = infos[0]
        device = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        return CommunityTarget(self, "", b"", device, False, udp=await self._udp_client(family),
                               addr=(str(sockaddr[0]), int(sockaddr[1])), version=0 if auth.version == 1 else 1,
                               community=(auth.community or "public").encode(), timeout=timeout, retries=retries)

    def send(self, kind: str, target: Target, varbinds: list[tuple[Any, Any]], max_rep: int) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def done(_eng: Any, _handle: Any, ind: Any, status: Any, index: Any, vbs: Any, _ctx: Any) -> None:
            if not future.done():
                future.set_result((ind, status, index, vbs))

        if kind == "bulk":
            self._bulk.send_varbinds(self.engine, target.addr_name, None, target.context, 0, max_rep, varbinds,
                                     done, None)
        elif kind == "next":
            self._next.send_varbinds(self.engine, target.addr_name, None, target.context, varbinds, done, None)
        else:
            self._get.send_varbinds(self.engine, target.addr_name, None, target.context, varbinds, done, None)
        if not self._rcvbuf_set:
            asyncio.get_running_loop().call_later(0.05, self._tune_socket)
        return future


@dataclass
class Target:
    engine: Engine
    addr_name: str
    context: bytes
    device: str
    v3: bool
    requests: int = 0
    values: int = 0

    async def _request(self, kind: str, oids: Sequence[Oid], max_rep: int = 0) -> list[tuple[Oid, Raw]]:
        varbinds = [(rfc1902.ObjectName(o), _NULL) for o in oids]
        ind, status, index, vbs = await self.engine.send(kind, self, varbinds, max_rep)
        self.requests += 1
        if ind:
            raise error_from_indication(ind, self.device, self.v3)
        if status and int(status):
            name = status.prettyPrint()
            if name == "noSuchName" and kind == "get":
                return [(o, None) for o in oids]  # SNMPv1 answers a missing object with noSuchName
            cls = AuthError if name in _AUTH_STATUS else ProtocolError
            raise cls(f"{self.device}: agent answered {name} (index {int(index)})")
        out = [(tuple(oid), value_of(v)) for oid, v in vbs]
        self.values += len(out)
        return out

    async def get(self, oids: Sequence[Oid], per_request: int = 20) -> dict[Oid, Raw]:
        """Scalars by exact OID; a missing one (noSuchObject/noSuchInstance) is ``None``."""
        out: dict[Oid, Raw] = {}
        for i in range(0, len(oids), per_request):
            chunk = oids[i : i + per_request]
            for (oid, value), asked in zip(await self._request("get", chunk), chunk, strict=False):
                out[asked if oid != asked else oid] = value
        return out

    async def first(self, prefixes: Sequence[Oid]) -> dict[Oid, Raw]:
        """The first value under each prefix (one GETNEXT for all): the first row of a column, for a device whose
        own row is not row 1 (a Schleifenbauer agent's PDU sits at its databus address)."""
        if not prefixes:
            return {}
        out: dict[Oid, Raw] = {}
        for asked, (oid, value) in zip(prefixes, await self._request("next", list(prefixes)), strict=False):
            out[asked] = value if oid[: len(asked)] == asked else None
        return out

    async def probe(self, prefix: Oid) -> bool:
        """True when the agent has anything under ``prefix`` (one GETNEXT)."""
        (oid, value), = await self._request("next", [prefix])
        return value is not None and oid[: len(prefix)] == prefix

    async def walk(self, columns: Sequence[Oid], max_values: int = 50,
                   expected_rows: int | None = None) -> dict[Oid, dict[Oid, Raw]]:
        """Walk several table columns together: row index (the OID after the column) -> value, per column.

        ``max_values`` varbinds per request are split over the columns still being walked; with
        ``expected_rows`` (the table's size last time) a request asks for one row past it and no more, so the
        end of the table costs one extra varbind per column instead of a request's worth."""
        out: dict[Oid, dict[Oid, Raw]] = {c: {} for c in columns}
        cursor = {c: c for c in columns}
        active = list(columns)
        for _ in range(MAX_WALK_REQUESTS):
            if not active:
                return out
            reps = max(1, max_values // len(active))
            if expected_rows is not None:
                done = min(len(out[c]) for c in active)
                reps = max(1, min(reps, expected_rows + 1 - done))
            vbs = await self._request("bulk", [cursor[c] for c in active], reps)
            if not vbs:
                raise ProtocolError(f"{self.device}: empty GETBULK response")
            finished: set[Oid] = set()
            width = len(active)
            for i, (oid, value) in enumerate(vbs):
                col = active[i % width]
                if col in finished:
                    continue
                n = len(col)
                if value is None or oid[:n] != col or oid <= cursor[col]:
                    finished.add(col)  # endOfMibView, past the column, or a non-increasing OID
                    continue
                out[col][oid[n:]] = value
                cursor[col] = oid
            if len(vbs) < width:
                finished.update(active[len(vbs):])
            active = [c for c in active if c not in finished]
        raise ProtocolError(f"{self.device}: walk did not end after {MAX_WALK_REQUESTS} requests")


_PDU = {"get": ber.GET, "next": ber.GETNEXT, "bulk": ber.GETBULK}


@dataclass
class CommunityTarget(Target):
    udp: UdpClient | None = None
    addr: tuple[str, int] = ("", 0)
    version: int = 1  # 0 = SNMPv1, 1 = v2c
    community: bytes = b"public"
    timeout: float = 1.0
    retries: int = 1

    async def _request(self, kind: str, oids: Sequence[Oid], max_rep: int = 0) -> list[tuple[Oid, Raw]]:
        assert self.udp is not None
        asked = tuple(oids)
        pdu = _PDU[kind]
        if pdu == ber.GETBULK and self.version == 0:
            pdu = ber.GETNEXT  # SNMPv1 has no GETBULK: one row per request, the walk still ends the same way
        reply = await self.udp.request(self.addr, self.version, self.community, pdu, asked, max_rep, self.timeout,
                                       self.retries, self.device)
        self.requests += 1
        if reply.error_status:
            name = reply.error_name
            if name == "noSuchName" and (kind == "get" or self.version == 0):
                # SNMPv1 answers a missing object (GET) or the end of the MIB (GETNEXT) with noSuchName
                return [(o, None) for o in asked]
            cls = AuthError if name in _AUTH_STATUS else ProtocolError
            raise cls(f"{self.device}: agent answered {name} (index {reply.error_index})")
        self.values += len(reply.varbinds)
        return reply.varbinds


def error_from_indication(ind: Any, device: str, v3: bool) -> DeviceError:
    if isinstance(ind, errind.RequestTimedOut):
        return DeviceTimeout(f"{device}: no SNMP reply")
    if isinstance(ind, _AUTH_ERRORS):
        return AuthError(f"{device}: SNMPv3 {type(ind).__name__} ({ind})")
    return ProtocolError(f"{device}: {type(ind).__name__}: {ind}")
