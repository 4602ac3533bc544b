"""Inner IPv4/UDP packets of the GTP-U path: RFC 1071 checksum, parsing of packets built by
scapy (independent), hostile input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, UDP

from broadcast.proto.net.ipv4 import Ipv4Error, UdpIpv4Builder, internet_checksum, parse_udp_ipv4


def test_rfc1071_example() -> None:
    # RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (one's complement); checksum 220d.
    assert internet_checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0x220D


def test_checksum_edge_cases() -> None:
    assert internet_checksum(b"") == 0xFFFF
    assert internet_checksum(b"\x00\x00") == 0xFFFF
    assert internet_checksum(b"\xff\xff") == 0x0000  # sum is negative zero
    assert internet_checksum(b"\x12") == internet_checksum(b"\x12\x00")


@settings(max_examples=80, deadline=None)
@given(data=st.binary(max_size=200))
def test_checksum_matches_a_word_loop(data: bytes) -> None:
    padded = data + b"\x00" * (len(data) % 2)
    total = 0
    for i in range(0, len(padded), 2):
        total += (padded[i] << 8) | padded[i + 1]
        total = (total & 0xFFFF) + (total >> 16)
    assert internet_checksum(data) == (~total) & 0xFFFF


@settings(max_examples=60, deadline=None)
@given(payload=st.binary(max_size=400), sport=st.integers(0, 0xFFFF), ttl=st.integers(0, 255))
def test_parse_scapy_packets(payload: bytes, sport: int, ttl: int) -> None:
    pkt = bytes(
        IP(src="198.18.21.9", dst="239.255.0.1", ttl=ttl, id=77)
        / UDP(sport=sport, dport=2269)
        / payload
    )
    parsed = parse_udp_ipv4(pkt)
    assert (parsed.source, parsed.destination, parsed.ttl, parsed.identification) == (
        "198.18.21.9",
        "239.255.0.1",
        ttl,
        77,
    )
    assert (parsed.source_port, parsed.destination_port, parsed.payload) == (sport, 2269, payload)
    ours = UdpIpv4Builder("198.18.21.9", sport, ttl, first_id=77).build(
        payload, "239.255.0.1", 2269
    )
    assert ours == pkt  # byte-identical to scapy (same fields, same checksums)


def _good() -> bytes:
    return UdpIpv4Builder("198.18.21.1", 1000, 5).build(b"payload", "239.255.0.1", 2000)


def _patch(data: bytes, offset: int, value: bytes) -> bytes:
    return data[:offset] + value + data[offset + len(value) :]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: p[:19], "shorter than an IPv4 header"),
        (lambda p: _patch(p, 0, b"\x65"), "IP version 6"),
        (lambda p: _patch(p, 0, b"\x44"), "header length 16"),
        (lambda p: _patch(p, 2, b"\xff\xff"), "total length 65535"),
        (lambda p: _patch(p, 12, b"\x01"), "header checksum"),
        (lambda p: _patch(p, 28, b"P"), "UDP checksum"),
        (lambda p: p[:20] + p[20:26] + b"\x00\x00" + p[28:-1] + b"X", None),
    ],
)
def test_parser_rejects_hostile_input(mutate: object, message: str | None) -> None:
    bad = mutate(_good())  # type: ignore[operator]
    if message is None:  # UDP checksum 0 means "not computed": accepted (RFC 768)
        assert parse_udp_ipv4(bad).payload == b"payloaX"
        return
    with pytest.raises(Ipv4Error, match=message):
        parse_udp_ipv4(bad)


def test_parser_rejects_fragments_other_protocols_and_bad_udp_lengths() -> None:
    frag = bytes(IP(src="1.2.3.4", dst="5.6.7.8", frag=10) / UDP() / b"x")
    with pytest.raises(Ipv4Error, match="fragments"):
        parse_udp_ipv4(frag)
    tcp = bytes(IP(src="1.2.3.4", dst="5.6.7.8", proto=6) / (b"x" * 20))
    with pytest.raises(Ipv4Error, match="protocol 6"):
        parse_udp_ipv4(tcp)
    short = bytes(IP(src="1.2.3.4", dst="5.6.7.8", proto=17) / b"abc")
    with pytest.raises(Ipv4Error, match="no room for a UDP header"):
        parse_udp_ipv4(short)
    lying = bytes(IP(src="1.2.3.4", dst="5.6.7.8") / UDP(len=100) / b"x")
    with pytest.raises(Ipv4Error, match="UDP length 100"):
        parse_udp_ipv4(lying)


def test_identification_wraps() -> None:
    builder = UdpIpv4Builder("198.18.21.1", 1, 1, first_id=0xFFFF)
    ids = [parse_udp_ipv4(builder.build(b"", "239.1.1.1", 1)).identification for _ in range(2)]
    assert ids == [0xFFFF, 0]
