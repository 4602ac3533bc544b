"""The layer contract of the package tree (README "Architecture"): a path says what may do I/O.

    cli > demo > aio > config > store | engine > proto > profile | time

A module may import modules of its own layer and of the layers below it, never above; ``store``
and ``engine`` sit side by side and import neither each other (an engine reaches a store only
through a protocol of :mod:`broadcast.proto`). The module graph has no import cycle. Native code
(``broadcast._native``) is reached only through the faces listed in :data:`NATIVE_FACES`.

The second half: the pure layers (``proto``, ``engine``, ``profile``, ``time``) import none of
the I/O modules of :data:`FORBIDDEN_IN_PURE`, read no clock, and use ``os.urandom`` /
``secrets`` only as the default value of an injectable ``rand``.

Checked on the source with :mod:`ast` (no import side effects; ``TYPE_CHECKING`` imports count).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from testkit import REPO_ROOT

PACKAGE = REPO_ROOT / "broadcast"

#: Layer of each top-level part of the package, bottom = 0.
LAYERS: dict[str, int] = {
    "profile": 0,
    "time": 0,
    "proto": 1,
    "engine": 2,
    "store": 2,
    "config": 3,
    "aio": 4,
    "demo": 5,
    "cli": 6,
}
#: Parts of one layer that must not import each other.
SIBLINGS_APART = {frozenset({"engine", "store"})}
#: The only modules that import ``broadcast._native`` (domain faces and the output engine).
NATIVE_FACES = frozenset(
    {
        "broadcast.proto.mikey.batch",
        "broadcast.proto.srtp.batch",
        "broadcast.proto.flute.blocks",
        "broadcast.proto.flute.fec.raptor",
        "broadcast.proto.flute.fec.raptor_codec",
        "broadcast.aio.sgimb.engine",
    }
)
PURE = ("profile", "time", "proto", "engine")
FORBIDDEN_IN_PURE = frozenset(
    {
        "socket",
        "asyncio",
        "sqlite3",
        "threading",
        "_thread",
        "select",
        "selectors",
        "subprocess",
        "multiprocessing",
        "concurrent",
        "time",
        "aiohttp",
    }
)
#: Clock reads by attribute name (``datetime.now()``, ``date.today()``...).
CLOCK_ATTRIBUTES = frozenset({"now", "utcnow", "today", "monotonic", "perf_counter", "time_ns"})


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    tree: ast.Module

    @property
    def part(self) -> str:
        parts = self.name.split(".")
        return parts[1] if len(parts) > 1 else ""

    @property
    def package(self) -> str:
        return self.name if self.path.name == "__init__.py" else self.name.rpartition(".")[0]


def _modules() -> list[Module]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        out.append(Module(".".join(parts), path, ast.parse(path.read_text(), str(path))))
    return out


MODULES = _modules()
NAMES = {m.name for m in MODULES}


def _imports(module: Module) -> Iterator[tuple[str, int]]:
    """(imported module, line) for every import of ``module``; ``from P import x`` yields the
    submodule ``P.x`` when that is a module of the package, else ``P``."""
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.package.split(".")[: len(module.package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                yield (sub if sub in NAMES else target), node.lineno


def _internal(name: str) -> str | None:
    """The package module an import names (a dotted name inside a module -> that module)."""
    while name and name not in NAMES:
        name = name.rpartition(".")[0]
    return name or None


def _part(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_module_is_in_a_layer() -> None:
    stray = sorted(
        m.name
        for m in MODULES
        if m.name != "broadcast" and m.part not in LAYERS and m.part != "_native"
    )
    assert not stray, f"modules outside every layer (add them to a layer folder): {stray}"


def test_imports_go_down_the_layers() -> None:
    bad = []
    for m in MODULES:
        if m.part not in LAYERS:
            continue
        for target, line in _imports(m):
            if not target.startswith("broadcast"):
                continue
            t = _internal(target)
            if t is None or t == "broadcast" or _part(t) == "_native":
                continue
            mine, theirs = LAYERS[m.part], LAYERS[_part(t)]
            apart = frozenset({m.part, _part(t)}) in SIBLINGS_APART
            if theirs > mine or (apart and m.part != _part(t)):
                bad.append(f"{m.path.relative_to(PACKAGE.parent)}:{line}: {m.name} -> {t}")
    assert not bad, "imports against the layer order:\n" + "\n".join(dict.fromkeys(bad))


def test_native_code_only_through_its_faces() -> None:
    bad = []
    for m in MODULES:
        for target, line in _imports(m):
            if target.startswith("broadcast._native") and m.name not in NATIVE_FACES:
                bad.append(f"{m.path.relative_to(PACKAGE.parent)}:{line}: {target}")
    assert not bad, "broadcast._native imported outside its faces:\n" + "\n".join(bad)


def test_no_import_cycles() -> None:
    graph: dict[str, set[str]] = {m.name: set() for m in MODULES}
    for m in MODULES:
        for target, _ in _imports(m):
            t = _internal(target) if target.startswith("broadcast") else None
            if t is not None and t != m.name and t != "broadcast":
                graph[m.name].add(t)
    # Tarjan's strongly connected components, iteratively.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    cycles: list[list[str]] = []
    counter = 0
    for root, targets in graph.items():
        if root in index:
            continue
        work = [(root, iter(sorted(targets)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                if len(comp) > 1:
                    cycles.append(sorted(comp))
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def _pure_modules() -> list[Module]:
    return [m for m in MODULES if m.part in PURE]


@pytest.mark.parametrize("module", _pure_modules(), ids=lambda m: m.name)
def test_pure_layers_do_no_io(module: Module) -> None:
    bad = [
        f"line {line}: imports {target}"
        for target, line in _imports(module)
        if target.split(".")[0] in FORBIDDEN_IN_PURE
    ]
    assert not bad, f"{module.name} is in a pure layer but " + "; ".join(bad)


def _defaults(tree: ast.Module) -> set[int]:
    """ids of the nodes that are default values of a function parameter."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            for d in [*node.args.defaults, *node.args.kw_defaults]:
                if d is not None:
                    out.update(id(n) for n in ast.walk(d))
    return out


@pytest.mark.parametrize("module", _pure_modules(), ids=lambda m: m.name)
def test_pure_layers_read_no_clock_and_draw_randomness_only_by_default(module: Module) -> None:
    defaults = _defaults(module.tree)
    secrets_names = {
        alias.asname or alias.name
        for node in ast.walk(module.tree)
        if isinstance(node, ast.ImportFrom) and node.module == "secrets"
        for alias in node.names
    }
    bad = []
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Attribute):
            owner = node.value.id if isinstance(node.value, ast.Name) else None
            if node.attr in CLOCK_ATTRIBUTES and owner in {"datetime", "date", "time"}:
                bad.append(f"line {node.lineno}: reads the clock ({owner}.{node.attr})")
            randomness = (owner == "os" and node.attr == "urandom") or owner == "secrets"
            if randomness and id(node) not in defaults:
                bad.append(f"line {node.lineno}: draws {owner}.{node.attr} outside a rand default")
        elif isinstance(node, ast.Name) and node.id in secrets_names and id(node) not in defaults:
            bad.append(f"line {node.lineno}: draws secrets.{node.id} outside a rand default")
    assert not bad, f"{module.name}: " + "; ".join(bad)


def _synthetic(name: str, source: str) -> Module:
    return Module(name, PACKAGE / (name.replace(".", "/") + ".py"), ast.parse(source))


def test_the_checks_see_what_they_must_refuse() -> None:
    """The walkers behind the tests above find an upward import, an I/O import, a clock read
    and a draw of randomness outside a default (so a passing run means something)."""
    m = _synthetic(
        "broadcast.engine.fake",
        "import socket\nimport os\nfrom broadcast.aio import service\n"
        "from datetime import datetime\n"
        "def f(rand=os.urandom):\n    return datetime.now(), os.urandom(4)\n",
    )
    imported = {t for t, _ in _imports(m)}
    assert {"socket", "broadcast.aio.service"} <= imported
    assert LAYERS[_part("broadcast.aio.service")] > LAYERS[m.part]
    with pytest.raises(AssertionError, match="socket"):
        test_pure_layers_do_no_io(m)
    with pytest.raises(AssertionError) as err:
        test_pure_layers_read_no_clock_and_draw_randomness_only_by_default(m)
    assert "datetime.now" in str(err.value) and "line 6: draws os.urandom" in str(err.value)
    assert "line 5" not in str(err.value)  # the default itself is allowed
