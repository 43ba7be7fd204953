"""The cgminer RPC conventions every simulated firmware shares: request parsing, STATUS blocks, error replies,
``a+b`` joins and the text format. Semantics follow cgminer ``api.c``: one command per connection, a join answers
``{"a":[reply],"b":[reply],"id":1}``, a write command inside a join or outside the API group gets
"Access denied to 'x' command" (45) and a name cgminer does not know gets "Invalid command" (14)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from .http import api3_request, is_http
from .jsontok import q, to_text

if TYPE_CHECKING:
    from .miner import SimMiner, Snapshot

# cgminer 4.x command table; the first group needs write access (and is never joinable).
WRITE_COMMANDS = frozenset(
    "switchpool enablepool disablepool addpool removepool poolpriority poolquota save quit restart privileged "
    "debug setconfig pgaset zero hotplug ascset ascenable ascdisable ascidentify lockstats gpuenable gpudisable "
    "gpurestart gpuintensity gpumem gpuengine gpufan gpuvddc pgaenable pgadisable pgaidentify".split()
)
CGMINER_COMMANDS = WRITE_COMMANDS | frozenset(
    "version config summary pools devs edevs pga gpu gpucount asc asccount notify devdetails stats estats check "
    "failover-only coin usbstats lcd".split()
)

_DECODER = json.JSONDecoder(strict=False)

Handler = Callable[["SimMiner", "Snapshot"], str]


@dataclass(slots=True)
class Parsed:
    """One request as the firmware sees it."""

    is_json: bool
    command: str = ""
    parameter: str | None = None
    key: str = "command"  # "cmd" is the btminer spelling
    error: tuple[int, str] | None = None  # whole-request error (bad JSON, missing command)
    commands: list[str] = field(default_factory=list)


def parse_request(raw: bytes) -> Parsed:
    if is_http(raw):  # a web request (HTTP firmwares): recorded as "METHOD /path?query"
        line = raw.split(b"\r\n", 1)[0].decode("latin-1").split()
        return Parsed(False, "http", commands=[" ".join(line[:2])])
    framed = api3_request(raw) if raw[:1] != b"{" and len(raw) > 4 and raw[2:4] == b"\0\0" else None
    if framed is not None:  # Whatsminer API 3
        cmd = str(framed.get("cmd", ""))
        param = framed.get("param")
        return Parsed(True, cmd, str(param) if param is not None else None, "cmd", commands=[cmd])
    text = raw.decode("utf-8", "replace").rstrip("\x00\r\n\t ")
    if not text.startswith("{"):
        # Text API: "cmd|param" (cgminer checks only the first byte for '{').
        cmd, _, text_param = text.partition("|")
        return Parsed(False, cmd, text_param or None, commands=[c for c in cmd.split("+") if c])
    try:
        body, _ = _DECODER.raw_decode(text)
    except ValueError:
        return Parsed(True, error=(23, "Invalid JSON"))
    if not isinstance(body, dict):
        return Parsed(True, error=(23, "Invalid JSON"))
    key = "command" if "command" in body else "cmd" if "cmd" in body else ""
    if not key:
        return Parsed(True, error=(24, "Missing JSON 'command'"))
    cmd = body[key]
    if not isinstance(cmd, str):
        return Parsed(True, key=key, error=(14, "Invalid command"))
    raw_param = body.get("parameter")
    parameter: str | None = None
    if isinstance(raw_param, str | int | float) and not isinstance(raw_param, bool):
        parameter = str(raw_param)
    return Parsed(True, cmd, parameter, key, commands=[c for c in cmd.split("+") if c])


def status(st: str, when: int, code: int, msg: str, desc: str) -> str:
    return f'{{"STATUS":"{st}","When":{when:d},"Code":{code:d},"Msg":{q(msg)},"Description":{q(desc)}}}'


def reply(
    desc: str, when: int, code: int, msg: str, section: str | None = None, body: str = "", st: str = "S"
) -> str:
    head = '{"STATUS":[' + status(st, when, code, msg, desc) + "]"
    if section is not None:
        head += f',"{section}":{body}'
    return head + ',"id":1}'


def error(desc: str, when: int, code: int, msg: str) -> str:
    return reply(desc, when, code, msg, st="E")


class Firmware:
    """One firmware personality. Subclasses fill ``reads`` with handlers returning a complete single reply."""

    name: ClassVar[str]
    models: ClassVar[dict[str, float]]  # model key -> weight in a default fleet
    reads: ClassVar[dict[str, Handler]]
    joins: ClassVar[bool] = True
    extra_known: ClassVar[frozenset[str]] = frozenset()  # firmware commands that exist but are writes
    temp_step: ClassVar[float] = 1.0  # resolution the firmware prints temperatures with
    fan_step: ClassVar[int] = 60
    # Commands (RPC) or paths (web) the farmwatch driver reads as optional parts: the ``no_optional`` variant
    # (simsite.variants) answers them as a release without them does.
    optional_parts: ClassVar[frozenset[str]] = frozenset()

    # --- identity, filled per miner at build time ---
    def setup(self, miner: SimMiner) -> None:
        """Firmware-specific identity (versions, quirks) stored on ``miner.extra``."""

    def description(self, miner: SimMiner) -> str:
        """The STATUS ``Description`` (set by ``setup``): the main identification string."""
        return str(miner.extra["desc"])

    # --- protocol ---
    # Extra listening ports (web servers, API 3) besides ``miner.port``; HTTP and API 3 requests on any
    # port go to :meth:`answer_raw`.
    def extra_ports(self, miner: SimMiner) -> tuple[int, ...]:
        return ()

    def answer_raw(self, miner: SimMiner, snap: Snapshot, raw: bytes) -> bytes | None:
        """The reply to a non-cgminer request (HTTP, API 3), or None to answer as cgminer."""
        return None

    def answer(self, miner: SimMiner, snap: Snapshot, p: Parsed) -> str:
        out = self.answer_json(miner, snap, p)
        return out if p.is_json else to_text(out)

    def answer_json(self, miner: SimMiner, snap: Snapshot, p: Parsed) -> str:
        desc = self.description(miner)
        if p.error is not None:
            return error(desc, snap.when, *p.error)
        if p.key != "command":
            return error(desc, snap.when, 24, "Missing JSON 'command'")
        if "+" in p.command and self.joins and miner.extra.get("variant") != "no_join":
            return self.join(miner, snap, p.command)
        return self.single(miner, snap, p.command, p.parameter)

    def lacks(self, miner: SimMiner, part: str) -> bool:
        """True when this miner's variant leaves out ``part`` (an optional command or web path)."""
        return miner.extra.get("variant") == "no_optional" and part in self.optional_parts

    def single(self, miner: SimMiner, snap: Snapshot, cmd: str, param: str | None) -> str:
        if self.lacks(miner, cmd):
            return error(self.description(miner), snap.when, 14, "Invalid command")
        handler = self.reads.get(cmd)
        if handler is not None and self.allowed(miner, cmd):
            return handler(miner, snap)
        if cmd in CGMINER_COMMANDS or cmd in self.extra_known or handler is not None:
            return error(self.description(miner), snap.when, 45, f"Access denied to '{cmd}' command")
        return error(self.description(miner), snap.when, 14, "Invalid command")

    def allowed(self, miner: SimMiner, cmd: str) -> bool:
        return True

    def join(self, miner: SimMiner, snap: Snapshot, command: str) -> str:
        parts: list[str] = []
        seen: set[str] = set()
        for cmd in command.split("+"):
            if not cmd or cmd in seen:
                continue
            seen.add(cmd)
            if cmd in WRITE_COMMANDS or cmd in self.extra_known:
                body = error(self.description(miner), snap.when, 45, f"Access denied to '{cmd}' command")
            else:
                body = self.single(miner, snap, cmd, None)
            parts.append(f"{q(cmd)}:[{body}]")
        return "{" + ",".join(parts) + ',"id":1}'

    # --- ground truth ---
    def truth(self, miner: SimMiner, snap: Snapshot) -> dict[str, Any]:
        from .truth import generic_truth

        return generic_truth(self, miner, snap)

    def truth_hooks(self, miner: SimMiner, snap: Snapshot) -> dict[str, Any]:
        """Firmware-specific truth: ``power_source`` and any ``poll --json`` key that differs from the default."""
        return {}
