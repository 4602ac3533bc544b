"""The native core is required: a missing build fails at import with ONE clear error.

Each case copies the ``broadcast`` package into a temporary directory without some of the
compiled extension modules and imports from that copy in a fresh interpreter (the copy comes
first on ``sys.path``, so the built modules of the checkout are out of reach).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import broadcast
import broadcast._native as native_pkg

PACKAGE = Path(broadcast.__file__).resolve().parent
ROOT = PACKAGE.parent

PROBE = """
import json, sys
import broadcast
assert broadcast.__file__.startswith(sys.argv[1]), broadcast.__file__
try:
    __import__(sys.argv[2])
except ImportError as exc:
    print(json.dumps({"type": type(exc).__name__, "message": str(exc), "name": exc.name}))
else:
    print(json.dumps(None))
"""


def _copy_without(tmp: Path, missing: set[str]) -> Path:
    def ignore(directory: str, names: list[str]) -> list[str]:
        skipped = [n for n in names if n in {"__pycache__"}]
        if Path(directory).name == "_native":
            skipped += [n for n in names if n.split(".")[0] in missing and n.endswith(".so")]
        return skipped

    shutil.copytree(PACKAGE, tmp / "broadcast", ignore=ignore)
    return tmp


def _import_in(tree: Path, module: str) -> dict[str, str] | None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(tree)
    res = subprocess.run(
        [sys.executable, "-c", PROBE, str(tree), module],
        capture_output=True,
        text=True,
        cwd=tree,
        env=env,
        check=True,
        timeout=120,
    )
    result: dict[str, str] | None = json.loads(res.stdout)
    return result


def test_modules_are_the_built_extensions() -> None:
    with (ROOT / "pyproject.toml").open("rb") as f:
        ext = tomllib.load(f)["tool"]["setuptools"]["ext-modules"]
    assert {f"broadcast._native.{m}" for m in native_pkg.MODULES} == {e["name"] for e in ext}


def test_the_checkout_has_every_module(tmp_path: Path) -> None:
    tree = _copy_without(tmp_path, set())
    assert _import_in(tree, "broadcast.proto.srtp.batch") is None


@pytest.mark.parametrize(
    ("missing", "module"),
    [
        ({"srtp_batch"}, "broadcast.proto.srtp.batch"),
        ({"srtp_batch"}, "broadcast._native.srtp_batch"),
        ({"udp_send"}, "broadcast.aio.streaming.ingest"),
        ({"raptor", "alc_batch"}, "broadcast.proto.mikey.batch"),
        (set(native_pkg.MODULES), "broadcast._native"),
    ],
)
def test_a_missing_module_is_one_clear_import_error(
    tmp_path: Path, missing: set[str], module: str
) -> None:
    tree = _copy_without(tmp_path, missing)
    error = _import_in(tree, module)
    assert error is not None
    assert error["type"] == "ImportError"  # not a ModuleNotFoundError for some other name
    names = sorted(missing)
    assert error["message"] == (
        f"broadcast._native is not built (missing: {', '.join(names)}): "
        "run tools/bootstrap (pip install -e .) or tools/build-native to compile native/"
    )
    assert error["name"] == f"broadcast._native.{names[0]}"
