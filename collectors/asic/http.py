"""The HTTP transport for miners' web APIs: one shared aiohttp ``ClientSession`` per event loop.

- A bounded connection pool (``POOL_LIMIT`` connections in all, ``PER_HOST`` per miner), keep-alive for the
  miners that allow it; DNS is not involved (miners are addressed by IP).
- Explicit timeouts per phase, each cut to the poll's deadline: connect, then each socket read; the body is
  read to its Content-Length, last chunk or EOF (:func:`read_body`), never taken from the first read, since on
  a LAN a reply arrives in 1,460-byte segments (docs/hostile-network.md).
- No TLS verification: miners serve self-signed certificates (and most only plain HTTP).
- HTTP Digest (Antminer web) through a per-miner :class:`aiohttp.DigestAuthMiddleware` that a session keeps,
  so the nonce is reused and a poll costs one round trip, not a 401 and a retry.
- Read-only by construction: :func:`check_read_only` refuses any method but GET, and any POST but a login or
  a read-only query (docs/architecture.md, "Read-only"). Every request of every driver passes through :func:`request`.

Passwords live in :class:`WebCredentials` and are only ever handed to the request that needs them; no
message, ``repr`` or exception text here includes one.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

import aiohttp

from ..errors import (
    AuthError,
    DeviceError,
    DeviceRefused,
    DeviceReset,
    DeviceTimeout,
    DeviceUnresolved,
    ParseError,
    ProtocolError,
    resource_error,
)
from .rpc import READ_COMMANDS

POOL_LIMIT = 1024
PER_HOST = 4
CONNECT_S = 3.0
READ_S = 8.0
MAX_BODY = 4 * 1024 * 1024
# Idle keep-alive connections to miners are kept only long enough to serve the rest of one poll's requests: a
# poll interval is 15-60 s, so an idle socket kept 20 s helped no later poll and, on a site of HTTP miners,
# held one descriptor per miner outside the polling budget (agent/webguard.py).
KEEPALIVE_S = 2.0

# POSTs a driver may send: logins, and queries that only read (path -> check of query/body).
_LOGIN_PATHS = frozenset(("/api/v1/auth/login", "/api/v1/unlock", "/user/loginpost", "/token",
                          "/cgi-bin/luci",  # Braiins OS LuCI (form: luci_username, luci_password)
                          "/cgi-bin/login.php",  # Sealminer (form: username, origin_pwd) -> session cookie
                          "/user/login",  # Ebang (form: username, word) -> session cookie
                          "/api/login"))  # Bitfury B8 (JSON: username, password) -> bearer token
# The LuCI login form (Braiins OS): these fields and nothing else.
_LUCI_LOGIN_FIELDS = frozenset(("luci_username", "luci_password"))
# Braiins OS GraphQL logs in with a mutation: this document, word for word (whitespace aside), is the one
# mutation the guard lets through; any other document holding "mutation" is refused.
GRAPHQL_LOGIN = (
    "mutation ($username: String!, $password: String!) "
    "{ auth { login(username: $username, password: $password) { ... on VoidResult { void } } } }"
)


def _squash(document: str) -> str:
    return re.sub(r"\s+", " ", document).strip()


def graphql_login_body(user: str, password: str) -> dict[str, Any]:
    return {"query": GRAPHQL_LOGIN, "variables": {"username": user, "password": password}}


class SecretLike(Protocol):
    def reveal(self) -> str: ...


class PlainSecret:
    """A password held in memory (tests, the demo); ``repr`` never shows it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "PlainSecret(<hidden>)"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class WebCredentials:
    """A group's web login: configured user/password, or the firmware's documented default when the config
    explicitly allows it (``use_default_password``). Without either, a driver that needs a login fails with
    ``auth`` rather than guessing."""

    username: str | None = None
    password: SecretLike | None = field(default=None, repr=False)
    use_default_password: bool = False
    # The drivers the configured password is for (config ``credentials.firmwares``, else the group's own
    # ``driver``); None: any driver the device is identified as. A device identified as anything else never
    # receives it (issue 11: identification is what a device claims to be).
    firmwares: frozenset[str] | None = None

    def allows(self, driver: str | None) -> bool:
        return self.firmwares is None or driver in self.firmwares

    def login(self, default_user: str, default_password: str | None,
              driver: str | None = None) -> tuple[str, str] | None:
        """(user, password) to log in with, or None when nothing is configured or allowed."""
        user = self.username or default_user
        if self.password is not None and self.allows(driver):
            return user, self.password.reveal()
        if self.use_default_password and default_password is not None:
            return user, default_password
        return None

    @property
    def configured(self) -> bool:
        return self.password is not None or self.use_default_password


NO_CREDENTIALS = WebCredentials()


class DigestDowngrade(aiohttp.ClientError):
    """A Digest challenge without ``qop`` (RFC 2069): refused before any response is computed."""


class StrictDigest(aiohttp.DigestAuthMiddleware):
    """HTTP Digest that answers only challenges with ``qop`` (RFC 7616, as Antminer's lighttpd sends them).

    Without qop there is no client nonce: the response is MD5 over values the server alone chose, so a device
    that merely pretends to be a miner can ask for it with a nonce of its choosing and crack the fleet password
    offline from precomputed tables. No firmware we read needs the old form."""

    async def _encode(self, method: str, url: Any, body: Any) -> str:
        if not self._challenge.get("qop"):
            raise DigestDowngrade("Digest challenge without qop (RFC 2069) refused: the password is not used")
        return await super()._encode(method, url, body)


def digest(user: str, password: str) -> aiohttp.DigestAuthMiddleware:
    return StrictDigest(user, password)


def check_read_only(method: str, url: str, body: Any = None) -> None:
    """Raise ValueError for anything that is not a read (docs/architecture.md, "Read-only")."""
    method = method.upper()
    parts = urlsplit(url)
    path = parts.path.rstrip("/") or "/"
    if method == "GET":
        # Some firmwares act on a GET (Antminer's reboot.cgi, Goldshell's cgminer pass-through): such paths are
        # refused, and a pass-through may carry only the RPC's read commands.
        if _GET_WRITE_WORDS.search(path.lower()):
            raise ValueError(f"refusing GET {path}: the path names an action, not a read")
        for cmd in query_commands(parse_qs(parts.query)):
            if not set(cmd.split("+")) <= READ_COMMANDS:
                raise ValueError(f"refusing GET {path}: {cmd!r} is not a read command")
        return
    if method != "POST":
        raise ValueError(f"refusing to send {method} {path}: only GET and login/query POSTs are allowed")
    query = parse_qs(parts.query)
    if path in _LOGIN_PATHS:
        if path == "/token" and not (isinstance(body, Mapping) and body.get("command") == "token"):
            raise ValueError("refusing POST /token with anything but the token command")
        if path == "/user/loginpost" and query.get("post") != ["6"]:
            raise ValueError("refusing POST /user/loginpost other than the login form (post=6)")
        if path == "/cgi-bin/luci" and not (isinstance(body, Mapping) and set(body) == _LUCI_LOGIN_FIELDS):
            raise ValueError("refusing POST /cgi-bin/luci other than the login form")
        return
    if path == "/user/userpanel" and query.get("post") == ["4"]:
        return  # IceRiver's status read
    if path in _READ_POSTS and not body:
        return  # Ebang's web UI answers its status pages only to an empty POST
    if path == "/graphql" and isinstance(body, Mapping):
        document = str(body.get("query", ""))
        # One document may hold several operations: any mutation in it refuses the whole request.
        if document.lstrip().startswith(("query", "{")) and not re.search(r"\bmutation\b", document):
            return
        variables = body.get("variables")
        if _squash(document) == _squash(GRAPHQL_LOGIN) and isinstance(variables, Mapping) and set(variables) <= {
                "username", "password"}:
            return  # the login, and only the login
    raise ValueError(f"refusing to send POST {path}: not a login or a read-only query")


# Read-only pages a firmware serves only to POST, with an empty body (Ebang: status, rates, temperatures, pools).
_READ_POSTS = frozenset(("/Cgminer/CgminerStatus", "/Status/getsystemstatus", "/alarm/GetAlarmLoop",
                         "/Cgminer/CgminerGetVal"))
_GET_WRITE_WORDS = re.compile(r"reboot|restart|reset|blink|shutdown|poweroff|upgrade|factory|delete|set_|setconfig")
_PASS_THROUGH_KEYS = ("cgminercmd", "command", "cmd")


def query_commands(query: Mapping[str, list[str]]) -> list[str]:
    """The RPC commands a GET's query passes through to the miner's cgminer (Goldshell ``cgminercmd``)."""
    return [v for key in _PASS_THROUGH_KEYS for v in query.get(key, [])]


_sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.ClientSession] = (
    weakref.WeakKeyDictionary()
)


def client() -> aiohttp.ClientSession:
    """The event loop's shared session (created on first use)."""
    loop = asyncio.get_running_loop()
    session = _sessions.get(loop)
    if session is None or session.closed:
        connector = aiohttp.TCPConnector(
            limit=POOL_LIMIT,
            limit_per_host=PER_HOST,
            ssl=False,
            use_dns_cache=True,
            keepalive_timeout=KEEPALIVE_S,
            enable_cleanup_closed=False,
        )
        session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),  # cookies are kept per miner by the driver, never shared
            auto_decompress=True,
            raise_for_status=False,
            headers={"User-Agent": "farmwatch"},
        )
        _sessions[loop] = session
    return session


async def close_session() -> None:
    """Close this loop's shared session (at shutdown; the next request opens a new one)."""
    loop = asyncio.get_running_loop()
    session = _sessions.pop(loop, None)
    if session is not None and not session.closed:
        await session.close()


@dataclass(slots=True)
class Response:
    status: int
    body: bytes
    headers: Mapping[str, str]
    cookies: dict[str, str]

    def json(self) -> Any:
        text = self.body.decode("utf-8", errors="replace").strip().rstrip("\x00")
        if not text:
            raise ParseError("empty HTTP body where JSON was expected")
        try:
            return json.loads(text)
        except RecursionError:
            raise ParseError("reply nested too deeply") from None
        except ValueError:
            if text[:1] == "<":
                raise ProtocolError("HTML page where a JSON API reply was expected") from None
            try:
                value, _end = json.JSONDecoder(strict=False).raw_decode(text)
            except ValueError as e:
                raise ParseError(f"malformed JSON: {e}") from None
            return value


def url(host: str, port: int, path: str, scheme: str = "http") -> str:
    h = f"[{host}]" if ":" in host else host
    default = 80 if scheme == "http" else 443
    where = h if port == default else f"{h}:{port}"
    return f"{scheme}://{where}{path}"


async def request(
    method: str,
    target: str,
    *,
    deadline: float,
    headers: Mapping[str, str] | None = None,
    json_body: Any = None,
    digest: aiohttp.DigestAuthMiddleware | None = None,
    cookies: Mapping[str, str] | None = None,
    allow_status: tuple[int, ...] = (),
    form: Mapping[str, str] | None = None,
) -> Response:
    """One read-only HTTP request before ``deadline`` (event-loop time). Raises DeviceError subclasses:
    timeout, refused, resolve (a name that does not resolve), reset, auth (401/403 unless allowed), protocol
    (other non-2xx)."""
    check_read_only(method, target, json_body if form is None else form)
    loop = asyncio.get_running_loop()
    remaining = deadline - loop.time()
    if remaining <= 0:
        raise DeviceTimeout(f"no time left for {method} {urlsplit(target).path}")
    timeout = aiohttp.ClientTimeout(
        total=remaining, connect=min(CONNECT_S, remaining), sock_read=min(READ_S, remaining)
    )
    hdrs = dict(headers or {})
    if cookies:
        hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    where = f"{method} {urlsplit(target).netloc}{urlsplit(target).path}"
    try:
        async with client().request(
            method,
            target,
            headers=hdrs,
            json=json_body,
            data=form,
            timeout=timeout,
            allow_redirects=False,
            middlewares=(digest,) if digest is not None else (),
        ) as resp:
            body = await read_body(resp.content, where)
            got = {k: m.value for k, m in resp.cookies.items()}
            out = Response(resp.status, body, resp.headers, got)
    except TimeoutError:
        raise DeviceTimeout(f"{where}: no complete reply before the deadline") from None
    except aiohttp.ClientConnectorError as e:
        exhausted = resource_error(e.os_error, where)
        if exhausted is not None:
            raise exhausted from None
        if isinstance(e.os_error, ConnectionRefusedError):
            raise DeviceRefused(f"{where}: connection refused") from None
        if isinstance(e.os_error, socket.gaierror) or isinstance(e, aiohttp.ClientConnectorDNSError):
            raise DeviceUnresolved(f"{where}: cannot resolve the host: {e.os_error.strerror or e.os_error}") from None
        raise DeviceRefused(f"{where}: {e.os_error.strerror or e.os_error}") from None
    except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, ConnectionResetError):
        raise DeviceReset(f"{where}: connection reset or closed mid-reply") from None
    except aiohttp.ClientPayloadError as e:
        raise payload_error(where, e) from None
    except DigestDowngrade as e:
        raise AuthError(f"{where}: {e}") from None
    except aiohttp.ClientResponseError as e:
        raise ProtocolError(f"{where}: bad HTTP reply ({e.message})") from None
    except aiohttp.ClientError as e:
        raise ProtocolError(f"{where}: {type(e).__name__}") from None
    if out.status in allow_status or 200 <= out.status < 300:
        return out
    if out.status in (401, 403):
        raise AuthError(f"{where}: HTTP {out.status} (login refused or required)")
    raise ProtocolError(f"{where}: HTTP {out.status}")


async def read_body(content: aiohttp.StreamReader, where: str) -> bytes:
    """The whole body: to Content-Length, the last chunk, or EOF, never more than MAX_BODY bytes.

    One ``read(n)`` returns whatever has arrived so far, which on a real network is the first TCP segment or
    two of a reply (1,460 bytes each), not the reply. The caller's ClientTimeout bounds the whole loop: a
    body that trickles in slower than the poll's deadline is a timeout, not a short reply.
    """
    parts: list[bytes] = []
    size = 0
    while True:
        chunk = await content.readany()
        if not chunk:
            return b"".join(parts)
        size += len(chunk)
        if size > MAX_BODY:
            raise ProtocolError(f"{where}: body larger than {MAX_BODY} bytes")
        parts.append(chunk)


def payload_error(where: str, e: aiohttp.ClientPayloadError) -> DeviceError:
    """A body that did not arrive whole. aiohttp reports both causes as one ClientPayloadError and names the
    socket error in its message only: a reset (RST) mid-body is ``reset``; a clean close before the
    Content-Length or the last chunk, or a body that cannot be decoded (bad gzip), is a reply that lied about
    itself: ``protocol``."""
    text = str(e)
    if "ConnectionResetError" in text or "Connection reset" in text or "BrokenPipe" in text:
        return DeviceReset(f"{where}: connection reset mid-body")
    if "ContentLengthError" in text or "TransferEncodingError" in text or "not completed" in text:
        return ProtocolError(f"{where}: body shorter than the reply announced (truncated)")
    return ProtocolError(f"{where}: unreadable body ({text[:80]})")


async def get_json(target: str, *, deadline: float, **kw: Any) -> Any:
    return (await request("GET", target, deadline=deadline, **kw)).json()


def parse_raw_response(raw: bytes) -> Response:
    """An HTTP/1.x response read to EOF (status line, headers, body; chunked bodies are joined)."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep or not head.startswith(b"HTTP/"):
        raise ProtocolError("not an HTTP response")
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        raise ProtocolError(f"bad HTTP status line {lines[0][:40]!r}") from None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = _dechunk(body)
    elif "content-length" in headers:
        try:
            length = int(headers["content-length"])
        except ValueError:
            raise ProtocolError(f"bad Content-Length {headers['content-length'][:20]!r}") from None
        if len(body) < length:  # the connection closed (FIN) before the promised body arrived
            raise ProtocolError(f"HTTP body cut short ({len(body)} of {length} bytes)")
        body = body[:length]
    return Response(status, body, headers, {})


def _dechunk(body: bytes) -> bytes:
    """A chunked body joined; one that ends before its last (zero-size) chunk is truncated: ProtocolError."""
    out = bytearray()
    rest = body
    while True:
        size_line, sep, rest = rest.partition(b"\r\n")
        if not sep:
            raise ProtocolError("chunked HTTP body cut short (no last chunk)")
        try:
            size = int(size_line.split(b";")[0], 16)
        except ValueError:
            raise ProtocolError(f"bad chunk size {size_line[:20]!r}") from None
        if size == 0:
            return bytes(out)
        if len(rest) < size:
            raise ProtocolError("chunked HTTP body cut short mid-chunk")
        out += rest[:size]
        rest = rest[size + 2 :]


async def raw_get(host: str, port: int, path: str, *, deadline: float, max_bytes: int = 1 << 20) -> Response:
    """A bare HTTP/1.0 GET without the client session: what identification and discovery probe with (one
    connection, read to EOF; a tenth of aiohttp's CPU per request)."""
    from .rpc import exchange  # the same connect/read-to-EOF transport and error mapping as the RPC

    h = f"[{host}]" if ":" in host else host
    payload = f"GET {path} HTTP/1.0\r\nHost: {h}\r\nUser-Agent: farmwatch\r\nAccept: */*\r\n\r\n".encode()
    raw = await exchange(host, port, payload, deadline=deadline, max_bytes=max_bytes, nul_ends=False)
    return parse_raw_response(raw)
