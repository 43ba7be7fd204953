"""A loopback Whatsminer (btminer API 1.x/2.x): a :class:`ReplayMiner` that joins cgminer reads but answers a
``+`` join holding a btminer command (``get_*``, ``status``) the way btminer rejects a request it cannot run
(STATUS E, Code 24, as captured in whatsminer_m31s-20200512_cmd-multicommand-error.json), and unknown commands
with its cgminer "Invalid command" reply.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

from tests.support.replay import ReplayMiner, deliver

BTMINER_COMMANDS = frozenset({"get_version", "get_psu", "get_miner_info", "get_error_code", "status"})

JOIN_REJECTED = (
    b'{"STATUS":[{"STATUS":"E","When":1606354149,"Code":24,"Msg":"Missing JSON \'command\'",'
    b'"Description":"%s"}],"id":1}'
)


@dataclass
class BtminerReplay(ReplayMiner):
    description: str = "cgminer 4.9.2"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            data = await asyncio.wait_for(reader.read(65536), 5)
            self.requests.append(data)
            try:
                command = str(json.loads(data)["command"])
            except (ValueError, KeyError, TypeError):
                writer.write(JOIN_REJECTED % self.description.encode() + b"\x00")
                return
            parts = command.split("+")
            if len(parts) == 1:
                body = self._answer(command)
            elif any(p in BTMINER_COMMANDS for p in parts):
                body = JOIN_REJECTED % self.description.encode()
            else:
                sections = b",".join(b'"%s":[%s]' % (p.encode(), self._answer(p)) for p in parts)
                body = b"{" + sections + b',"id":1}'
            await deliver(writer, body + b"\x00", self.pace)
        finally:
            writer.close()


def sent_commands(requests: list[bytes]) -> list[str]:
    """Every command named in the recorded requests (joins split)."""
    out: list[str] = []
    for raw in requests:
        body = json.loads(raw)
        out.extend(str(body.get("command", body.get("cmd", ""))).split("+"))
    return out
