"""The package's shape: data flows one way, and no module imports from a layer above it.

Walks ``coverage/`` with :mod:`ast` (every import, also inside functions) and fails on any
import cycle between modules and on any import that points up the layers below.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "coverage"

#: The layers, lowest first: a module may import from its own layer or any layer below.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("leaves", ("coverage.errors", "coverage.skipped", "coverage.params", "coverage.ranges", "coverage.plain",
                "coverage.i18n", "coverage.version", "coverage.datasets", "coverage.reference", "coverage.highs")),
    ("geo", ("coverage.geo",)),
    ("read", ("coverage.read",)),
    ("network", ("coverage.network",)),
    ("study", ("coverage.study", "coverage.scenario")),
    ("demand", ("coverage.demand",)),
    ("access", ("coverage.access", "coverage.isoraster", "coverage.isochrones", "coverage.capacity",
                "coverage.groups")),
    ("rules", ("coverage.rules", "coverage.rulesets")),
    ("result", ("coverage.result",)),
    ("siting", ("coverage.siting",)),
    ("pipeline", ("coverage.pipeline",)),
    ("outputs", ("coverage.outputs",)),
    ("webapp", ("coverage.webapp",)),
    ("shell", ("coverage.cli", "coverage.demo", "coverage.fetch", "coverage.batch", "coverage.__main__",
               "coverage")),
]


def module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    name = ".".join(rel.parts)
    return name.removesuffix(".__init__")


def layer_of(module: str) -> int:
    best, index = -1, None
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best:
                best, index = len(p), i
    assert index is not None, f"{module} is in no layer: add it to LAYERS"
    return index


def imports_of(path: Path, known: set[str]) -> dict[str, int]:
    """Package modules imported by one file → line of the first import."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    out: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(parts + ([base] if base else []))
            # `from pkg import submodule` names a module; `from pkg import name` names the package
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        for t in targets:
            if t == "coverage" or t.startswith("coverage."):
                while t not in known and "." in t:
                    t = t.rpartition(".")[0]
                if t != me:
                    out.setdefault(t, node.lineno)
    return out


def graph() -> dict[str, dict[str, int]]:
    files = sorted(PKG.rglob("*.py"))
    known = {module_name(f) for f in files}
    return {module_name(f): imports_of(f, known) for f in files}


def test_every_module_has_a_layer() -> None:
    for module in graph():
        layer_of(module)


def test_no_import_points_up_the_layers() -> None:
    bad = []
    for module, deps in graph().items():
        for dep, line in deps.items():
            if layer_of(dep) > layer_of(module):
                bad.append(f"{module}:{line} imports {dep} ({LAYERS[layer_of(module)][0]} → "
                           f"{LAYERS[layer_of(dep)][0]})")
    assert not bad, "imports up the layers:\n" + "\n".join(bad)


def test_no_import_cycles() -> None:
    g = graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        for d in g.get(m, {}):
            if state.get(d) == 1:
                cycles.append(stack[stack.index(d):] + [d] if d in stack else [m, d])
            elif d not in state:
                visit(d, stack + [d])
        state[m] = 2

    for m in g:
        if m not in state:
            visit(m, [m])
    assert not cycles, "import cycles:\n" + "\n".join(" → ".join(c) for c in cycles)


@pytest.mark.parametrize("text, expected", [
    ("from coverage.network.graph import WalkNetwork", {"coverage.network.graph"}),
    ("from coverage.network import snap", {"coverage.network.snap"}),
    ("from ..errors import CRSError", {"coverage.errors"}),
])
def test_the_import_walker_itself(tmp_path: Path, text: str, expected: set[str]) -> None:
    """The walker resolves absolute, submodule and relative imports (checked on known lines)."""
    f = PKG / "network" / "__walker_probe__.py"
    known = {"coverage.network", "coverage.network.graph", "coverage.network.snap", "coverage.errors",
             "coverage.network.__walker_probe__"}
    try:
        f.write_text(text + "\n")
        assert set(imports_of(f, known)) == expected
    finally:
        f.unlink()


def test_the_package_is_imported_at_module_level_only() -> None:
    """Imports of the package's own modules sit at the top of each module, never inside a function: an
    import hidden in a function is how a cycle sneaks back in (52 of them before the redesign)."""
    hidden = []
    for path in sorted(PKG.rglob("*.py")):
        for fn in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("coverage")):
                    hidden.append(f"{module_name(path)}:{node.lineno} in {fn.name}()")
    assert not hidden, "package imports inside functions:\n" + "\n".join(hidden)
