"""``farmwatch poll snmp://[COMMUNITY@]HOST[:PORT]``: one device, one poll, as JSON or a table for a person."""

from __future__ import annotations

import asyncio
import json
import sys
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


async def poll_snmp_url(url: str, *, driver: str | None, as_json: bool, timeout: float) -> int:
    """Poll one device and print it; 0 read, 1 unreadable (one line on stderr), 2 usage error."""
    try:
        community, host, port = parse_url(url)
    except ValueError as e:
        print(f"farmwatch: {e}", file=sys.stderr)
        return EXIT_USAGE
    if driver is not None and driver not in profiles():
        print(f"farmwatch: unknown SNMP profile {driver!r}; known: {', '.join(sorted(profiles()))}", file=sys.stderr)
        return EXIT_USAGE
    engine = Engine()
    dev = SnmpDevice(host=host, port=port, auth=Auth(community=community), profile_name=driver, timeout=timeout)
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
