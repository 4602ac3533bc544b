"""Suite-wide pytest set-up: no test may skip, and the shared fixtures.

- A skip is a failure. Every dependency of the tests is installed by ``tools/bootstrap`` and every
  file they read is in the repository (``tests/data``), so a test that would skip is a test that
  does not run: its report (and a skipped collection) is turned into a failure that names the
  reason; for what lies outside ``tests/`` (``benchmarks/``) the run's exit status turns to
  "tests failed" when anything skipped.
- ``fake_clock``: a :class:`testkit.FakeClock` at :data:`testkit.NOW`.
- ``memory_key_store`` / ``file_key_store``: an empty :class:`SQLiteKeyStore` (``:memory:``, or
  ``keys.sqlite`` in the test's ``tmp_path``), closed after the test.

Plain helpers (paths, bounded waits, ...) are in ``tests/testkit.py``; loading this file puts
``tests/`` on ``sys.path`` (rootless conftest, "prepend" import mode), so they import by name.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from testkit import FakeClock

from broadcast.store.keys import SQLiteKeyStore

# --- no test may skip ---------------------------------------------------------------------------

_NO_SKIP = "skipped, and no test may skip: "


def _skip_reason(longrepr: object) -> str:
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # (path, line, "Skipped: reason")
        return str(longrepr[2])
    return str(longrepr)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = _NO_SKIP + _skip_reason(report.longrepr)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report = yield
    if report.skipped:
        report.outcome = "failed"
        report.longrepr = _NO_SKIP + _skip_reason(report.longrepr)
    return report


def _skipped(config: pytest.Config) -> int:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    return len(reporter.stats.get("skipped", [])) if reporter is not None else 0


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _skipped(session.config) and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if n := _skipped(terminalreporter.config):
        terminalreporter.write_line(f"{n} skipped: the run fails, no test may skip", red=True)


# --- shared fixtures ----------------------------------------------------------------------------


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def memory_key_store() -> Iterator[SQLiteKeyStore]:
    with SQLiteKeyStore(":memory:") as store:
        yield store


@pytest.fixture
def file_key_store(tmp_path: Path) -> Iterator[SQLiteKeyStore]:
    with SQLiteKeyStore(tmp_path / "keys.sqlite") as store:
        yield store
