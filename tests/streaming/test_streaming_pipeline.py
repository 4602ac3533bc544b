"""ProtectPipeline, RTP/RTCP checks, sender reports and the generator — without sockets (the
output is a recorder)."""

from __future__ import annotations

import struct
from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broadcast.engine.streaming.generator import GeneratorConfig, RtpGenerator
from broadcast.engine.streaming.pipeline import NO_KEY, RTCP_NOT_FORWARDED, ProtectPipeline
from broadcast.proto.keys import Mtk, SrtpSalt
from broadcast.proto.rtp.rtcp import sender_report
from broadcast.proto.rtp.rtp import check_rtcp, is_rtcp, payload_octets, rtp_header_length
from broadcast.proto.srtp import CryptoPolicy, SrtpReceiver, SrtpSender
from broadcast.proto.srtp.settings import SrtpConfig, srtp_policy
from broadcast.time import ntp_timestamp

MKI = bytes.fromhex("000100010001")
KEY, SALT = Mtk(bytes(range(16))), SrtpSalt(bytes(range(14)))
POLICY = srtp_policy(SrtpConfig())


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes, Any]] = []

    def send_batch(self, datagrams: list[bytes], dest: Any) -> int:
        self.sent += [(d, dest) for d in datagrams]
        return len(datagrams)

    def send(self, datagram: bytes, dest: Any) -> None:
        self.send_batch([datagram], dest)


def rtp(seq: int, ssrc: int = 0xABCD, payload: bytes = b"p" * 20, b0: int = 0x80) -> bytes:
    return bytes((b0, 96)) + struct.pack("!HII", seq, 1000 + seq, ssrc) + payload


def pipeline(native: bool = True, forward: bool = False) -> tuple[ProtectPipeline, Recorder]:
    sender = SrtpSender(POLICY)
    sender.keys.add(MKI, KEY, SALT)
    out = Recorder()
    dests = (("127.22.0.9", 5004), ("127.22.0.9", 5005))
    p = ProtectPipeline(sender, out, *dests, forward_rtcp=forward, native=native)  # type: ignore[arg-type]
    return p, out


def receiver() -> SrtpReceiver:
    r = SrtpReceiver(POLICY)
    r.keys.add(MKI, KEY, SALT)
    return r


def test_packets_before_the_first_mtk_are_dropped_and_counted() -> None:
    p, out = pipeline()
    assert p.push([rtp(1), rtp(2)], 0.0) == 0
    assert p.stats.bad == Counter({NO_KEY: 2}) and out.sent == []


@pytest.mark.parametrize("native", [True, False])
def test_bad_ingest_is_counted_and_the_rest_protected(native: bool) -> None:
    p, out = pipeline(native)
    p.mki = MKI
    bad = [
        b"",
        b"\x80",
        rtp(3, b0=0x40),  # version 1
        rtp(4, b0=0x8F)[:20],  # 15 CSRCs announced, header runs past the end
        rtp(5, b0=0x90, payload=b"\x00\x00\x00\x09"),  # extension of 9 words, none there
        rtp(6, b0=0xA0, payload=b"x" * 3 + b"\x50"),  # padding count past the payload
        b"\x80" + bytes(70000),  # larger than any UDP payload
    ]
    good = [rtp(1), rtp(2), rtp(7), rtp(2), rtp(8, ssrc=7)]  # the second SEQ 2 is a duplicate
    sent = p.push([good[0], bad[0], good[1], *bad[1:], *good[2:]], 1.0)
    assert sent == 4
    assert p.stats.bad == Counter(
        {
            "empty": 1,
            "too_short": 1,
            "bad_version": 1,
            "header_overrun": 2,
            "bad_padding": 1,
            "too_long": 1,
            "index_reused": 1,
        }
    )
    r = receiver()
    plain = [r.unprotect(d)[0] for d, dest in out.sent]
    assert plain == [rtp(1), rtp(2), rtp(7), rtp(8, ssrc=7)]
    assert {dest for _, dest in out.sent} == {("127.22.0.9", 5004)}
    assert p.counters[(0xABCD).to_bytes(4, "big")].packets == 3
    assert p.streams() == [(7, 0), (0xABCD, 0)]
    assert p.streams([5]) == [(5, 0), (7, 0), (0xABCD, 0)]


def test_rtcp_is_forwarded_only_when_asked_and_only_when_well_formed() -> None:
    sr = sender_report(0xABCD, ntp=1 << 32, rtp_timestamp=5, packets=1, octets=2, cname="c")
    p, out = pipeline(forward=False)
    p.mki = MKI
    p.push([sr], 0.0)
    assert p.stats.bad == Counter({RTCP_NOT_FORWARDED: 1}) and out.sent == []
    p, out = pipeline(forward=True)
    p.mki = MKI
    broken = sr[:-4]  # SDES length no longer adds up
    app_first = bytes((0x80, 204, 0, 1)) + bytes(4)
    p.push([sr, broken, app_first, rtp(1)], 0.0)
    assert p.stats.bad == Counter({"bad_rtcp_length": 1, "rtcp_not_sr_or_rr": 1})
    assert [dest for _, dest in out.sent] == [("127.22.0.9", 5005), ("127.22.0.9", 5004)]
    assert receiver().unprotect_rtcp(out.sent[0][0])[0] == sr


def test_generated_sender_reports() -> None:
    p, out = pipeline()
    p.mki = MKI
    p.push([rtp(1, payload=b"a" * 100), rtp(2, payload=b"b" * 50)], 10.0)
    p.push([rtp(1, ssrc=9)], 0.0)  # an SSRC silent since t=0
    assert p.send_reports(10.5, 1_700_000_000.5, cname="me", clock_rate=1000, active_within=2) == 1
    r = receiver()
    report, mki = r.unprotect_rtcp(out.sent[-1][0])
    assert mki == MKI and check_rtcp(report) is None
    ssrc, ntp, ts, packets, octets = struct.unpack("!IQIII", report[4:28])
    assert (ssrc, packets, octets) == (0xABCD, 2, 150)
    assert ntp == ntp_timestamp(1_700_000_000.5) and ntp & 0xFFFFFFFF == 1 << 31
    assert ts == 1002 + 500  # last RTP timestamp + 0.5 s at 1000 Hz
    assert report[28:].startswith(bytes((0x81, 202))) and b"me" in report[28:]


def test_rtp_helpers() -> None:
    assert is_rtcp(bytes((0x80, 200))) and not is_rtcp(rtp(1)) and not is_rtcp(b"\x80")
    padded = rtp(1, b0=0xA0, payload=b"abcd" + b"\x00\x00\x03")
    hl = rtp_header_length(padded)
    assert hl == 12 and payload_octets(padded, hl) == 4
    ext = bytes((0x90, 96)) + bytes(10) + struct.pack("!HH", 0xBEDE, 1) + b"xxxx" + b"pay"
    assert rtp_header_length(ext) == 20


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=80), max_size=20))
def test_arbitrary_ingest_never_raises(datagrams: list[bytes]) -> None:
    p, out = pipeline(forward=True)
    p.mki = MKI
    p.push(datagrams, 0.0)
    s = p.stats
    assert s.rtp_in + s.rtcp_in == len(datagrams)
    assert s.srtp_out + s.srtcp_out + s.bad_total == len(datagrams)
    assert len(out.sent) == s.srtp_out + s.srtcp_out


def test_generator_is_deterministic_and_paced() -> None:
    cfg = GeneratorConfig(ssrcs=(1, 2), rate=100, payload_size=20, first_seq=65534, seed=3)
    g = RtpGenerator(cfg)
    assert g.due(0.0) == [g.packet(0, 0), g.packet(1, 0)]
    assert g.due(0.0) == []
    assert len(g.due(0.095)) == 2 * 9  # packets 1..9 are due by 95 ms
    assert g.next_due() == pytest.approx(0.1)
    p = g.packet(1, 3)
    assert p[:2] == bytes((0x80, 96))
    assert int.from_bytes(p[2:4], "big") == 1  # 65534 + 3 wraps
    assert int.from_bytes(p[4:8], "big") == 3 * 900
    assert int.from_bytes(p[8:12], "big") == 2
    assert int.from_bytes(p[12:20], "big") == 3
    assert RtpGenerator(cfg).packet(1, 3) == p
    assert RtpGenerator(GeneratorConfig(ssrcs=(1, 2), seed=4, payload_size=20)).packet(1, 3) != p
    limited = RtpGenerator(GeneratorConfig(count=3))
    assert len(limited.due(100.0)) == 3 and limited.exhausted and limited.next_due() is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"ssrcs": ()},
        {"ssrcs": (1, 1)},
        {"rate": 0},
        {"payload_size": 4},
        {"first_seq": 70000},
        {"payload_type": 128},
    ],
)
def test_generator_config_validation(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        GeneratorConfig(**kwargs)


def test_policy_round_trips_into_the_sender() -> None:
    for cfg in (
        SrtpConfig(),
        SrtpConfig(rcc="off", auth_tag=32),
        SrtpConfig(rcc="off", auth_tag=None),
        SrtpConfig(rcc="RCCm3", auth_tag=None),
        SrtpConfig(cipher="null", rcc="RCCm1"),
    ):
        policy = srtp_policy(cfg)
        crypto = CryptoPolicy.from_srtp_policy(policy)
        sender = SrtpSender(policy)
        sender.keys.add(MKI, KEY, SALT)
        r = SrtpReceiver(policy)
        r.keys.add(MKI, KEY, SALT)
        for seq in (15, 16):
            assert r.unprotect(sender.protect(rtp(seq), MKI))[0] == rtp(seq)
        assert crypto.srtcp_auth.name == "HMAC_SHA1" and crypto.srtcp_tag_len == 10
