"""Ingest over real sockets: a UDP ingest fed good and bad datagrams (and RTCP to forward), and a
pcap file replayed; the output judged by the minimal UE."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections import Counter
from pathlib import Path

from streaming_support import (
    SRTCP,
    SRTP,
    Capture,
    MiniUe,
    ipv4_udp,
    link_frame,
    make_config,
    pcap_bytes,
    run_until,
    store_msks,
)

from broadcast.aio.streaming.service import StreamService, StreamStartError
from broadcast.proto.rtp.rtcp import sender_report

HOST = "127.22.3.1"
INGEST = "127.22.3.2"


def rtp(seq: int, ssrc: int = 0x5151, b0: int = 0x80, payload: bytes = b"media" * 20) -> bytes:
    return bytes((b0, 96)) + struct.pack("!HII", seq, seq * 3000, ssrc) + payload


def test_udp_ingest_counts_bad_packets_and_forwards_rtcp(tmp_path: Path) -> None:
    config = make_config(
        tmp_path,
        HOST,
        overrides={
            "ingest": {"source": "udp", "listen": INGEST, "port": 6000, "rtcp_port": 6001},
            "rtcp": {"mode": "forward"},
            "mtk": {"period_packets": 10},
        },
    )
    capture = Capture(HOST, config.session.port)
    capture.open()
    service = StreamService(config)
    good = [rtp(seq) for seq in range(65530, 65536)] + [rtp(seq) for seq in range(0, 30)]
    bad = [
        b"",
        b"\x80\x60",
        rtp(1, b0=0x00),
        rtp(2, b0=0x8F)[:16],
        b"GET / HTTP/1.1\r\n\r\n",
        good[3],  # a duplicate of an earlier packet: SEQ already protected
    ]
    sr = sender_report(0x5151, ntp=1 << 32, rtp_timestamp=0, packets=1, octets=1, cname="x")
    chunks = [good[:12], good[12:24], good[24:]]
    fed = {"chunks": 0}
    feeder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def feed(s: StreamService) -> None:
        k = fed["chunks"]
        # Chunk k goes once the MTK has changed k times: the ingest spans several MTKs.
        if k == len(chunks) or s.status().switches < k:
            return
        fed["chunks"] += 1
        for i, d in enumerate(chunks[k]):
            feeder.sendto(d, (INGEST, 6000))
            if k == 0 and i == 10:
                for b in bad:
                    feeder.sendto(b, (INGEST, 6000))
                feeder.sendto(sr, (INGEST, 6001))  # RTCP port
                feeder.sendto(sr[:10], (INGEST, 6001))  # truncated RTCP

    def done(s: StreamService) -> bool:
        return fed["chunks"] == len(chunks) and (
            s.status().ingest_datagrams >= len(good) + len(bad) + 2
        )

    try:
        asyncio.run(run_until(service, capture, done, during=feed))
    finally:
        feeder.close()
        capture.close()
    st = service.status()
    assert st.state == "stopped" and st.error is None
    assert st.bad == {
        "empty": 1,
        "too_short": 1,  # the 2-byte RTP
        "bad_rtcp_length": 1,  # the 10-byte RTCP whose SR says 28 bytes
        "bad_version": 2,  # version 0, and the HTTP text ('G' = 0x47: version 1)
        "header_overrun": 1,
        "index_reused": 1,
    }
    assert st.srtp_out == len(good) and st.srtcp_out == 1
    ue = MiniUe(store_msks(tmp_path / "keys.sqlite"), service.srtp_policy)
    ue.feed(capture.ordered())
    assert [r.rtp for r in ue.results if r.ok] == good
    assert Counter(e.kind for e in capture.events)[SRTP] == len(good)
    assert [rtcp for _, rtcp in ue.rtcp] == [sr]
    assert st.switches >= 2  # MTKs changed while the ingest was flowing
    assert len({r.mki for r in ue.results}) >= 3


def test_pcap_ingest_replays_rtp_and_rtcp(tmp_path: Path) -> None:
    packets = [rtp(seq, ssrc=0x7777) for seq in range(100, 160)]
    sr = sender_report(0x7777, ntp=2 << 32, rtp_timestamp=9, packets=60, octets=6000, cname="p")
    frames = [
        (1.0 + i / 1000, link_frame(113, ipv4_udp("10.1.1.1", 4000, "10.9.9.9", 7000, p)))
        for i, p in enumerate(packets)
    ]
    frames.insert(20, (1.02, link_frame(113, ipv4_udp("10.1.1.1", 4001, "10.9.9.9", 7001, sr))))
    frames.insert(5, (1.005, link_frame(113, ipv4_udp("10.1.1.1", 4000, "10.9.9.9", 9999, b"?"))))
    frames.insert(6, (1.005, b"\x00" * 10))  # not even a cooked header
    (tmp_path / "in.pcap").write_bytes(pcap_bytes(frames, 113))
    config = make_config(
        tmp_path,
        HOST,
        port=5010,
        overrides={
            "ingest": {"source": "pcap", "file": "in.pcap", "udp_port": 7000, "pace": True},
            "rtcp": {"mode": "forward"},
        },
    )
    capture = Capture(HOST, config.session.port)
    capture.open()
    service = StreamService(config)
    try:
        asyncio.run(run_until(service, capture, lambda s: s.ingest_finished.is_set()))
    finally:
        capture.close()
    st = service.status()
    assert st.srtp_out == 60 and st.srtcp_out == 1 and st.bad == {}
    pcap_stats = service.ingest.stats.pcap
    assert pcap_stats is not None
    assert dict(pcap_stats.skipped) == {"other_port": 1, "truncated_link": 1}
    ue = MiniUe(store_msks(tmp_path / "keys.sqlite"), service.srtp_policy)
    ue.feed(capture.ordered())
    assert [r.rtp for r in ue.results if r.ok] == packets
    assert [rtcp for _, rtcp in ue.rtcp] == [sr]
    assert len(capture.of(SRTCP)) == 1


def test_start_fails_cleanly(tmp_path: Path) -> None:
    config = make_config(
        tmp_path, HOST, overrides={"ingest": {"source": "pcap", "file": "missing.pcap"}}
    )

    async def main() -> str:
        try:
            await StreamService(config).start()
        except StreamStartError as exc:
            return str(exc)
        return ""

    assert "missing.pcap" in asyncio.run(main())
    no_msk = make_config(tmp_path, HOST, overrides={"keys": {"standalone": False, "key_group": 5}})

    async def main2() -> str:
        try:
            await StreamService(no_msk).start()
        except StreamStartError as exc:
            return str(exc)
        return ""

    assert "no Key Group 5 in Key Domain 00F110" in asyncio.run(main2())


def test_pcap_loop_continues_seq_and_timestamps(tmp_path: Path) -> None:
    # SEQ wraps inside the file; timestamps step by 3000.
    packets = [
        bytes((0x80, 96))
        + struct.pack("!HII", (65530 + k) & 0xFFFF, 7 + 3000 * k, 0x4444)
        + b"body" * 10
        for k in range(20)
    ]
    frames = [
        (float(i), link_frame(1, ipv4_udp("10.1.1.1", 4000, "10.9.9.9", 7000, p)))
        for i, p in enumerate(packets)
    ]
    (tmp_path / "loop.pcap").write_bytes(pcap_bytes(frames, 1))
    config = make_config(
        tmp_path,
        HOST,
        port=5012,
        overrides={"ingest": {"source": "pcap", "file": "loop.pcap", "pace": False, "loop": True}},
    )
    capture = Capture(HOST, config.session.port)
    capture.open()
    service = StreamService(config)
    try:
        asyncio.run(run_until(service, capture, lambda s: s.status().srtp_out >= 70))
    finally:
        capture.close()
    st = service.status()
    assert st.bad == {} and st.srtp_out >= 70
    ue = MiniUe(store_msks(tmp_path / "keys.sqlite"), service.srtp_policy)
    ue.feed(capture.ordered())
    assert ue.decrypted == len(ue.results) == st.srtp_out
    seqs = [int.from_bytes(r.rtp[2:4], "big") for r in ue.results]
    stamps = [int.from_bytes(r.rtp[4:8], "big") for r in ue.results]
    assert seqs == [(65530 + k) & 0xFFFF for k in range(len(seqs))]
    assert stamps == [7 + 3000 * k for k in range(len(stamps))]
    assert all(r.rtp[12:] == packets[0][12:] for r in ue.results)
