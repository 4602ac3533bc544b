"""The timebases of the engine, as distinct types, and the shapes of injected clocks and randomness.

Every time value handed to a sans-IO engine says which clock it comes from — by its type and by
its name — so that a monotonic reading is never compared with a wall-clock one by accident:

- :data:`MonotonicS` — seconds of a monotonic clock with an arbitrary origin (``time.monotonic``):
  intervals, timers, schedules (MTK switches and re-sends, rate limits, missed-MSK signals, UE
  re-requests). Only differences of two readings mean anything.
- :data:`UnixS` — seconds since 1970-01-01 UTC (``time.time``): what is stored or told to other
  parties — key and nonce lifetimes, MUK and GBA expiry (whole seconds where the store keeps
  integers), delivery rows and the push schedule kept with them, the download carousel (its FDT
  ``Expires`` is a wall-clock time), RTCP sender report times.
- :data:`NtpS` — the 32-bit seconds part of an NTP timestamp: seconds since 1900-01-01 UTC modulo
  2^32 (RFC 5905 §6), compared in serial arithmetic
  (:func:`broadcast.proto.flute.ntp.ntp_not_after`): FDT ``Expires`` (RFC 3926 §3.3) and the
  receive time a FLUTE receiver checks it against.

Naming rule (checked by ``tests/contract/test_time_names.py``):

- A parameter that holds an instant is named ``<what>_<base>`` with the base ``mono``, ``unix``
  or ``ntp`` and is annotated with the matching type: ``now_mono: MonotonicS``,
  ``now_unix: UnixS``, ``expires_at_unix: UnixS``, ``next_at_unix: UnixS``,
  ``now_ntp: NtpS``. A bare ``now`` is never a parameter name, and no ``now*`` parameter has a
  default: the caller always says when "now" is.
- A clock parameter or attribute is ``clock_mono: MonotonicClock`` or
  ``clock_unix: UnixClock``; randomness is ``rand: Rand``.
- A duration is no instant: plain ``float`` (or ``int``) seconds, named for what it measures
  (``interval``, ``lifetime_s``, ``grace_period``), never with a base suffix.
- Record fields (dataclasses, rows) keep the names of the spec or the stored column
  (``expires_at``, ``next_at``, FDT ``expires``) and say their base by their type; locals and
  private attributes inside a function or class whose parameters name the base need not repeat
  it. Wire values that merely encode a time (the 64-bit NTP timestamp of an RTCP SR, the MIKEY
  TS, LCT EXT_TIME) keep their spec names and plain ``int`` type.

``tests/contract/test_time_types.py`` shows that mypy refuses a mix-up (a Unix time or a raw
float where a monotonic time is expected): the NewTypes cost nothing at run time.

This module sits at the bottom of the layers and reads no clock itself: the real clocks are in
:mod:`broadcast.aio.clock`, injected by the asyncio shells, the CLI and the demo; tests inject
fake ones (``tests/testkit.py`` ``FakeMonotonicClock``, ``FakeUnixClock``).
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
_NTP_MOD: Final = 1 << 32


def ntp_from_unix(t_unix: UnixS) -> NtpS:
    """The 32-bit NTP seconds of a Unix time (truncated to whole seconds, modulo 2^32)."""
    return NtpS((int(t_unix) + NTP_UNIX_OFFSET) % _NTP_MOD)


def ntp_timestamp(t_unix: UnixS) -> int:
    """The 64-bit NTP timestamp of a Unix time (RFC 3550 §4): :func:`ntp_from_unix` seconds in
    the high 32 bits, the fraction of the second in the low 32."""
    fraction = int((t_unix - int(t_unix)) * _NTP_MOD) & 0xFFFF_FFFF
    return (ntp_from_unix(t_unix) << 32) | fraction


__all__ = [
    "NTP_UNIX_OFFSET",
    "MonotonicClock",
    "MonotonicS",
    "NtpS",
    "Rand",
    "UnixClock",
    "UnixS",
    "ntp_from_unix",
    "ntp_timestamp",
]
