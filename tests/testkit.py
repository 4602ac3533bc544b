"""Helpers shared by the whole test suite (not a test module): where the data is, an injectable
clock, bounded waits, loading a module by path, child processes, network namespaces.

Test modules import it by name (``from testkit import FakeClock``). That works because
``tests/conftest.py`` lives in this directory, which has no ``__init__.py``: in pytest's default
"prepend" import mode the directory of such a conftest is put on ``sys.path`` before any test
module is imported (the same rule that lets ``tests/ue/ue_support.py`` be imported by basename).
Scripts that run outside pytest (the netns agents) add this directory to ``sys.path`` themselves.

Fixtures built on these (``fake_clock``, the key stores) are in ``tests/conftest.py``.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import pytest

from broadcast.time import MonotonicS, UnixS

#: The repository checkout this file belongs to.
REPO_ROOT = Path(__file__).resolve().parents[1]
#: Reference material the tests read (see tests/data/README.md).
DATA_DIR = REPO_ROOT / "tests" / "data"
#: The example configurations shipped with the package.
EXAMPLES_DIR = REPO_ROOT / "broadcast" / "config" / "examples"

#: A fixed Unix time (2023-11-14T22:13:20Z) for clocks that tests move by hand.
NOW = 1_700_000_000.0
#: Upper bound of every bounded wait: a guard against a hang (the test fails), never a timing
#: assertion; the conditions waited for normally hold within milliseconds.
TIMEOUT = 30.0


def data_file(*parts: str) -> Path:
    """A file under ``tests/data``; a missing one fails the test (it is part of the repository)."""
    path = DATA_DIR.joinpath(*parts)
    if not path.is_file():
        pytest.fail(
            f"{path} is missing: tests/data is part of the repository (see tests/data/README.md)",
            pytrace=False,
        )
    return path


class FakeClock:
    """An injectable clock (``() -> float`` seconds) that moves only when the test moves it:
    :meth:`advance`, or :meth:`sleep`, an ``asyncio.sleep`` stand-in that advances the clock by
    the time asked for (recorded in :attr:`sleeps`) and yields to the event loop once."""

    def __init__(self, t: float = NOW) -> None:
        self.t = t
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not go back")
        self.t += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)


class FakeMonotonicClock(FakeClock):
    """A :class:`FakeClock` typed as a :data:`broadcast.time.MonotonicClock` (``clock_mono=``)."""

    def __call__(self) -> MonotonicS:
        return MonotonicS(self.t)


class FakeUnixClock(FakeClock):
    """A :class:`FakeClock` typed as a :data:`broadcast.time.UnixClock` (``clock_unix=``)."""

    def __call__(self) -> UnixS:
        return UnixS(self.t)


def wait_until(predicate: Callable[[], bool], timeout: float = TIMEOUT) -> bool:
    """Poll ``predicate`` (blocking: for threads and subprocesses) until it holds or ``timeout``
    seconds pass; returns its last value. The bound only guards against a hang."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


async def async_wait_until(predicate: Callable[[], bool], timeout: float = TIMEOUT) -> bool:
    """Poll ``predicate`` in the running event loop until it holds or ``timeout`` seconds pass;
    returns its last value. The bound only guards against a hang."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.005)
    return predicate()


def load_module(path: Path, name: str) -> ModuleType:
    """Import the Python file at ``path`` as module ``name`` (once; later calls return it).

    For files that are not importable by name: a tool under ``tools/``, the vendored oracle, or
    a test helper whose basename could clash with an installed package (``pcap.py``). The module
    is registered in ``sys.modules`` before it runs (dataclasses look their module up there).
    """
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def child_env() -> dict[str, str]:
    """The environment for a child Python (``python -m broadcast...``, ``python -c``): this one,
    with the checkout first on ``PYTHONPATH``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def sigkill_after_lines(argv: Sequence[str], lines: int) -> tuple[list[str], str]:
    """Run ``argv`` (a child Python, :func:`child_env`), read ``lines`` lines of its output, then
    SIGKILL it. Returns every whole line it printed (a torn last one is dropped) and its stderr;
    fails unless it printed those lines and died of the SIGKILL (not sooner)."""
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env(), text=True
    )
    assert proc.stdout is not None
    seen: list[str] = []
    try:
        for _ in range(lines):
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line)
    finally:
        proc.send_signal(signal.SIGKILL)
    rest, err = proc.communicate(timeout=120)  # a guard against a hang only
    assert proc.returncode == -signal.SIGKILL, f"child was not killed mid-run: {err}"
    assert len(seen) == lines, err
    return [line for line in [*seen, *rest.splitlines(keepends=True)] if line.endswith("\n")], err


@contextmanager
def network_namespace(name: str, setup: Sequence[Sequence[str]] = ()) -> Iterator[str]:
    """A fresh network namespace ``name`` (needs root), with ``lo`` up and each ``setup`` command
    run inside it; deleted on exit."""
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=10)
    try:
        for cmd in (["ip", "link", "set", "lo", "up"], *setup):
            subprocess.run(["ip", "netns", "exec", name, *cmd], check=True, timeout=10)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False, timeout=10)
