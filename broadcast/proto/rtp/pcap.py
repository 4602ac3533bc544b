"""A small reader of classic libpcap files, for UDP datagrams over IPv4 (RTP ingest from a capture).

Format (the libpcap "savefile", as tcpdump/Wireshark write it): a 24-byte global header (magic
``a1b2c3d4`` = microsecond or ``a1b23c4d`` = nanosecond timestamps, in either byte order; version
2.4; snaplen; link type) and records of 16-byte header (seconds, sub-seconds, captured length,
original length) + captured bytes. Link types: 1 Ethernet (with up to two 802.1Q/802.1ad VLAN
tags), 113 Linux cooked (SLL), 276 Linux cooked v2 (SLL2), 0 BSD loopback, 101/228 raw IPv4.
pcapng is not read (it has another magic; the error says so).

Hostile input: every length is checked before use; a record longer than ``MAX_RECORD`` or a file
that ends inside a record stops the reading (counted), a frame that is not a complete,
unfragmented IPv4/UDP datagram is skipped (counted by reason in :class:`PcapStats`). Only
:class:`PcapError` (a bad global header) is ever raised, and only by :func:`open_pcap`.
"""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, Final

from broadcast.time import UnixS

MAGIC_US: Final = 0xA1B2C3D4
MAGIC_NS: Final = 0xA1B23C4D
MAGIC_PCAPNG: Final = 0x0A0D0D0A
GLOBAL_HEADER_LEN: Final = 24
RECORD_HEADER_LEN: Final = 16
#: Largest captured length accepted (libpcap's own MAXIMUM_SNAPLEN).
MAX_RECORD: Final = 262144

LINKTYPE_NULL: Final = 0
LINKTYPE_ETHERNET: Final = 1
LINKTYPE_RAW: Final = 101
LINKTYPE_LINUX_SLL: Final = 113
LINKTYPE_IPV4: Final = 228
LINKTYPE_LINUX_SLL2: Final = 276
LINKTYPES: Final = (
    LINKTYPE_NULL,
    LINKTYPE_ETHERNET,
    LINKTYPE_RAW,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_IPV4,
    LINKTYPE_LINUX_SLL2,
)

ETHERTYPE_IPV4: Final = 0x0800
ETHERTYPE_VLAN: Final = (0x8100, 0x88A8)
IPPROTO_UDP: Final = 17
AF_INET_BSD: Final = 2


class PcapError(ValueError):
    """Not a classic pcap file this reader understands (bad magic, version, link type)."""


@dataclass(frozen=True, slots=True)
class UdpRecord:
    """One UDP datagram from the capture. ``time`` in seconds since the Unix epoch."""

    time: UnixS
    src: str
    sport: int
    dst: str
    dport: int
    payload: bytes


@dataclass
class PcapStats:
    """Records read, datagrams yielded and records skipped by reason."""

    records: int = 0
    datagrams: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    #: Why the reading stopped early (a truncated or corrupt file), else "".
    stopped: str = ""


@dataclass(frozen=True, slots=True)
class PcapHeader:
    big_endian: bool
    nanoseconds: bool
    snaplen: int
    linktype: int


def read_global_header(data: bytes) -> PcapHeader:
    """Parse the 24-byte global header (PcapError if it is not a classic pcap file)."""
    if len(data) < GLOBAL_HEADER_LEN:
        raise PcapError(f"{len(data)} bytes is shorter than a pcap global header")
    for order in ("<", ">"):
        (magic,) = struct.unpack(order + "I", data[:4])
        if magic in (MAGIC_US, MAGIC_NS):
            break
    else:
        if struct.unpack("<I", data[:4])[0] == MAGIC_PCAPNG:
            raise PcapError("pcapng is not supported: save the capture as classic pcap")
        raise PcapError(f"not a pcap file (magic {data[:4].hex()})")
    major, _minor, _zone, _sigfigs, snaplen, linktype = struct.unpack(order + "HHiIII", data[4:24])
    if major != 2:
        raise PcapError(f"pcap version {major} is not supported (2.x only)")
    linktype &= 0x0FFF_FFFF  # the top bits may carry FCS information
    if linktype not in LINKTYPES:
        raise PcapError(f"pcap link type {linktype} is not supported")
    return PcapHeader(order == ">", magic == MAGIC_NS, snaplen, linktype)


def _ip_payload_offset(frame: bytes, linktype: int) -> int | str:
    """Offset of the IPv4 header in ``frame``, or a skip reason."""
    n = len(frame)
    if linktype in (LINKTYPE_RAW, LINKTYPE_IPV4):
        return 0
    if linktype == LINKTYPE_NULL:
        if n < 4:
            return "truncated_link"
        family = int.from_bytes(frame[:4], "little")
        if family != AF_INET_BSD and int.from_bytes(frame[:4], "big") != AF_INET_BSD:
            return "not_ipv4"
        return 4
    if linktype == LINKTYPE_LINUX_SLL:
        if n < 16:
            return "truncated_link"
        proto, at = int.from_bytes(frame[14:16], "big"), 16
    elif linktype == LINKTYPE_LINUX_SLL2:
        if n < 20:
            return "truncated_link"
        proto, at = int.from_bytes(frame[0:2], "big"), 20
    else:  # Ethernet
        if n < 14:
            return "truncated_link"
        proto, at = int.from_bytes(frame[12:14], "big"), 14
        for _ in range(2):
            if proto not in ETHERTYPE_VLAN:
                break
            if n < at + 4:
                return "truncated_link"
            proto, at = int.from_bytes(frame[at + 2 : at + 4], "big"), at + 4
    return at if proto == ETHERTYPE_IPV4 else "not_ipv4"


def parse_frame(frame: bytes, linktype: int, captured_unix: UnixS) -> UdpRecord | str:
    """The UDP datagram in one captured frame, or the reason it is skipped."""
    at = _ip_payload_offset(frame, linktype)
    if isinstance(at, str):
        return at
    n = len(frame)
    if n < at + 20:
        return "truncated_ip"
    if frame[at] >> 4 != 4:
        return "not_ipv4"
    ihl = 4 * (frame[at] & 0x0F)
    total = int.from_bytes(frame[at + 2 : at + 4], "big")
    if ihl < 20 or total < ihl:
        return "bad_ip_header"
    if n < at + total:
        return "truncated_ip"
    if frame[at + 9] != IPPROTO_UDP:
        return "not_udp"
    flags_frag = int.from_bytes(frame[at + 6 : at + 8], "big")
    if flags_frag & 0x3FFF:  # MF set or a fragment offset: not a whole datagram
        return "ip_fragment"
    udp = at + ihl
    if total - ihl < 8:
        return "truncated_udp"
    length = int.from_bytes(frame[udp + 4 : udp + 6], "big")
    if length < 8 or length > total - ihl:
        return "bad_udp_length"
    return UdpRecord(
        captured_unix,
        ".".join(str(b) for b in frame[at + 12 : at + 16]),
        int.from_bytes(frame[udp : udp + 2], "big"),
        ".".join(str(b) for b in frame[at + 16 : at + 20]),
        int.from_bytes(frame[udp + 2 : udp + 4], "big"),
        bytes(frame[udp + 8 : udp + length]),
    )


class PcapReader:
    """Iterate over the UDP datagrams of an open pcap stream (see the module doc)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.header = read_global_header(stream.read(GLOBAL_HEADER_LEN))
        self.stats = PcapStats()
        order = ">" if self.header.big_endian else "<"
        self._record = struct.Struct(order + "IIII")

    def __iter__(self) -> Iterator[UdpRecord]:
        h, stats, record = self.header, self.stats, self._record
        divisor = 1e9 if h.nanoseconds else 1e6
        while True:
            head = self._stream.read(RECORD_HEADER_LEN)
            if not head:
                return
            if len(head) < RECORD_HEADER_LEN:
                stats.stopped = "truncated_file"
                return
            sec, sub, incl, orig = record.unpack(head)
            if incl > MAX_RECORD:
                stats.stopped = "corrupt_record_length"
                return
            frame = self._stream.read(incl)
            if len(frame) < incl:
                stats.stopped = "truncated_file"
                return
            stats.records += 1
            if incl < orig:
                stats.skipped["snapped"] += 1
                continue
            result = parse_frame(frame, h.linktype, UnixS(sec + sub / divisor))
            if isinstance(result, str):
                stats.skipped[result] += 1
                continue
            stats.datagrams += 1
            yield result


def open_pcap(stream: BinaryIO) -> PcapReader:
    """A reader over ``stream`` (PcapError for a bad global header)."""
    return PcapReader(stream)


__all__ = [
    "LINKTYPE_ETHERNET",
    "LINKTYPE_IPV4",
    "LINKTYPE_LINUX_SLL",
    "LINKTYPE_LINUX_SLL2",
    "LINKTYPE_NULL",
    "LINKTYPE_RAW",
    "PcapError",
    "PcapReader",
    "PcapStats",
    "UdpRecord",
    "open_pcap",
    "parse_frame",
    "read_global_header",
]
