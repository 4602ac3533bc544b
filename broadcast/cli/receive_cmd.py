"""``mbms receive``: the reference UE (:mod:`broadcast.aio.ue.service`).

``mbms receive --config FILE [--duration SECONDS] [--report-json FILE] [--keylog FILE] [-v]``

Reads the User Service's announcement named in the configuration (protection description and
SDP files; the TOML keys are documented in :mod:`broadcast.config.ue`, a complete example is
``broadcast/config/examples/ue.toml``), receives its streaming and download sessions until
``--duration`` has passed or SIGINT/SIGTERM arrives, then prints the report table on standard
output (and JSON with ``--report-json``). ``--keylog`` writes every MSK and MTK learnt to FILE
(mode 0600) — the only place key bytes are ever written. With ``[msk_client]`` the UE runs the
MSK procedures itself: it requests the MSKs of the announced Key Groups from the BM-SC over HTTP
Digest with its GBA credentials, verifies and ACKs the pushed MSK messages, answers solicited
pulls and re-requests after a missed MSK update; the report then shows the MSK client's counters.

Exit codes: 0 the UE ran, or had nothing to do (confidentiality and integrity both off);
1 the configuration, the announcement or a socket could not be used; 3 the UE refused to start
(UICC key management required, this UE is ME-based); 64 command-line usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import signal
import sys
from pathlib import Path
from typing import Any, Final

from broadcast.aio.ue.service import ReferenceUe
from broadcast.cli.common import add_verbose, configure_logging, number_option, verbose_level
from broadcast.config.ue import UeConfig, load_config
from broadcast.engine.ue.errors import UiccKeyManagementRequired
from broadcast.engine.ue.report import STATUS_RAN, UeReport
from broadcast.proto.announce.errors import AnnouncementError
from broadcast.proto.errors import ConfigError

EXIT_OK: Final = 0
EXIT_ERROR: Final = 1
EXIT_REFUSED: Final = 3

PROG: Final = "mbms receive"


_duration = number_option(
    float,
    lambda v: 0 < v <= 10**7,
    what="a number of seconds",
    rule="the duration must be > 0 seconds",
)


def _write_report(report: UeReport, path: Path | None) -> None:
    if path is None:
        return
    try:
        path.write_text(report.dumps(), encoding="utf-8")
    except OSError as exc:
        print(f"{PROG}: cannot write the report {path}: {exc.strerror}", file=sys.stderr)


async def _wait(duration: float | None) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=duration)
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


async def run(config: UeConfig, duration: float | None) -> tuple[int, UeReport]:
    """Run the UE for ``duration`` seconds (None: until a signal); returns exit code and report."""
    ue = ReferenceUe(config)
    try:
        await ue.start()
    except UiccKeyManagementRequired as exc:
        print(f"{PROG}: refusing to start: {exc}", file=sys.stderr)
        return EXIT_REFUSED, ue.report()
    except AnnouncementError as exc:
        print(f"{PROG}: the announcement cannot be used: {exc}", file=sys.stderr)
        return EXIT_ERROR, ue.report()
    except ConfigError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_ERROR, ue.report()
    except (OSError, ValueError) as exc:
        print(f"{PROG}: cannot open the session sockets: {exc}", file=sys.stderr)
        return EXIT_ERROR, ue.report()
    if ue.status != STATUS_RAN:
        print(f"{PROG}: {ue.message}", file=sys.stderr)
        return EXIT_OK, ue.report()
    try:
        await _wait(duration)
    finally:
        await ue.stop()
    return EXIT_OK, ue.report()


def run_receive(args: argparse.Namespace) -> int:
    configure_logging(verbose_level(args.verbose))
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    overrides: dict[str, Any] = {}
    if args.keylog is not None:
        overrides["keylog"] = args.keylog
    if args.report_json is not None:
        overrides["report_json"] = args.report_json
    config = dataclasses.replace(config, **overrides)
    code, report = asyncio.run(run(config, args.duration))
    sys.stdout.write(report.to_text())
    sys.stdout.flush()
    _write_report(report, config.report_json)
    return code


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``receive`` to the ``mbms`` parser."""
    p = commands.add_parser(
        "receive",
        help="the reference UE: receive a protected MBMS User Service",
        description=__doc__.split("\n\n", 2)[2] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", required=True, type=Path, metavar="FILE", help="UE TOML config")
    p.add_argument(
        "--duration",
        type=_duration,
        metavar="SECONDS",
        help="stop after this many seconds (default: run until SIGINT/SIGTERM)",
    )
    p.add_argument(
        "--report-json", type=Path, metavar="FILE", help="also write the final report as JSON"
    )
    p.add_argument(
        "--keylog",
        type=Path,
        metavar="FILE",
        help="write every MSK and MTK learnt to FILE (mode 0600; contains key bytes)",
    )
    add_verbose(p)
    p.set_defaults(handler=run_receive)
