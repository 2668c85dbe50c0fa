"""The shape of the package, checked from its source: no import cycles, no upward imports, short modules.

The source is read with ``ast``; nothing of agentco is imported. A dependency is any ``import`` that
runs: at module level or inside a function (a lazy import still couples the two modules), but not one
under ``if TYPE_CHECKING:``, which never runs. A lazy ``"module:attr"`` string is not an import.
An import names exactly one module: ``import agentco.llm.local`` depends on llm/local/__init__.py
(or llm/local.py), not also on agentco/__init__.py and agentco/llm/__init__.py.
"""

from __future__ import annotations

import ast
import functools
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "agentco"
MAX_LINES = 400

# Lowest layer first. A module may import its own layer and the layers below it, never one above.
# An entry names a module or a package (and everything under it); the longest matching entry wins.
# The bare package name "agentco" means only agentco/__init__.py. Move a name to change the rules.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    # Foundation: the package root (lazy names only), the exception hierarchy, prompt templates
    # and typed settings. Plain values and loaders that know nothing about models or agents.
    ("foundation", ("agentco", "agentco.errors", "agentco.templates", "agentco.config")),
    # The one ordered stream of what happens in a run (messages, stages, artifacts, model calls).
    # It sits this low so that every layer above may emit events and the store may persist them.
    ("events", ("agentco.events",)),
    # Talking to models: providers, the one LLMClient door, structured output, fakes, the guard,
    # the token/cost meter (llm/meter.py) and the embedded llama.cpp model with its weights (llm/local/).
    ("llm", ("agentco.llm",)),
    # Building blocks that each stand alone on top of llm: the message/role/team kernel, the
    # sandboxed process runner, the durable run store, the language toolchains (lang/python/).
    ("blocks", ("agentco.core", "agentco.sandbox", "agentco.store", "agentco.lang", "agentco.kb")),
    # The products: the software company (roles, schemas, project files, pipeline) and the Data
    # Interpreter (plan, sandboxed kernel, notebook), which keeps its folder as the company does, and
    # changes to existing projects (change/), which reuse the company's project folder.
    ("products", ("agentco.company", "agentco.di", "agentco.change", "agentco.scenario")),
    # The composition root: builds a run from typed settings and a request; may import anything below.
    ("runtime", ("agentco.runtime",)),
    # Batches of runs through the composition root, on threads here or as tasks on a Ray cluster.
    ("batch", ("agentco.batch",)),
    # Entry points, which nothing below imports: the command line, the team server, the benchmarks,
    # `python -m agentco`, and the test fixtures (agentco.testing, also kept out of every other module).
    ("entry", ("agentco.bench", "agentco.cli", "agentco.server", "agentco.__main__", "agentco.testing")),
]

# Test fixtures. Nothing else in src may import these; a lazy "agentco.testing.x:name" string may name them.
FIXTURES = "agentco.testing"


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int


@dataclass(frozen=True)
class Graph:
    modules: dict[str, Path]  # dotted name -> file; a package is its __init__.py
    imports: list[Import]

    def edges(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {name: set() for name in self.modules}
        for imp in self.imports:
            out[imp.importer].add(imp.imported)
        return out


def module_name(path: Path, src: Path) -> str:
    parts = path.relative_to(src).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _ImportCollector(ast.NodeVisitor):
    """Every import that can run, anywhere in the module, as (absolute target, line)."""

    def __init__(self, name: str, is_package: bool, known: set[str]):
        self.package = name if is_package else name.rpartition(".")[0]
        self.known = known
        self.found: list[tuple[str, int]] = []

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            for stmt in node.orelse:
                self.visit(stmt)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.found.append((alias.name, node.lineno))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.package.split(".")
            base = base[: len(base) - (node.level - 1)]
            origin = ".".join([*base, node.module] if node.module else base)
        else:
            origin = node.module or ""
        for alias in node.names:
            # `from pkg import sub` imports the module pkg.sub when there is one, else a name of pkg.
            sub = f"{origin}.{alias.name}"
            self.found.append((sub if sub in self.known else origin, node.lineno))


def build_graph(src: Path = SRC, package: str = PACKAGE) -> Graph:
    files = sorted((src / package).rglob("*.py"))
    modules = {module_name(path, src): path for path in files}
    known = set(modules)
    imports: list[Import] = []
    for name, path in modules.items():
        collector = _ImportCollector(name, path.name == "__init__.py", known)
        collector.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        for target, line in collector.found:
            if target == package or target.startswith(package + "."):
                # An import names exactly one module: agentco.llm.local is llm/local.py or
                # llm/local/__init__.py, not agentco/llm/__init__.py too.
                resolved = _nearest_module(target, known)
                if resolved is not None and resolved != name:
                    imports.append(Import(name, resolved, line))
    return Graph(modules, sorted(set(imports), key=lambda i: (i.importer, i.line, i.imported)))


def _nearest_module(target: str, known: set[str]) -> str | None:
    while target and target not in known:
        target = target.rpartition(".")[0]
    return target or None


def layer_of(module: str) -> int | None:
    best: tuple[int, int] | None = None  # (length of the matching entry, layer index)
    for index, (_, entries) in enumerate(LAYERS):
        for entry in entries:
            matches = module == entry or (entry != PACKAGE and module.startswith(entry + "."))
            if matches and (best is None or len(entry) > best[0]):
                best = (len(entry), index)
    return None if best is None else best[1]


def find_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The shortest cycle through each module that is in one, as chains a -> b -> a, without repeats."""
    cycles: set[tuple[str, ...]] = set()
    for component in _strongly_connected(edges):
        if len(component) < 2:
            continue
        for start in component:
            chain = _shortest_cycle(start, edges, component)[:-1]
            first = chain.index(min(chain))  # the same cycle seen from another module reads the same
            chain = chain[first:] + chain[:first]
            cycles.add((*chain, chain[0]))
    return sorted(list(cycle) for cycle in cycles)


def _strongly_connected(edges: dict[str, set[str]]) -> list[set[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(node: str) -> None:  # Tarjan; the package is small enough for recursion
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            components.append(component)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return components


def _shortest_cycle(start: str, edges: dict[str, set[str]], within: set[str]) -> list[str]:
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in sorted(edges[node] & within):
            if nxt == start:
                chain = [node]
                while chain[-1] != start:
                    chain.append(came_from[chain[-1]])
                return [*reversed(chain), start]
            if nxt not in came_from:
                came_from[nxt] = node
                queue.append(nxt)
    raise AssertionError(f"{start} is in a cycle but none was found")


@functools.cache
def graph() -> Graph:
    return build_graph()


def _where(imp: Import) -> str:
    path = graph().modules[imp.importer].relative_to(SRC.parent)
    return f"{path}:{imp.line}"


# --- the rules -----------------------------------------------------------------------------------
def test_no_import_cycles():
    g = graph()
    edges = g.edges()
    problems = []
    for cycle in find_cycles(edges):
        links = [
            f"      {_where(imp)}: import {imp.imported}"
            for a, b in zip(cycle, cycle[1:], strict=False)
            for imp in g.imports
            if (imp.importer, imp.imported) == (a, b)
        ]
        problems.append("  " + " -> ".join(cycle) + "\n" + "\n".join(links))
    if problems:
        pytest.fail("import cycles between agentco modules (cut one link of each):\n" + "\n".join(problems), False)


def test_every_module_has_a_layer():
    unplaced = sorted(name for name in graph().modules if layer_of(name) is None)
    if unplaced:
        pytest.fail(f"modules in no layer; add them to LAYERS in {Path(__file__).name}: {unplaced}", False)


def test_no_upward_imports():
    problems = []
    for imp in graph().imports:
        if _within(imp.imported, FIXTURES):
            continue  # reported by test_only_the_fixtures_import_the_fixtures
        low, high = layer_of(imp.importer), layer_of(imp.imported)
        if low is not None and high is not None and high > low:
            problems.append(
                f"  {_where(imp)}: {imp.importer} ({LAYERS[low][0]}) imports {imp.imported} ({LAYERS[high][0]})"
            )
    order = " < ".join(name for name, _ in LAYERS)
    if problems:
        pytest.fail(f"imports from a higher layer ({order}):\n" + "\n".join(problems), False)


def test_only_the_fixtures_import_the_fixtures():
    problems = [
        f"  {_where(imp)}: {imp.importer} imports {imp.imported}"
        for imp in graph().imports
        if _within(imp.imported, FIXTURES) and not _within(imp.importer, FIXTURES)
    ]
    if problems:
        why = f"{FIXTURES} is test fixtures; name it in a lazy 'module:attr' string instead of importing it"
        pytest.fail(why + ":\n" + "\n".join(problems), False)


def test_modules_stay_short():
    long = {
        str(path.relative_to(SRC.parent)): lines
        for path in graph().modules.values()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    listing = "\n".join(f"  {path}: {lines} lines" for path, lines in sorted(long.items(), key=lambda kv: -kv[1]))
    if long:
        pytest.fail(f"modules over {MAX_LINES} lines (split them by idea):\n{listing}", False)


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


# --- the checker itself, on a tiny package -------------------------------------------------------
def test_the_graph_counts_lazy_and_relative_imports_but_not_type_checking_ones(tmp_path):
    files = {
        "pkg/__init__.py": "",
        "pkg/a.py": "from pkg.sub import b\n",
        "pkg/sub/__init__.py": "from .b import thing\n",
        "pkg/sub/b.py": (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from pkg import a\n"
            "def f():\n    from ..c import x\n    import pkg.sub\n"
        ),
        "pkg/c.py": "import pkg.a\nNAME = 'pkg.b:thing'\n",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)

    edges = build_graph(tmp_path, "pkg").edges()

    assert edges == {
        "pkg": set(),
        "pkg.a": {"pkg.sub.b"},
        "pkg.sub": {"pkg.sub.b"},
        "pkg.sub.b": {"pkg.c", "pkg.sub"},
        "pkg.c": {"pkg.a"},
    }
    assert find_cycles(edges) == [["pkg.a", "pkg.sub.b", "pkg.c", "pkg.a"], ["pkg.sub", "pkg.sub.b", "pkg.sub"]]
