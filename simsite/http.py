"""HTTP/1.1 as the simulated miners' web servers speak it: one request per connection (``Connection: close``),
Digest authentication (RFC 7616, MD5, qop=auth) the way Antminer's lighttpd does it, JSON bodies.

Also the framing of Whatsminer API 3 (4-byte little-endian length + JSON), and :func:`complete`, which tells
the connection reader when such a request has fully arrived.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

_METHODS = (b"GET ", b"POST", b"PUT ", b"DELE", b"HEAD", b"PATC", b"OPTI")
_REASONS = {200: "OK", 302: "Found", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            405: "Method Not Allowed"}
_LEN = struct.Struct("<I")


def is_http(buf: bytes | bytearray) -> bool:
    return bytes(buf[:4]) in _METHODS


def complete(buf: bytes | bytearray) -> bool:
    """Whether ``buf`` holds a whole HTTP request (headers + Content-Length body) or API 3 frame; any other
    non-JSON text is complete at once (the cgminer text API answers what one read brought)."""
    if is_http(buf):
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return len(buf) > 64 * 1024
        head = bytes(buf[:end]).lower()
        length = 0
        for line in head.split(b"\r\n"):
            if line.startswith(b"content-length:"):
                try:
                    length = int(line.split(b":", 1)[1])
                except ValueError:
                    length = 0
        return len(buf) >= end + 4 + length
    if len(buf) >= 4 and buf[0] != 0x7B and buf[3] == 0 and buf[2] == 0:
        (size,) = _LEN.unpack_from(bytes(buf[:4]))
        return len(buf) >= 4 + size
    return True


@dataclass(slots=True)
class HttpRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    cookies: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None


def parse(raw: bytes) -> HttpRequest | None:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split()
    if len(parts) < 2:
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    url = urlsplit(parts[1])
    query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
    cookies: dict[str, str] = {}
    for item in headers.get("cookie", "").split(";"):
        k, sep, v = item.strip().partition("=")
        if sep:
            cookies[k] = v
    return HttpRequest(parts[0].upper(), unquote(url.path), query, headers, body, cookies)


def response(status: int, body: bytes | str | Any = b"", *, content_type: str = "application/json",
              headers: dict[str, str] | None = None) -> bytes:
    if isinstance(body, str):
        data = body.encode()
    elif isinstance(body, bytes):
        data = body
    else:
        data = json.dumps(body, separators=(",", ":")).encode()
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}", f"Content-Type: {content_type}",
             f"Content-Length: {len(data)}", "Connection: close"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - HTTP Digest is MD5 by protocol


def _digest_fields(value: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in value[len("Digest "):].split(","):
        k, _, v = part.strip().partition("=")
        out[k.strip().lower()] = v.strip().strip('"')
    return out


def digest_challenge(realm: str, nonce: str) -> bytes:
    value = f'Digest realm="{realm}", nonce="{nonce}", qop="auth", algorithm=MD5'
    return response(401, "<html><body>401 Unauthorized</body></html>", content_type="text/html",
                    headers={"WWW-Authenticate": value})


def digest_ok(req: HttpRequest, realm: str, user: str, password: str) -> bool:
    """Whether the request carries a valid Digest response for ``user``/``password`` (any nonce we issued
    is accepted: the simulator does not expire nonces)."""
    auth = req.headers.get("authorization", "")
    if not auth.startswith("Digest "):
        return False
    f = _digest_fields(auth)
    if f.get("username") != user or f.get("realm") != realm:
        return False
    ha1 = _md5(f"{user}:{realm}:{password}")
    ha2 = _md5(f"{req.method}:{f.get('uri', '')}")
    if f.get("qop"):
        expected = _md5(f"{ha1}:{f.get('nonce')}:{f.get('nc')}:{f.get('cnonce')}:{f.get('qop')}:{ha2}")
    else:
        expected = _md5(f"{ha1}:{f.get('nonce')}:{ha2}")
    return expected == f.get("response")


def api3_frame(obj: Any) -> bytes:
    data = json.dumps(obj, separators=(",", ":")).encode()
    return _LEN.pack(len(data)) + data


def api3_request(raw: bytes) -> dict[str, Any] | None:
    if len(raw) < 4:
        return None
    (size,) = _LEN.unpack_from(raw)
    try:
        body = json.loads(raw[4 : 4 + size])
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
