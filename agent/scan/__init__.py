"""Discovery: ``farmwatch scan CIDR|RANGE...`` and the daemon's slow rescans of configured ranges, one module per
job: the sweep and identification both share (:mod:`.sweep`), what the command prints and writes
(:mod:`.output`), the command itself (:mod:`.cli`) and the daemon's rediscovery collector (:mod:`.discovery`).
The names below are re-exported so that ``from agent.scan import ...`` keeps working."""

from .cli import add_cli, add_web_login_flags, cmd_scan, web_login
from .discovery import Discovery
from .output import (
           SITEMAP_HEADER,
           Summary,
           check_output_path,
           sitemap_csv,
           state_of,
           summarize,
           table,
           targets_yaml,
)
from .sweep import PORTS, TIMINGS, Found, identify_host, primary_port, probe_ports, scan, sweep

__all__ = ["PORTS", "SITEMAP_HEADER", "TIMINGS", "Discovery", "Found", "Summary", "add_cli", "add_web_login_flags",
           "check_output_path", "cmd_scan", "identify_host", "primary_port", "probe_ports", "scan", "sitemap_csv",
           "state_of", "summarize", "sweep", "table", "targets_yaml", "web_login"]
