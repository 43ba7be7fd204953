"""``farmwatch poll snmp://[COMMUNITY@]HOST[:PORT]``: one device, one poll, as JSON or a table for a person.

Credentials as the daemon takes them: ``--community-file``/``--community-env`` (v2c), or ``--snmp-user`` with
``--auth-protocol``/``--auth-password-file`` and ``--priv-protocol``/``--priv-password-file`` (v3, each password
also from ``*-env``). A community in the URL is for a one-off poll at a terminal (it shows in the shell history).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from urllib.parse import unquote

from ..errors import DeviceError
from .client import Engine
from .poll import Auth, SnmpDevice, poll
from .profile import profiles
from .reading import SnmpReading

EXIT_OK, EXIT_UNREADABLE, EXIT_USAGE = 0, 1, 2


def parse_url(url: str) -> tuple[str, str, int]:
    """(community, host, port) from ``snmp://[COMMUNITY@]HOST[:PORT]``; raises ValueError."""
    if not url.startswith("snmp://"):
        raise ValueError(f"{url!r} is not snmp://[COMMUNITY@]HOST[:PORT]")
    rest = url[len("snmp://"):].rstrip("/")
    community, at, hostport = rest.rpartition("@")
    community = unquote(community) if at else "public"
    if hostport.startswith("["):
        host, _, tail = hostport[1:].partition("]")
        port_text = tail.lstrip(":")
    elif hostport.count(":") == 1:
        host, port_text = hostport.split(":")
    else:
        host, port_text = hostport, ""
    if not host:
        raise ValueError(f"{url!r} has no host")
    if port_text and not (port_text.isdigit() and 0 < int(port_text) < 65536):
        raise ValueError(f"bad port in {url!r}")
    return community, host, int(port_text or 161)


def table(r: SnmpReading) -> str:
    def f(v: float | None, digits: int = 1) -> str:
        return "-" if v is None else f"{v:.{digits}f}"

    j = r.to_json()
    lines = [f"device      {r.device}",
             f"snmp        {r.make or '?'} {r.model or '?'}  (profile {r.driver}, serial {r.serial or '-'})",
             f"name        {r.name or '-'}",
             f"power       {f(r.power_w)} W"]
    if j["phases"]:
        lines.append("phases      #    A       V       W")
        lines += [f"            {p['index']!s:<4} {f(p['current_a']):>6}  {f(p['voltage_v']):>6}  {f(p['power_w']):>7}"
                  for p in j["phases"]]
    if j["outlets"]:
        lines.append("outlets     #    W       A       kWh        state  name")
        lines += [f"            {o['index']!s:<4} {f(o['power_w']):>6}  {f(o['current_a']):>6}  "
                  f"{f(o['energy_kwh']):>9}  {o['state'] or '-':<5}  {o['name'] or ''}" for o in j["outlets"]]
    for s in j["sensors"]:
        lines.append(f"sensor      {s['name']}: {s['kind']} {f(s['value'], 2)} {s['unit']}")
    if "ups" in j:
        u = j["ups"]
        lines.append(f"ups         on battery {u['on_battery']}  charge {f(u['battery_charge_ratio'], 2)}  "
                     f"runtime {u['runtime_s']} s  load {f(u['load_ratio'], 2)}")
    for p in j.get("ports", []):
        lines.append(f"port        {p['index']!s:<4} {'up' if p.get('oper_up') else 'down':<5} {p.get('name') or ''}"
                     f"  errors in {p.get('in_errors')} out {p.get('out_errors')}")
    lines.append("errors      " + ("; ".join(f"{e['table']}: {e['message']}" for e in j["errors"]) or "-"))
    return "\n".join(lines)


AUTH_PROTOCOLS = ("MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512")
PRIV_PROTOCOLS = ("DES", "3DES", "AES", "AES192", "AES256")


def add_snmp_flags(parser: argparse.ArgumentParser) -> None:
    """The SNMP credential flags of ``farmwatch poll snmp://...`` (secrets from files or the environment)."""
    g = parser.add_argument_group("SNMP credentials (snmp:// targets)")
    src = g.add_mutually_exclusive_group()
    src.add_argument("--community-file", metavar="FILE", help="v2c community, read from this file")
    src.add_argument("--community-env", metavar="VAR", help="v2c community, read from this environment variable")
    g.add_argument("--snmp-user", metavar="USER", help="SNMPv3 user (USM); then no community")
    g.add_argument("--snmp-context", metavar="NAME", default="", help="SNMPv3 context name (default: none)")
    g.add_argument("--auth-protocol", choices=AUTH_PROTOCOLS, help="SNMPv3 authentication protocol")
    a = g.add_mutually_exclusive_group()
    a.add_argument("--auth-password-file", metavar="FILE")
    a.add_argument("--auth-password-env", metavar="VAR")
    g.add_argument("--priv-protocol", choices=PRIV_PROTOCOLS, help="SNMPv3 privacy protocol (needs auth)")
    pr = g.add_mutually_exclusive_group()
    pr.add_argument("--priv-password-file", metavar="FILE")
    pr.add_argument("--priv-password-env", metavar="VAR")


# Reads the secret a --*-file/--*-env flag pair names (None when neither is given). The agent's CLI passes its
# own reader (agent.secret: the daemon's rules for secret files), so this module does not import the agent.
SecretReader = Callable[[str | None, str | None], str | None]


def no_secret_flags(path: str | None, env: str | None) -> str | None:
    if path is None and env is None:
        return None
    raise ValueError("secret flags are read by `farmwatch poll` only")


def auth_from_args(args: argparse.Namespace, url_community: str | None,
                   read_secret: SecretReader = no_secret_flags) -> Auth:
    """The credentials the flags and the URL give; raises ValueError (usage) or what ``read_secret`` raises."""
    user = getattr(args, "snmp_user", None)
    community = read_secret(getattr(args, "community_file", None), getattr(args, "community_env", None))
    if user is not None:
        if url_community is not None or community is not None:
            raise ValueError("--snmp-user (v3) takes no community")
        auth_key = read_secret(args.auth_password_file, args.auth_password_env)
        priv_key = read_secret(args.priv_password_file, args.priv_password_env)
        if (args.auth_protocol is None) != (auth_key is None):
            raise ValueError("--auth-protocol and --auth-password-file/-env go together")
        if (args.priv_protocol is None) != (priv_key is None):
            raise ValueError("--priv-protocol and --priv-password-file/-env go together")
        if priv_key is not None and auth_key is None:
            raise ValueError("SNMPv3 privacy needs authentication too (--auth-protocol)")
        return Auth(user=user, auth_protocol=args.auth_protocol, auth_key=auth_key,
                    priv_protocol=args.priv_protocol, priv_key=priv_key, context=args.snmp_context or "")
    if any(getattr(args, k, None) for k in ("auth_protocol", "auth_password_file", "auth_password_env",
                                             "priv_protocol", "priv_password_file", "priv_password_env")):
        raise ValueError("the v3 flags need --snmp-user")
    if url_community is not None and community is not None:
        raise ValueError("a community both in the URL and from --community-file/-env")
    return Auth(community=community if community is not None else url_community or "public")


async def poll_snmp_url(url: str, *, driver: str | None, as_json: bool, timeout: float,
                        args: argparse.Namespace | None = None, read_secret: SecretReader = no_secret_flags) -> int:
    """Poll one device and print it; 0 read, 1 unreadable (one line on stderr), 2 usage error. An error of
    ``read_secret`` (an unreadable secret file) propagates: the caller words it (agent/cli.py: exit 2)."""
    try:
        community, host, port = parse_url(url)
        auth = auth_from_args(args or argparse.Namespace(), community if "@" in url else None, read_secret)
    except ValueError as e:
        print(f"farmwatch: {e}", file=sys.stderr)
        return EXIT_USAGE
    if driver is not None and driver not in profiles():
        print(f"farmwatch: unknown SNMP profile {driver!r}; known: {', '.join(sorted(profiles()))}", file=sys.stderr)
        return EXIT_USAGE
    engine = Engine()
    dev = SnmpDevice(host=host, port=port, auth=auth, profile_name=driver, timeout=timeout)
    try:
        reading = await poll(engine, dev, deadline=asyncio.get_running_loop().time() + timeout)
    except DeviceError as e:
        print(f"farmwatch: {dev.device}: {e.reason}: {e.message}", file=sys.stderr)
        return EXIT_UNREADABLE
    except OSError as e:
        print(f"farmwatch: {dev.device}: refused: {e.strerror or e}", file=sys.stderr)
        return EXIT_UNREADABLE
    finally:
        engine.close()
    print(json.dumps(reading.to_json(), indent=2) if as_json else table(reading))
    return EXIT_OK
