"""Checks on ingested RTP/RTCP datagrams before they are protected (RFC 3550, RFC 5761).

Whatever arrives on an ingest (a UDP socket, a pcap file) may be anything. Each datagram is
classified as RTP or RTCP (RFC 5761 §4: RTCP packet types 192-223 in the second byte; the RTP
payload types that would collide, 64-95 with the marker bit, are not used by senders that
multiplex) and checked before it reaches the SRTP sender; a bad one yields a short reason (the key
of the ingest statistics) instead of an exception.
"""

from __future__ import annotations

from typing import Final

RTP_VERSION: Final = 2
RTP_FIXED_HEADER_LEN: Final = 12
RTCP_HEADER_LEN: Final = 8
#: RFC 5761 §4: a second byte in 192..223 is an RTCP packet type (SR = 200 ... APP = 204).
RTCP_PT_MIN: Final = 192
RTCP_PT_MAX: Final = 223
RTCP_SR: Final = 200
RTCP_RR: Final = 201
RTCP_SDES: Final = 202
#: Largest datagram accepted from an ingest (an IPv4 UDP payload is at most 65507 bytes).
MAX_DATAGRAM: Final = 65507

# Reasons (ingest statistics keys).
EMPTY: Final = "empty"
TOO_SHORT: Final = "too_short"
BAD_VERSION: Final = "bad_version"
HEADER_OVERRUN: Final = "header_overrun"
BAD_PADDING: Final = "bad_padding"
TOO_LONG: Final = "too_long"
BAD_RTCP_LENGTH: Final = "bad_rtcp_length"
BAD_RTCP_FIRST: Final = "rtcp_not_sr_or_rr"


def is_rtcp(datagram: bytes) -> bool:
    """True when the datagram looks like RTCP rather than RTP (RFC 5761 §4)."""
    return len(datagram) >= 2 and RTCP_PT_MIN <= datagram[1] <= RTCP_PT_MAX


def rtp_header_length(packet: bytes) -> int | str:
    """Length of the clear header (fixed part, CSRCs, extension) of an RTP packet, or the reason
    why it is not a usable RTP packet (RFC 3550 §5.1, §5.3.1)."""
    n = len(packet)
    if n == 0:
        return EMPTY
    if n < RTP_FIXED_HEADER_LEN:
        return TOO_SHORT
    if n > MAX_DATAGRAM:
        return TOO_LONG
    b0 = packet[0]
    if b0 >> 6 != RTP_VERSION:
        return BAD_VERSION
    length = RTP_FIXED_HEADER_LEN + 4 * (b0 & 0x0F)
    if b0 & 0x10:
        if length + 4 > n:
            return HEADER_OVERRUN
        length += 4 + 4 * ((packet[length + 2] << 8) | packet[length + 3])
    if length > n:
        return HEADER_OVERRUN
    if b0 & 0x20:  # padding: the last byte counts the padding bytes, itself included
        pad = packet[-1]
        if pad == 0 or length + pad > n:
            return BAD_PADDING
    return length


def payload_octets(packet: bytes, header_length: int) -> int:
    """RTP payload octets (RFC 3550 §6.4.1 sender's octet count: no header, no padding)."""
    pad = packet[-1] if packet[0] & 0x20 else 0
    return len(packet) - header_length - pad


def check_rtcp(packet: bytes) -> str | None:
    """None for a well-formed RTCP compound packet (RFC 3550 §6.1: version 2, lengths that add up
    exactly, first packet SR or RR); else the reason."""
    n = len(packet)
    if n == 0:
        return EMPTY
    if n < RTCP_HEADER_LEN:
        return TOO_SHORT
    if n > MAX_DATAGRAM:
        return TOO_LONG
    if packet[1] not in (RTCP_SR, RTCP_RR):
        return BAD_RTCP_FIRST
    at = 0
    while at < n:
        if n - at < 4:
            return BAD_RTCP_LENGTH
        if packet[at] >> 6 != RTP_VERSION:
            return BAD_VERSION
        at += 4 * (((packet[at + 2] << 8) | packet[at + 3]) + 1)
    return None if at == n else BAD_RTCP_LENGTH


__all__ = [
    "MAX_DATAGRAM",
    "RTCP_RR",
    "RTCP_SDES",
    "RTCP_SR",
    "check_rtcp",
    "is_rtcp",
    "payload_octets",
    "rtp_header_length",
]
