"""Simulated SNMP devices (rack PDUs, a UPS, a switch) served by snmpsim on loopback addresses.

Each device is one ``.snmprec`` recording written from simulated state: a PDU's outlet power follows the load of
the miner it feeds (with snmpsim's ``numeric`` variation adding noise and integrating energy), a switch has error
counters that wrap. One snmpsim process serves many devices, each on its own UDP endpoint. snmpsim 1.2 on
pysnmp 7 selects a recording only by community (SNMPv2c) or context name (SNMPv3): its per-endpoint selection
hooks use pysnmp 6 method names and are never called. So each simulated device has its own community, which is
also its SNMPv3 context name; every endpoint serves every recording, and a test reads a device by address and
community together.

    sim = SnmpSim(devices, v3=("sim", "authkey123", "privkey123"))
    await sim.start()
    ...
    await sim.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

# snmpsim refuses to answer as root, so it drops to nobody; the interpreter's stdlib may not be readable then
# (pyenv under /root), so every module it imports lazily is imported before the drop (docs/architecture.md, "Decisions the code rests on").
_BOOTSTRAP = (
    "import dbm, dbm.dumb, encodings.latin_1, encodings.ascii, encodings.utf_8, encodings.idna, encodings.hex_codec,"
    " json, hashlib, hmac, random, math, bz2, gzip, ipaddress, uuid, decimal, fractions, secrets, contextlib, "
    "logging.handlers, email, stringprep, unicodedata\n"
    "import os, sys, threading, time\n"
    "def _orphaned(parent=os.getppid()):\n"  # a test runner killed hard must not leave the simulator behind
    "    while os.getppid() == parent:\n"
    "        time.sleep(0.5)\n"
    "    os._exit(0)\n"
    "threading.Thread(target=_orphaned, daemon=True).start()\n"
    "from snmpsim.commands.responder import main\n"
    "sys.argv[0] = 'snmpsim-command-responder'\n"
    "sys.exit(main())\n"
)

TAG_INT, TAG_STR, TAG_HEX, TAG_OID, TAG_COUNTER32, TAG_GAUGE32, TAG_TICKS, TAG_COUNTER64 = (
    "2",
    "4",
    "4x",
    "6",
    "65",
    "66",
    "67",
    "70",
)


@dataclass
class Recording:
    """Lines of a ``.snmprec``: ``oid|tag|value``, kept sorted by OID when written."""

    rows: dict[tuple[int, ...], tuple[str, str]] = field(default_factory=dict)

    def set(self, oid: str, tag: str, value: object) -> None:
        text = str(value)
        if tag == TAG_STR and not (text.isascii() and text.isprintable()):
            tag, text = TAG_HEX, text.encode().hex()
        self.rows[tuple(int(x) for x in oid.strip(".").split("."))] = (tag, text)

    def numeric(self, oid: str, tag: str, **params: float | int) -> None:
        """A value that snmpsim varies per read (``numeric`` variation: initial, rate, deviation, wrap...)."""
        args = ",".join(f"{k}={int(v) if float(v).is_integer() else v}" for k, v in params.items())
        self.rows[tuple(int(x) for x in oid.strip(".").split("."))] = (f"{tag}:numeric", args)

    def text(self) -> str:
        return "".join(
            f"{'.'.join(map(str, oid))}|{tag}|{value}\n" for oid, (tag, value) in sorted(self.rows.items())
        )


def system_group(
    rec: Recording, *, descr: str, object_id: str, name: str, uptime_ticks: int = 123456
) -> None:
    rec.set("1.3.6.1.2.1.1.1.0", TAG_STR, descr)
    rec.set("1.3.6.1.2.1.1.2.0", TAG_OID, object_id)
    rec.set("1.3.6.1.2.1.1.3.0", TAG_TICKS, uptime_ticks)
    rec.set("1.3.6.1.2.1.1.5.0", TAG_STR, name)


# --- simulated devices ------------------------------------------------------------------------------------------

APC = "1.3.6.1.4.1.318.1.1.26"


@dataclass
class SimPdu:
    """An APC rPDU2 metered-by-outlet PDU. ``loads_w[i]`` is the power drawn at outlet i+1 (0 = nothing)."""

    ip: str
    name: str
    loads_w: list[float]
    names: list[str] = field(default_factory=list)
    voltage_v: float = 230.0
    phases: int = 3
    model: str = "AP8886"
    serial: str = "5A0000000001"
    rated_current_a: int = 80
    energy_kwh0: float = 1000.0
    noise: bool = True
    half_table: bool = False  # the outlet current column stops half way (a firmware that drops rows)
    port: int = 161
    community: str = ""  # "" = the name

    def phase_watts(self) -> list[float]:
        """Load per phase: outlets are wired to phases in turn (outlet 1 to phase 1, outlet 2 to phase 2, ...)."""
        per_phase = [0.0] * self.phases
        for i, w in enumerate(self.loads_w):
            per_phase[i % self.phases] += w
        return per_phase

    def recording(self) -> Recording:
        rec = Recording()
        system_group(
            rec,
            descr=f"APC Web/SNMP Management Card (MN:{self.model} SN: {self.serial})",
            object_id="1.3.6.1.4.1.318.1.3.4.6",
            name=self.name,
        )
        rec.set(f"{APC}.2.1.3.1", TAG_STR, self.name)
        rec.set(f"{APC}.2.1.6.1", TAG_STR, "6.9.6")
        rec.set(f"{APC}.2.1.8.1", TAG_STR, self.model)
        rec.set(f"{APC}.2.1.9.1", TAG_STR, self.serial)
        rec.set(f"{APC}.4.2.1.9.1", TAG_INT, self.rated_current_a)
        total = sum(self.loads_w)
        rec.set(f"{APC}.4.3.1.3.1", TAG_STR, self.name)
        rec.set(f"{APC}.4.3.1.5.1", TAG_INT, round(total / 10))  # 0.01 kW
        rec.set(f"{APC}.4.3.1.9.1", TAG_INT, round(self.energy_kwh0 * 10))  # 0.1 kWh
        for p, w in enumerate(self.phase_watts(), start=1):
            rec.set(f"{APC}.6.3.1.5.{p}", TAG_INT, round(w / self.voltage_v * 10))  # 0.1 A
            rec.set(f"{APC}.6.3.1.6.{p}", TAG_INT, round(self.voltage_v))
            rec.set(f"{APC}.6.3.1.7.{p}", TAG_INT, round(w / 10))  # 0.01 kW
        rows = len(self.loads_w)
        for o, w in enumerate(self.loads_w, start=1):
            name = self.names[o - 1] if o - 1 < len(self.names) else f"Outlet {o}"
            rec.set(f"{APC}.9.2.3.1.5.{o}", TAG_INT, 2)  # switched state: on
            rec.set(f"{APC}.9.4.3.1.3.{o}", TAG_STR, name)
            if not (self.half_table and o > rows // 2):
                rec.set(f"{APC}.9.4.3.1.6.{o}", TAG_INT, round(w / self.voltage_v * 10))
            if self.noise and w > 0:
                rec.numeric(
                    f"{APC}.9.4.3.1.7.{o}",
                    TAG_INT,
                    initial=round(w),
                    rate=0,
                    deviation=max(1, round(w * 0.01)),
                )
            else:
                rec.set(f"{APC}.9.4.3.1.7.{o}", TAG_INT, round(w))
            # Energy in 0.1 kWh grows at the outlet's power: w / 360000 units per second.
            rec.numeric(
                f"{APC}.9.4.3.1.11.{o}",
                TAG_INT,
                initial=round(self.energy_kwh0 * 10 / rows),
                rate=round(w / 360000, 6) if w else 0,
                cumulative=1,
            )
        return rec


@dataclass
class SimUps:
    """An RFC 1628 UPS."""

    ip: str
    name: str
    load_w: float = 6000.0
    capacity_w: float = 10000.0
    on_battery: bool = False
    charge_pct: int = 100
    runtime_min: int = 30
    port: int = 161
    community: str = ""

    def recording(self) -> Recording:
        rec = Recording()
        ups = "1.3.6.1.2.1.33.1"
        system_group(rec, descr="Simulated UPS", object_id="1.3.6.1.4.1.534.1", name=self.name)
        rec.set(f"{ups}.1.1.0", TAG_STR, "Eaton")
        rec.set(f"{ups}.1.2.0", TAG_STR, "9PX 11000")
        rec.set(f"{ups}.1.4.0", TAG_STR, "2.1.4")
        rec.set(f"{ups}.1.5.0", TAG_STR, self.name)
        rec.set(f"{ups}.2.1.0", TAG_INT, 2)  # batteryNormal
        rec.set(f"{ups}.2.2.0", TAG_INT, 42 if self.on_battery else 0)
        rec.set(f"{ups}.2.3.0", TAG_INT, self.runtime_min)
        rec.set(f"{ups}.2.4.0", TAG_INT, self.charge_pct)
        rec.set(f"{ups}.2.5.0", TAG_INT, 2160)  # 0.1 V DC
        rec.set(f"{ups}.2.7.0", TAG_INT, 25)
        rec.set(f"{ups}.3.3.1.3.1", TAG_INT, 0 if self.on_battery else 230)
        rec.set(f"{ups}.4.1.0", TAG_INT, 5 if self.on_battery else 3)
        for line in (1, 2, 3):
            w = self.load_w / 3
            rec.set(f"{ups}.4.4.1.2.{line}", TAG_INT, 230)
            rec.set(f"{ups}.4.4.1.3.{line}", TAG_INT, round(w / 230 * 10))  # 0.1 A
            rec.set(f"{ups}.4.4.1.4.{line}", TAG_INT, round(w))
            rec.set(f"{ups}.4.4.1.5.{line}", TAG_INT, round(self.load_w / self.capacity_w * 100))
        rec.set(f"{ups}.6.1.0", TAG_GAUGE32, 0)
        return rec


@dataclass
class SimSwitch:
    """An IF-MIB switch: ``ports`` ports, port ``down_port`` down, error counters near their 32-bit wrap."""

    ip: str
    name: str
    ports: int = 48
    down_port: int | None = 48
    wrap_port: int = 1  # this port's ifInErrors (Counter32) wraps 2.5 s after snmpsim starts
    port: int = 161
    community: str = ""

    def recording(self) -> Recording:
        rec = Recording()
        system_group(rec, descr="Simulated switch", object_id="1.3.6.1.4.1.9.1.1208", name=self.name)
        for i in range(1, self.ports + 1):
            up = 2 if i == self.down_port else 1
            rec.set(f"1.3.6.1.2.1.2.2.1.2.{i}", TAG_STR, f"GigabitEthernet1/0/{i}")
            rec.set(f"1.3.6.1.2.1.2.2.1.7.{i}", TAG_INT, 1)
            rec.set(f"1.3.6.1.2.1.2.2.1.8.{i}", TAG_INT, up)
            rec.set(f"1.3.6.1.2.1.2.2.1.13.{i}", TAG_COUNTER32, 0)
            if i == self.wrap_port:
                rec.numeric(
                    f"1.3.6.1.2.1.2.2.1.14.{i}", TAG_COUNTER32, initial=4294967295 - 3000, rate=1000, wrap=1
                )
            else:
                rec.set(f"1.3.6.1.2.1.2.2.1.14.{i}", TAG_COUNTER32, i)
            rec.set(f"1.3.6.1.2.1.2.2.1.19.{i}", TAG_COUNTER32, 0)
            rec.set(f"1.3.6.1.2.1.2.2.1.20.{i}", TAG_COUNTER32, 0)
            rec.set(f"1.3.6.1.2.1.31.1.1.1.1.{i}", TAG_STR, f"Gi1/0/{i}")
            rec.numeric(f"1.3.6.1.2.1.31.1.1.1.6.{i}", TAG_COUNTER64, initial=10**9 * i, rate=125000)
            rec.numeric(f"1.3.6.1.2.1.31.1.1.1.10.{i}", TAG_COUNTER64, initial=10**9 * i, rate=12500)
            rec.set(f"1.3.6.1.2.1.31.1.1.1.15.{i}", TAG_GAUGE32, 1000)
            rec.set(f"1.3.6.1.2.1.31.1.1.1.18.{i}", TAG_STR, f"miner-uplink-{i}")
        return rec


@dataclass
class RawDevice:
    """A device served from a recording given as text (tests: hand-written quirks, snmpsim-data dumps)."""

    ip: str
    name: str
    text: str
    port: int = 161
    community: str = ""

    def recording_text(self) -> str:
        return self.text


def community_of(device: object) -> str:
    return getattr(device, "community", "") or device.name  # type: ignore[attr-defined]


def recording_text(device: object) -> str:
    if isinstance(device, RawDevice):
        return device.recording_text()
    return device.recording().text()  # type: ignore[attr-defined]


# --- the snmpsim process ---------------------------------------------------------------------------------------


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _ber(tag: int, body: bytes) -> bytes:
    n = len(body)
    length = bytes([n]) if n < 0x80 else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag]) + length + body


def _v2c_get_sysname(community: str, request_id: int) -> bytes:
    """A BER-encoded SNMPv2c GET of sysName.0 (only for the readiness probe: no SNMP library on this side)."""
    varbind = _ber(0x30, _ber(0x06, bytes([43, 6, 1, 2, 1, 1, 5, 0])) + b"\x05\x00")
    pdu = _ber(0xA0, _ber(0x02, request_id.to_bytes(4, "big")) + b"\x02\x01\x00\x02\x01\x00" + _ber(0x30, varbind))
    return _ber(0x30, b"\x02\x01\x01" + _ber(0x04, community.encode()) + pdu)


async def _answers(host: str, port: int, community: str, wait: float = 0.5) -> bool:
    """Does something answer an SNMPv2c GET at ``host:port`` within ``wait`` seconds?"""
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setblocking(False)
        s.sendto(_v2c_get_sysname(community, 0x0FA57), (host, port))
        try:
            await asyncio.wait_for(loop.sock_recv(s, 65535), wait)
        except (TimeoutError, OSError):
            return False
    return True


class SnmpSim:
    """snmpsim serving ``devices`` (each with ``ip`` and ``port``) until :meth:`stop`.

    Each device answers its own community (SNMPv2c) or context name (SNMPv3) on every endpoint; ``v3``:
    (user, auth key, priv key) of the one SHA/AES user.
    """

    def __init__(
        self,
        devices: Sequence[object],
        *,
        v3: tuple[str, str, str] | None = None,
        workdir: str | None = None,
    ) -> None:
        self.devices = list(devices)
        self.v3 = v3
        self._own_dir = workdir is None
        self.dir = Path(workdir or tempfile.mkdtemp(prefix="farmwatch-snmpsim-"))
        self.proc: asyncio.subprocess.Process | None = None
        self.log_path = self.dir / "snmpsim.log"

    def endpoints(self) -> list[tuple[str, int]]:
        return sorted({(d.ip, d.port) for d in self.devices})  # type: ignore[attr-defined]

    def write(self) -> None:
        data = self.dir / "data"
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir(parents=True)
        seen: set[str] = set()
        for device in self.devices:
            community = community_of(device)
            if community in seen or "/" in community:
                raise ValueError(f"simulated device community {community!r} is repeated or has a '/'")
            seen.add(community)
            (data / f"{community}.snmprec").write_text(recording_text(device))
        for path in [self.dir, *self.dir.rglob("*")]:
            path.chmod(0o777 if path.is_dir() else 0o666)

    def update(self, *devices: object) -> None:
        """Rewrite the recordings of ``devices`` (changed in place, e.g. a PDU's ``loads_w``) under a running snmpsim.

        snmpsim reopens a recording when its mtime, in whole seconds, changes, so each file is replaced atomically
        and given an mtime past its old one. Values under a variation keep the parameters snmpsim read first
        (``numeric``: a PDU's outlet power noise and energy counters); a PDU whose outlet power must follow the
        new loads needs ``noise=False``. Phase and outlet currents and device power are plain values and follow.
        """
        data = self.dir / "data"
        for device in devices:
            path = data / f"{community_of(device)}.snmprec"
            before = path.stat().st_mtime if path.exists() else 0.0
            tmp = path.with_suffix(".tmp")
            tmp.write_text(recording_text(device))
            tmp.chmod(0o666)
            stamp = max(time.time(), before + 1.0)
            os.utime(tmp, (stamp, stamp))
            os.replace(tmp, path)

    async def start(self, timeout: float = 60.0) -> None:
        for host, port in self.endpoints():
            if not _port_free(host, port):
                raise OSError(f"UDP {host}:{port} is in use")
        self.write()
        cache = self.dir / "cache"
        cache.mkdir(exist_ok=True)
        cache.chmod(0o777)
        args = [
            sys.executable,
            "-c",
            _BOOTSTRAP,
            f"--data-dir={self.dir / 'data'}",
            f"--cache-dir={cache}",
            "--process-user=nobody",
            "--process-group=nogroup",
            f"--logging-method=file:{self.log_path}",
        ]
        if self.v3 is not None:
            user, auth, priv = self.v3
            args += [
                f"--v3-user={user}",
                f"--v3-auth-key={auth}",
                "--v3-auth-proto=SHA",
                f"--v3-priv-key={priv}",
                "--v3-priv-proto=AES",
            ]
        args += [f"--agent-udpv4-endpoint={h}:{p}" for h, p in self.endpoints()]
        self.log_path.touch(mode=0o666)
        self.log_path.chmod(0o666)
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        self.proc = await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            env=env,
            cwd=str(self.dir),
        )
        await self._wait_ready(timeout)

    async def _wait_ready(self, timeout: float) -> None:
        """Ready when the simulator answers a GET on its last endpoint. snmpsim binds its sockets after indexing
        every recording and configuring the v3 user, but a bound socket only queues requests: until the responder
        loop runs, a client's first requests (an SNMPv3 engine discovery among them) wait, and on a loaded machine
        their answers came after the client's one-second retry window. An answer is the only proof of service."""
        host, port = self.endpoints()[-1]
        community = community_of(self.devices[-1])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.returncode is not None:
                raise RuntimeError(f"snmpsim exited ({self.proc.returncode}): {self._log_tail()}")
            if not _port_free(host, port) and await _answers(host, port, community):
                return
            await asyncio.sleep(0.1)
        await self.stop()
        raise RuntimeError(f"snmpsim did not answer within {timeout:.0f}s: {self._log_tail()}")

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return " | ".join(self.log_path.read_text(errors="replace").strip().splitlines()[-5:])
        return "no log"

    async def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    async def __aenter__(self) -> SnmpSim:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
