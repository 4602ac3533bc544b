"""``mbms carousel: a protected file carousel`` (placeholder until its issue lands)."""

from __future__ import annotations

import argparse
from typing import Any


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Adds this module's subcommand(s) to ``commands`` (none yet)."""
