"""NTP seconds, the time unit of FDT ``Expires`` (RFC 3926 §3.3) and EXT_TIME (RFC 5651 §5.2.2).

Values are :data:`broadcast.time.NtpS`: the 32 most significant bits of a 64-bit NTP timestamp,
seconds since 1900-01-01 UTC modulo 2^32 (made from a Unix time by
:func:`broadcast.time.ntp_from_unix`). Comparisons use serial-number arithmetic so that the 2036
era rollover does not make every FDT look expired. Pure functions: the caller supplies the clock.
"""

from __future__ import annotations

from typing import Final

from broadcast.time import NtpS

_MOD: Final = 1 << 32


def ntp_not_after(a_ntp: NtpS, b_ntp: NtpS) -> bool:
    """Whether NTP seconds ``a_ntp`` is at or before ``b_ntp`` (serial arithmetic modulo 2^32)."""
    return (b_ntp - a_ntp) % _MOD < _MOD // 2
