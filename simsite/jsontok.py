"""Hand-rolled JSON writing from pre-formatted value tokens.

Firmwares print numbers their own way ("Wait":0.000000, "Temperature":71.50, "GHS 5s":"15656.60"), which
``json.dumps`` cannot reproduce. Each reply object is therefore a ``dict[str, str]`` of key -> JSON token, joined
here; this is also cheaper than building Python values and encoding them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

Obj = Mapping[str, str]

_quote = json.encoder.encode_basestring  # C-accelerated string quoting


def q(s: str) -> str:
    return _quote(s)


def f2(x: float) -> str:
    return f"{x:.2f}"


def f6(x: float) -> str:
    return f"{x:.6f}"


def num(x: float) -> str:
    """Python repr of a float (BOSminer/LuxOS print shortest round-trip floats)."""
    return repr(float(x))


def b(x: bool) -> str:
    return "true" if x else "false"


def obj(d: Obj) -> str:
    return "{" + ",".join([f'"{k}":{v}' for k, v in d.items()]) + "}"


def arr(items: Iterable[Obj]) -> str:
    return "[" + ",".join([obj(d) for d in items]) + "]"


class _Num(str):
    """A number kept as its original text (text replies print it unchanged)."""


class _ObjPairs(list):  # type: ignore[type-arg]
    """An object kept as ordered pairs, to tell objects from arrays."""


def _text_escape(s: str) -> str:
    # cgminer's text format escapes its own separators with a backslash.
    return s.replace("\\", "\\\\").replace("|", "\\|").replace(",", "\\,").replace("=", "\\=")


def _text_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return ""
    if isinstance(v, _Num):
        return str(v)
    if isinstance(v, str):
        return _text_escape(v)
    return _text_escape(json.dumps(_plain(v), separators=(",", ":")))


def _plain(v: object) -> object:
    if isinstance(v, _ObjPairs):
        return {k: _plain(x) for k, x in v}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if isinstance(v, _Num):
        return float(v) if any(c in v for c in ".eE") else int(v)
    return v


def _section_text(name: str, items: object) -> str:
    out = []
    for item in items if isinstance(items, list) and not isinstance(items, _ObjPairs) else [items]:
        if not isinstance(item, _ObjPairs) or not item:
            continue
        fields = ",".join(f"{_text_escape(k)}={_text_value(v)}" for k, v in item)
        first_key, first_val = item[0]
        # "POOL=0,..." / "STATUS=S,..." carry their own header; "SUMMARY,Elapsed=..." gets the section name.
        header = first_key == name or (isinstance(first_val, _Num) and first_key.isupper())
        out.append(fields + "|" if header else f"{name},{fields}|")
    return "".join(out)


def _reply_text(pairs: _ObjPairs) -> str:
    status = [v for k, v in pairs if k == "STATUS"]
    parts = [_section_text("STATUS", status[0])] if status else []
    parts += [_section_text(k, v) for k, v in pairs if k not in ("STATUS", "id")]
    return "".join(parts)


def to_text(reply_json: str) -> str:
    """Convert one JSON reply (single or joined) to cgminer's pipe-separated text format."""
    fixed = reply_json.replace("}{", "},{").replace("\\'", "'")
    top = json.loads(fixed, object_pairs_hook=_ObjPairs, parse_float=_Num, parse_int=_Num)
    if any(k == "STATUS" for k, _ in top):
        return _reply_text(top)
    out = []
    for cmd, section in top:
        if cmd == "id" or not isinstance(section, list):
            continue
        for reply in section:
            out.append(f"CMD={_text_escape(cmd)}|{_reply_text(reply)}")
    return "".join(out)
