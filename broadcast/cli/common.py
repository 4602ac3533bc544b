"""What the ``mbms`` commands share: logging to standard error and range-checked number options.

- :func:`configure_logging` — one log line format for every command, on standard error (standard
  output carries the command's own report); :func:`verbose_level` maps ``-v`` counts to a level.
- :func:`number_option` — an argparse ``type=`` that converts a number and checks its range, with
  a message that names what was expected ("not a number of seconds: 'x'") instead of argparse's
  generic "invalid value".
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from typing import Final, TypeVar

#: The log line of every ``mbms`` command.
LOG_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_N = TypeVar("_N", int, float)


def verbose_level(verbose: int) -> int:
    """The level for ``-v`` given ``verbose`` times: WARNING, INFO (-v), DEBUG (-vv or more)."""
    if verbose > 1:
        return logging.DEBUG
    return logging.INFO if verbose else logging.WARNING


def configure_logging(level: int) -> None:
    """Log records of ``level`` and above to standard error in :data:`LOG_FORMAT`."""
    logging.basicConfig(level=level, format=LOG_FORMAT, stream=sys.stderr)


def add_verbose(parser: argparse.ArgumentParser) -> None:
    """The ``-v/--verbose`` counter (see :func:`verbose_level`)."""
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log to stderr (-v info, -vv debug)"
    )


def number_option(
    convert: Callable[[str], _N], ok: Callable[[_N], bool], *, what: str, rule: str
) -> Callable[[str], _N]:
    """An argparse ``type=``: ``convert(text)`` (``int`` or ``float``), then ``ok(value)``.

    Errors are :class:`argparse.ArgumentTypeError`: ``not <what>: '<text>'`` when the text is no
    number, ``rule`` when it is out of range (NaN never passes a comparison, so it is refused).
    """

    def parse(text: str) -> _N:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(rule)
        return value

    return parse


__all__ = ["LOG_FORMAT", "add_verbose", "configure_logging", "number_option", "verbose_level"]
