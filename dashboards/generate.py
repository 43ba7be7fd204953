"""Generates the Grafana dashboards in this folder (classic JSON model): ``python dashboards/generate.py``.

The JSON files are what Grafana loads (file provisioning or ``farmwatch dashboards push``); this script is
their source, and a test checks that the two agree. Conventions: the datasource is the variable
``$datasource``; every dashboard has the variables site, container, rack and model (``All`` matches series
that lack the label, so a site without a site map still shows everything); values are in base units with
Grafana's unit formats (``Hs``, ``watt``, ``celsius``, ``rotrpm``, ``percentunit``, ``currencyUSD``), except
efficiency, which the rules record in the industry's J/TH.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DS = {"type": "prometheus", "uid": "${datasource}"}
JTH = "suffix: J/TH"
MINERS = 'site=~"$site",container=~"$container",rack=~"$rack",model=~"$model"'
INFO = f"farmwatch_miner_info{{{MINERS}}}"
STATE_MAPPINGS = [{"type": "value", "options": {
    "0": {"text": "down", "color": "red", "index": 0},
    "1": {"text": "hashing", "color": "green", "index": 1},
    "2": {"text": "degraded", "color": "orange", "index": 2},
    "3": {"text": "not hashing", "color": "red", "index": 3},
    "4": {"text": "sleeping", "color": "blue", "index": 4},
    "5": {"text": "unknown", "color": "text", "index": 5},
}}]


def joined(expr: str, labels: str = "") -> str:
    """``expr`` (a per-miner series) kept only for miners that match the location and model variables."""
    return f"{expr} * on(site, instance, device) group_left({labels}) {INFO}"


def target(expr: str, legend: str = "", ref: str = "A", instant: bool = False, table: bool = False) -> dict[str, Any]:
    t: dict[str, Any] = {"datasource": DS, "expr": expr, "refId": ref, "legendFormat": legend or "__auto"}
    if instant:
        t["instant"], t["range"] = True, False
    if table:
        t["format"] = "table"
    return t


class Board:
    def __init__(self) -> None:
        self.panels: list[dict[str, Any]] = []
        self.x = self.y = self.row_h = 0
        self.next_id = 1

    def _place(self, w: int, h: int) -> dict[str, int]:
        if self.x + w > 24:
            self.x, self.y = 0, self.y + self.row_h
            self.row_h = 0
        pos = {"x": self.x, "y": self.y, "w": w, "h": h}
        self.x += w
        self.row_h = max(self.row_h, h)
        return pos

    def row(self, title: str, repeat: str | None = None) -> None:
        self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        p: dict[str, Any] = {"type": "row", "title": title, "id": self.next_id, "collapsed": False, "panels": [],
                             "gridPos": {"x": 0, "y": self.y, "w": 24, "h": 1}}
        if repeat:
            p["repeat"] = repeat
        self.next_id += 1
        self.y += 1
        self.panels.append(p)

    def panel(self, kind: str, title: str, targets: list[dict[str, Any]], *, unit: str, w: int = 6, h: int = 6,
              description: str = "", options: dict[str, Any] | None = None, mappings: list[Any] | None = None,
              thresholds: list[tuple[float | None, str]] | None = None, transformations: list[Any] | None = None,
              decimals: int | None = None, field_custom: dict[str, Any] | None = None) -> None:
        steps = [{"color": c, "value": v} for v, c in (thresholds or [(None, "green")])]
        defaults: dict[str, Any] = {"unit": unit, "mappings": mappings or [],
                                    "thresholds": {"mode": "absolute", "steps": steps}}
        if decimals is not None:
            defaults["decimals"] = decimals
        if thresholds:
            defaults["color"] = {"mode": "thresholds"}
        if field_custom:
            defaults["custom"] = field_custom
        p: dict[str, Any] = {
            "type": kind, "title": title, "id": self.next_id, "datasource": DS, "gridPos": self._place(w, h),
            "targets": targets, "fieldConfig": {"defaults": defaults, "overrides": []}, "options": options or {},
        }
        if description:
            p["description"] = description
        if transformations:
            p["transformations"] = transformations
        self.next_id += 1
        self.panels.append(p)

    def stat(self, title: str, targets: list[dict[str, Any]], unit: str, **kw: Any) -> None:
        opts = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                "colorMode": "value", "graphMode": "area", "textMode": "auto", "justifyMode": "auto",
                "orientation": "auto"}
        self.panel("stat", title, targets, unit=unit, options=opts, **kw)

    def series(self, title: str, targets: list[dict[str, Any]], unit: str, **kw: Any) -> None:
        opts = {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                "tooltip": {"mode": "multi", "sort": "desc"}}
        self.panel("timeseries", title, targets, unit=unit, options=opts, w=kw.pop("w", 12), h=kw.pop("h", 8), **kw)

    def bars(self, title: str, targets: list[dict[str, Any]], unit: str, **kw: Any) -> None:
        opts = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                "orientation": "horizontal", "displayMode": "gradient", "showUnfilled": True}
        self.panel("bargauge", title, targets, unit=unit, options=opts, w=kw.pop("w", 12), h=kw.pop("h", 8), **kw)

    def table(self, title: str, targets: list[dict[str, Any]], unit: str, **kw: Any) -> None:
        self.panel("table", title, targets, unit=unit, options={"showHeader": True},
                   w=kw.pop("w", 12), h=kw.pop("h", 8), **kw)


def query_var(name: str, label: str, query: str, *, multi: bool = True, include_all: bool = True) -> dict[str, Any]:
    v: dict[str, Any] = {
        "name": name, "label": label, "type": "query", "datasource": DS,
        "query": {"query": query, "refId": f"{name}-variable"}, "definition": query,
        "refresh": 2, "sort": 1, "multi": multi, "includeAll": include_all,
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]} if include_all else {},
        "options": [], "hide": 0,
    }
    if include_all:
        v["allValue"] = ".*"
    return v


def variables(extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"list": [
        {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
         "current": {}, "hide": 0, "refresh": 1, "regex": "", "options": []},
        # Every agent exports farmwatch_agent_info, so a GPU-only or PDU-only site is listed too.
        query_var("site", "Site", "label_values(farmwatch_agent_info, site)"),
        query_var("container", "Container", 'label_values(farmwatch_miner_info{site=~"$site"}, container)'),
        query_var("rack", "Rack", 'label_values(farmwatch_miner_info{site=~"$site",container=~"$container"}, rack)'),
        query_var("model", "Model", 'label_values(farmwatch_miner_info{site=~"$site"}, model)'),
        *(extra or []),
    ]}


def dashboard(uid: str, title: str, description: str, board: Board, extra_vars: list[dict[str, Any]] | None = None,
              refresh: str = "1m") -> dict[str, Any]:
    return {
        "uid": uid, "title": title, "description": description, "tags": ["farmwatch"], "editable": True,
        "schemaVersion": 39, "version": 1, "time": {"from": "now-6h", "to": "now"}, "refresh": refresh,
        "timezone": "", "graphTooltip": 1, "templating": variables(extra_vars), "annotations": {"list": []},
        "links": [{"type": "dashboards", "tags": ["farmwatch"], "asDropdown": True, "title": "farmwatch",
                   "includeVars": True, "keepTime": True}],
        "panels": board.panels,
    }


# --- site overview ------------------------------------------------------------------------------------------
def site_overview() -> dict[str, Any]:
    b = Board()
    s = 'site=~"$site"'
    b.stat("Hashrate", [target(f"sum(site:farmwatch_miner_hashrate_hashes_per_second:sum{{{s}}})", "hashrate")], "Hs",
           w=4, description="Current hashrate of every miner of the selected sites.")
    b.stat("Share of expected hashrate", [target(f"site:farmwatch_miner_hashrate_expected:ratio{{{s}}}", "{{site}}")],
           "percentunit", w=4, decimals=1, thresholds=[(None, "red"), (0.9, "orange"), (0.97, "green")],
           description="Hashrate over expected hashrate; a miner that went down still counts in expected; "
                       "sleeping miners do not.")
    b.stat("Power", [target(f"sum(site:farmwatch_miner_power_watts:sum{{{s}}})", "power")], "watt", w=4,
           description="Miner power, each miner from its best source: PDU outlet, else reported, else estimated.")
    b.stat("Efficiency", [target(f"site:farmwatch_miner_efficiency_joules_per_terahash:ratio{{{s}}}", "{{site}}")],
           JTH, w=4, decimals=1, description="Power over hashrate of the miners that report both (1 J/TH = 1 W per TH/s).")
    b.stat("Miners up", [target(f"sum(site:farmwatch_miners_up:sum{{{s}}})", "up"),
                         target(f"sum(site:farmwatch_miners:count{{{s}}})", "polled", "B")], "none", w=4)
    b.stat("Profit per day", [
        target(f"sum(site:farmwatch_miner_revenue_usd_per_day:sum{{{s}}})", "revenue"),
        target(f"sum(site:farmwatch_miner_power_cost_usd_per_day:sum{{{s}}})", "power cost", "B"),
        target(f"sum(site:farmwatch_miner_margin_usd_per_day:sum{{{s}}})", "margin", "C"),
    ], "currencyUSD", w=4, decimals=0,
        description="From the configured hashprice and energy price (economics: in site.yaml), per day at the current rate.")
    b.bars("Miners by state", [target(f"sum by (state) (site:farmwatch_miner_state:count{{{s}}})", "{{state}}",
                                      instant=True)], "none", w=8, h=8)
    b.series("Hashrate and expected hashrate", [
        target(f"sum(site:farmwatch_miner_hashrate_hashes_per_second:sum{{{s}}})", "hashrate"),
        target(f"sum(site:farmwatch_miner_expected_hashrate_hashes_per_second:sum{{{s}}})", "expected", "B"),
    ], "Hs", w=16)
    b.series("Power", [target(f"sum(site:farmwatch_miner_power_watts:sum{{{s}}})", "miners"),
                       target(f"sum(site:farmwatch_power_watts:sum{{{s}}})", "miners and GPUs", "B")], "watt")
    b.series("Miners by state", [target(f"sum by (state) (site:farmwatch_miner_state:count{{{s}}})", "{{state}}")],
             "none")
    m = 'site=~"$site",model=~"$model"'
    b.series("Hashrate by model", [target(f"sum by (model) (model:farmwatch_miner_hashrate_hashes_per_second:sum{{{m}}})",
                                          "{{model}}")], "Hs")
    b.series("Hashrate by container", [target(
        'sum by (container) (container:farmwatch_miner_hashrate_hashes_per_second:sum{site=~"$site",container=~"$container"})',
        "{{container}}")], "Hs")
    b.bars("Efficiency by model", [target(f"model:farmwatch_miner_efficiency_joules_per_terahash:ratio{{{m}}}", "{{model}}",
                                          instant=True)], JTH, w=8, decimals=1,
           thresholds=[(None, "green"), (30, "orange"), (40, "red")])
    b.bars("Margin per day by model", [target(f"sum by (model) (model:farmwatch_miner_margin_usd_per_day:sum{{{m}}})",
                                              "{{model}}", instant=True)], "currencyUSD", w=8,
           thresholds=[(None, "red"), (0, "green")])
    b.bars("Revenue and power cost per day by model", [
        target(f"sum by (model) (model:farmwatch_miner_revenue_usd_per_day:sum{{{m}}})", "{{model}} revenue", instant=True),
        target(f"sum by (model) (model:farmwatch_miner_power_cost_usd_per_day:sum{{{m}}})", "{{model}} power cost", "B",
               instant=True)], "currencyUSD", w=8)
    pools(b)
    attention(b)
    return dashboard("farmwatch-site-overview", "farmwatch / Site overview",
                     "Hashrate, power, efficiency, health and profitability of the site at a glance.", b)


def pools(b: Board) -> None:
    """Where the site's hashrate goes (rules/pools.rules.yml): a foreign pool or account stands out here even
    before FarmwatchUnknownPool, which needs pools: in site.yaml."""
    s = 'site=~"$site"'
    b.bars("Share of hashrate by pool and account", [target(f"pool:farmwatch_miner_hashrate:ratio{{{s}}}",
                                                            "{{pool_host}} {{account}}", instant=True)],
           "percentunit", w=12, decimals=1,
           description="Each pool host and account (the worker's name up to its first dot) with its share of the "
                       "hashrate of the hashing miners. Developer-fee pools of custom firmwares are not in it: the "
                       "firmwares do not say which part of the time they mine there (farmwatch_miner_fee_pool_info).")
    b.bars("Miners by pool and account", [target(f"pool:farmwatch_miners:count{{{s}}}", "{{pool_host}} {{account}}",
                                                 instant=True)], "none", w=12)
    b.series(POOL_GAP_PANEL, [
        target(f"worker:farmwatch_pool_hashrate_gap:ratio{{{s}}}", "{{pool}} {{worker}} gap"),
        target(f"worker:farmwatch_pool_hashrate_gap_allowed:ratio{{{s}}}", "{{pool}} {{worker}} allowed", "B")],
        "percentunit", w=24, h=8,
        description="Pool-side reconciliation (pool_api: in site.yaml, docs/pools.md): the part of the miners' "
                    "hashrate the pool did not credit over its 60-minute window, per worker, and the gap allowed "
                    "(the account's normal gap plus three standard errors of the pool's share count). A gap above "
                    "its allowed line for an hour raises FarmwatchPoolHashrateShortfall.")


# Empty on a site without a pool account in pool_api: (checked on the demo, which reads a simulated pool).
POOL_GAP_PANEL = "Pool vs miners: hashrate gap by worker"


LOCATION = "model, container, rack, shelf, slot, pdu, outlet"
NOT_ASLEEP = 'unless on(site, instance, device) farmwatch_miner_state{state="sleeping"} == 1'


def problem(expr: str, text: str, src: str = "", regex: str = "") -> str:
    """``expr`` with a ``problem`` label saying what is wrong (``$1``: the ``src`` label's value matched by ``regex``)."""
    return f'label_replace({expr}, "problem", "{text}", "{src}", "{regex}")'


def from_one(expr: str, label: str) -> str:
    """``expr`` with ``number`` = its ``label`` + 1 (boards and fans as the machine and floor view number them; the
    metrics count from 0). PromQL cannot add to a label, so each of 0..15 is mapped."""
    for k in range(16):
        expr = f'label_replace({expr}, "number", "{k + 1}", "{label}", "{k}")'
    return expr


def attention(b: Board) -> None:
    """The miners a technician should visit, with where they are and why (the floor view's to-do list)."""
    parts = [
        problem("farmwatch_miner_error_info", "down: $1", "reason", "(.+)"),
        problem('farmwatch_miner_state{state="not_hashing"} == 1', "not hashing"),
        problem(from_one(f"farmwatch_miner_board_chips == 0 {NOT_ASLEEP}", "board"), "board $1 missing",
                "number", "(.+)"),
        problem(from_one(f"farmwatch_miner_fan_speed_rpm == 0 and on(site, instance, device) farmwatch_miner_expected_fans > 0 "
                         f"{NOT_ASLEEP}", "fan"), "fan $1 stopped", "number", "(.+)"),
        problem("max without(board) (farmwatch_miner_board_chip_temperature_celsius) > 90", "chip over 90 °C"),
        problem('device:farmwatch_miner_hashrate_expected:ratio < 0.9 and on(site, instance, device) '
                'farmwatch_miner_state{state=~"hashing|degraded"} == 1 unless on(site, instance, device) '
                'device:farmwatch_miner_boards_missing:count > 0', "hashrate under 90 % of expected"),
    ]
    expr = "(\n  " + "\nor\n  ".join(parts) + f"\n) * on(site, instance, device) group_left({LOCATION}) {INFO}"
    hidden = {k: True for k in ("Time", "Value", "__name__", "job", "instance", "reason", "board", "fan", "number",
                                "state")}
    order = {k: i for i, k in enumerate(("container", "rack", "shelf", "slot", "problem", "model", "device", "pdu",
                                          "outlet", "site"))}
    b.table("Needs attention", [target(expr, instant=True, table=True)], "none", w=24, h=9,
            description="Down and sick miners with their site-map place and what is wrong: the floor view's to-do "
                        "list (the agent's / page). Boards and fans are numbered from 1, as on the machine.",
            transformations=[{"id": "organize", "options": {"excludeByName": hidden, "indexByName": order}},
                             {"id": "sortBy", "options": {"sort": [{"field": "container"}, {"field": "rack"}]}}])
    b.table("Firmware and model inventory", [target(
        f"count by (make, model, firmware, firmware_version) ({INFO})", instant=True, table=True)], "none", w=12, h=9,
        description="Miners per make, model, firmware and firmware version (from farmwatch_miner_info).",
        transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True},
                                                        "renameByName": {"Value": "miners"}}},
                         {"id": "sortBy", "options": {"sort": [{"field": "miners", "desc": True}]}}])
    b.bars("Fleet by pool", [target(
        "count by (url) ((farmwatch_miner_pool_active == 1) * on(site, instance, device, pool) group_left(url) "
        f"farmwatch_miner_pool_info * on(site, instance, device) group_left() {INFO})", "{{url}}", instant=True)],
        "none", w=12, h=9, decimals=0,
        description="Miners mining on each pool now (a firmware that splits hashing over several pools counts on each).")


# --- miner detail -------------------------------------------------------------------------------------------
def miner_detail() -> dict[str, Any]:
    b = Board()
    d = 'device="$device"'
    b.panel("stat", "State", [target(f"device:farmwatch_miner_state:code{{{d}}}", "state")], unit="none", w=4, h=5,
            mappings=STATE_MAPPINGS, options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                                              "colorMode": "background", "graphMode": "none", "textMode": "value"})
    b.stat("Hashrate", [target(f"farmwatch_miner_hashrate_hashes_per_second{{{d}}}", "current"),
                        target(f"farmwatch_miner_expected_hashrate_hashes_per_second{{{d}}}", "expected", "B")], "Hs",
           w=6, h=5)
    b.stat("Power", [target(f"device:farmwatch_miner_power_watts:preferred{{{d}}}", "{{source}}")], "watt", w=4, h=5)
    b.stat("Efficiency", [target(f"device:farmwatch_miner_efficiency_joules_per_terahash:ratio{{{d}}}", "J/TH")], JTH,
           w=4, h=5, decimals=1)
    b.stat("Uptime", [target(f"farmwatch_miner_uptime_seconds{{{d}}}", "uptime")], "s", w=6, h=5)
    b.series("Hashrate", [target(f"farmwatch_miner_hashrate_hashes_per_second{{{d}}}", "current"),
                          target(f"farmwatch_miner_expected_hashrate_hashes_per_second{{{d}}}", "expected", "B")], "Hs")
    b.series("Hashrate per board", [target(f"farmwatch_miner_board_hashrate_hashes_per_second{{{d}}}", "board {{board}}")],
             "Hs")
    b.series("Chip temperature per board", [
        target(f"farmwatch_miner_board_chip_temperature_celsius{{{d}}}", "chips, board {{board}}"),
        target(f"farmwatch_miner_board_temperature_celsius{{{d}}}", "PCB, board {{board}}", "B")], "celsius",
        thresholds=[(None, "green"), (80, "orange"), (90, "red")])
    b.series("Fans", [target(f"farmwatch_miner_fan_speed_rpm{{{d}}}", "fan {{fan}}")], "rotrpm")
    b.bars("Chips answering per board", [target(f"farmwatch_miner_board_chips{{{d}}}", "board {{board}}", instant=True)],
           "none", w=8, description="0 chips on a board: the board is missing or dead.")
    b.series("Shares per second", [
        target(f"sum by (pool) (rate(farmwatch_miner_pool_accepted_shares_total{{{d}}}[$__rate_interval]))",
               "accepted, pool {{pool}}"),
        target(f"sum by (pool) (rate(farmwatch_miner_pool_rejected_shares_total{{{d}}}[$__rate_interval]))",
               "rejected, pool {{pool}}", "B")], "none", w=8)
    b.table("Pools", [target(f"farmwatch_miner_pool_info{{{d}}} * on(site, instance, device, pool) group_left() "
                             f"farmwatch_miner_pool_up{{{d}}}", instant=True, table=True)], "none", w=8,
            mappings=[{"type": "value", "options": {"0": {"text": "dead", "color": "red"}, "1": {"text": "alive", "color": "green"}}}],
            transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True, "__name__": True, "job": True},
                                                            "renameByName": {"Value": "status"}}}])
    b.table("Identity and location", [target(f"farmwatch_miner_info{{{d}}}", instant=True, table=True)], "none", w=24, h=5,
            transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True, "Value": True, "__name__": True}}}])
    device_var = query_var("device", "Miner", f"label_values({INFO}, device)", multi=False, include_all=False)
    return dashboard("farmwatch-miner-detail", "farmwatch / Miner detail",
                     "One miner: state, hashrate per board, temperatures, fans, pools, identity and location.", b,
                     [device_var])


# --- rack / container map -----------------------------------------------------------------------------------
def rack_map() -> dict[str, Any]:
    b = Board()
    r = 'site=~"$site",container=~"$container",rack=~"$rack"'
    b.table("Racks", [
        target(f"rack:farmwatch_miner_hashrate_expected:ratio{{{r}}}", ref="A", instant=True, table=True),
        target(f"rack:farmwatch_miner_power_watts:sum{{{r}}}", ref="B", instant=True, table=True),
        target(f"rack:farmwatch_miner_efficiency_joules_per_terahash:ratio{{{r}}}", ref="C", instant=True, table=True),
    ], "none", w=24, h=7, description="Per rack: share of expected hashrate, power and efficiency.",
        transformations=[{"id": "merge", "options": {}},
                         {"id": "organize", "options": {
                             "excludeByName": {"Time": True, "site": True},
                             "renameByName": {"Value #A": "hashrate share", "Value #B": "power",
                                              "Value #C": "J/TH"}}}])
    # Grid per rack: rows are shelves, columns are slots (site map), one cell per miner.
    matrix = [{"id": "groupingToMatrix", "options": {"columnField": "slot", "rowField": "shelf", "valueField": "Value"}}]
    cell = {"align": "center", "cellOptions": {"type": "color-background"}}
    b.row("Rack $rack", repeat="rack")
    b.table("State by position", [target(joined("device:farmwatch_miner_state:code", "shelf, slot"),
                                         instant=True, table=True)], "none", w=8, h=8, mappings=STATE_MAPPINGS,
            transformations=matrix, field_custom=cell, description="Rows: shelf; columns: slot.")
    b.table("Hottest chip by position", [target(joined(
        "max without(board) (farmwatch_miner_board_chip_temperature_celsius)", "shelf, slot"), instant=True, table=True)],
        "celsius", w=8, h=8, transformations=matrix, field_custom=cell, decimals=0,
        thresholds=[(None, "blue"), (60, "green"), (85, "orange"), (90, "red")])
    b.table("Share of expected hashrate by position", [target(joined("device:farmwatch_miner_hashrate_expected:ratio",
                                                                     "shelf, slot"), instant=True, table=True)],
            "percentunit", w=8, h=8, transformations=matrix, field_custom=cell, decimals=0,
            thresholds=[(None, "red"), (0.8, "orange"), (0.95, "green")])
    return dashboard("farmwatch-rack-map", "farmwatch / Rack map",
                     "Containers and racks by position (site map shelf and slot): state, temperature, hashrate share.", b)


def both(source: str, other: str) -> str:
    """Total power of one source over the selected miners that also have the other source."""
    mine = joined(f'farmwatch_miner_power_watts{{source="{source}"}}')
    return f'sum({mine} and on(site, instance, device) farmwatch_miner_power_watts{{source="{other}"}})'


# --- power --------------------------------------------------------------------------------------------------
def power() -> dict[str, Any]:
    b = Board()
    s = 'site=~"$site"'
    b.series("Site power and contract limit", [
        target(f"sum(site:farmwatch_power_watts:sum{{{s}}})", "measured (miners and GPUs)"),
        target(f"max(farmwatch_site_power_limit_watts{{{s}}})", "limit", "B")], "watt", w=16)
    b.bars("Miner power by source", [target(
        f"sum by (source) ({joined('device:farmwatch_miner_power_watts:preferred')})", "{{source}}", instant=True)],
        "watt", w=8, description="Where each miner's power figure comes from: pdu (measured at its outlet), reported, "
                                 "estimated, nameplate.")
    b.series("Measured vs reported (miners with both)", [
        target(both("pdu", "reported"), "measured at PDU"),
        target(both("reported", "pdu"), "reported by miners", "B")],
        "watt", description="Only miners with both a PDU outlet reading and their own figure.")
    b.series("Rack: measured minus reported", [
        target('farmwatch_rack:power_gap_watts{site=~"$site",container=~"$container",rack=~"$rack"}',
               "{{container}} / {{rack}} gap"),
        target('farmwatch_rack:power_unreported_watts{site=~"$site",container=~"$container",rack=~"$rack"}',
               "{{container}} / {{rack}} not reported", "B")],
        "watt", description="Gap: PDU-measured minus miner-reported power, over the outlets whose every miner reports "
                             "its power (positive: the miners under-report). Not reported: measured power of outlets "
                             "with a miner that reports none, left out of the gap.")
    b.series("Power by rack", [target(
        'rack:farmwatch_miner_power_watts:sum{site=~"$site",container=~"$container",rack=~"$rack"}',
        "{{container}} / {{rack}}")], "watt")
    b.series("PDU phase current", [target(f"farmwatch_pdu_phase_current_amperes{{{s}}}", "{{device}} L{{phase}}")], "amp")
    b.series("PDU phase load (of rated current)", [target(f"farmwatch_pdu_phase_load_ratio{{{s}}}",
                                                           "{{device}} L{{phase}}")], "percentunit",
             thresholds=[(None, "green"), (0.8, "red")], description="As the PDU reports it; 80 % is the usual "
                                                                      "continuous-load limit.")
    b.series("Power domain phase current and budget", [
        target(f"farmwatch_power_domain_phase_current_amperes{{{s}}}", "{{domain}} L{{phase}}"),
        target(f"farmwatch_power_domain_phase_budget_amperes{{{s}}}", "{{domain}} L{{phase}} budget", "B")], "amp")
    b.series("PDU phase voltage", [target(f"farmwatch_pdu_phase_voltage_volts{{{s}}}", "{{device}} L{{phase}}")], "volt")
    b.bars("PDU outlet power", [target(f"farmwatch_pdu_outlet_power_watts{{{s}}}", "{{device}} #{{outlet}}",
                                       instant=True)], "watt", w=12, h=10)
    b.series("Power domains: load and budget", [
        target(f"farmwatch_power_domain_load_watts{{{s}}}", "{{domain}} load"),
        target(f"farmwatch_power_domain_budget_watts{{{s}}}", "{{domain}} budget", "B")], "watt", h=10)
    b.stat("UPS on battery", [target(f"farmwatch_ups_on_battery{{{s}}}", "{{device}}")], "none", w=8,
           mappings=[{"type": "value", "options": {"0": {"text": "mains", "color": "green"},
                                                   "1": {"text": "on battery", "color": "red"}}}])
    b.stat("UPS battery charge", [target(f"farmwatch_ups_battery_charge_ratio{{{s}}}", "{{device}}")], "percentunit",
           w=8, thresholds=[(None, "red"), (0.5, "orange"), (0.9, "green")])
    b.stat("UPS runtime left", [target(f"farmwatch_ups_runtime_seconds{{{s}}}", "{{device}}")], "s", w=8)
    curtailment(b)
    energy(b)
    return dashboard("farmwatch-power", "farmwatch / Power",
                     "Site power against its limit, PDU phases and outlets, UPS, and measured against reported power.", b)


# The curtailment row's panels: empty while no window is declared (the tests exempt them on sites without one and
# check them during a window, tests/agent/test_curtailment.py).
CURTAILMENT_PANELS = ("Curtailment: load, baseline and target", "Curtailment: shed", "Curtailment: miners awake",
                      "Curtailment: sleeping miners' draw", "Curtailment: load by power source")


def curtailment(b: Board) -> None:
    """rules/curtailment.rules.yml: each declared window's load from the miners' best power source."""
    s = 'site=~"$site"'
    b.row("Curtailment")
    load, shed, awake, residual, sources = CURTAILMENT_PANELS
    b.series(load, [
        target(f"window:farmwatch_curtailment_load_watts:sum{{{s}}}", "{{window}} load"),
        target(f"window:farmwatch_curtailment_baseline_watts{{{s}}}", "{{window}} baseline", "B"),
        target(f"max by (site, window) (farmwatch_curtailment_target_watts{{{s}}})", "{{window}} target", "C")],
        "watt", w=12, h=8, description="The window's scope: PDU-measured power first, then reported, estimated, "
                                       "nameplate (load by power source shows the mix).")
    b.series(shed, [target(f"window:farmwatch_curtailment_shed_watts{{{s}}}", "{{window}}")], "watt", w=12, h=8,
             description="Baseline (mean load over the baseline period before start) minus the load now.")
    b.series(awake, [
        target(f"window:farmwatch_curtailment_miners_awake:count{{{s}}}", "{{window}} awake"),
        target(f"window:farmwatch_curtailment_miners:count{{{s}}}", "{{window}} covered", "B")], "none", w=8)
    b.series(residual, [target(f"window:farmwatch_curtailment_sleeping_power_watts:sum{{{s}}}", "{{window}}")],
             "watt", w=8, description="What the sleeping miners of the window still draw.")
    b.series(sources, [target(f"window_source:farmwatch_curtailment_load_watts:sum{{{s}}}", "{{window}} {{source}}")],
             "watt", w=8)


ENERGY_PANELS = ("Energy by source: power", "Energy by source: kWh over the last day",
                 "Energy by source: cost, revenue and margin per day", "Energy by source: miners")


def energy(b: Board) -> None:
    """rules/energy.rules.yml: the miners' power and energy by the source-root power domain feeding them
    (docs/energy.md); a site whose power_domains file names no source shows nothing here."""
    s = 'site=~"$site"'
    b.row("Energy by source")
    power, kwh, money, miners = ENERGY_PANELS
    b.series(power, [
        target(f"source:farmwatch_miner_power_watts:sum{{{s}}}", "{{source}} miners"),
        target(f"source:farmwatch_power_domain_load_watts:sum{{{s}}}", "{{source}} metered at the domain", "B")],
        "watt", w=12, h=8, description="Miners: each miner's best power figure (PDU outlet first) summed by the "
                                       "source that feeds it. Metered: what the source-root domains' PDUs measure.")
    # The outlet's energy register where a PDU feeds only this miner, else the agent's integration of the miner's
    # own power (the same preference as docs/energy.md's kWh query).
    joules = (f"(increase(farmwatch_miner:energy_joules_total:pdu_register{{{s}}}[1d]) or on(site, instance, device) "
              f'increase(farmwatch_miner_energy_joules_total{{{s}, method="integrated"}}[1d]))')
    b.bars(kwh, [target(f"sum by (source) ({joules} * on(site, instance, device) group_left(source) "
                        f"farmwatch_miner_energy_source_info{{{s}}}) / 3.6e6", "{{source}}", instant=True)],
           "kwatth", w=12, h=8, description="Energy drawn over the last 24 hours (or since the counters began) by "
                                            "source: the PDU outlet's register where it feeds one miner, else the "
                                            "agent's integration of the miner's own power figure.")
    b.series(money, [
        target(f"source:farmwatch_miner_power_cost_usd_per_day:sum{{{s}}}", "{{source}} cost"),
        target(f"source:farmwatch_miner_revenue_usd_per_day:sum{{{s}}}", "{{source}} revenue", "B"),
        target(f"source:farmwatch_miner_margin_usd_per_day:sum{{{s}}}", "{{source}} margin", "C")],
        "currencyUSD", w=16, description="At the current draw and hashprice, each miner's power priced at its "
                                         "source's price_usd_per_kwh; miners drawing power while down or asleep "
                                         "count with 0 revenue.")
    b.stat(miners, [target(f"count by (source) (farmwatch_miner_energy_source_info{{{s}}})", "{{source}}")],
           "none", w=8, description="Miners fed by each source (the source-root domain whose PDUs, racks or miner "
                                    "list hold them).")


# --- GPU hall -----------------------------------------------------------------------------------------------
def gpu_hall() -> dict[str, Any]:
    b = Board()
    s = 'site=~"$site"'
    name = f' * on(site, instance, gpu) group_left(index, name) farmwatch_gpu_info{{{s}}}'
    b.stat("GPUs answering", [target(f"sum(farmwatch_gpu_up{{{s}}})", "up"),
                              target(f"count(farmwatch_gpu_up{{{s}}})", "known", "B")], "none", w=6)
    b.stat("GPU power", [target(f"sum(farmwatch_gpu_power_watts{{{s}}})", "power")], "watt", w=6)
    b.stat("Mean utilization", [target(f'avg(farmwatch_gpu_utilization_ratio{{{s},engine="gpu"}})', "gpu")],
           "percentunit", w=6)
    b.stat("Fallen off the bus", [target(f"sum(farmwatch_gpu_fallen_off_bus{{{s}}})", "GPUs")], "none", w=6,
           thresholds=[(None, "green"), (1, "red")])
    b.series("Utilization", [target(f'farmwatch_gpu_utilization_ratio{{{s},engine="gpu"}}{name}',
                                    "{{instance}} #{{index}}")], "percentunit")
    b.series("Power", [target(f"farmwatch_gpu_power_watts{{{s}}}{name}", "{{instance}} #{{index}}")], "watt")
    b.series("Temperature", [target(f"farmwatch_gpu_temperature_celsius{{{s}}}{name}",
                                    "{{instance}} #{{index}} {{sensor}}")], "celsius",
             thresholds=[(None, "green"), (80, "orange"), (90, "red")])
    b.series("GPUs throttled, by reason", [target(
        f'sum by (reason) (farmwatch_gpu_clocks_event_active{{{s},reason!~"gpu_idle|applications_clocks_setting|display_clock_setting"}})',
        "{{reason}}")], "none", description="sw_power_cap is normal under full load; thermal and power-brake "
                                            "slowdowns are not.")
    b.bars("XID errors in the last 24 hours", [target(
        f"sum by (xid) (increase(farmwatch_gpu_xid_errors_total{{{s}}}[24h]))", "XID {{xid}}", instant=True)],
        "none", w=8, decimals=0)
    b.bars("Uncorrected ECC errors in the last 24 hours", [target(
        f'sum by (site, instance, gpu) (increase(farmwatch_gpu_ecc_errors_total{{{s},type="uncorrected",scope="volatile"}}[24h]))',
        "{{instance}} {{gpu}}", instant=True)], "none", w=8, decimals=0)
    b.bars("Remapped memory rows", [target(f"farmwatch_gpu_remapped_rows{{{s}}}", "{{gpu}} {{type}}", instant=True)],
           "none", w=8, decimals=0)
    return dashboard("farmwatch-gpu-hall", "farmwatch / GPU hall",
                     "NVIDIA GPUs: utilization, power, temperatures, throttling, XID and ECC errors.", b)


DASHBOARDS = {
    "site-overview.json": site_overview,
    "miner-detail.json": miner_detail,
    "rack-map.json": rack_map,
    "power.json": power,
    "gpu-hall.json": gpu_hall,
}


def render(build: Any) -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name, build in DASHBOARDS.items():
        path = HERE / name
        text = render(build)
        if check:
            if not path.is_file() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print("out of date (run python dashboards/generate.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
