"""Interop: RTP from libavformat's RTP muxer (what ``ffmpeg -f rtp`` sends; driven through PyAV,
an installed dependency) into the UDP ingest; the UE decrypts H.264 packets and the muxer's SR."""

from __future__ import annotations

import asyncio
from pathlib import Path

import av
import numpy as np
import pytest
from streaming_support import Capture, MiniUe, make_config, run_until, store_msks

from broadcast.aio.streaming.service import StreamService

HOST = "127.22.8.1"
INGEST = "127.22.8.2"
FRAMES = 30


def encode_and_send() -> None:
    """30 small H.264 frames (libx264) through the RTP muxer to the ingest (RTCP to port + 1)."""
    out = av.open(f"rtp://{INGEST}:6000", "w", format="rtp")
    stream = out.add_stream("libx264", rate=25)
    stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
    for i in range(FRAMES):
        frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 7, np.uint8), format="rgb24")
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
    out.close()


@pytest.mark.interop
def test_libavformat_rtp_into_udp_ingest(tmp_path: Path) -> None:
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
    sent: dict[str, asyncio.Task[None]] = {}

    def feed(s: StreamService) -> None:
        if not sent:
            sent["task"] = asyncio.get_running_loop().create_task(
                asyncio.to_thread(encode_and_send)
            )

    def done(s: StreamService) -> bool:
        task = sent.get("task")
        return task is not None and task.done() and s.status().srtcp_out >= 1

    try:
        asyncio.run(run_until(service, capture, done, during=feed))
    finally:
        capture.close()
    assert sent["task"].exception() is None
    st = service.status()
    assert st.bad == {} and st.srtp_out >= FRAMES
    ue = MiniUe(store_msks(tmp_path / "keys.sqlite"), service.srtp_policy)
    ue.feed(capture.ordered())
    assert ue.decrypted == len(ue.results) == st.srtp_out
    plain = [r.rtp for r in ue.results]
    assert {p[1] & 0x7F for p in plain} == {96}
    assert len({p[8:12] for p in plain}) == 1
    seqs = [int.from_bytes(p[2:4], "big") for p in plain]
    assert seqs == [(seqs[0] + k) & 0xFFFF for k in range(len(seqs))]
    # H.264 RTP payloads (RFC 6184): NAL unit types 1..23 or FU-A (28) / STAP-A (24).
    assert all((p[12] & 0x1F) in (*range(1, 24), 24, 28) for p in plain)
    assert ue.rtcp and ue.rtcp[0][1][1] == 200  # libavformat's SR, forwarded as SRTCP
