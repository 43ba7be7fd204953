"""What ``farmwatch scan`` prints and writes: a table (a person: a state column, notes wrapped whole, a summary
line), the rows of ``--json``, ``--write-targets FILE`` (a ``miners:`` block the daemon's site.yaml takes: one
group per driver, targets at their primary API port, a credentials stanza where a group needs a web login, and
every host that answered but is no miner farmwatch reads as a comment saying why) and ``--write-sitemap FILE`` (a
site-map CSV with a row per miner: mac, else serial, else ip identifies it; model and state help whoever fills
in the locations). Output paths are checked before the sweep starts.
"""

from __future__ import annotations

import csv
import io
import json
import os
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .sweep import Found

NOTE_WIDTH = 60


def state_of(f: Found) -> str:
    """The scan's state column: the miner's own state when it was read, else why it was not."""
    if f.driver is None:
        return "unidentified"  # something answered on a miner port, but no driver recognises it
    if f.state is not None:
        return f.state
    return "login" if f.needs_login else "unreadable"


@dataclass(frozen=True, slots=True)
class Summary:
    swept: int
    answered: int
    read: int
    login: int
    unreadable: int
    unidentified: int

    @property
    def miners(self) -> int:
        return self.read + self.login + self.unreadable

    def line(self) -> str:
        return (f"{self.swept:,} addresses swept, {self.answered:,} answered: {self.miners:,} miners "
                f"({self.read:,} read, {self.login:,} need a web login, {self.unreadable:,} unreadable), "
                f"{self.unidentified:,} unidentified")


def summarize(rows: Sequence[Found], swept: int) -> Summary:
    states = [state_of(f) for f in rows]
    return Summary(swept=swept, answered=len(rows), login=states.count("login"),
                   unreadable=states.count("unreadable"), unidentified=states.count("unidentified"),
                   read=sum(1 for f in rows if f.driver is not None and f.state is not None))


def table(rows: Sequence[Found], summary: Summary | None = None) -> str:
    """Columns padded to their widest cell; a long note wraps at word boundaries onto the next lines, under
    its own column (never cut mid-word: the end of a note is usually what says why)."""
    head = ("IP", "STATE", "MAC", "MAKE", "MODEL", "FIRMWARE", "TH/S", "NOTE")
    lines: list[tuple[str, ...]] = [head]
    notes: list[list[str]] = [[]]
    for f in rows:
        rate = f"{f.hashrate_ths:.2f}" if f.hashrate_ths is not None else "-"
        wrapped = textwrap.wrap(f.error or "", NOTE_WIDTH, break_long_words=False, break_on_hyphens=False)
        lines.append((f"{f.ip}:{f.port}", state_of(f), f.mac or "-", f.make or "-", f.model or "-",
                      f.firmware or f.driver or "-", rate, wrapped[0] if wrapped else ""))
        notes.append(wrapped[1:])
    widths = [max(len(r[i]) for r in lines) for i in range(len(head))]
    indent = sum(w + 2 for w in widths[:-1])
    out: list[str] = []
    for row, more in zip(lines, notes, strict=True):
        out.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        out.extend(" " * indent + m for m in more)
    if summary is not None:
        out.append(summary.line())
    return "\n".join(out)


def _yaml_str(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid YAML double-quoted scalar


def targets_yaml(rows: Sequence[Found], specs: Sequence[str], *, summary: Summary | None = None,
                 credentials: str | None = None) -> str:
    """A ``miners:`` block for site.yaml: one group per identified driver (no identification at start-up), each
    miner written alone (an expected miner: down when it stops answering). ``credentials`` (a YAML flow mapping:
    the scan's own login flags) goes on every group; without it a group with miners that need a web login gets
    a stanza to fill in. Hosts that answered but are no miner farmwatch reads are listed as comments, with why."""
    by_driver: dict[str, list[Found]] = {}
    for f in rows:
        if f.driver:
            by_driver.setdefault(f.driver, []).append(f)
    lines = [f"# farmwatch scan {' '.join(specs)}"]
    if summary is not None:
        lines.append(f"# {summary.line()}")
    lines.append("# Each address below is an expected miner: the agent reports it down when it stops answering.")
    lines.append("miners:" if by_driver else "miners: []")
    for driver in sorted(by_driver):
        found = by_driver[driver]
        login = [f for f in found if f.needs_login]
        lines.append(f"  - driver: {driver}")
        if credentials is not None:
            lines.append(f"    credentials: {credentials}")
        elif login:
            lines.append(f"    # {len(login)} miner(s) of this group answered that their web API needs a login: put the")
            lines.append("    # password in this file (or use use_default_password: true for the firmware's default)")
            lines.append("    credentials: {web_password_file: /etc/farmwatch/web-password}")
        lines.append("    targets:")
        for f in found:
            what = " ".join(x for x in (f.make, f.model) if x) or driver
            lines.append(f"      - {_yaml_str(f'{f.ip}:{f.port}')}  # {state_of(f)}, {what}")
    unidentified = [f for f in rows if not f.driver]
    if unidentified:
        lines.append("# Answered on a miner port but not identified as a miner farmwatch reads (not polled; move one")
        lines.append("# into a group above if it is a miner):")
        for f in unidentified:
            ports = ",".join(str(p) for p in f.open_ports)
            why = " ".join((f.error or "no reply").split())
            lines.append(f"#   - {_yaml_str(f.ip)}  # open {ports}: {why}")
    return "\n".join(lines) + "\n"


SITEMAP_HEADER = "mac,serial,ip,container,rack,shelf,slot,pdu,outlet,model,state"


def sitemap_csv(rows: Sequence[Found], *, summary: Summary | None = None) -> str:
    """A site-map row for every miner, to fill in with its location. The row's identity is its MAC where known,
    else its serial, else its IP (agent/sitemap.py: the first filled of mac, serial, ip); the other two, model
    and state are there to help find the machine and are ignored by the agent."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    buf.write("# farmwatch scan site map: fill in container, rack, shelf, slot, pdu, outlet. A row is matched by its\n"
              "# mac, else serial, else ip (an ip row follows the address, not the machine: DHCP may move it).\n")
    if summary is not None:
        buf.write(f"# {summary.line()}\n")
    buf.write(SITEMAP_HEADER + "\n")
    for f in rows:
        if f.driver:
            w.writerow([f.mac or "", f.serial or "", f.ip, "", "", "", "", "", "", f.model or "", state_of(f)])
    for f in rows:
        if not f.driver:
            buf.write(f"# not a miner farmwatch reads: {f.ip} ({' '.join((f.error or 'no reply').split())[:200]})\n")
    return buf.getvalue()


def check_output_path(path: str) -> str | None:
    """Why ``path`` cannot be written, checked before a scan that may take minutes; None when it can."""
    p = Path(path)
    if p.is_dir():
        return f"{path} is a directory"
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        return f"{path}: directory {parent} does not exist"
    if p.exists() and not os.access(p, os.W_OK):
        return f"{path} is not writable"
    if not p.exists() and not os.access(parent, os.W_OK | os.X_OK):
        return f"{path}: directory {parent} is not writable"
    return None
