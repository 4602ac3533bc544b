"""GTP-U encapsulation (TS 29.281 G-PDU): what DatagramOutput sends is decoded by scapy's
GTP-U layer (an independent implementation): TEID, inner IPv4 source/destination/TTL, UDP
ports, payload and both checksums. Plus the sans-IO codec: round trips and hostile input."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.contrib.gtp import GTP_U_Header
from scapy.layers.inet import IP, UDP
from sgimb_support import HOST_TX, equal_size, receive, receiver, video_mix

from broadcast.aio.sgimb.output import DatagramOutput
from broadcast.config.output import GtpuConfig, OutputConfig
from broadcast.proto.net.gtpu import (
    GTPU_PORT,
    GtpuEncapsulator,
    GtpuError,
    decode_gpdu,
    encode_gpdu,
)
from broadcast.proto.net.ipv4 import Ipv4Error, UdpIpv4Builder, parse_udp_ipv4

GROUP = ("239.255.1.1", 5004)
TEID = 0x1234ABCD


@pytest.fixture
def endpoint() -> Iterator[socket.socket]:
    with receiver() as sock:
        yield sock


def _checksums_valid(ip: IP) -> bool:
    """Recompute both checksums with scapy and compare with the ones on the wire."""
    fresh = ip.copy()
    del fresh.chksum
    del fresh[UDP].chksum
    rebuilt = IP(bytes(fresh))
    return bool(rebuilt.chksum == ip.chksum and rebuilt[UDP].chksum == ip[UDP].chksum)


@pytest.mark.parametrize("native", [True, False], ids=["native", "sendto"])
def test_scapy_decodes_what_we_send(endpoint: socket.socket, native: bool) -> None:
    cfg = OutputConfig(
        ttl=17,
        source=HOST_TX,
        native=native,
        gtpu=GtpuConfig(
            endpoint=endpoint.getsockname()[0], port=endpoint.getsockname()[1], teid=TEID
        ),
    )
    batch = video_mix(150)
    with DatagramOutput(cfg) as out:
        assert out.send_batch(batch, GROUP) == 150
        our_port = out.local_address[1]
    got = receive(endpoint, 150)
    for (outer, source), payload in zip(got, batch, strict=True):
        assert source == (HOST_TX, our_port)
        g = GTP_U_Header(outer)
        assert (g.version, g.PT, g.gtp_type, g.teid, g.S) == (1, 1, 255, TEID, 0)
        assert g.length == len(outer) - 8
        ip = g[IP]
        assert (ip.src, ip.dst, ip.ttl, ip.proto) == (HOST_TX, GROUP[0], 17, 17)
        assert (ip[UDP].sport, ip[UDP].dport) == (our_port, GROUP[1])
        assert bytes(ip[UDP].payload) == payload
        assert _checksums_valid(ip)
    idents = [GTP_U_Header(o)[IP].id for o, _ in got]
    assert idents == list(range(150))


def test_equal_sizes_stay_gso_friendly(endpoint: socket.socket) -> None:
    host, port = endpoint.getsockname()
    cfg = OutputConfig(source=HOST_TX, gtpu=GtpuConfig(endpoint=host, port=port, teid=1))
    batch = equal_size(128)
    with DatagramOutput(cfg) as out:
        out.send_batch(batch, GROUP)
        # G-PDUs of 1,286 bytes: 65,507 // 1,286 = 50 per GSO message -> 50 + 50 + 28
        assert out.stats.gso_messages == 3
        assert out.stats.bytes == 128 * (1250 + 8 + 20 + 8)
    assert [bytes(GTP_U_Header(o)[UDP].payload) for o, _ in receive(endpoint, 128)] == batch


def test_sequence_numbers_and_mixed_inner_destinations(endpoint: socket.socket) -> None:
    host, port = endpoint.getsockname()
    cfg = OutputConfig(
        source=HOST_TX, gtpu=GtpuConfig(endpoint=host, port=port, teid=7, sequence_numbers=True)
    )
    mikey = ("239.255.1.1", 2269)
    items = [(b"mikey-%d" % i, mikey if i % 3 == 0 else GROUP) for i in range(9)]
    with DatagramOutput(cfg) as out:
        assert out.send_many(items) == 9
    decoded = [GTP_U_Header(o) for o, _ in receive(endpoint, 9)]
    assert [g.seq for g in decoded] == list(range(9))
    assert all(g.S == 1 and g.teid == 7 for g in decoded)
    assert [(g[IP].dst, g[UDP].dport) for g in decoded] == [a for _, a in items]
    assert [bytes(g[UDP].payload) for g in decoded] == [d for d, _ in items]


def test_inner_source_defaults_to_the_route_source(endpoint: socket.socket) -> None:
    host, port = endpoint.getsockname()
    with DatagramOutput(OutputConfig(gtpu=GtpuConfig(endpoint=host, port=port, teid=9))) as out:
        out.send(b"x", GROUP)
    ((outer, (outer_src, outer_port)),) = receive(endpoint, 1)
    inner = GTP_U_Header(outer)[IP]
    assert inner.src == outer_src
    assert inner[UDP].sport == outer_port


def test_oversize_inner_packet_counted(endpoint: socket.socket) -> None:
    host, port = endpoint.getsockname()
    cfg = OutputConfig(source=HOST_TX, gtpu=GtpuConfig(endpoint=host, port=port, teid=9))
    with DatagramOutput(cfg) as out:
        assert out.send_batch([b"a", b"b" * 65_600, b"c"], GROUP) == 2
        assert out.stats.errors == 1
        assert "Ipv4Error" in out.stats.last_error
    assert [bytes(GTP_U_Header(o)[UDP].payload) for o, _ in receive(endpoint, 2)] == [b"a", b"c"]


def test_default_port_is_2152() -> None:
    assert GtpuConfig(endpoint="127.21.0.1", teid=1).port == GTPU_PORT == 2152


# --- sans-IO codec --------------------------------------------------------------------------


def test_gpdu_layout_known_answer() -> None:
    assert encode_gpdu(0x01020304, b"\xaa\xbb") == bytes.fromhex("30ff000201020304aabb")
    assert encode_gpdu(1, b"\xaa", sequence=0x1234) == bytes.fromhex("32ff00050000000112340000aa")


@settings(max_examples=60, deadline=None)
@given(
    teid=st.integers(0, 0xFFFF_FFFF),
    seq=st.none() | st.integers(0, 0xFFFF),
    payload=st.binary(max_size=300),
    ttl=st.integers(0, 255),
    sport=st.integers(0, 0xFFFF),
    dport=st.integers(0, 0xFFFF),
)
def test_round_trip_against_scapy(
    teid: int, seq: int | None, payload: bytes, ttl: int, sport: int, dport: int
) -> None:
    inner = UdpIpv4Builder("198.18.21.1", sport, ttl).build(payload, "239.255.7.7", dport)
    pdu = encode_gpdu(teid, inner, seq)
    ours = decode_gpdu(pdu)
    assert (ours.teid, ours.sequence, ours.t_pdu) == (teid, seq, inner)
    parsed = parse_udp_ipv4(ours.t_pdu)
    assert (parsed.source_port, parsed.destination_port, parsed.ttl, parsed.payload) == (
        sport,
        dport,
        ttl,
        payload,
    )
    ip = GTP_U_Header(pdu)[IP]
    assert _checksums_valid(ip)
    assert bytes(ip[UDP].payload) == payload


def test_decoder_skips_extension_headers() -> None:
    # E set, next type 0x85 (PDU session container), one 4-octet extension, then none.
    pdu = bytes.fromhex("34ff000c000000050000008501100000") + b"tpdu"
    pdu = pdu[:3] + bytes([len(pdu) - 8]) + pdu[4:]
    decoded = decode_gpdu(pdu)
    assert (decoded.teid, decoded.sequence, decoded.t_pdu) == (5, None, b"tpdu")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x30\xff\x00", "shorter than a GTP-U header"),
        (bytes.fromhex("50ff000000000001"), "GTP version 2"),
        (bytes.fromhex("20ff000000000001"), "PT is 0"),
        (bytes.fromhex("3001000000000001"), "not a G-PDU"),
        (bytes.fromhex("30ff000500000001aa"), "length 5 does not match"),
        (bytes.fromhex("32ff000200000001aabb"), "optional fields run past"),
        (bytes.fromhex("34ff000600000001000000850000"), "extension header of length 0"),
        (bytes.fromhex("34ff000600000001000000850300"), "runs past the message"),
        (bytes.fromhex("34ff000400000001000000ff"), "runs past the message"),
    ],
)
def test_decoder_rejects_hostile_input(data: bytes, message: str) -> None:
    with pytest.raises(GtpuError, match=message):
        decode_gpdu(data)


def test_encoder_rejects_bad_values() -> None:
    with pytest.raises(GtpuError, match="TEID"):
        encode_gpdu(1 << 32, b"")
    with pytest.raises(GtpuError, match="TEID"):
        GtpuEncapsulator(-1, UdpIpv4Builder("198.18.21.1", 1, 1))
    with pytest.raises(GtpuError, match="too long"):
        encode_gpdu(1, bytes(0xFFFF), sequence=1)
    with pytest.raises(Ipv4Error, match="exceeds"):
        UdpIpv4Builder("198.18.21.1", 1, 1).build(bytes(65_508), "239.1.1.1", 1)
    with pytest.raises(Ipv4Error, match="not an IPv4 address"):
        UdpIpv4Builder("198.18.21.1", 1, 1).build(b"", "group", 1)
    with pytest.raises(Ipv4Error, match="TTL"):
        UdpIpv4Builder("198.18.21.1", 1, 256)
