"""What a firmware driver declares. One module per firmware under ``collectors/asic/drivers/`` defines a
module-level ``DRIVER``; the registry picks it up: config validation, identification (RPC and web
signatures) and the CLI read it, so no other list names a firmware (docs/architecture.md, "Adding a firmware").

HTTP and framed-TCP firmwares set ``fetch`` (an async function of a :class:`~.context.FetchContext`) and
declare ``port`` (their primary API port); their ``parse`` is as pure as the RPC drivers'.

A driver says which read commands each datum comes from and how often, and maps the replies to a
:class:`MinerReading` with a pure ``parse`` function (bytes never reach it: the transport decodes them).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .reading import MinerReading

if TYPE_CHECKING:
    from .context import FetchContext

# Replies keyed by command or endpoint; values are decoded JSON (RPC replies are objects, some HTTP APIs
# answer arrays).
Replies = Mapping[str, Any]
Parser = Callable[[Replies, str], MinerReading]
# HTTP and framed-TCP firmwares gather their replies themselves (logins, token refresh, API choice).
Fetcher = Callable[["FetchContext"], Awaitable[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class Driver:
    name: str
    # Upper-case substrings of the identification replies (version, devdetails, stats) that mark this firmware.
    signatures: tuple[str, ...]
    # Every cycle, joined into one request ("summary+stats+pools") when ``join`` is true.
    commands: tuple[str, ...]
    parse: Parser
    # Every cycle, one request per command (commands the firmware refuses to join, e.g. btminer get_*).
    single_commands: tuple[str, ...] = ()
    # Identity (model, MAC, serial, firmware version): read at identification, then every N cycles; cached.
    identity_commands: tuple[str, ...] = ()
    join: bool = True
    # Custom firmware wins over stock when both signatures match (LuxOS runs on Antminer hardware).
    custom: bool = False
    # Lower runs first among equals during identification.
    priority: int = 50
    port: int = 4028
    # When set, poll.py calls this instead of the RPC path above (which it may still use through the context:
    # Antminer reads values over RPC and identity over its web CGI; Whatsminer picks API 2.x or API 3).
    fetch: Fetcher | None = None
    make: str | None = None
    # Lower-case substrings of the web UI's ``GET /`` page that name this firmware (identify.match_web).
    web_signatures: tuple[str, ...] = ()
    # Lower-case substrings of a 401's ``WWW-Authenticate`` realm that name this firmware.
    web_realms: tuple[str, ...] = ()
