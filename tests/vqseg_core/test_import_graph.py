"""The layering of ``vqseg_core``, read from the source with ``ast`` (nothing is imported).

* the library layers never reach up into training or the command line (and training never
  imports the command line);
* no import circles among ``vqseg_core`` modules;
* the core never imports the plugin.

Every import counts for the layering rules, however deep (module level, inside functions, the
lazy exports of a module ``__getattr__``, ``if TYPE_CHECKING`` blocks), and so do
``importlib.import_module`` / ``find_spec`` / ``__import__`` calls with a literal name (a
``find_spec("napari_vqseg")`` is an import of the plugin's files in all but name).

Circles count module-level *and* function-local imports: a function-local import defers a
circle without removing it (``io/image.py`` importing the readers in a function while every
reader imported ``io/image.py`` was one). Two kinds do not count: ``if TYPE_CHECKING`` imports
(they never run) and the body of a module-level ``__getattr__`` (PEP 562 lazy exports: a
package naming its own submodules on first use, the declared way to keep an import cheap).

An edge goes to the module named: ``from pkg import sub`` to ``pkg.sub`` when that is a module,
else to ``pkg``. Importing a submodule runs its package's ``__init__`` too, but counting that
would make every package that re-exports its submodules a "circle".
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import vqseg_core

ROOT = Path(vqseg_core.__file__).parent
LIBRARY = (
    "data",
    "models",
    "inference",
    "modelset",
    "pretrained",
    "engine",
    "robustness",
    "evaluation",
    "metrics",
    "perturb",
    "io",
)
FLOORS = {  # docs/architecture.md: each floor imports only from the floors below it
    1: ("io", "metrics", "perturb", "models", "checkpoint", "weights", "device", "distributed",
        "reporting", "_version", "command_errors", "threads"),
    2: ("data", "inference", "backends", "volume", "volume_preview", "analysis"),
    3: ("modelset", "pretrained"),
    4: ("engine",),
    5: ("robustness", "evaluation", "train"),
    6: ("study",),
    7: ("cli",),
}  # fmt: skip
UPPER = ("vqseg_core.train", "vqseg_core.cli")
DYNAMIC = {"import_module", "find_spec", "__import__"}


MODULE, FUNCTION, LAZY, TYPING = "module level", "in a function", "lazy export", "type checking"
RUNS = (MODULE, FUNCTION)  # the kinds that make circles


@dataclass(frozen=True)
class Edge:
    """One import: ``source`` imports ``target`` at ``line``; ``kind`` says where it sits."""

    source: str
    target: str
    line: int
    kind: str = MODULE

    def __str__(self) -> str:
        return f"{self.source} -> {self.target} (line {self.line}, {self.kind})"


def module_name(path: Path, root: Path = ROOT, package: str = "vqseg_core") -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join([package, *parts])


def _modules(root: Path = ROOT, package: str = "vqseg_core") -> dict[str, Path]:
    return {module_name(p, root, package): p for p in sorted(root.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST, kind: str = MODULE) -> Iterator[tuple[ast.AST, str]]:
    """Every node below ``node`` with the kind of place it sits in."""
    for child in ast.iter_child_nodes(node):
        here = kind
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            top = isinstance(node, ast.Module) and getattr(child, "name", "") == "__getattr__"
            here = LAZY if top else (kind if kind in (LAZY, TYPING) else FUNCTION)
        yield child, here
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for part in child.body:
                yield part, TYPING
                yield from _walk(part, TYPING)
            for part in child.orelse:
                yield part, here
                yield from _walk(part, here)
            continue
        yield from _walk(child, here)


def _resolve(name: str, known: Iterable[str]) -> str:
    """``name`` itself when it is a known module, else its longest known prefix (or itself)."""
    known = set(known)
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        candidate = ".".join(parts[:n])
        if candidate in known:
            return candidate
    return name


def imports_of(module: str, source: str, known: Iterable[str], is_package: bool) -> list[Edge]:
    """The imports in ``source`` (the text of ``module``), relative ones resolved."""
    known = set(known)
    tree = ast.parse(source)
    here = module if is_package else module.rpartition(".")[0]
    edges: list[Edge] = []
    for node, kind in _walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                names.append(full if full in known else base)
        elif (
            isinstance(node, ast.Call)
            and (
                (isinstance(node.func, ast.Attribute) and node.func.attr in DYNAMIC)
                or (isinstance(node.func, ast.Name) and node.func.id in DYNAMIC)
            )
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names = [node.args[0].value]
        for name in dict.fromkeys(names):
            edges.append(Edge(module, _resolve(name, known), node.lineno, kind))
    return edges


def all_edges(root: Path = ROOT, package: str = "vqseg_core") -> list[Edge]:
    modules = _modules(root, package)
    edges = []
    for name, path in modules.items():
        text = path.read_text(encoding="utf-8")
        edges += imports_of(name, text, modules, path.name == "__init__.py")
    return edges


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def circles(edges: Iterable[Edge]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        if e.source != e.target:
            graph.setdefault(e.source, set()).add(e.target)
            graph.setdefault(e.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


# -- the rules -------------------------------------------------------------------------------


def test_the_library_never_imports_training_or_the_command_line() -> None:
    library = [f"vqseg_core.{name}" for name in LIBRARY]
    bad = [
        str(e)
        for e in all_edges()
        if any(_within(e.source, lib) for lib in library)
        and any(_within(e.target, up) for up in UPPER)
    ]
    assert not bad, "library modules importing vqseg_core.train / vqseg_core.cli:\n" + "\n".join(
        bad
    )


def test_training_does_not_import_the_command_line() -> None:
    bad = [
        str(e)
        for e in all_edges()
        if _within(e.source, "vqseg_core.train") and _within(e.target, "vqseg_core.cli")
    ]
    assert not bad, "\n".join(bad)


def test_no_import_circles() -> None:
    edges = [e for e in all_edges() if e.kind in RUNS and _within(e.target, "vqseg_core")]
    found = circles(edges)
    lines = []
    for component in found:
        members = set(component)
        lines.append(" <-> ".join(component))
        lines += [f"    {e}" for e in edges if e.source in members and e.target in members]
    assert not found, "import circles:\n" + "\n".join(lines)


def floor_of(module: str) -> int | None:
    """The floor of a ``vqseg_core`` module (``None`` for the package itself); a ``__main__``
    (``python -m ...``) is a front end, on the top floor."""
    parts = module.split(".")
    if len(parts) < 2:
        return None
    if parts[-1] == "__main__":
        return max(FLOORS)
    for floor, names in FLOORS.items():
        if parts[1] in names:
            return floor
    raise AssertionError(f"{module} is on no floor: add it to FLOORS and docs/architecture.md")


def test_every_floor_imports_only_from_the_floors_below() -> None:
    bad = []
    for e in all_edges():
        if e.kind == TYPING or not _within(e.target, "vqseg_core"):
            continue
        a, b = floor_of(e.source), floor_of(e.target)
        if a is not None and b is not None and b > a:
            bad.append(f"{e} (floor {a} -> floor {b})")
    assert not bad, "\n".join(bad)


def test_the_core_never_imports_the_plugin() -> None:
    bad = [str(e) for e in all_edges() if _within(e.target, "napari_vqseg")]
    assert not bad, "\n".join(bad)


# -- the reader itself -----------------------------------------------------------------------


def test_the_reader_sees_every_kind_of_import(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from pkg.a import x\n", encoding="utf-8")
    (pkg / "a.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "from . import b\n"
        "from .sub import c as cc, VALUE\n"
        "import pkg.sub.c\n"
        "if TYPE_CHECKING:\n"
        "    from pkg import d\n"
        "def later():\n"
        "    from ..outside import y\n"
        "    import importlib\n"
        "    importlib.import_module('napari_vqseg.samples')\n"
        "def __getattr__(name):\n"
        "    from pkg.sub import c\n"
        "    return c\n"
        "class K:\n"
        "    def m(self):\n"
        "        import json\n"
        "x = 1\n",
        encoding="utf-8",
    )
    for name in ("b.py", "d.py", "sub/__init__.py", "sub/c.py"):
        (pkg / name).write_text("VALUE = 1\n", encoding="utf-8")
    edges = {(e.target, e.kind) for e in all_edges(pkg, "pkg") if e.source == "pkg.a"}
    assert edges == {
        ("typing", MODULE),
        ("pkg.b", MODULE),
        ("pkg.sub.c", MODULE),
        ("pkg.sub", MODULE),
        ("pkg.d", TYPING),
        ("outside", FUNCTION),
        ("importlib", FUNCTION),
        ("napari_vqseg.samples", FUNCTION),
        ("pkg.sub.c", LAZY),
        ("json", FUNCTION),
    }
    init = {(e.target, e.kind) for e in all_edges(pkg, "pkg") if e.source == "pkg"}
    assert init == {("pkg.a", MODULE)}


def test_circles_are_strongly_connected_components() -> None:
    def edge(a: str, b: str) -> Edge:
        return Edge(a, b, 1)

    edges = [edge("p.a", "p.b"), edge("p.b", "p.c"), edge("p.c", "p.a"), edge("p.c", "p.d")]
    assert circles(edges) == [["p.a", "p.b", "p.c"]]
    assert circles([*edges, edge("p.d", "p.e"), edge("p.e", "p.d")]) == [
        ["p.d", "p.e"],
        ["p.a", "p.b", "p.c"],
    ]
    assert circles([edge("p.a", "p.a"), edge("p.a", "p.b")]) == []


def test_the_graph_covers_the_package() -> None:
    edges = all_edges()
    sources = {e.source for e in edges}
    assert {"vqseg_core.io", "vqseg_core.train.loop", "vqseg_core.data.cases"} <= sources
    assert any(e.source == "vqseg_core.io" and e.target == "vqseg_core.io.image" for e in edges)
