"""Token and cookie logins shared by the web drivers: one login per miner, cached with its expiry, refreshed
once when the miner answers 401/403 (a reboot forgets tokens). Only the login request carries the password."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from ...errors import AuthError, DeviceError
from ..context import FetchContext
from ..http import Response

TOKEN_TTL_S = 3000.0  # Braiins tokens live an hour; everything is refreshed before that


async def with_token(
    ctx: FetchContext,
    login: Callable[[FetchContext], Awaitable[str]],
    read: Callable[[str], Awaitable[Any]],
    *,
    ttl: float = TOKEN_TTL_S,
    key: str = "token",
) -> Any:
    """``read(token)`` with a cached token; on an auth failure log in again once and retry. ``key`` names the
    token in the miner's state (a firmware with two logins, Braiins GraphQL and LuCI, keeps both)."""
    token = ctx.state.get(key)
    if not token or time.monotonic() > ctx.state.get(f"{key}-expires", 0.0):
        token = await login(ctx)
        ctx.state[key], ctx.state[f"{key}-expires"] = token, time.monotonic() + ttl
        return await read(token)
    try:
        return await read(token)
    except AuthError:
        ctx.state.pop(key, None)
        token = await login(ctx)
        ctx.state[key], ctx.state[f"{key}-expires"] = token, time.monotonic() + ttl
        return await read(token)


async def optional(ctx: FetchContext, part: str, read: Callable[[], Awaitable[Any]]) -> Any:
    """An optional read's value, or None with a note on the reading (``ctx.note``) when it fails: a missing
    part is not a down miner. A 404 (the release does not have it) is remembered and not asked again until the
    identity interval ends (an upgrade may add it); the note stays. A login that lapsed is raised, so the
    caller logs in again."""
    key = f"absent:{part}"
    if key in ctx.state and not ctx.due(key):
        ctx.note(part, "protocol", ctx.state[key])
        return None
    try:
        value = await read()
    except AuthError:
        raise
    except DeviceError as e:
        if e.reason == "protocol" and "HTTP 404" in e.message:
            ctx.remember(key, e.message)
        ctx.note(part, e.reason, e.message)
        return None
    ctx.forget(key)
    return value


def token_from(resp: Response, *keys: str) -> str:
    """The token under the first of ``keys`` in a login reply, or AuthError (the reply is not echoed)."""
    try:
        body = resp.json()
    except Exception:  # noqa: BLE001 - any unreadable login reply is a refused login
        raise AuthError("login reply is not JSON") from None
    value: Any = body
    for key in keys:
        if isinstance(value, dict):
            value = value.get(key)
        elif isinstance(value, list) and value and isinstance(key, str) and key.isdigit():
            value = value[int(key)]
        else:
            value = None
    if not isinstance(value, str) or not value:
        raise AuthError("login refused (no token in the reply)")
    return value
