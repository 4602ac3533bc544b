"""Every decision in ``broadcast.profile`` is read by the package (profile.md: "a later correction
is a one-line change"): a constant nothing reads would make that promise false.

An :mod:`ast` scan of every module of ``broadcast/`` but the profile itself collects the names it
takes from the profile — ``profile.NAME`` (``from broadcast import profile [as p]``,
``import broadcast.profile``) and ``from broadcast.profile import NAME`` — and every UPPER_CASE
constant and public function of the profile must be among them. The other way round, every name
taken from the profile must exist there (a moved constant leaves no stale reader behind).
"""

from __future__ import annotations

import ast
import inspect

from testkit import REPO_ROOT

from broadcast import profile

PACKAGE = REPO_ROOT / "broadcast"
PROFILE_FILE = PACKAGE / "profile.py"


def profile_names() -> set[str]:
    """UPPER_CASE constants and public functions defined in ``broadcast.profile``."""
    names = set()
    for name, value in vars(profile).items():
        if name.startswith("_"):
            continue
        public_function = inspect.isfunction(value) and value.__module__ == profile.__name__
        if name.isupper() or public_function:
            names.add(name)
    return names


def _aliases(tree: ast.Module) -> tuple[set[str], set[str]]:
    """(local names bound to the profile module, names imported from it)."""
    modules: set[str] = set()
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0:
            if node.module == "broadcast":
                modules |= {a.asname or a.name for a in node.names if a.name == "profile"}
            elif node.module == "broadcast.profile":
                imported |= {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name == "broadcast.profile" and a.asname:
                    modules.add(a.asname)
    return modules, imported


def _is_broadcast_profile(node: ast.expr) -> bool:
    """``broadcast.profile`` spelled out (after ``import broadcast.profile``)."""
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "profile"
        and isinstance(node.value, ast.Name)
        and node.value.id == "broadcast"
    )


def names_read(source: str) -> set[str]:
    """The profile names one module reads."""
    tree = ast.parse(source)
    modules, used = _aliases(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and (
            (isinstance(node.value, ast.Name) and node.value.id in modules)
            or _is_broadcast_profile(node.value)
        ):
            used.add(node.attr)
    return used


def package_reads() -> dict[str, set[str]]:
    """Profile name -> the modules (paths relative to the package) that read it."""
    readers: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PROFILE_FILE:
            continue
        for name in names_read(path.read_text(encoding="utf-8")):
            readers.setdefault(name, set()).add(str(path.relative_to(PACKAGE)))
    return readers


def test_every_profile_decision_is_read_somewhere() -> None:
    readers = package_reads()
    unread = sorted(profile_names() - set(readers))
    assert not unread, "profile names nothing in broadcast/ reads: " + ", ".join(unread)


def test_every_name_read_from_the_profile_exists() -> None:
    missing = {n: sorted(m) for n, m in package_reads().items() if not hasattr(profile, n)}
    assert not missing, f"names read from broadcast.profile that it does not define: {missing}"


def test_the_scan_sees_every_spelling() -> None:
    src = """
from broadcast import profile
from broadcast import profile as p
import broadcast.profile
import broadcast.profile as bp
from broadcast.profile import RAND_LEN, mikey_content_location as loc

a = profile.KEY_LEN
b = p.MUK_LEN
c = broadcast.profile.PRF_FUNC
d = bp.COUNTER_MAX
e = other.NOT_THIS
"""
    assert names_read(src) == {
        "RAND_LEN",
        "mikey_content_location",
        "KEY_LEN",
        "MUK_LEN",
        "PRF_FUNC",
        "COUNTER_MAX",
    }


def test_profile_names_are_the_decisions() -> None:
    names = profile_names()
    assert {"KEMAC_ENCR_ALG", "TS_TYPE_COUNTER", "mikey_content_location"} <= names
    assert "Final" not in names and "annotations" not in names
