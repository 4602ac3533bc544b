"""The real clocks: the one module of the package that reads the time.

The asyncio services, the CLI and the demo inject these (typed as :mod:`broadcast.time` says);
the sans-IO layers only receive their readings, and tests inject fake clocks instead. Waiting
(``asyncio.sleep``, timeouts, the event loop's own timer) is not reading a clock and stays where
the waiting is done.
"""

from __future__ import annotations

import time

from broadcast.time import MonotonicS, UnixS


def monotonic() -> MonotonicS:
    """Seconds of the monotonic clock (arbitrary origin; ``time.monotonic``)."""
    return MonotonicS(time.monotonic())


def unix() -> UnixS:
    """Seconds since the Unix epoch (the wall clock; ``time.time``)."""
    return UnixS(time.time())


def perf_counter() -> float:
    """The highest-resolution clock for measuring short phases (``time.perf_counter``): only
    differences of two readings mean anything, and only for diagnostics (phase timings)."""
    return time.perf_counter()


__all__ = ["monotonic", "perf_counter", "unix"]
