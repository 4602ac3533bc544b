"""``broadcast._native`` is imported only by its faces (the package's rule; tests may import it)."""

from __future__ import annotations

import ast
from pathlib import Path

import broadcast

PACKAGE = Path(broadcast.__file__).resolve().parent

FACES = {
    "broadcast/proto/mikey/batch.py",
    "broadcast/proto/srtp/batch.py",
    "broadcast/proto/flute/blocks.py",
    "broadcast/proto/flute/fec/raptor.py",
    "broadcast/proto/flute/fec/raptor_codec.py",
    "broadcast/aio/sgimb/engine.py",
}


def _imports_native(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            if any(a.name.startswith("broadcast._native") for a in node.names):
                return True
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            if node.module.startswith("broadcast._native"):
                return True
            if node.module == "broadcast" and any(a.name == "_native" for a in node.names):
                return True
    return False


def test_only_the_faces_import_the_native_core() -> None:
    importers = set()
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).as_posix()
        if rel.startswith("broadcast/_native/"):
            continue
        if _imports_native(ast.parse(path.read_text(encoding="utf-8"), rel)):
            importers.add(rel)
    assert importers == FACES


def test_the_scan_sees_every_import_form() -> None:
    forms = [
        "import broadcast._native.udp_send",
        "from broadcast._native import udp_send",
        "from broadcast._native.udp_send import BatchSender",
        "from broadcast import _native",
        "def f():\n    from broadcast._native import raptor",
    ]
    assert all(_imports_native(ast.parse(src)) for src in forms)
    assert not _imports_native(ast.parse("from broadcast import profile\nimport broadcast"))
