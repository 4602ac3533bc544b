"""The ``mbms`` command line: a thin layer over the library (``serve | stream | carousel |
receive | demo | inspect``).

Each command lives in its own module that adds its subparser (``register``) and sets ``handler``,
a function ``(argparse.Namespace) -> int`` returning the exit code.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Final, NoReturn

from broadcast.cli import bmsc_cmd, carousel_cmd, demo_cmd, inspect_cmd, receive_cmd, stream_cmd

#: Every command module, in the order ``mbms --help`` lists them.
_COMMANDS: Final = (bmsc_cmd, stream_cmd, carousel_cmd, receive_cmd, demo_cmd, inspect_cmd)

#: Exit code of a command-line usage error (sysexits EX_USAGE), kept apart from the commands' own
#: codes (``mbms inspect`` uses 2 for "MAC does not verify").
EXIT_USAGE: Final = 64


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors exiting 64 instead of 2 (subparsers inherit the class)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="mbms",
        description="3GPP MBMS BM-SC key delivery (TS 33.246): MIKEY MSK/MTK, SRTP, FLUTE/DCF.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in _COMMANDS:
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``mbms`` with ``argv`` (default: the process arguments); returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, usage errors: return the code instead of exiting
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except BrokenPipeError:  # e.g. ``mbms inspect sample | head``: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
