"""``farmwatch dashboards push``: upload the dashboards in ``dashboards/`` to Grafana over its HTTP API.

Uses grafana-client (the maintained fork of grafana-api). The API token is read from a file (``--token-file``)
or the ``GRAFANA_TOKEN`` environment variable, never from a flag or the URL, so it stays out of shell history
and process lists. Dashboards keep their ``uid`` and are overwritten in place, so pushing again updates them;
they land in one folder (created when missing).
"""

from __future__ import annotations

import argparse
import importlib.resources
import json
import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from grafana_client import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException

# The top-level ``dashboards`` package holds the JSON as package data: found in the repository and in an
# installed agent (wheel, container image) alike.
DASHBOARD_DIR = Path(str(importlib.resources.files("dashboards")))
TOKEN_ENV = "GRAFANA_TOKEN"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class PushError(Exception):
    """Pushing failed; the message says why in one line and never contains the token."""


def folder_uid(title: str) -> str:
    """A stable folder uid from its title (Grafana allows letters, digits, ``-`` and ``_``, at most 40)."""
    return (re.sub(r"[^A-Za-z0-9_-]+", "-", title.strip()).strip("-").lower() or "farmwatch")[:40]


def load_dashboards(directory: Path) -> list[dict[str, Any]]:
    paths = sorted(directory.glob("*.json"))
    if not paths:
        raise PushError(f"no dashboards (*.json) in {directory}")
    out = []
    for path in paths:
        try:
            dash = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise PushError(f"cannot read {path}: {exc}") from None
        if not isinstance(dash, dict) or not dash.get("uid") or not dash.get("title"):
            raise PushError(f"{path} is not a dashboard with a uid and a title")
        out.append(dash)
    return out


def push(url: str, token: str, folder: str = "farmwatch", *, directory: Path = DASHBOARD_DIR,
         timeout: float = 10.0) -> list[str]:
    """Upload every dashboard in ``directory`` into ``folder`` (created when missing), overwriting those with
    the same uid. Returns the uids pushed. Raises :class:`PushError`."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PushError(f"{url!r} is not an http(s) URL of a Grafana server")
    if parts.username or parts.password:
        raise PushError("credentials do not belong in the URL: use --token-file or " + TOKEN_ENV)
    dashboards = load_dashboards(directory)
    api = GrafanaApi.from_url(url, credential=token, timeout=timeout)
    try:
        uid = _ensure_folder(api, folder)
        for dash in dashboards:
            body = {k: v for k, v in dash.items() if k != "id"}  # the server assigns ids; uid identifies it
            api.dashboard.update_dashboard({"dashboard": body, "folderUid": uid, "overwrite": True,
                                            "message": "farmwatch dashboards push"})
    except GrafanaException as exc:
        raise PushError(f"Grafana at {url} answered {exc.status_code}: {_first_line(exc.message)}") from None
    except OSError as exc:
        raise PushError(f"cannot reach Grafana at {url}: {type(exc).__name__}") from None
    return [str(d["uid"]) for d in dashboards]


def _ensure_folder(api: GrafanaApi, title: str) -> str:
    uid = folder_uid(title)
    try:
        api.folder.get_folder(uid)
    except GrafanaClientError as exc:
        if exc.status_code != 404:
            raise
        api.folder.create_folder(title, uid=uid)
    return uid


def _first_line(text: object) -> str:
    return str(text).strip().splitlines()[0][:200] if str(text).strip() else "no message"


def read_token(token_file: str | None) -> str:
    """The API token from ``token_file``, else from ``$GRAFANA_TOKEN``. Raises :class:`PushError`."""
    if token_file:
        try:
            token = Path(token_file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise PushError(f"cannot read token file {token_file}: {getattr(exc, 'strerror', None) or type(exc).__name__}") from None
        if not token:
            raise PushError(f"token file {token_file} is empty")
        return token
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise PushError(f"no Grafana token: give --token-file PATH or set {TOKEN_ENV}")
    return token


def cmd_push(args: argparse.Namespace) -> int:
    try:
        token = read_token(args.token_file)
        uids = push(args.url, token, args.folder, directory=Path(args.dir), timeout=args.timeout)
    except PushError as exc:
        print(f"farmwatch: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"pushed {len(uids)} dashboards to folder {args.folder!r}: {', '.join(uids)}")
    return EXIT_OK


def add_cli(subparsers: Any) -> None:
    """Register ``dashboards push`` on the ``farmwatch`` command's subparsers."""
    dash = subparsers.add_parser("dashboards", allow_abbrev=False, help="Grafana dashboards")
    sub = dash.add_subparsers(dest="dashboards_command", required=True)
    p = sub.add_parser("push", allow_abbrev=False, help="upload the dashboards to Grafana (token from --token-file or $GRAFANA_TOKEN)")
    p.add_argument("--url", required=True, help="Grafana base URL, e.g. http://grafana:3000")
    p.add_argument("--token-file", default=None, help=f"file holding a service-account token (else ${TOKEN_ENV})")
    p.add_argument("--folder", default="farmwatch", help="folder to put them in (created when missing)")
    p.add_argument("--dir", default=str(DASHBOARD_DIR), help="folder of dashboard JSON files")
    p.add_argument("--timeout", type=float, default=10.0, help="per-request timeout, seconds")
    p.set_defaults(func=cmd_push)


def main(argv: Iterable[str] | None = None) -> int:
    """Stand-alone entry (the same subcommand as ``farmwatch dashboards``), for tests and scripts."""
    parser = argparse.ArgumentParser(prog="farmwatch")
    add_cli(parser.add_subparsers(dest="command", required=True))
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:
        return int(exc.code or 0)
    return int(args.func(args))
