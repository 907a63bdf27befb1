"""Imports run one way: no two of the project's modules import each other, directly or
through others, and the library imports its own modules at the top (STYLE.md, *One
direction, one name*).

Three checks: the graph of top-level imports has no cycle (read with ``ast``, so every
module is covered whatever order a test run imports them in); every library module imports
on its own with none of the project's modules loaded before it, and every ``api`` module
imports; and no function imports one of the project's modules, apart from the listed places
that keep a process light (the CLI registers every command without loading pandas; the web
process leaves the optimizer to its solve pool).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).parents[1]
PACKAGES = ("api", "forecasting", "optimizer", "sites")

#: Imports of the project's own modules inside functions that stay, by file: the CLI
#: commands load their work when they run (``api.cli`` registers all of them for ``--help``),
#: the web process's jobs, fleet tasks and services load the optimizer where it runs.
LAZY_ALLOWED = (
    "api/commands/",
    "api/fleet/studies.py",
    "api/fleet/tasks.py",
    "api/services/jobs.py",
    "api/services/ledger.py",
    "api/services/planning.py",
    "api/services/plans.py",
)


def _modules() -> dict[str, Path]:
    """Dotted name → file of every module of the packages."""
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _own(name: str) -> bool:
    return name.split(".")[0] in PACKAGES


def _targets(node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    """The project's modules an import statement loads (a package's submodule by name)."""
    if isinstance(node, ast.Import):
        yield from (a.name for a in node.names if _own(a.name))
    elif node.level == 0 and node.module and _own(node.module):
        yield node.module
        for alias in node.names:
            if f"{node.module}.{alias.name}" in MODULES:
                yield f"{node.module}.{alias.name}"


def _top_level_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Imports that run when the module loads (not under ``if TYPE_CHECKING``)."""
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.Try):
            for sub in node.body:
                if isinstance(sub, ast.Import | ast.ImportFrom):
                    yield sub


def _graph() -> dict[str, set[str]]:
    """Module → the project's modules it names in its top-level imports."""
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        edges = {t for node in _top_level_imports(tree) for t in _targets(node)}
        graph[name] = {e for e in edges if e in MODULES and e != name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a list of modules, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_no_module_imports_itself_through_others():
    graph = _graph()
    assert len(graph) > 100  # every module of the packages was read
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_check_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_functions_import_no_own_module_outside_the_listed_places():
    found = []
    for path in MODULES.values():
        where = path.relative_to(ROOT).as_posix()
        if where.startswith(LAZY_ALLOWED):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in ast.walk(tree):
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                for node in ast.walk(fn):
                    if isinstance(node, ast.Import | ast.ImportFrom):
                        found += [f"{where}:{node.lineno}: {t}" for t in _targets(node)]
    assert not found, "import these at the top of the module:\n" + "\n".join(found)


#: Imports each library module with none of the project's modules loaded before it
#: (third-party packages stay loaded: they take no part in a cycle of ours), then every
#: ``api`` module (re-running the web app's modules once per module would take a minute).
_ONE_BY_ONE = """
import importlib, sys, traceback
failed = []
for name in {library!r} + [None] + {api!r}:
    if name is None or name in {library!r}:
        for loaded in [m for m in sys.modules if m.split(".")[0] in {packages!r}]:
            del sys.modules[loaded]
    if name is None:
        continue
    try:
        importlib.import_module(name)
    except Exception:
        failed.append(name + ": " + traceback.format_exc().strip().splitlines()[-1])
print("\\n".join(failed))
"""


def test_every_module_imports_on_its_own():
    library = sorted(n for n in MODULES if not n.startswith("api"))
    api = sorted(n for n in MODULES if n.startswith("api"))
    code = _ONE_BY_ONE.format(library=library, api=api, packages=PACKAGES)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", "modules that do not import on their own:\n" + done.stdout
