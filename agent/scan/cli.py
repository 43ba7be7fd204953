"""The ``farmwatch scan`` command: its flags (and the web-login flags ``poll`` shares), the sweep, the output."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from collectors.asic.expected import write_atomic
from collectors.asic.http import WebCredentials

from ..output import emit
from ..secret import Secret, SecretError
from ..targets import TargetError, expand_targets
from .output import check_output_path, sitemap_csv, state_of, summarize, table, targets_yaml
from .sweep import scan


def add_cli(subparsers: Any) -> None:
    """Register ``farmwatch scan`` on the CLI's subparsers (``cmd_scan`` is the handler, in ``func``)."""
    p = subparsers.add_parser("scan", help="find the miners in address ranges and identify them")
    p.add_argument("specs", nargs="+", metavar="CIDR|RANGE", help="e.g. 10.0.0.0/16 or 10.0.8.10-10.0.8.250")
    p.add_argument("--json", action="store_true", help="print a JSON array instead of a table")
    p.add_argument("--concurrency", type=int, default=1024, help="TCP connects in flight (default 1024)")
    p.add_argument("--timeout", type=float, default=1.0, help="connect timeout per port, seconds (default 1)")
    p.add_argument("--identify-timeout", type=float, default=10.0, help="identification + poll per host")
    p.add_argument("--write-targets", metavar="FILE",
                   help="write a site.yaml miners: block (every responding host: miners by driver, the rest as comments)")
    p.add_argument("--write-sitemap", metavar="FILE",
                   help="write a site-map CSV, a row per miner (mac, else serial, else ip) to fill in with locations")
    add_web_login_flags(p)
    p.set_defaults(func=cmd_scan)


def add_web_login_flags(p: argparse.ArgumentParser) -> None:
    """The web login of ``scan`` and ``poll``, as in site.yaml's ``credentials:``: the password comes from a file
    or an environment variable, never from the command line; a firmware's default password only on request."""
    src = p.add_mutually_exclusive_group()
    src.add_argument("--web-password-file", metavar="FILE",
                     help="file holding the web password (login-only firmwares; MAC, serial, power on others)")
    src.add_argument("--web-password-env", metavar="VAR", help="environment variable holding the web password")
    p.add_argument("--web-username", metavar="USER", default=None, help="web login user (default: the firmware's)")
    p.add_argument("--use-default-password", action="store_true",
                   help="log in with each firmware's documented default password (when no password is given)")


def web_login(args: argparse.Namespace) -> WebCredentials:
    """The credentials of :func:`add_web_login_flags`; the secret is read now, so a missing file or unset variable
    is reported before anything is sent. Raises :class:`SecretError` (its message never holds the secret)."""
    password: Secret | None = None
    if args.web_password_file:
        password = Secret(path=Path(args.web_password_file))
    elif args.web_password_env:
        password = Secret(env=args.web_password_env)
    if password is not None:
        password.reveal()
    return WebCredentials(username=args.web_username, password=password,
                          use_default_password=args.use_default_password)


def _credentials_yaml(args: argparse.Namespace) -> str | None:
    """The scan's login flags as a site.yaml ``credentials:`` flow mapping (a file path made absolute, since
    the config may live elsewhere); None when the scan had no login."""
    parts = []
    if args.web_password_file:
        parts.append(f"web_password_file: {json.dumps(str(Path(args.web_password_file).resolve()))}")
    elif args.web_password_env:
        parts.append(f"web_password_env: {json.dumps(args.web_password_env)}")
    if args.web_username:
        parts.append(f"web_username: {json.dumps(args.web_username)}")
    if args.use_default_password:
        parts.append("use_default_password: true")
    return "{" + ", ".join(parts) + "}" if parts else None


def cmd_scan(args: argparse.Namespace) -> int:
    try:
        creds = web_login(args)
    except SecretError as e:
        print(f"farmwatch scan: {e}", file=sys.stderr)
        return 2
    if args.concurrency < 1 or args.timeout <= 0:
        print("farmwatch scan: --concurrency must be >= 1 and --timeout > 0", file=sys.stderr)
        return 2
    # Where the results go is checked before a sweep that can take minutes, not after it.
    for flag, path in (("--write-targets", args.write_targets), ("--write-sitemap", args.write_sitemap)):
        problem = check_output_path(path) if path else None
        if problem is not None:
            print(f"farmwatch scan: {flag}: {problem}", file=sys.stderr)
            return 2
    try:
        swept = len({t.host for t in expand_targets(args.specs, 4028)})
    except TargetError as e:
        print(f"farmwatch scan: {e}", file=sys.stderr)
        return 2
    rows = asyncio.run(scan(args.specs, concurrency=args.concurrency, timeout=args.timeout,
                            identify_timeout=args.identify_timeout, credentials=creds,
                            show_progress=sys.stderr.isatty() or not args.json))
    summary = summarize(rows, swept)
    if args.json:
        emit(json.dumps([{**f.row(), "state": state_of(f)} for f in rows], indent=1))
        print(summary.line(), file=sys.stderr)
    else:
        emit(table(rows, summary))
    try:
        if args.write_targets:
            write_atomic(Path(args.write_targets),
                         targets_yaml(rows, args.specs, summary=summary, credentials=_credentials_yaml(args)))
        if args.write_sitemap:
            write_atomic(Path(args.write_sitemap), sitemap_csv(rows, summary=summary))
    except OSError as e:
        print(f"farmwatch scan: cannot write {e.filename}: {e.strerror}", file=sys.stderr)
        return 1
    return 0
