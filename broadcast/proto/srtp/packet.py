"""RTP and RTCP header parsing, only as far as SRTP needs it (RFC 3550 §5.1, §5.3.1, §6.4).

SRTP leaves the RTP header (fixed part, CSRC list, header extension) in clear and encrypts the
payload (RFC 3711 §3.1); SRTCP leaves the first 8 bytes of the compound packet in clear (§3.4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from broadcast.proto.srtp.errors import BadVersion, PacketTooShort

RTP_VERSION: Final = 2
RTP_FIXED_HEADER_LEN: Final = 12
RTCP_HEADER_LEN: Final = 8


@dataclass(frozen=True, slots=True)
class RtpFixedHeader:
    """The fields SRTP reads from the 12-byte fixed RTP header."""

    seq: int
    ssrc: int
    csrc_count: int
    extension: bool


def parse_rtp_fixed(packet: bytes) -> RtpFixedHeader:
    """Version, SEQ, SSRC, CC and X of an RTP (or SRTP) packet."""
    if len(packet) < RTP_FIXED_HEADER_LEN:
        raise PacketTooShort(f"{len(packet)} bytes is shorter than the RTP fixed header")
    if packet[0] >> 6 != RTP_VERSION:
        raise BadVersion(f"RTP version {packet[0] >> 6}, expected 2")
    return RtpFixedHeader(
        seq=int.from_bytes(packet[2:4], "big"),
        ssrc=int.from_bytes(packet[8:12], "big"),
        csrc_count=packet[0] & 0x0F,
        extension=bool(packet[0] & 0x10),
    )


def rtp_header_len(packet: bytes, fixed: RtpFixedHeader, limit: int) -> int:
    """Length of the clear RTP header: fixed part, CSRCs and the header extension (RFC 3550
    §5.3.1). ``limit`` is how many bytes may belong to the RTP packet (trailer excluded)."""
    length = RTP_FIXED_HEADER_LEN + 4 * fixed.csrc_count
    if fixed.extension:
        if length + 4 > limit:
            raise PacketTooShort("RTP header extension runs past the packet")
        length += 4 + 4 * int.from_bytes(packet[length + 2 : length + 4], "big")
    if length > limit:
        raise PacketTooShort(f"RTP header of {length} bytes runs past the packet")
    return length


def parse_rtcp_ssrc(packet: bytes) -> int:
    """Version check and the sender SSRC of the first RTCP header (RFC 3550 §6.4.1)."""
    if len(packet) < RTCP_HEADER_LEN:
        raise PacketTooShort(f"{len(packet)} bytes is shorter than the RTCP header")
    if packet[0] >> 6 != RTP_VERSION:
        raise BadVersion(f"RTCP version {packet[0] >> 6}, expected 2")
    return int.from_bytes(packet[4:8], "big")
