"""RTCP sender reports for the protected stream (RFC 3550 §6.4.1 SR, §6.5.1 SDES CNAME).

When the ingest brings no RTCP, the service generates one compound packet per SSRC every few
seconds: SR (no report blocks: a broadcast sender receives nothing) followed by SDES with the
CNAME (§6.1: every compound packet carries a CNAME). It is protected as SRTCP with the current
MTK's MKI and sent to the RTP port + 1.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from broadcast.proto.rtp.rtp import RTCP_SDES, RTCP_SR
from broadcast.time import MonotonicS

#: SDES item CNAME (RFC 3550 §6.5.1).
SDES_CNAME: Final = 1
MAX_CNAME: Final = 255
_NEVER: Final = MonotonicS(0.0)


@dataclass(slots=True)
class SenderCounters:
    """What one SSRC has sent (RFC 3550 §6.4.1) and the last RTP timestamp with its time."""

    packets: int = 0
    octets: int = 0
    rtp_timestamp: int = 0
    #: The monotonic time the last packet was sent.
    last_sent: MonotonicS = _NEVER


def sender_report(
    ssrc: int, *, ntp: int, rtp_timestamp: int, packets: int, octets: int, cname: str
) -> bytes:
    """Compound RTCP packet SR(no report blocks) + SDES(CNAME) (RFC 3550 §6.4.1, §6.5)."""
    sr = struct.pack(
        "!BBHIQIII",
        0x80,  # V=2, P=0, RC=0
        RTCP_SR,
        6,  # length in 32-bit words minus one: 28 bytes
        ssrc & 0xFFFF_FFFF,
        ntp & 0xFFFF_FFFF_FFFF_FFFF,
        rtp_timestamp & 0xFFFF_FFFF,
        packets & 0xFFFF_FFFF,  # both counts wrap (RFC 3550 §6.4.1)
        octets & 0xFFFF_FFFF,
    )
    text = cname.encode()[:MAX_CNAME]
    chunk = struct.pack("!IBB", ssrc & 0xFFFF_FFFF, SDES_CNAME, len(text)) + text
    chunk += bytes(4 - len(chunk) % 4)  # END item (a zero byte) and padding to 32 bits
    sdes = struct.pack("!BBH", 0x81, RTCP_SDES, len(chunk) // 4) + chunk
    return sr + sdes


__all__ = ["SenderCounters", "sender_report"]
