"""The test tree mirrors the code (docs/architecture.md, "Tests"): every test module sits in a folder, every folder
is a package named in that section, and a test takes its helpers from tests/support/, not from another folder's
tests. Read from the files with ``ast``; nothing is imported."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"


def folders() -> list[Path]:
    return sorted(p for p in TESTS.iterdir() if p.is_dir() and not p.name.startswith((".", "__")))


def imported_modules(path: Path) -> set[str]:
    """Every ``tests.*`` module ``path`` imports, at any depth (a late import inside a test counts too)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {m for m in out if m == "tests" or m.startswith("tests.")}


def test_no_test_module_at_the_top_and_every_folder_is_a_package() -> None:
    loose = sorted(p.name for p in TESTS.glob("*.py") if p.name != "__init__.py")
    assert loose == [], "put these in the folder of the code they cover (docs/architecture.md, Tests)"
    assert sorted(p.name for p in folders() if not (p / "__init__.py").is_file()) == []


def test_every_folder_is_in_the_architecture_docs() -> None:
    section = (ROOT / "docs" / "architecture.md").read_text().split("\n## Tests\n", 1)[1].split("\n## ", 1)[0]
    assert sorted(p.name for p in folders() if f"`tests/{p.name}/`" not in section) == []


def test_tests_take_helpers_from_support_not_from_other_folders_tests() -> None:
    """Within a folder, a test may read another's hand-written replies (a driver's test data); across folders,
    and from tests/support itself, only tests.support is imported."""
    wrong = []
    for path in sorted(TESTS.rglob("*.py")):
        folder = path.relative_to(TESTS).parts[0] if path.parent != TESTS else ""
        for mod in imported_modules(path):
            parts = mod.split(".")
            if len(parts) < 2 or parts[1] == "support":
                continue
            if folder == "support" or parts[1] != folder:
                wrong.append(f"{path.relative_to(ROOT)} imports {mod}")
    assert wrong == []
