"""The classic pcap reader: link types, byte orders, timestamps, and hostile files."""

from __future__ import annotations

import io
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from streaming_support import ipv4_udp, link_frame, pcap_bytes

from broadcast.proto.rtp.pcap import PcapError, open_pcap

A, B = "10.0.0.1", "239.1.2.3"  # addresses inside a file only: nothing is sent


def records(data: bytes) -> tuple[list[tuple[float, str, int, str, int, bytes]], object]:
    reader = open_pcap(io.BytesIO(data))
    out = [(r.time, r.src, r.sport, r.dst, r.dport, r.payload) for r in reader]
    return out, reader.stats


@pytest.mark.parametrize("linktype", [1, 113, 276, 0, 101, 228])
@pytest.mark.parametrize("big_endian", [False, True])
def test_link_types_and_byte_orders(linktype: int, big_endian: bool) -> None:
    frames = [
        (1000.25, link_frame(linktype, ipv4_udp(A, 4000, B, 5004, b"rtp-%d" % i))) for i in range(3)
    ]
    got, stats = records(pcap_bytes(frames, linktype, big_endian=big_endian))
    assert [(s, sp, d, dp, p) for _, s, sp, d, dp, p in got] == [
        (A, 4000, B, 5004, b"rtp-%d" % i) for i in range(3)
    ]
    assert got[0][0] == pytest.approx(1000.25)
    assert stats.datagrams == 3 and not stats.skipped and not stats.stopped  # type: ignore[attr-defined]


def test_nanosecond_timestamps_and_vlan() -> None:
    frame = link_frame(1, ipv4_udp(A, 1, B, 2, b"x"), vlan=True)
    got, _ = records(pcap_bytes([(7.000000123, frame)], 1, nanoseconds=True))
    assert got[0][0] == pytest.approx(7.000000123, abs=1e-9) and got[0][5] == b"x"


def test_skips_what_is_not_a_whole_udp_datagram() -> None:
    good = link_frame(1, ipv4_udp(A, 1, B, 2, b"ok"))
    tcp = bytearray(good)
    tcp[14 + 9] = 6
    frag = link_frame(1, ipv4_udp(A, 1, B, 2, b"frag", frag=0x2000))  # MF set
    ipv6 = bytes(12) + struct.pack("!H", 0x86DD) + bytes(40)
    bad_udp_len = bytearray(good)
    bad_udp_len[14 + 20 + 4 : 14 + 20 + 6] = struct.pack("!H", 4000)
    short = good[:20]
    frames = [(0.0, f) for f in (good, bytes(tcp), frag, ipv6, bytes(bad_udp_len), short, good)]
    got, stats = records(pcap_bytes([*frames, (0.0, good)], 1, snap={7: 30}))
    assert [g[5] for g in got] == [b"ok", b"ok"]
    assert dict(stats.skipped) == {  # type: ignore[attr-defined]
        "not_udp": 1,
        "ip_fragment": 1,
        "not_ipv4": 1,
        "bad_udp_length": 1,
        "truncated_ip": 1,
        "snapped": 1,
    }


def test_truncated_file_stops_cleanly() -> None:
    good = link_frame(101, ipv4_udp(A, 1, B, 2, b"a"))
    data = pcap_bytes([(0.0, good), (0.0, good)], 101)
    for cut in (len(data) - 3, len(data) - len(good) - 8):
        got, stats = records(data[:cut])
        assert len(got) == 1 and stats.stopped == "truncated_file"  # type: ignore[attr-defined]


def test_absurd_record_length_stops() -> None:
    data = pcap_bytes([], 1) + struct.pack("<IIII", 0, 0, 1 << 30, 1 << 30) + b"xx"
    got, stats = records(data)
    assert got == [] and stats.stopped == "corrupt_record_length"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "shorter"),
        (b"\x0a\x0d\x0d\x0a" + bytes(20), "pcapng"),
        (b"GIF89a" + bytes(18), "not a pcap file"),
        (struct.pack("<IHHiIII", 0xA1B2C3D4, 1, 0, 0, 0, 65535, 1), "version"),
        (struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 147), "link type 147"),
    ],
)
def test_bad_global_header(data: bytes, message: str) -> None:
    with pytest.raises(PcapError, match=message):
        open_pcap(io.BytesIO(data))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400), st.sampled_from([0, 1, 101, 113, 276]))
def test_random_bytes_never_crash(tail: bytes, linktype: int) -> None:
    data = pcap_bytes([], linktype) + tail
    got, stats = records(data)
    assert stats.records >= len(got)  # type: ignore[attr-defined]
