"""What a pip install or the container image (which installs the built wheel, Dockerfile) really contains: the
data files the agent reads at run time, and the dashboards `farmwatch dashboards push` uploads. Built from this
tree as the image builds it (pip, isolated build), unpacked, and used from outside the repository."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CHECK = r"""
import sys
from pathlib import Path
site = Path(sys.argv[1]).resolve()
import agent, collectors, dashboards
for mod in (agent, collectors, dashboards):
    assert Path(mod.__file__).resolve().is_relative_to(site), (mod.__name__, mod.__file__)
from collectors.asic.models import all_models, lookup
from collectors.snmp.profile import profiles
from agent.dashboards import DASHBOARD_DIR, load_dashboards
from agent.config import check_config
facts = lookup("S19 Pro")
print("models", len(all_models()), facts.boards if facts else None)
print("profiles", ",".join(sorted(profiles())))
print("dashboards", len(load_dashboards(DASHBOARD_DIR)), DASHBOARD_DIR.resolve().is_relative_to(site))
print("provisioning", sorted(p.name for p in (DASHBOARD_DIR / "provisioning").glob("*/*.yml")))
print("config_problems", len(check_config(sys.argv[2], check_secrets=False)))
from agent.floor import routes  # reads its stylesheet, package data, at import
print("floor_css", len(routes._CSS))
"""


@pytest.mark.slow
def test_the_built_wheel_carries_every_runtime_file(tmp_path: Path) -> None:
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                            "-w", str(tmp_path / "dist"), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    wheel = next((tmp_path / "dist").glob("farmwatch-*.whl"))
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as z:
        z.extractall(site)
    config = tmp_path / "site.yaml"
    config.write_text("site: packaged\nminers:\n  - targets: [10.0.0.1]\n")
    run = subprocess.run([sys.executable, "-c", CHECK, str(site), str(config)], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path, env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr
    out = dict(line.split(" ", 1) for line in run.stdout.splitlines())
    from collectors.asic.models import all_models
    from collectors.snmp.profile import profiles

    # The installed copy has exactly the repository's data: every model, profile, dashboard and provisioning file.
    n_models, s19_boards = out["models"].split()
    assert int(n_models) == len(all_models()) and s19_boards == "3"
    assert out["profiles"] == ",".join(sorted(profiles()))
    assert out["dashboards"] == f"{len(list((ROOT / 'dashboards').glob('*.json')))} True"
    assert out["provisioning"] == "['farmwatch.yml', 'farmwatch.yml']"
    assert out["config_problems"] == "0"
    assert int(out["floor_css"]) == len((ROOT / "agent" / "floor" / "floor.css").read_bytes())
