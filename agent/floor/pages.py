"""HTML of the floor view: the site page (summary, to-do list, rack map) and one page per miner.

Plain server-rendered HTML and one stylesheet served by the agent (``/floor.css``); no script, no font, no image
from anywhere else, so the page works on a site network without internet. The page reloads itself once a poll
interval (``<meta http-equiv=refresh>``), keeping its filters, which are ordinary GET parameters.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Iterable
from html import escape
from typing import Any

from ..sitemap import LOCATION_COLUMNS
from .history import Point
from .model import FILTER_KEYS, FLOOR_STATES, Floor, MinerRow, Rack, racks, todo

# Above this many miners in view, rack cells show colour only (a tap still opens the miner): 20,000 cells with
# text would make a page of several MB that no phone can scroll through; filter a container or rack for detail.
FULL_CELLS = 2000
PLURAL = {"pdu": "PDUs", "ups": "UPSes", "gpu": "GPUs", "switch": "switches", "sensor": "sensors"}
STATE_TEXT = {"hashing": "hashing", "degraded": "degraded", "not_hashing": "not hashing", "sleeping": "sleeping",
              "down": "down", "unknown": "unknown"}


def e(x: Any) -> str:
    return escape(str(x), quote=True)


def miner_href(device: str) -> str:
    return "/miner/" + urllib.parse.quote(device, safe=":[]")


def fmt_hash(ths: float | None) -> str:
    if ths is None:
        return "–"
    if ths >= 1000:
        return f"{ths / 1000:.2f} PH/s"
    return f"{ths:.1f} TH/s" if ths >= 1 else f"{ths * 1000:.0f} GH/s"


def short_hash(ths: float | None) -> str:
    """For a rack cell a phone shows six to a row: "99.4T", "490G" (miners call a 100 TH/s machine a 100T)."""
    if ths is None:
        return "–"
    return f"{ths:.1f}T" if ths >= 1 else f"{ths * 1000:.0f}G"


def fmt_w(w: float | None) -> str:
    if w is None:
        return "–"
    if w >= 1e6:
        return f"{w / 1e6:.2f} MW"
    return f"{w / 1000:.1f} kW" if w >= 1000 else f"{w:.0f} W"


def fmt_age(seconds: float) -> str:
    s = max(0, int(seconds))
    if s < 90:
        return f"{s} s"
    if s < 5400:
        return f"{s // 60} min"
    if s < 172800:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} d"


def fmt_time(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else "–"


def colour(row: MinerRow) -> str:
    """The cell's colour class: red for a miner that needs a hand (down darker), orange for one below par."""
    if row.state == "down":
        return "down"
    sev = row.severity
    if sev == "fault":
        return "bad"
    if sev == "warn":
        return "warn"
    return row.state


def head(title: str, refresh: float | None) -> str:
    meta = f"<meta http-equiv='refresh' content='{max(5, int(refresh))}'>" if refresh else ""
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width,initial-scale=1'>"
            f"{meta}<link rel='icon' href='data:,'><link rel='stylesheet' href='/floor.css'>"
            f"<title>{e(title)}</title></head><body>")


def _filters_form(floor: Floor, filters: dict[str, str]) -> str:
    choices = floor.choices()
    choices["state"] = [s for s in FLOOR_STATES if floor.summary.by_state.get(s)]
    parts = ["<form class='filters' method='get' action='/'>"]
    for key in FILTER_KEYS:
        opts = [f"<option value=''>all {key}s</option>"]
        for v in choices[key]:
            sel = " selected" if filters.get(key) == v else ""
            label = STATE_TEXT.get(v, v) if key == "state" else v
            opts.append(f"<option value='{e(v)}'{sel}>{e(label)}</option>")
        parts.append(f"<label>{key}<select name='{key}'>{''.join(opts)}</select></label>")
    parts.append("<button type='submit'>Show</button>")
    if any(filters.values()):
        parts.append("<a href='/'>clear</a>")
    parts.append("</form>")
    return "".join(parts)


def _summary(floor: Floor, now: float) -> str:
    s = floor.summary
    ratio = f" ({100 * s.hashrate_ths / s.expected_ths:.0f} %)" if s.expected_ths else ""
    states = " ".join(
        f"<a class='chip {st}' href='/?state={st}'>{STATE_TEXT[st]} {s.by_state[st]}</a>"
        for st in FLOOR_STATES if s.by_state.get(st))
    power = [f"{src} {fmt_w(w)}" for src, w in sorted(s.miner_power_w.items())]
    miner_w = sum(s.miner_power_w.values())
    extra = []
    if s.gpu_power_w is not None:
        extra.append(f"GPUs {fmt_w(s.gpu_power_w)}")
    if s.pdu_power_w is not None:
        whose = "this shard's PDUs" if s.shard else "PDUs"  # a shard polls only its own PDUs (docs/power.md)
        extra.append(f"{whose} measure {fmt_w(s.pdu_power_w)}")
    if s.ups_power_w is not None:
        extra.append(f"UPS output {fmt_w(s.ups_power_w)}")
    if s.outlets_elsewhere:
        extra.append(f"this shard's PDUs only: {s.outlets_elsewhere} miners' outlets are read by other shards "
                     "(Grafana has the whole site)")
    devices = " · ".join(f"{PLURAL.get(k, k + 's')} {u} of {n} up" for k, (u, n) in sorted(s.devices.items()))
    age = f"{fmt_age(now - s.last_cycle)} ago" if s.last_cycle else "no cycle completed yet"
    return (
        "<section id='summary'><dl>"
        f"<div><dt>Hashrate</dt><dd><b>{fmt_hash(s.hashrate_ths)}</b> of {fmt_hash(s.expected_ths)} expected"
        f"{ratio}</dd></div>"
        f"<div><dt>Miners</dt><dd><b>{s.up}</b> of {s.miners} miners up · "
        f"<a href='#todo'>{s.todo} to do</a><br>{states}</dd></div>"
        f"<div><dt>Power</dt><dd><b>{fmt_w(miner_w)}</b> miners"
        + (f" ({', '.join(power)})" if power else "") + (f"<br>{' · '.join(extra)}" if extra else "") + "</dd></div>"
        + (f"<div><dt>Devices</dt><dd>{devices}</dd></div>" if devices else "")
        + f"<div><dt>Last cycle</dt><dd id='age'>{age}</dd></div>"
        "</dl></section>"
    )


def _todo(rows: list[MinerRow], now: float, limit: int = 1000) -> str:
    items = []
    for r in rows[:limit]:
        since = f"since {fmt_age(now - r.since)}" if r.since else ""
        draw = f" · outlet {e(r.pdu)}/{e(r.outlet)} draws {fmt_w(r.outlet_w)}" if r.outlet_w is not None else (
            f" · outlet {e(r.pdu)}/{e(r.outlet)} is read by another shard" if r.outlet_elsewhere else "")
        items.append(
            f"<li class='{colour(r)}' data-device='{e(r.device)}'><a href='{e(miner_href(r.device))}'>"
            f"<span class='where'>{e(r.location_text())}</span>"
            f"<span class='why'>{e(r.reason)}</span>"
            f"<span class='meta'>{e(r.model or 'unknown model')} · {e(r.device)} · {since}{draw}</span></a></li>")
    more = f"<p>{len(rows) - limit} more: filter by container or rack.</p>" if len(rows) > limit else ""
    body = f"<ol>{''.join(items)}</ol>{more}" if rows else "<p class='ok'>Nothing to do: every miner answers and is healthy.</p>"
    return f"<section id='todo'><h2>To do ({len(rows)})</h2>{body}</section>"


def _cell(r: MinerRow, full: bool) -> str:
    href = e(miner_href(r.device))
    if not full:
        return f"<td class='{colour(r)}'><a href='{href}'></a></td>"
    temp = f"{r.hottest_c:.0f}°" if r.hottest_c is not None else ""
    outlet = f"o{e(r.outlet)}" if r.outlet else ""
    hr = "down" if r.state == "down" else short_hash(r.hashrate_ths)
    why = f"<em>{e(r.reason)}</em>" if r.problems else ""
    return (f"<td class='{colour(r)}' data-device='{e(r.device)}'><a href='{href}'><b>{e(r.model or '?')}</b>"
            f"<span>{hr}</span><span>{temp} {outlet}</span>{why}</a></td>")


def _rack(rack: Rack, full: bool) -> str:
    title = " / ".join(x for x in (rack.container, rack.rack) if x)
    link = "/?" + urllib.parse.urlencode({k: v for k, v in (("container", rack.container), ("rack", rack.rack)) if v})
    bad = sum(1 for m in rack.miners if m.problems)
    head = (f"<h3><a href='{e(link)}'>{e(title)}</a> <small>{len(rack.miners)} miners"
            + (f", {bad} to do" if bad else "") + "</small></h3>")
    grid: dict[tuple[str, str], list[MinerRow]] = {}
    for m in rack.miners:
        if m.shelf and m.slot:
            grid.setdefault((m.shelf, m.slot), []).append(m)
    rows = []
    if rack.shelves:
        cols = "".join(f"<th>{e(sl)}</th>" for sl in rack.slots) if full else ""
        if full:
            rows.append(f"<tr><th></th>{cols}</tr>")
        for sh in rack.shelves:
            cells = []
            for sl in rack.slots:
                here = grid.get((sh, sl))
                cells.append(_cell(here[0], full) if here else "<td class='empty'></td>")
            label = f"<th>{e(sh)}</th>" if full else ""
            rows.append(f"<tr>{label}{''.join(cells)}</tr>")
    table = f"<table class='grid{'' if full else ' compact'}'>{''.join(rows)}</table>" if rows else ""
    loose = _list(rack.unplaced, "In this rack, without shelf and slot") if rack.unplaced else ""
    return f"<div class='rack'>{head}{table}{loose}</div>"


def _list(rows: Iterable[MinerRow], title: str) -> str:
    items = "".join(
        f"<li class='{colour(r)}'><a href='{e(miner_href(r.device))}'>{e(r.device)} · {e(r.model or '?')} · "
        f"{STATE_TEXT.get(r.state, r.state)} {fmt_hash(r.hashrate_ths) if r.state != 'down' else ''}"
        + (f" · <em>{e(r.reason)}</em>" if r.problems else "") + "</a></li>" for r in rows)
    return f"<h4>{e(title)}</h4><ul class='list'>{items}</ul>"


def index_page(floor: Floor, filters: dict[str, str], now: float | None = None) -> str:
    now = time.time() if now is None else now
    s = floor.summary
    rows = floor.select(filters)
    todo_rows = todo(rows)
    rack_list, loose = racks(rows)
    full = len(rows) <= FULL_CELLS
    note = "" if full else (f"<p class='note'>{len(rows)} miners in view: cells show colour only. "
                            "Tap a rack's name, or filter a container, for model, hashrate and temperature.</p>")
    racks_html = "".join(_rack(r, full) for r in rack_list)
    loose_html = _list(loose, "Miners without a site-map location") if loose else ""
    groups = "".join(
        f"<tr><td>{e(g['name'])}</td><td>{g['devices']}</td><td>{g['cycles']}</td><td>{g['last_duration_s']:.2f} s</td>"
        f"<td>{fmt_age(now - g['last_completed']) + ' ago' if g['last_completed'] else 'not yet'}</td>"
        f"<td>{g['interval_s']:.0f} s</td></tr>" for g in s.groups)
    shown = f"{len(rows)} of {s.miners} miners" if any(filters.values()) else ""
    scope = (f"<p>scope addresses (CIDR and range targets): {sum(s.scope.values())} · {s.scope['miner']} miners · "
             f"{s.scope['unidentified']} unidentified · {s.scope['empty']} empty (not counted as miners)</p>"
             if sum(s.scope.values()) else "")
    shard = f" · shard {s.shard[0]}/{s.shard[1]}" if s.shard else ""
    return (
        head(f"farmwatch · {s.site}", s.interval)
        + f"<header><h1>farmwatch <span>{e(s.site)}</span></h1><nav><a href='/'>floor</a> "
          "<a href='/api/v1/summary'>API</a> <a href='/metrics'>metrics</a></nav></header><main>"
        + _summary(floor, now) + _filters_form(floor, filters)
        + (f"<p class='note'>Showing {shown}.</p>" if shown else "")
        + _todo(todo_rows, now)
        + f"<section id='racks'><h2>Racks</h2>{note}{racks_html or ''}{loose_html}"
        + ("" if racks_html or loose_html else "<p>No miners in view.</p>") + "</section>"
        + "<section id='polling'><h2>Polling</h2><table class='plain'><tr><th>group</th><th>devices</th>"
          "<th>cycles</th><th>last cycle</th><th>completed</th><th>interval</th></tr>" + groups + "</table>"
        + scope + f"<p>farmwatch {e(s.version)}{shard} · values are from the agent's own poll cycle; a miner that stops answering "
          "shows only why and since when, never its last values as if fresh.</p></section></main></body></html>"
    )


def _table(header: list[str], rows: list[list[str]]) -> str:
    th = "<tr>" + "".join(f"<th>{h}</th>" for h in header) + "</tr>" if any(header) else ""
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table class='plain'>{th}{body}</table>"


def _v(x: Any, unit: str = "") -> str:
    if isinstance(x, float):
        x = f"{x:.2f}".rstrip("0").rstrip(".") if abs(x) < 1e6 else f"{x:.0f}"
    return "–" if x is None else f"{e(x)}{unit}"


def miner_page(row: MinerRow, reading: dict[str, Any] | None, points: list[Point], interval: float | None,
               now: float | None = None) -> str:
    now = time.time() if now is None else now
    title = f"{row.model or 'miner'} {row.device}"
    where = "".join(f"<div><dt>{k}</dt><dd>{e(v)}</dd></div>" for k in
                    LOCATION_COLUMNS if (v := getattr(row, k)))
    problems = "".join(f"<li class='{'bad' if p.severity == 'fault' else 'warn'}'>{e(p.text)}</li>"
                       for p in row.problems)
    since = f"<p>since {fmt_age(now - row.since)} ({fmt_time(row.since)})</p>" if row.since else ""
    out = [head(title, interval),
           f"<header><h1><a href='/'>farmwatch</a> <span>{e(title)}</span></h1></header><main>",
           f"<section id='where' class='{colour(row)}'><h2>{e(row.location_text())}</h2>"
           f"<p class='state'>{STATE_TEXT.get(row.state, row.state)}</p>"
           + (f"<ul class='problems'>{problems}</ul>{since}" if problems else "<p>Nothing wrong.</p>")
           + (f"<p>outlet {e(row.pdu)}/{e(row.outlet)} draws <b>{fmt_w(row.outlet_w)}</b></p>"
              if row.outlet_w is not None else "")
           + (f"<p>outlet {e(row.pdu)}/{e(row.outlet)}: its PDU is polled by another shard, so its power is not on "
              "this agent's page; Grafana has it (the site's Prometheus joins every shard)</p>"
              if row.outlet_elsewhere else "")
           + (f"<p>last answered {fmt_age(now - row.last_success)} ago</p>" if row.state == "down" and row.last_success
              else "")
           + (f"<p class='msg'>{e(row.error_message)}</p>" if row.error_message else "")
           + f"<dl class='where'>{where}</dl></section>"]
    if reading is not None:
        out.append(_reading(reading))
    out.append(_history(points))
    out.append(f"<p><a href='/api/v1/miners/{e(urllib.parse.quote(row.device, safe=':[]'))}'>this miner as JSON</a>"
               " · <a href='/'>back to the floor</a></p></main></body></html>")
    return "".join(out)


_SHOWN = {"device", "driver", "make", "model", "algorithm", "firmware", "firmware_version", "mac", "serial",
          "hostname", "state", "hashrate_ths", "expected_hashrate_ths", "power_w", "power_source", "efficiency_jth",
          "fans_rpm", "boards", "pools", "uptime_s", "errors", "power_limit_w"}


def _reading(r: dict[str, Any]) -> str:
    ident = [[k, _v(r.get(k))] for k in ("make", "model", "driver", "firmware", "firmware_version", "mac", "serial",
                                         "hostname", "algorithm")]
    perf = [["hashrate", _v(r.get("hashrate_ths"), " TH/s")],
            ["expected", _v(r.get("expected_hashrate_ths"), " TH/s")],
            ["power", f"{_v(r.get('power_w'), ' W')} ({r['power_source']})" if r.get("power_source") else "–"],
            ["efficiency", _v(r.get("efficiency_jth"), " J/TH")],
            ["uptime", fmt_age(r["uptime_s"]) if r.get("uptime_s") is not None else "–"]]
    if r.get("power_limit_w") is not None:
        perf.append(["power limit", _v(r["power_limit_w"], " W")])
    boards = [[f"board {b['index'] + 1}", _v(b.get("hashrate_ths"), " TH/s"),
               f"{_v(b.get('chips'))} / {_v(b.get('expected_chips'))}", _v(b.get("temp_c"), " °C"),
               _v(b.get("chip_temp_c"), " °C")] for b in r.get("boards") or []]
    fans = [[f"fan {i + 1}", "unreadable" if rpm is None else ("<b class='dead'>0 (stopped)</b>" if rpm == 0 else
                                                              f"{rpm} rpm")] for i, rpm in enumerate(r.get("fans_rpm") or [])]
    pools = [[_v(p.get("index", i)), e(p.get("url")), _v(p.get("user")), e(p.get("status")),
              "yes" if p.get("active") else ("no" if p.get("active") is False else "–"),
              f"{_v(p.get('accepted'))} / {_v(p.get('rejected'))} / {_v(p.get('stale'))}"]
             for i, p in enumerate(r.get("pools") or [])]
    errors = r.get("errors")
    errs = ("<p>not read from this firmware</p>" if errors is None else "<p>none</p>" if not errors else
            _table(["code", "message"], [[_v(x.get("code")), e(x.get("message"))] for x in errors]))
    other = [[e(k), e(v)] for k, v in r.items() if k not in _SHOWN]
    return ("<section id='reading'><h2>Last reading</h2>"
            + _table(["", ""], perf)
            + "<h3>Boards</h3>" + (_table(["", "hashrate", "chips", "board temp", "chip temp"], boards) if boards
                                   else "<p>none reported</p>")
            + "<h3>Fans</h3>" + (_table(["", "speed"], fans) if fans else "<p>none reported</p>")
            + "<h3>Pools</h3>" + (_table(["#", "url", "user", "status", "active", "accepted / rejected / stale"], pools)
                                  if pools else "<p>none reported</p>")
            + "<h3>Errors</h3>" + errs
            + ("<h3>Notes</h3>" + _table(["", ""], other) if other else "")
            + "<h3>Identity</h3>" + _table(["", ""], ident) + "</section>")


def _history(points: list[Point]) -> str:
    if not points:
        return "<section id='history'><h2>Last cycles</h2><p>no cycle recorded yet</p></section>"
    rows = [[time.strftime("%H:%M:%S", time.localtime(p.time)), STATE_TEXT.get(p.state, p.state) + (
        f" ({e(p.reason)})" if p.reason else ""), fmt_hash(p.hashrate_ths), fmt_w(p.power_w),
             _v(p.hottest_c, " °C")] for p in reversed(points)]
    return ("<section id='history'><h2>Last cycles</h2>"
            + _table(["time", "state", "hashrate", "power", "hottest"], rows) + "</section>")
