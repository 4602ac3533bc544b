"""The hand-written C of the native core (native/src/) compiles clean: gcc -Wall -Wextra -Werror.

Cython's generated C is not held to -Werror (it has unused helpers of the shared
``_crypto_impl.pxi``), so the extension build cannot add it; this test compiles every hand-written
file on its own instead, with the flags the extension build uses (``sysconfig`` CFLAGS and include
paths; OpenSSL's headers come from the compiler's default path, as in the build). It is a real
compile (``-c``), not ``-fsyntax-only``: warnings that need the optimiser (unused static
functions, ``-Wmaybe-uninitialized``) are only reported then. Any diagnostic fails the test.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sysconfig
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
NATIVE = ROOT / "native"
SRC = NATIVE / "src"
C_FILES = sorted(SRC.glob("*.c"))
H_FILES = sorted(SRC.glob("*.h"))
STRICT = ["-Wall", "-Wextra", "-Wmissing-prototypes", "-Werror"]


def _gcc() -> str:
    gcc = shutil.which("gcc")
    assert gcc is not None, "gcc is needed to build the native core (tools/bootstrap installs it)"
    return gcc


def _flags() -> list[str]:
    """The build's CFLAGS and include paths (Python's from sysconfig, native/ and native/src/)."""
    cflags = shlex.split(sysconfig.get_config_var("CFLAGS") or "")
    includes = {sysconfig.get_paths()["include"], sysconfig.get_paths()["platinclude"]}
    return [
        *cflags,
        "-fPIC",
        *(f"-I{d}" for d in sorted(includes)),
        f"-I{NATIVE}",
        f"-I{SRC}",
    ]


def _ext_modules() -> list[dict[str, Any]]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        modules: list[dict[str, Any]] = tomllib.load(f)["tool"]["setuptools"]["ext-modules"]
    return modules


def test_there_is_hand_written_c() -> None:
    names = {p.name for p in C_FILES}
    assert {"srtp_hmac.c", "udp_batch_send.c", "udp_batch_recv.c"} <= names
    assert {p.stem for p in H_FILES} == {p.stem for p in C_FILES}  # one header per file


@pytest.mark.parametrize("source", C_FILES, ids=[p.name for p in C_FILES])
def test_c_file_compiles_without_a_diagnostic(source: Path, tmp_path: Path) -> None:
    cmd = [_gcc(), *_flags(), *STRICT, "-c", str(source), "-o", str(tmp_path / "out.o")]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""
    assert (tmp_path / "out.o").stat().st_size > 0


@pytest.mark.parametrize("header", H_FILES, ids=[p.name for p in H_FILES])
def test_header_stands_alone(header: Path) -> None:
    """Each header compiles as the only include of a file (it includes what it needs)."""
    cmd = [_gcc(), *_flags(), *STRICT, "-fsyntax-only", "-x", "c", str(header)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""


def test_every_c_file_is_built_and_its_header_a_dependency() -> None:
    sources = {s for m in _ext_modules() for s in m["sources"]}
    depends = {d for m in _ext_modules() for d in m.get("depends", [])}
    for c in C_FILES:
        assert c.relative_to(ROOT).as_posix() in sources
        assert c.with_suffix(".h").relative_to(ROOT).as_posix() in depends
    for m in _ext_modules():
        if any(s.startswith("native/src/") for s in m["sources"]):
            assert "native/src" in m["include-dirs"]


def test_no_c_hides_in_cython_strings() -> None:
    """C belongs in native/src/, where C tools see it, not in ``cdef extern from *`` verbatim
    strings of the .pyx/.pxi files."""
    for path in sorted(NATIVE.glob("*.p*")):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"cdef\s+extern\s+from\s+\*", text), path.name
