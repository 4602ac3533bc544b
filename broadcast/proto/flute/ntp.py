"""NTP seconds, the time unit of FDT ``Expires`` (RFC 3926 §3.3) and EXT_TIME (RFC 5651 §5.2.2).

Values are the 32 most significant bits of a 64-bit NTP timestamp: seconds since 1900-01-01 UTC,
modulo 2^32. Comparisons use serial-number arithmetic so that the 2036 era rollover does not make
every FDT look expired. Pure functions: the caller supplies the clock.
"""

from __future__ import annotations

from typing import Final

#: Seconds from the NTP epoch (1900-01-01) to the Unix epoch (1970-01-01).
NTP_UNIX_OFFSET: Final = 2_208_988_800
_MOD: Final = 1 << 32


def ntp_seconds(unix_time: float) -> int:
    """32-bit NTP seconds for a Unix time (truncated to whole seconds)."""
    return (int(unix_time) + NTP_UNIX_OFFSET) % _MOD


def ntp_not_after(a: int, b: int) -> bool:
    """Whether NTP seconds ``a`` is at or before ``b`` (serial arithmetic modulo 2^32)."""
    return (b - a) % _MOD < _MOD // 2
