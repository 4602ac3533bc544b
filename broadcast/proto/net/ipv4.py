"""IPv4/UDP packets built and parsed in user space (sans-IO) for GTP-U encapsulation.

A G-PDU towards an MBMS gateway or MB-UPF carries a whole inner IP packet (TS 29.281 §5.1,
"T-PDU"): here an IPv4 header (RFC 791 §3.1, no options) and a UDP header (RFC 768) with both
checksums computed (RFC 1071 Internet checksum; the UDP checksum covers the pseudo header
src · dst · 0 · 17 · UDP length, and a computed 0 is sent as 0xFFFF).
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

from broadcast.proto.errors import LocatedError

IPV4_HEADER_LEN = 20
UDP_HEADER_LEN = 8
IPPROTO_UDP = 17
#: An IPv4 packet is at most 65,535 bytes, so a UDP payload inside is at most 65,507.
MAX_UDP_PAYLOAD = 0xFFFF - IPV4_HEADER_LEN - UDP_HEADER_LEN

_IPV4 = struct.Struct("!BBHHHBBH4s4s")
_UDP = struct.Struct("!HHHH")


class Ipv4Error(LocatedError):
    """A malformed IPv4/UDP packet, or one that cannot be built."""


def internet_checksum(data: bytes) -> int:
    """RFC 1071 checksum (one's complement of the one's complement sum of 16-bit words).

    Uses 2^16 ≡ 1 (mod 0xFFFF): the big-endian integer value of the bytes, taken modulo 0xFFFF,
    is the one's complement sum, computed in C by the int type instead of a per-word loop (a
    non-zero sum ≡ 0 is 0xFFFF, "negative zero"). Over data that holds its own correct
    checksum the result is 0.
    """
    if len(data) % 2:
        data += b"\x00"
    total = int.from_bytes(data, "big") % 0xFFFF
    if total == 0 and data != bytes(len(data)):
        total = 0xFFFF
    return (~total) & 0xFFFF


def _address(value: str, what: str) -> bytes:
    try:
        return ipaddress.IPv4Address(value).packed
    except ValueError as exc:
        raise Ipv4Error(f"{what} {value!r} is not an IPv4 address") from exc


@dataclass(frozen=True)
class UdpIpv4Packet:
    """The fields of one IPv4/UDP packet (checksums verified when parsed)."""

    source: str
    destination: str
    source_port: int
    destination_port: int
    ttl: int
    identification: int
    payload: bytes


class UdpIpv4Builder:
    """Builds IPv4/UDP packets from one source address and port (precomputed header parts).

    ``ttl``: the IPv4 TTL of the inner packet (what a gateway forwarding it decrements).
    The identification field counts up per packet (wrapping at 2^16) from ``first_id``;
    DF is clear, so the packet may be fragmented after decapsulation (RFC 791, RFC 6864).
    """

    def __init__(self, source: str, source_port: int, ttl: int, first_id: int = 0) -> None:
        if not 0 <= source_port <= 0xFFFF:
            raise Ipv4Error(f"source port {source_port} is outside 0..65535")
        if not 0 <= ttl <= 0xFF:
            raise Ipv4Error(f"TTL {ttl} is outside 0..255")
        self._src = _address(source, "source")
        self._sport = source_port
        self._ttl = ttl
        self._ident = first_id & 0xFFFF
        self._dst_cache: dict[str, bytes] = {}

    def build(self, payload: bytes, destination: str, destination_port: int) -> bytes:
        """One IPv4/UDP packet carrying ``payload`` to ``destination:destination_port``."""
        n = len(payload)
        if n > MAX_UDP_PAYLOAD:
            raise Ipv4Error(f"UDP payload of {n} bytes exceeds {MAX_UDP_PAYLOAD}", field="length")
        if not 0 <= destination_port <= 0xFFFF:
            raise Ipv4Error(f"destination port {destination_port} is outside 0..65535")
        dst = self._dst_cache.get(destination)
        if dst is None:
            dst = _address(destination, "destination")
            if len(self._dst_cache) >= 256:
                self._dst_cache.clear()
            self._dst_cache[destination] = dst
        udp_len = UDP_HEADER_LEN + n
        ident = self._ident
        self._ident = (ident + 1) & 0xFFFF
        header = _IPV4.pack(
            0x45, 0, IPV4_HEADER_LEN + udp_len, ident, 0, self._ttl, IPPROTO_UDP, 0, self._src, dst
        )
        ip_sum = internet_checksum(header)
        header = header[:10] + ip_sum.to_bytes(2, "big") + header[12:]
        # UDP checksum: pseudo header + UDP header (checksum 0) + payload, folded in one sum.
        pseudo = self._src + dst + bytes((0, IPPROTO_UDP)) + udp_len.to_bytes(2, "big")
        udp = _UDP.pack(self._sport, destination_port, udp_len, 0)
        udp_sum = internet_checksum(pseudo + udp + payload) or 0xFFFF
        return header + _UDP.pack(self._sport, destination_port, udp_len, udp_sum) + payload


def parse_udp_ipv4(packet: bytes) -> UdpIpv4Packet:
    """Parse one IPv4/UDP packet, verifying lengths and both checksums.

    Raises :class:`Ipv4Error` naming the field and offset on anything malformed.
    """
    if len(packet) < IPV4_HEADER_LEN:
        raise Ipv4Error(f"{len(packet)} bytes is shorter than an IPv4 header", offset=0)
    ver_ihl, _tos, total, ident, frag, ttl, proto, _sum, src, dst = _IPV4.unpack_from(packet)
    if ver_ihl >> 4 != 4:
        raise Ipv4Error(f"IP version {ver_ihl >> 4}, expected 4", field="version", offset=0)
    ihl = (ver_ihl & 0x0F) * 4
    if ihl < IPV4_HEADER_LEN or ihl > len(packet):
        raise Ipv4Error(f"header length {ihl} is invalid", field="IHL", offset=0)
    if total < ihl or total > len(packet):
        raise Ipv4Error(
            f"total length {total} does not fit {len(packet)} bytes",
            field="total length",
            offset=2,
        )
    if internet_checksum(packet[:ihl]) != 0:
        raise Ipv4Error("IPv4 header checksum does not verify", field="header checksum", offset=10)
    if frag & 0x3FFF:
        raise Ipv4Error("fragments are not reassembled", field="fragment offset", offset=6)
    if proto != IPPROTO_UDP:
        raise Ipv4Error(f"protocol {proto}, expected UDP (17)", field="protocol", offset=9)
    if total - ihl < UDP_HEADER_LEN:
        raise Ipv4Error("no room for a UDP header", field="UDP", offset=ihl)
    sport, dport, udp_len, udp_sum = _UDP.unpack_from(packet, ihl)
    if udp_len != total - ihl:
        raise Ipv4Error(
            f"UDP length {udp_len} differs from the IPv4 payload length {total - ihl}",
            field="UDP length",
            offset=ihl + 4,
        )
    segment = packet[ihl:total]
    if udp_sum != 0:
        pseudo = src + dst + bytes((0, IPPROTO_UDP)) + udp_len.to_bytes(2, "big")
        if internet_checksum(pseudo + segment) != 0:
            raise Ipv4Error("UDP checksum does not verify", field="UDP checksum", offset=ihl + 6)
    return UdpIpv4Packet(
        source=str(ipaddress.IPv4Address(src)),
        destination=str(ipaddress.IPv4Address(dst)),
        source_port=sport,
        destination_port=dport,
        ttl=ttl,
        identification=ident,
        payload=bytes(segment[UDP_HEADER_LEN:]),
    )
