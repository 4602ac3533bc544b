"""The timebases of the engine, as distinct types, and the shapes of injected clocks and randomness.

Every time value handed to a sans-IO engine says which clock it comes from — by its type and by
its parameter name (``now_mono``, ``now_unix``, ``expires_ntp`` ...) — so that a monotonic
reading can never be compared with a wall-clock one by accident:

- :data:`MonotonicS` — seconds of a monotonic clock with an arbitrary origin (``time.monotonic``):
  intervals, timers, schedules (MTK switches and re-sends, push retransmissions, rate limits,
  carousel pacing). Only differences of two readings mean anything.
- :data:`UnixS` — seconds since 1970-01-01 UTC (``time.time``): what is stored or told to other
  parties — key and nonce lifetimes, MUK expiry, delivery rows, GBA key lifetimes.
- :data:`NtpS` — whole seconds since 1900-01-01 UTC, era 0 (RFC 5905 §6): FDT ``Expires``
  (RFC 3926 §3.4.2) and the seconds part of RTCP sender report timestamps (RFC 3550 §4).

This module sits at the bottom of the layers and reads no clock itself: the real clocks are in
:mod:`broadcast.aio.clock`, injected by the asyncio shells; tests inject fake ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, NewType

MonotonicS = NewType("MonotonicS", float)
UnixS = NewType("UnixS", float)
NtpS = NewType("NtpS", int)

#: A monotonic clock (``time.monotonic`` in the shells).
MonotonicClock = Callable[[], MonotonicS]
#: The wall clock (``time.time`` in the shells).
UnixClock = Callable[[], UnixS]
#: Randomness: ``n`` -> ``n`` random bytes (``os.urandom`` in the shells and as defaults).
Rand = Callable[[int], bytes]

#: Seconds from the NTP epoch (1900-01-01) to the Unix epoch (1970-01-01), RFC 5905 §6.
NTP_UNIX_OFFSET: Final = 2_208_988_800


def ntp_from_unix(t: UnixS) -> NtpS:
    """Whole NTP seconds (era 0) of a Unix time, truncated."""
    return NtpS(int(t) + NTP_UNIX_OFFSET)


def unix_from_ntp(t: NtpS) -> UnixS:
    """The Unix time of whole NTP seconds (era 0)."""
    return UnixS(float(t - NTP_UNIX_OFFSET))


__all__ = [
    "NTP_UNIX_OFFSET",
    "MonotonicClock",
    "MonotonicS",
    "NtpS",
    "Rand",
    "UnixClock",
    "UnixS",
    "ntp_from_unix",
    "unix_from_ntp",
]
