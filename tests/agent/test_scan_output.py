"""``farmwatch scan`` output a technician can use (issue 12), through the real CLI process against a simulated site
on loopback: stock Antminers read over RPC (no MAC), one Antminer with its RPC closed behind a web login, and a
device that answers on port 80 but is no miner. Every responding host ends up in the targets file, every miner
gets a site-map row, the login group gets a credentials stanza, the table has a state column, a summary line
and whole notes, and an unwritable output path fails before the sweep."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent.config import check_config
from agent.sitemap import load_sitemap
from simsite import SimSite

pytestmark = pytest.mark.asyncio
ROOT = Path(__file__).resolve().parents[2]
RANGE = "127.94.1.1-127.94.1.30"
ROUTER = "127.94.1.20"
_BODY = b"<html><title>Edge router configuration</title><body></body></html>"
ROUTER_PAGE = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n"
               b"Content-Length: %d\r\n\r\n%s" % (len(_BODY), _BODY))


async def farmwatch(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agent", *args, cwd=ROOT, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode(), err.decode()


@pytest.fixture
async def floor() -> AsyncIterator[tuple[SimSite, SimSite]]:
    stock = SimSite.build(count=4, seed=21, base_ip="127.94.1.1", mix={"antminer": 1.0}, latency_ms=(0.5, 1.0))
    closed = SimSite.build(count=1, seed=22, base_ip="127.94.1.10", mix={"antminer_web": 1.0}, port=4029,
                           latency_ms=(0.5, 1.0))

    async def router(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):  # the sweep's connects end in RST
            await reader.read(4096)
            writer.write(ROUTER_PAGE)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(router, ROUTER, 80)
    async with stock, closed:
        try:
            yield stock, closed
        finally:
            server.close()
            await server.wait_closed()


async def test_scan_writes_every_responding_host_and_a_row_per_miner(floor: tuple[SimSite, SimSite],
                                                                    tmp_path: Path) -> None:
    stock, closed = floor
    targets, sitemap = tmp_path / "targets.yaml", tmp_path / "map.csv"
    rc, out, err = await farmwatch("scan", RANGE, "--write-targets", str(targets), "--write-sitemap", str(sitemap))
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["IP", "STATE"]
    assert lines[-1] == ("30 addresses swept, 6 answered: 5 miners (4 read, 1 need a web login, 0 unreadable), "
                         "1 unidentified")
    closed_ip = closed.miners[0].ip
    row = next(line for line in lines if line.startswith(f"{closed_ip}:"))
    assert row.split()[1] == "login"
    # Notes wrap at word boundaries: the router's note, joined back, is the whole message, no word cut.
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{ROUTER}:"))
    col = lines[0].index("NOTE")
    note = [lines[start][col:]] + [line[col:] for line in lines[start + 1:-1] if line[:col].strip() == ""]
    text = " ".join(n.strip() for n in note)
    assert text.startswith("unsupported: unknown firmware at 127.94.1.20") and "'Edge router configuration'" in text
    assert all(len(n.rstrip()) <= 60 or " " not in n.strip() for n in note)

    written = targets.read_text()
    assert f'"{ROUTER}"  # open 80: unsupported: unknown firmware' in written  # the non-miner, with why
    assert "credentials: {web_password_file: /etc/farmwatch/web-password}" in written  # the login group
    assert written.count("  - driver: ") == 1  # all five are Antminers: one group
    assert "# 30 addresses swept, 6 answered" in written
    (tmp_path / "site.yaml").write_text("site: t\n" + written)
    assert check_config(tmp_path / "site.yaml", check_secrets=False) == []
    assert any("web-password" in str(p) for p in check_config(tmp_path / "site.yaml"))  # tells what to create

    loaded = load_sitemap(sitemap)  # the agent reads it: helper columns (model, state, the other ids) ignored
    assert len(loaded) == 5
    for m in stock.miners:  # stock RPC gives no MAC: still a row, by serial or IP
        assert m.ip in sitemap.read_text()
    assert "S19" in sitemap.read_text() or "S21" in sitemap.read_text() or ",login" in sitemap.read_text()
    assert f"# not a miner farmwatch reads: {ROUTER}" in sitemap.read_text()


async def test_scan_with_a_login_puts_the_credentials_on_the_groups(floor: tuple[SimSite, SimSite],
                                                                   tmp_path: Path) -> None:
    password = tmp_path / "pw"
    password.write_text("root\n")
    targets = tmp_path / "t.yaml"
    rc, out, err = await farmwatch("scan", RANGE, "--web-password-file", str(password), "--write-targets",
                                   str(targets))
    assert rc == 0, err
    assert out.splitlines()[-1].startswith("30 addresses swept, 6 answered: 5 miners (5 read, 0 need a web login")
    assert f'credentials: {{web_password_file: "{password.resolve()}"}}' in targets.read_text()
    (tmp_path / "site.yaml").write_text("site: t\n" + targets.read_text())
    assert check_config(tmp_path / "site.yaml") == []


async def test_an_unwritable_output_path_fails_before_the_sweep(tmp_path: Path) -> None:
    started = time.monotonic()
    rc, out, err = await farmwatch("scan", "127.95.0.0/16", "--write-targets", "/no/such/dir/t.yaml")
    assert rc == 2 and out == ""
    assert err == "farmwatch scan: --write-targets: /no/such/dir/t.yaml: directory /no/such/dir does not exist\n"
    assert time.monotonic() - started < 30  # a /16 sweep would take minutes; nothing was swept
    rc, _out, err = await farmwatch("scan", "127.95.0.0/16", "--write-sitemap", str(tmp_path))
    assert rc == 2 and "is a directory" in err
