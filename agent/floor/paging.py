"""Paging of the floor view's JSON lists (``/api/v1/miners``, ``/api/v1/todo``): at 20,000 miners the whole
list is 10 MB of JSON, too much to build in one reply on a small box or to fetch over a site's Wi-Fi.

Keyset paging: a page is the first ``limit`` rows *after* the cursor in a fixed order, and the cursor carries the
sort key of the last row returned. The model is rebuilt every cycle, so offsets would shift under a client
walking the pages (a miner added or fixed meanwhile would make it skip or repeat rows); a key does not: every row
that exists for the whole walk is returned exactly once, in order.

The cursor is opaque to clients (base64url of the key's JSON, so it can change form later); a client passes back
``next_cursor`` as it came, with the same filters.
"""

from __future__ import annotations

import base64
import binascii
import json
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

DEFAULT_LIMIT = 1000  # the HTML to-do list's own cap; a site up to this size gets everything in one reply
MAX_LIMIT = 5000  # about 2.5 MB of miner rows

T = TypeVar("T")
Key = tuple[Any, ...]


class PageError(ValueError):
    """A ``limit`` or ``cursor`` the API cannot use: answered 400 with this message."""


@dataclass(frozen=True, slots=True)
class Page:
    limit: int
    cursor: list[Any] | None  # the decoded cursor's raw fields (None: the first page)


def page_request(query: Mapping[str, str], fields: int) -> Page:
    """``limit`` and ``cursor`` from a request's query; ``fields`` is how many raw fields this list's cursor has."""
    text = query.get("limit")
    if text is None or text == "":
        limit = DEFAULT_LIMIT
    else:
        try:
            limit = int(text[:12])
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_LIMIT:
            raise PageError(f"limit must be a whole number from 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})")
    raw = query.get("cursor")
    return Page(limit, _decode(raw, fields) if raw else None)


def encode_cursor(fields: Sequence[Any]) -> str:
    data = json.dumps(list(fields), separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _decode(text: str, fields: int) -> list[Any]:
    bad = PageError("bad cursor: pass back next_cursor from the previous page of this list, as it came")
    if len(text) > 4096:
        raise bad
    try:
        value = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError):
        raise bad from None
    if not (isinstance(value, list) and len(value) == fields
            and all(v is None or isinstance(v, (str, int)) and not isinstance(v, bool) for v in value)):
        raise bad
    return value


def take(rows: Sequence[T], page: Page, raw: Callable[[T], list[Any]], key: Callable[[list[Any]], Key]
         ) -> tuple[list[T], str | None]:
    """The page of ``rows`` (sorted by ``key(raw(row))``, keys unique) after the cursor, and the next cursor
    (None on the last page)."""
    start = 0
    if page.cursor is not None:
        try:
            start = bisect_right(rows, key(page.cursor), key=lambda r: key(raw(r)))
        except TypeError:  # a cursor whose fields have the wrong types for this list
            raise PageError("bad cursor: pass back next_cursor from the previous page of this list, as it came"
                            ) from None
    out = list(rows[start : start + page.limit])
    more = start + page.limit < len(rows)
    return out, encode_cursor(raw(out[-1])) if more and out else None
