"""Token and cookie logins shared by the web drivers: one login per miner, cached with its expiry, refreshed
once when the miner answers 401/403 (a reboot forgets tokens). Only the login request carries the password."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from ...errors import AuthError
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
