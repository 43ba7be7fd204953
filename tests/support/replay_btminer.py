"""A loopback Whatsminer (btminer API 1.x/2.x): a :class:`ReplayMiner` that joins cgminer reads but answers a
``+`` join holding a btminer command (``get_*``, ``status``) the way btminer rejects a request it cannot run
(STATUS E, Code 24, as captured in whatsminer_m31s-20200512_cmd-multicommand-error.json), and unknown commands
with its cgminer "Invalid command" reply.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from tests.support.replay import ReplayMiner

BTMINER_COMMANDS = frozenset({"get_version", "get_psu", "get_miner_info", "get_error_code", "status"})

JOIN_REJECTED = (
    b'{"STATUS":[{"STATUS":"E","When":1606354149,"Code":24,"Msg":"Missing JSON \'command\'",'
    b'"Description":"%s"}],"id":1}'
)


@dataclass
class BtminerReplay(ReplayMiner):
    description: str = "cgminer 4.9.2"

    def _refused(self, parts: list[str] | None) -> bytes | None:
        if parts is None or (len(parts) > 1 and any(p in BTMINER_COMMANDS for p in parts)):
            return JOIN_REJECTED % self.description.encode()
        return None


def sent_commands(requests: list[bytes]) -> list[str]:
    """Every command named in the recorded requests (joins split)."""
    out: list[str] = []
    for raw in requests:
        body = json.loads(raw)
        out.extend(str(body.get("command", body.get("cmd", ""))).split("+"))
    return out
