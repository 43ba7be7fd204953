"""Layers point one way and nothing imports itself in a circle (docs/architecture.md, "Layers").

Read from the source with ``ast``, not by importing: every import counts, at module level, inside a function
(a late import is still a dependency) and under ``if TYPE_CHECKING:`` (a type-only cycle still ties the modules
together for a reader and for mypy). The exceptions known today are listed below, each with why it is still
there; the test fails on a new one and on a listed one that is gone, so the lists only shrink."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("agent", "collectors", "simsite", "dashboards")

# Import cycles still to break (sets of modules that import each other, directly or through others).
ALLOWED_CYCLES: list[frozenset[str]] = []  # none left; keep it that way

def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (``from pkg import sub`` names ``pkg.sub``, not ``pkg``)."""
    mods = modules()

    def known(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for mod, path in mods.items():
        package = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
        names: list[str] = []
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
                names += [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
        graph[mod] = {k for n in names if (k := known(n)) and k != mod}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(frozenset(component))
    return found


def test_the_graph_sees_imports_of_every_kind() -> None:
    """Module-level, relative, late (in a function) and type-only imports are all edges."""
    graph = import_graph()
    assert "collectors.asic.driver" in graph["collectors.asic.drivers"]  # from ..driver import Driver
    assert "collectors.asic.context" in graph["collectors.asic.driver"]  # under TYPE_CHECKING
    assert "collectors.asic.drivers" in graph["agent.sections.miners"]  # inside driver_names()


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [frozenset({"a", "b", "c"})]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_new_import_cycle() -> None:
    found = set(cycles(import_graph()))
    new = [sorted(c) for c in found if c not in ALLOWED_CYCLES]
    assert not new, f"import cycles (break them: move the shared type or protocol into a module both import): {new}"


def test_every_listed_cycle_still_exists() -> None:
    """A cycle that was broken comes off the list, so it cannot come back unnoticed."""
    found = set(cycles(import_graph()))
    assert [sorted(c) for c in ALLOWED_CYCLES if c not in found] == []


def test_collectors_import_nothing_from_the_agent() -> None:
    graph = import_graph()
    edges = {(m, t) for m, ts in graph.items() if m.startswith("collectors") for t in ts if t.startswith("agent")}
    assert sorted(edges) == []


def test_simulated_site_and_dashboards_do_not_import_the_agent() -> None:
    graph = import_graph()
    assert sorted((m, t) for m, ts in graph.items() if m.startswith(("simsite", "dashboards"))
                  for t in ts if t.startswith("agent")) == []


def _bound_by_import(path: Path) -> set[str]:
    """Names a module binds at its top level only by importing them (inside ``if``/``try`` too), never by
    defining or assigning them itself."""
    imported: set[str] = set()
    defined: set[str] = set()
    body = list(ast.parse(path.read_text(), str(path)).body)
    while body:
        node = body.pop()
        if isinstance(node, ast.If | ast.Try):
            body += node.body + node.orelse + getattr(node, "finalbody", []) + [
                n for h in getattr(node, "handlers", []) for n in h.body]
        elif isinstance(node, ast.Import | ast.ImportFrom):
            imported |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            defined.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            defined |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return imported - defined


def test_names_are_imported_from_the_module_that_defines_them() -> None:
    """No import goes through an agent module that only passes the name on (docs/architecture.md, "Decisions"):
    such an old import path hides where the code lives and lets two spellings of one name drift into the code.
    Packages that present one front on purpose (``from simsite import SimSite``) are not the agent's."""
    mods = modules()
    passed_on = {mod: _bound_by_import(path) for mod, path in mods.items() if mod.split(".")[0] == "agent"}
    importers = sorted(p for folder in (*PACKAGES, "tests", "bench") for p in (ROOT / folder).rglob("*.py"))
    through: list[str] = []
    for path in importers:
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        package = parts[:-1]  # a module's own package; an __init__'s is the package itself, parts less __init__
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.ImportFrom):
                continue
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                if f"{base}.{alias.name}" not in mods and alias.name in passed_on.get(base, set()):
                    through.append(f"{path.relative_to(ROOT)}:{node.lineno}: {alias.name} from {base}")
    assert through == [], "\n".join(through)
