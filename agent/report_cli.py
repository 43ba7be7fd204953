"""``farmwatch report ...``: settlement and accounting records built from Prometheus's HTTP API (never from
the agent: Prometheus holds the history, the rules and every shard's series)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .output import emit
from .yamlread import parse_duration


def _period_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--prometheus", required=True, help="Prometheus base URL, e.g. http://prometheus:9090")
    p.add_argument("--from", dest="t_from", required=True, help="start: ISO 8601 with a zone, Unix seconds, or now")
    p.add_argument("--to", dest="t_to", default="now", help="end (default now)")
    p.add_argument("--format", choices=["csv", "json"], default="csv")
    p.add_argument("--step", default="15s", help="sampling step of the range queries (default 15s)")


def _window(args: argparse.Namespace, duration_flag: str) -> tuple[float, float, float, float] | None:
    """--from, --to, --step and one more duration flag (by its dest), checked; None after printing the usage
    error (the caller exits 2)."""
    from .report_curtailment import parse_time

    try:
        t_from, t_to = parse_time(args.t_from), parse_time(args.t_to)
        step, other = parse_duration(args.step), parse_duration(getattr(args, duration_flag))
    except ValueError as exc:
        print(f"farmwatch: {exc}", file=sys.stderr)
        return None
    if t_to <= t_from:
        print("farmwatch: --to must be after --from", file=sys.stderr)
        return None
    return t_from, t_to, step, other


def cmd_curtailment(args: argparse.Namespace) -> int:
    from .report_curtailment import ReportError, curtailment_report, render

    window = _window(args, "baseline")
    if window is None:
        return 2
    t_from, t_to, step, baseline = window
    try:
        records = curtailment_report(args.prometheus, t_from, t_to, step=step, residual_w=args.residual_w,
                                     infer_share=args.infer_share, baseline_s=baseline)
    except ReportError as exc:
        print(f"farmwatch: {exc}", file=sys.stderr)
        return 1
    emit(render(records, args.format).rstrip("\n"))
    return 0


def cmd_energy(args: argparse.Namespace) -> int:
    from .report_curtailment import ReportError
    from .report_energy import energy_report, render

    window = _window(args, "bucket")
    if window is None:
        return 2
    t_from, t_to, step, bucket = window
    try:
        rows = energy_report(args.prometheus, t_from, t_to, bucket=bucket, step=step)
    except ReportError as exc:
        print(f"farmwatch: {exc}", file=sys.stderr)
        return 1
    emit(render(rows, args.format).rstrip("\n"))
    return 0


def add_cli(subparsers: Any) -> None:
    report = subparsers.add_parser("report", allow_abbrev=False, help="settlement and energy records from Prometheus")
    sub = report.add_subparsers(dest="report_command", required=True)
    c = sub.add_parser("curtailment", allow_abbrev=False,
                       help="one settlement record per curtailment window: baseline, shed kW, time to target, "
                       "miners that did not sleep or woke early, residual draw (docs/curtailment.md)")
    _period_args(c)
    c.add_argument("--residual-w", type=float, default=100.0,
                   help="a sleeping miner drawing more than this (median while asleep, W) is listed as a finding (default 100)")
    c.add_argument("--infer-share", type=float, default=None,
                   help="also report periods in which at least this share (0-1) of the miners slept together, as "
                   "site-wide windows nobody declared (scope_kind inferred, no target); default: the site's "
                   "curtailment: {infer_share} as Prometheus recorded it, if any")
    c.add_argument("--baseline", default="30m", help="baseline period before an inferred window (default 30m)")
    c.set_defaults(func=cmd_curtailment)
    e = sub.add_parser("energy", allow_abbrev=False,
                       help="kWh per day by energy source, rack and model, hashing vs curtailed vs idle (docs/energy.md)")
    _period_args(e)
    e.set_defaults(step="60s")
    e.add_argument("--bucket", default="1d", help="length of each row's period (default 1d, from --from)")
    e.set_defaults(func=cmd_energy)
