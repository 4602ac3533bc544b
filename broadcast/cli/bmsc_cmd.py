"""``mbms serve | gba | subscribe | msk``: the BM-SC MSK procedures (placeholder for now)."""

from __future__ import annotations

import argparse
from typing import Any


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Adds this module's subcommand(s) to ``commands`` (none yet)."""
