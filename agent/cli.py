"""``farmwatch`` command line: run, poll, demo, check-config (docs/architecture.md, "Command line").

Exit codes: 0 success, 1 the device or config could not be read (one line on stderr, no traceback),
2 usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from collectors.asic.driver import Driver
from collectors.asic.reading import MinerReading
from collectors.errors import DeviceError

from . import __version__, logs
from .output import cli_message, emit, quiet_stdout

if TYPE_CHECKING:  # aiohttp is imported only by the commands that talk to devices: --help stays quick
    from collectors.asic.http import WebCredentials

EXIT_OK, EXIT_UNREADABLE, EXIT_USAGE = 0, 1, 2


def _fail(message: str, code: int = EXIT_UNREADABLE) -> int:
    print(f"farmwatch: {message}", file=sys.stderr)
    return code


# -- poll -----------------------------------------------------------------------------------------------
def _table(r: MinerReading) -> str:
    def f(v: float | None, digits: int = 2) -> str:
        return "-" if v is None else f"{v:.{digits}f}"

    lines = [
        f"device      {r.device}",
        f"miner       {r.make or '?'} {r.model or '?'}  ({r.driver}, firmware {r.firmware or '?'} "
        f"{r.firmware_version or ''})".rstrip(),
        f"identity    mac {r.mac or '-'}  serial {r.serial or '-'}  hostname {r.hostname or '-'}",
        f"state       {r.state}",
        f"hashrate    {f(r.hashrate_ths)} TH/s   expected {f(r.expected_hashrate_ths)} TH/s   ({r.algorithm})",
        f"power       {f(r.power_w, 0)} W ({r.power_source or 'not reported'})   efficiency {f(r.efficiency_jth)} J/TH",
        f"fans        {' '.join('?' if x is None else str(x) for x in r.fans_rpm) or '-'} rpm",
        f"uptime      {r.uptime_s if r.uptime_s is not None else '-'} s",
        "boards      #   TH/s     chips     board °C  chip °C",
    ]
    for b in r.boards:
        chips = f"{b.chips if b.chips is not None else '-'}/{b.expected_chips if b.expected_chips is not None else '-'}"
        lines.append(f"            {b.index:<3} {f(b.hashrate_ths):>7}  {chips:>9}  {f(b.temp_c, 1):>8}  {f(b.chip_temp_c, 1):>7}")
    lines.append("pools       #   status    accepted  rejected  stale  url  user")
    for i, p in enumerate(r.pools):
        idx = p.index if p.index is not None else i
        lines.append(f"            {idx:<3} {p.status:<8} {p.accepted if p.accepted is not None else '-':>9} "
                     f"{p.rejected if p.rejected is not None else '-':>9} {p.stale if p.stale is not None else '-':>6}"
                     f"  {p.url}  {p.user or ''}")
    errors = "not read from this firmware" if r.errors is None else "; ".join(f"{e.code}: {e.message}" for e in r.errors)
    lines.append("errors      " + (errors or "-"))
    lines.extend("note        " + n for n in r.notes)
    return "\n".join(lines)


def _flag_secret(path: str | None, env: str | None) -> str | None:
    """The secret a --*-file/--*-env flag pair names, by the daemon's rules (agent.secret); None when neither."""
    from pathlib import Path

    from .secret import Secret

    if path is None and env is None:
        return None
    return Secret(path=Path(path) if path else None, env=env).reveal()


def cmd_poll(args: argparse.Namespace) -> int:
    from collectors.asic.drivers import registry

    from .scan.cli import web_login
    from .secret import SecretError
    from .targets import MINER_PORT, TargetError, parse_target

    target: str = args.target
    if target.startswith("nvml://"):
        from collectors.nvml import poll_nvml

        return asyncio.run(poll_nvml(as_json=args.json))
    if target.startswith("snmp://"):
        from collectors.snmp.cli import poll_snmp_url

        try:
            return asyncio.run(poll_snmp_url(target, driver=args.driver, as_json=args.json, timeout=args.timeout,
                                             args=args, read_secret=_flag_secret))
        except SecretError as e:
            return _fail(str(e), EXIT_USAGE)
    if args.driver and args.driver not in registry():
        return _fail(f"unknown driver {args.driver!r}; known: {', '.join(sorted(registry()))}", EXIT_USAGE)
    try:
        # Host and port checked before anything is sent: a bad one is a usage error, not an unreadable device.
        dev = parse_target(target, MINER_PORT)
    except TargetError as e:
        return _fail(f"poll: {e}", EXIT_USAGE)
    try:
        credentials = web_login(args)
    except SecretError as e:
        return _fail(f"poll: {e}", EXIT_USAGE)
    try:
        # Without a port the miner is read at its driver's primary API port (an HTTP-only one's web port).
        reading, seen = asyncio.run(_poll_checked(dev.host, dev.port, driver=args.driver, timeout=args.timeout,
                                                  credentials=credentials, auto_port=not dev.port_given))
    except DriverFailed as e:
        return _fail(f"{dev}: {e.error.reason}: {cli_message(e.error)}{e.hint}")
    warnings = []
    if seen is not None and seen.name != args.driver:
        warnings.append(f"--driver {args.driver}: the device identifies as {seen.name}; the values were read with the "
                        f"{args.driver} parser and may be wrong (leave out --driver to identify it)")
    for w in warnings:
        print(f"farmwatch: warning: {w}", file=sys.stderr)
    if args.json:
        out = reading.to_json()
        if warnings:
            out["warnings"] = warnings
        emit(json.dumps(out, indent=2))
    else:
        emit(_table(reading))
    return EXIT_OK


class DriverFailed(Exception):
    def __init__(self, error: DeviceError, hint: str = "") -> None:
        super().__init__(error.message)
        self.error, self.hint = error, hint


async def _poll_checked(host: str, port: int, *, driver: str | None, timeout: float,
                        credentials: WebCredentials | None, auto_port: bool) -> tuple[MinerReading, Driver | None]:
    """``poll_once``, and with ``--driver`` also what the device identifies as (a second, read-only probe):
    a forced driver reads another firmware's replies without complaint, which must not pass silently."""
    from collectors.asic.http import close_session
    from collectors.asic.poll import MinerSession, poll

    session = MinerSession(host=host, port=port, driver_name=driver, credentials=credentials, auto_port=auto_port)
    loop = asyncio.get_running_loop()
    try:
        try:
            reading = await poll(session, deadline=loop.time() + timeout)
        except DeviceError as e:
            seen = await _identified(host, port, timeout) if driver else None
            hint = f" (the device identifies as {seen.name}; leave out --driver)" if seen and seen.name != driver else ""
            raise DriverFailed(e, hint) from None
        seen = await _identified(host, port, timeout) if driver else None
        return reading, seen
    finally:
        await close_session()


async def _identified(host: str, port: int, timeout: float) -> Driver | None:
    from collectors.asic.poll import MinerSession, identify

    try:
        return await identify(MinerSession(host=host, port=port), deadline=asyncio.get_running_loop().time() + timeout)
    except DeviceError:
        return None


# -- run / check-config ---------------------------------------------------------------------------------
def cmd_check_config(args: argparse.Namespace) -> int:
    from .config import check_config

    problems = check_config(args.config, check_secrets=not args.skip_secrets)
    if problems:  # one write: a reader that goes away (| head) still leaves the exit status saying "problems"
        emit("\n".join(str(p) for p in problems))
        return _fail(f"{len(problems)} problem(s) in {args.config}")
    emit(f"{args.config}: ok")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from .runtime import agent_from_config, run_loop
    from .targets import TargetError, parse_shard
    from .yamlread import ConfigError

    logs.setup(args.log_level, args.log_format)
    try:
        shard = parse_shard(args.shard) if args.shard else None
    except TargetError as e:
        return _fail(f"--shard: {e}", EXIT_USAGE)
    from collectors.asic.expected import StorageError

    try:
        agent = agent_from_config(args.config, listen=args.listen, shard=shard, web_config=args.web_config,
                                  storage=args.storage)
    except StorageError as e:
        return _fail(f"{e}; nothing started")
    except ConfigError as e:
        for p in e.problems:
            print(str(p), file=sys.stderr)
        return _fail(f"{len(e.problems)} problem(s) in {args.config}; nothing started")
    except OSError as e:
        return _fail(f"cannot read {args.config}: {e.strerror}")
    try:
        run_loop(agent.run_until_signal())
    except OSError as e:
        return _fail(f"cannot listen on {agent.listen}: {e.strerror}")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    logs.setup(args.log_level, args.log_format)
    try:
        asyncio.run(run_demo(miners=args.miners, seed=args.seed, listen=args.listen, interval=args.interval,
                             base_ip=args.base_ip, duration=args.duration))
    except OSError as e:
        return _fail(f"demo could not start: {e.strerror or e}")
    except KeyboardInterrupt:
        pass
    return EXIT_OK


class _RegistryHelp(argparse.HelpFormatter):
    """Fills ``{drivers}``, ``{profiles}`` and ``{collectors}`` in a help text from the registries when help is
    printed (loading every driver costs most of a second, which a command that is not asking for help should not
    pay)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help
        if text and "{drivers}" in text:
            from .sections.miners import driver_names
            from .sections.snmp import profile_names

            text = text.replace("{drivers}", ", ".join(driver_names()))
            text = text.replace("{profiles}", ", ".join(profile_names()))
        if text and "{collectors}" in text:
            from collectors.registry import kinds

            text = text.replace("{collectors}", "; ".join(
                f"{k.section}: the {k.name} collector ({k.summary})" for k in kinds().values()))
        return text


def build_parser() -> argparse.ArgumentParser:
    from .scan.cli import add_web_login_flags

    p = argparse.ArgumentParser(prog="farmwatch", description="Telemetry for ASIC mining and GPU fleets.")
    p.add_argument("--version", action="version", version=f"farmwatch {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    def log_flags(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--log.level", dest="log_level", default="info",
                        choices=["debug", "info", "warning", "error"])
        sp.add_argument("--log.format", dest="log_format", default="logfmt", choices=["logfmt", "json"])

    run = sub.add_parser("run", help="run the site agent", formatter_class=_RegistryHelp)
    run.add_argument("--config", required=True, help="site.yaml, with a section for each collector: "
                     "{collectors}")
    run.add_argument("--web.listen-address", dest="listen", default=None, help="overrides listen: (default :10428)")
    run.add_argument("--web.config.file", dest="web_config", default=None,
                     help="TLS and basic auth for the endpoints (Prometheus exporter-toolkit format)")
    run.add_argument("--storage.path", dest="storage", default=None,
                     help="state directory: miners found in CIDR/range targets are kept there across restarts "
                     "(overrides storage: {path})")
    run.add_argument("--shard", default=None, help="i/n: poll only this agent's share of the site (overrides shard:)")
    log_flags(run)
    run.set_defaults(func=cmd_run)

    poll = sub.add_parser("poll", help="poll one device once and print what it reports",
                          formatter_class=_RegistryHelp, epilog="exit status: 0 read, 1 device unreadable (one line on stderr), 2 usage error")
    poll.add_argument("target", help="HOST[:PORT] for a miner (no port: 4028, or the web port of an HTTP-only "
                      "firmware once identified), snmp://[COMMUNITY@]HOST[:PORT] for a PDU, UPS, sensor or "
                      "switch, nvml:// for this host's GPUs")
    poll.add_argument("--driver", default=None, help="skip identification and use this driver: {drivers} (SNMP: a profile: {profiles})")
    poll.add_argument("--json", action="store_true", help="the poll --json contract instead of a table")
    poll.add_argument("--timeout", type=float, default=10.0, help="deadline for the whole poll, seconds")
    add_web_login_flags(poll)
    from collectors.snmp.cli import add_snmp_flags

    add_snmp_flags(poll)
    poll.set_defaults(func=cmd_poll)

    demo = sub.add_parser("demo", help="a simulated site with the agent polling it")
    demo.add_argument("--miners", type=int, default=1000)
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--interval", type=float, default=15.0, help="poll interval, seconds")
    demo.add_argument("--base-ip", default="127.20.0.1",
                      help="first loopback address of the simulated miners; their PDUs, UPS and switch follow them "
                      "(two demos with non-overlapping ranges can run on one host)")
    demo.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    demo.add_argument("--web.listen-address", dest="listen", default=":10428")
    log_flags(demo)
    demo.set_defaults(func=cmd_demo)

    from .dashboards import add_cli as add_dashboards_cli
    from .scan.cli import add_cli as add_scan_cli

    add_scan_cli(sub)

    add_dashboards_cli(sub)
    from .report_cli import add_cli as add_report_cli

    add_report_cli(sub)

    check = sub.add_parser("check-config", help="report every problem in a config, with file, line and key")
    check.add_argument("config")
    check.add_argument("--skip-secrets", action="store_true",
                       help="do not require secret files to exist (checking a config on another machine)")
    check.set_defaults(func=cmd_check_config)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse exits 2 on usage errors, 0 on --help
        return int(e.code or 0)
    try:
        return int(args.func(args))
    except BrokenPipeError:
        # Output that did not go through emit() (the SNMP and NVML tables) met a closed pipe: only a device
        # that was read prints to stdout (failures go to stderr), so the read succeeded; end as emit() does.
        quiet_stdout()
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
