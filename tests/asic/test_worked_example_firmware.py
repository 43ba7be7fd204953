"""The how-to in docs/architecture.md ("Adding a firmware"), followed to the letter on a copy of the tree: a tiny
firmware, "toyminer", is added by writing only the files the how-to names (a driver module, a model facts row,
a simulator personality, the README rows), and then it is identified and read over real sockets, accepted by
config validation, listed by `poll --help`, and the docs-vs-registry test passes. If adding a firmware ever needs
another file again (a hand list somewhere), this test fails."""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COPIED = ("agent", "collectors", "simsite", "dashboards", "tests", "docs", "README.md", "pyproject.toml")

DRIVER = '''"""Toyminer T1 (a firmware made up for the worked example in docs/architecture.md): cgminer 4.10 replies whose
STATUS description says "toyminer 1.0", chains named "TY1", nothing else of its own."""

from __future__ import annotations

from ..driver import Driver, Replies
from ..reading import MinerReading
from . import cgminer as generic

NAME = "toyminer"
MAKE = "Toyminer"


def parse(replies: Replies, device: str) -> MinerReading:
    r = generic.parse(replies, device)
    r.driver, r.make, r.model, r.algorithm = NAME, MAKE, "Toyminer T1", "sha256"
    r.notes = [n for n in r.notes if n != generic.NOTE]
    return r


DRIVER = Driver(
    name=NAME,
    signatures=("TOYMINER",),
    commands=("summary", "stats", "pools"),
    identity_commands=("version",),
    parse=parse,
    priority=40,
    make=MAKE,
)
'''

MODEL_ROW = "Toyminer T1:         {make: Toyminer, boards: 4, chips_per_board: 102, fans: 2, hashrate_ths: 90.0, power_w: 3300}\n"

SIMULATOR = '''"""Toyminer T1 (the worked example of docs/architecture.md): the generic cgminer personality with its own
description and chain name."""

from __future__ import annotations

from typing import Any, ClassVar

from ..miner import SimMiner, Snapshot
from ..models import ModelSpec
from . import register
from ._web import add_models
from .cgminer import GenericCgminer

add_models(ModelSpec("Toyminer T1", "Toyminer", 4, 102, 2, 90.0, 3300.0))


@register
class Toyminer(GenericCgminer):
    name = "toyminer"
    models: ClassVar[dict[str, float]] = {"Toyminer T1": 1.0}

    def setup(self, miner: SimMiner) -> None:
        super().setup(miner)
        miner.extra["desc"] = "toyminer 1.0"
        miner.extra["chain"] = "TY1"

    def truth_hooks(self, miner: SimMiner, snap: Snapshot) -> dict[str, Any]:
        out = super().truth_hooks(miner, snap)
        out.update(make="Toyminer", model="Toyminer T1")
        return out
'''

def _write_the_how_to_files(repo: Path) -> list[str]:
    (repo / "collectors/asic/drivers/toyminer.py").write_text(DRIVER)
    models = repo / "collectors/asic/models.yaml"
    models.write_text(models.read_text() + MODEL_ROW)
    (repo / "simsite/firmwares/toyminer.py").write_text(SIMULATOR)
    readme = repo / "README.md"
    text = readme.read_text()
    row = "| `minerva` | MinerVa | RPC 4028 |\n"
    assert row in text
    text = text.replace(row, row + "| `toyminer` | Toyminer (the worked example) | RPC 4028 |\n", 1)
    comment = "# bitfury, cgminer (any other cgminer-API miner)"
    assert comment in text
    text = text.replace(comment, "# bitfury, toyminer, cgminer (any other cgminer-API miner)", 1)
    readme.write_text(text)
    asic_readme = repo / "collectors/asic/README.md"
    asic_readme.write_text(asic_readme.read_text() + "\n## Toyminer (`toyminer`)\n\nThe worked example: the "
                           "generic reader's values under its own name and model.\n")
    return ["README.md", "collectors/asic/README.md", "collectors/asic/drivers/toyminer.py",
            "collectors/asic/models.yaml", "simsite/firmwares/toyminer.py"]


PROBE = r'''
import asyncio, json, os, subprocess, sys, tempfile
import collectors
assert collectors.__file__.startswith(os.getcwd()), collectors.__file__  # the copy, not the checkout
from agent.sections.miners import driver_names
from collectors.asic.poll import MinerSession, poll
from simsite import SimSite


async def main() -> dict:
    site = SimSite.build(count=3, seed=11, base_ip="127.77.41.1", mix={"toyminer": 1.0}, latency_ms=(0.0, 0.0))
    await site.start()
    try:
        out = []
        for m in site.miners:
            session = MinerSession(host=m.ip, port=m.port)  # no driver named: identified
            r = await poll(session, deadline=asyncio.get_running_loop().time() + 10)
            truth = m.truth()
            out.append({"driver": r.driver, "model": r.model, "make": r.make, "notes": r.notes,
                        "hashrate": r.hashrate_ths, "truth_hashrate": truth["hashrate_ths"],
                        "expected": r.expected_hashrate_ths, "boards": len(r.boards),
                        "pools": len(r.pools), "truth_pools": len(truth["pools"])})
        return {"miners": out}
    finally:
        await site.stop()


result = asyncio.run(main())
result["driver_names"] = list(driver_names())
with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "site.yaml")
    with open(path, "w") as f:
        f.write("site: t\nminers:\n  - targets: ['127.77.41.1']\n    driver: toyminer\n")
    check = subprocess.run([sys.executable, "-m", "agent", "check-config", path], capture_output=True, text=True)
    result["check_config"] = [check.returncode, check.stdout + check.stderr]
help_ = subprocess.run([sys.executable, "-m", "agent", "poll", "--help"], capture_output=True, text=True)
result["help"] = " ".join(help_.stdout.split())
print(json.dumps(result))
'''


def test_a_new_firmware_needs_only_the_files_the_how_to_names(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    for name in COPIED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, repo / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, repo / name)
    touched = _write_the_how_to_files(repo)

    # Exactly the how-to's files differ from the checkout.
    changed = []
    for path in sorted(repo.rglob("*")):
        rel = path.relative_to(repo).as_posix()
        if not path.is_file() or "__pycache__" in rel:
            continue
        if not (ROOT / rel).exists() or not filecmp.cmp(path, ROOT / rel, shallow=False):
            changed.append(rel)
    assert changed == touched

    env = {**os.environ, "PYTHONPATH": str(repo), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])

    for m in result["miners"]:  # identified by its signature and read by its own driver, over real sockets
        assert (m["driver"], m["make"], m["model"]) == ("toyminer", "Toyminer", "Toyminer T1"), m
        assert m["notes"] == []  # not the generic reader
        assert m["hashrate"] == m["truth_hashrate"] and m["hashrate"] > 0
        assert m["expected"] == 90.0  # the model facts row
        assert m["boards"] == 4 and m["pools"] == m["truth_pools"] > 0
    assert "toyminer" in result["driver_names"]
    assert result["check_config"][0] == 0, result["check_config"][1]
    assert "toyminer" in result["help"]

    # The docs-vs-registry test of the copy passes with the README rows the how-to asks for.
    docs = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/project/test_docs.py",
                           "-k", "every_driver or poll_help or web_signatures"],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=120)
    assert docs.returncode == 0, docs.stdout[-3000:]
