"""Write classic libpcap files of UDP datagrams over IPv4 over Ethernet, framed by hand.

Test helper only (no third-party packet library): enough to hand our MIKEY messages to an
independent dissector (tshark). Classic pcap format (magic ``a1b2c3d4``, version 2.4,
LINKTYPE_ETHERNET), IPv4 without options (header checksum computed per RFC 791 / RFC 1071),
UDP checksum 0 ("not computed", allowed for UDP over IPv4 by RFC 768).
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PCAP_MAGIC = 0xA1B2C3D4
LINKTYPE_ETHERNET = 1
SNAPLEN = 65535
ETHERTYPE_IPV4 = 0x0800
IPPROTO_UDP = 17
IPV4_HEADER_LEN = 20
UDP_HEADER_LEN = 8
#: Locally administered unicast MACs, so no vendor OUI is implied.
SRC_MAC = bytes.fromhex("020000000001")
DST_MAC = bytes.fromhex("020000000002")


@dataclass(frozen=True, slots=True)
class Datagram:
    """One UDP datagram to put in a frame."""

    src: str
    sport: int
    dst: str
    dport: int
    payload: bytes


def internet_checksum(data: bytes) -> int:
    """RFC 1071 one's-complement sum of 16-bit words (odd length padded with a zero byte)."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4_header(src: str, dst: str, payload_len: int, ident: int = 0, ttl: int = 64) -> bytes:
    """A 20-byte IPv4 header (DF set, no options) carrying UDP, with a correct checksum."""
    total_len = IPV4_HEADER_LEN + payload_len
    if total_len > 0xFFFF:
        raise ValueError(f"IPv4 datagram of {total_len} bytes is too large")
    fields = (
        0x45,  # version 4, IHL 5
        0,  # DSCP/ECN
        total_len,
        ident & 0xFFFF,
        0x4000,  # flags DF, fragment offset 0
        ttl,
        IPPROTO_UDP,
        0,  # checksum placeholder
        ipaddress.IPv4Address(src).packed,
        ipaddress.IPv4Address(dst).packed,
    )
    fmt = "!BBHHHBBH4s4s"
    header = struct.pack(fmt, *fields)
    checksum = internet_checksum(header)
    return header[:10] + struct.pack("!H", checksum) + header[12:]


def udp_header(sport: int, dport: int, payload_len: int) -> bytes:
    """An 8-byte UDP header with checksum 0 (not computed)."""
    return struct.pack("!HHHH", sport, dport, UDP_HEADER_LEN + payload_len, 0)


def ethernet_frame(d: Datagram, ident: int = 0) -> bytes:
    """Ethernet II / IPv4 / UDP / payload."""
    udp = udp_header(d.sport, d.dport, len(d.payload)) + d.payload
    ip = ipv4_header(d.src, d.dst, len(udp), ident=ident) + udp
    return DST_MAC + SRC_MAC + struct.pack("!H", ETHERTYPE_IPV4) + ip


def pcap_bytes(datagrams: Iterable[Datagram], start: float = 1_700_000_000.0) -> bytes:
    """A whole classic pcap file (native little-endian byte order, microsecond timestamps)."""
    out = bytearray(struct.pack("<IHHiIII", PCAP_MAGIC, 2, 4, 0, 0, SNAPLEN, LINKTYPE_ETHERNET))
    for i, d in enumerate(datagrams):
        frame = ethernet_frame(d, ident=i + 1)
        ts = start + i * 0.001
        sec = int(ts)
        usec = round((ts - sec) * 1_000_000)
        out += struct.pack("<IIII", sec, usec, len(frame), len(frame))
        out += frame
    return bytes(out)


def write_pcap(path: Path | str, datagrams: Iterable[Datagram]) -> Path:
    """Write ``datagrams`` as one frame each to ``path``; returns the path."""
    p = Path(path)
    p.write_bytes(pcap_bytes(datagrams))
    return p
