"""GTP-U G-PDU encapsulation (TS 29.281), sans-IO, for feeding an MBMS-GW / MB-UPF directly.

A G-PDU (message type 255, §6.1) is the GTP-U header (§5.1) followed by a T-PDU: here the full
inner IPv4/UDP packet the gateway would otherwise have received on SGi-mb (source = our
source address, destination = the session's group and port). The G-PDU itself travels in UDP
to the GTP-U endpoint, port 2152 (§4.4.2.3).

Header (§5.1): octet 1 = version 1 (3 bits) · PT 1 · spare · E · S · PN; octet 2 = message type;
octets 3-4 = length of everything after the first 8 octets; octets 5-8 = TEID. When E, S or PN
is set, 4 more octets follow: sequence number (2), N-PDU number (1), next extension header
type (1), then the extension headers (§5.2: length in 4-octet units · content · next type).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from broadcast import profile
from broadcast.proto.errors import LocatedError
from broadcast.proto.net.ipv4 import UdpIpv4Builder

#: GTP-U UDP port (TS 29.281 §4.4.2.3).
GTPU_PORT = profile.GTPU_UDP_PORT
#: Message type of a G-PDU (TS 29.281 §6.1).
GPDU_MESSAGE_TYPE = 0xFF
GTPU_HEADER_LEN = 8
GTPU_OPTIONAL_LEN = 4
_FLAGS_BASE = 0x30  # version 1, PT = 1 (GTP)
_FLAG_E = 0x04
_FLAG_S = 0x02
_FLAG_PN = 0x01
_HEADER = struct.Struct("!BBHI")
MAX_TEID = 0xFFFF_FFFF
#: The length field is 16 bits.
MAX_GPDU_BODY = 0xFFFF


class GtpuError(LocatedError):
    """A malformed GTP-U message, or a G-PDU that cannot be built."""


@dataclass(frozen=True)
class GPdu:
    """A decoded G-PDU: TEID, sequence number (None when S is clear) and the T-PDU."""

    teid: int
    sequence: int | None
    t_pdu: bytes


def encode_gpdu(teid: int, t_pdu: bytes, sequence: int | None = None) -> bytes:
    """One G-PDU carrying ``t_pdu``; with ``sequence`` the S flag and the optional octets."""
    if not 0 <= teid <= MAX_TEID:
        raise GtpuError(f"TEID {teid} is outside 0..2^32-1", field="TEID")
    if sequence is None:
        if len(t_pdu) > MAX_GPDU_BODY:
            raise GtpuError(f"T-PDU of {len(t_pdu)} bytes exceeds {MAX_GPDU_BODY}", field="length")
        return _HEADER.pack(_FLAGS_BASE, GPDU_MESSAGE_TYPE, len(t_pdu), teid) + t_pdu
    body = GTPU_OPTIONAL_LEN + len(t_pdu)
    if body > MAX_GPDU_BODY:
        raise GtpuError(f"T-PDU of {len(t_pdu)} bytes is too long", field="length")
    return (
        _HEADER.pack(_FLAGS_BASE | _FLAG_S, GPDU_MESSAGE_TYPE, body, teid)
        + (sequence & 0xFFFF).to_bytes(2, "big")
        + b"\x00\x00"
        + t_pdu
    )


def decode_gpdu(data: bytes) -> GPdu:
    """Parse a G-PDU (extension headers are walked and skipped). Raises :class:`GtpuError`."""
    if len(data) < GTPU_HEADER_LEN:
        raise GtpuError(f"{len(data)} bytes is shorter than a GTP-U header", offset=0)
    flags, mtype, length, teid = _HEADER.unpack_from(data)
    if flags >> 5 != 1:
        raise GtpuError(f"GTP version {flags >> 5}, expected 1", field="version", offset=0)
    if not flags & 0x10:
        raise GtpuError("PT is 0 (GTP'), expected GTP", field="PT", offset=0)
    if mtype != GPDU_MESSAGE_TYPE:
        raise GtpuError(f"message type {mtype} is not a G-PDU (255)", field="type", offset=1)
    end = GTPU_HEADER_LEN + length
    if end != len(data):
        raise GtpuError(
            f"length {length} does not match the {len(data) - GTPU_HEADER_LEN} bytes after the"
            " header",
            field="length",
            offset=2,
        )
    pos = GTPU_HEADER_LEN
    sequence = None
    if flags & (_FLAG_E | _FLAG_S | _FLAG_PN):
        if end - pos < GTPU_OPTIONAL_LEN:
            raise GtpuError("optional fields run past the message", field="sequence", offset=pos)
        if flags & _FLAG_S:
            sequence = int.from_bytes(data[pos : pos + 2], "big")
        next_type = data[pos + 3] if flags & _FLAG_E else 0
        pos += GTPU_OPTIONAL_LEN
        while next_type:
            if pos >= end:
                raise GtpuError("extension header runs past the message", offset=pos)
            units = data[pos]
            if units == 0:
                raise GtpuError("extension header of length 0", field="extension", offset=pos)
            if pos + 4 * units > end:
                raise GtpuError("extension header runs past the message", offset=pos)
            next_type = data[pos + 4 * units - 1]
            pos += 4 * units
    return GPdu(teid=teid, sequence=sequence, t_pdu=bytes(data[pos:end]))


class GtpuEncapsulator:
    """Wraps datagrams for ``group:port`` into G-PDUs (inner IPv4/UDP packet, TS 29.281).

    ``inner``: builds the inner packets (our source address and port, the multicast TTL).
    ``sequence_numbers``: set S and count the sequence number up from ``first_sequence``.
    Stateful (IPv4 identification, sequence number) but free of I/O.
    """

    def __init__(
        self,
        teid: int,
        inner: UdpIpv4Builder,
        sequence_numbers: bool = False,
        first_sequence: int = 0,
    ) -> None:
        if not 0 <= teid <= MAX_TEID:
            raise GtpuError(f"TEID {teid} is outside 0..2^32-1", field="TEID")
        self.teid = teid
        self._inner = inner
        self._sequence: int | None = (first_sequence & 0xFFFF) if sequence_numbers else None

    def wrap(self, datagram: bytes, group: str, port: int) -> bytes:
        """The G-PDU carrying ``datagram`` as an IPv4/UDP packet to ``group:port``."""
        packet = self._inner.build(datagram, group, port)
        seq = self._sequence
        if seq is not None:
            self._sequence = (seq + 1) & 0xFFFF
        return encode_gpdu(self.teid, packet, seq)
