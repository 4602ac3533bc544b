"""``StreamService(config, ingest=obj)``: a program's own RTP source (any object implementing
``broadcast.aio.streaming.ingest.IngestSource``) instead of the configured UDP / pcap / generator
ingest. No sockets: the output is a recorder, the key store a file in the test's directory."""

from __future__ import annotations

import asyncio
import struct
from pathlib import Path
from typing import Any

import pytest
from streaming_support import make_config, store_msks
from testkit import async_wait_until

from broadcast.aio.sgimb.output import OutputStats
from broadcast.aio.streaming.ingest import IngestError, IngestSink, IngestStats
from broadcast.aio.streaming.service import StreamService, StreamStartError
from broadcast.proto.mikey.mbms import Kind, envelope, open_mtk_message
from broadcast.proto.srtp import SrtpReceiver
from broadcast.time import MonotonicClock

HOST = "127.32.0.1"
SSRCS = (0x0A0B0C0D, 0x01020304)


class Recorder:
    """Stands in for the DatagramOutput: keeps (datagram, destination) in send order."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, tuple[str, int]]] = []
        self.stats = OutputStats()

    def send_batch(self, datagrams: Any, dest: tuple[str, int]) -> int:
        self.sent += [(bytes(d), dest) for d in datagrams]
        return len(datagrams)

    def send(self, datagram: bytes, dest: tuple[str, int]) -> None:
        self.send_batch([datagram], dest)

    def to(self, dest: tuple[str, int]) -> list[bytes]:
        return [d for d, where in self.sent if where == dest]


class ListIngest:
    """An in-memory source: hands over its RTP packets in batches, then ends."""

    def __init__(self, batches: list[list[bytes]], *, fail_start: bool = False) -> None:
        self.batches = batches
        self.stats = IngestStats()
        self.fail_start = fail_start
        self.calls: list[str] = []

    async def start(self) -> None:
        self.calls.append("start")
        if self.fail_start:
            raise IngestError("the encoder is not ready")

    async def run(self, sink: IngestSink, clock_mono: MonotonicClock) -> None:
        self.calls.append("run")
        for batch in self.batches:
            self.stats.datagrams += len(batch)
            self.stats.bytes += sum(map(len, batch))
            sink.deliver(batch)
            await asyncio.sleep(0)

    def close(self) -> None:
        self.calls.append("close")


class EndlessIngest(ListIngest):
    """Never ends by itself: ``stop()`` must cancel it."""

    async def run(self, sink: IngestSink, clock_mono: MonotonicClock) -> None:
        self.calls.append("run")
        await asyncio.Event().wait()


def rtp(seq: int, ssrc: int) -> bytes:
    payload = bytes((seq + i) & 0xFF for i in range(40))
    return bytes((0x80, 96)) + struct.pack("!HII", seq, 3000 * seq, ssrc) + payload


def _config(tmp_path: Path, ingest: dict[str, Any]) -> Any:
    return make_config(
        tmp_path,
        HOST,
        overrides={
            # One MTK for the whole test (time mode, long period); no RTCP of our own.
            "mtk": {"period": 60.0, "period_packets": 0, "lead": 1.0, "interval": 0.5},
            "rtcp": {"mode": "off"},
            "ingest": ingest,
        },
    )


async def _serve(service: StreamService) -> None:
    await service.start()
    try:
        await asyncio.wait_for(service.ingest_finished.wait(), 10)
    finally:
        await service.stop()


def test_custom_ingest_packets_are_protected_and_sent(tmp_path: Path) -> None:
    # The configured source is a pcap file that does not exist: it must not even be opened.
    config = _config(tmp_path, {"source": "pcap", "file": str(tmp_path / "missing.pcap")})
    packets = [rtp(100 + i, SSRCS[i % 2]) for i in range(30)]
    source = ListIngest([packets[:10], packets[10:25], packets[25:]])
    out = Recorder()
    service = StreamService(config, output=out, ingest=source)  # type: ignore[arg-type]
    asyncio.run(_serve(service))

    assert source.calls == ["start", "run", "close"]
    assert service.ingest is source
    status = service.status()
    assert status.ingest_finished and status.ingest_datagrams == 30
    assert status.rtp_in == status.srtp_out == 30 and status.bad_total == 0

    # The MTK message left before any SRTP packet; it opens with the store's MSK.
    assert out.sent[0][1] == config.session.mikey_dest
    mikey = out.to(config.session.mikey_dest)
    assert mikey and len(set(mikey)) == 1
    env = envelope(mikey[0])
    assert env.kind is Kind.MTK
    msks = store_msks(config.keys.store, config.keys.key_group)
    delivery = open_mtk_message(env, msks[env.msk_id])
    assert delivery.mki is not None and delivery.salt is not None

    srtp = out.to(config.session.rtp_dest)
    assert len(srtp) == 30
    receiver = SrtpReceiver(service.srtp_policy)
    receiver.keys.add(delivery.mki, delivery.mtk, delivery.salt)
    plain = [receiver.unprotect(p) for p in srtp]
    assert [rtp_ for rtp_, _ in plain] == packets  # every packet, in order, intact
    assert {mki for _, mki in plain} == {delivery.mki}
    assert all(p != s for p, s in zip(packets, srtp, strict=True))  # protected on the way


def test_custom_ingest_replaces_the_generator_in_the_sdp(tmp_path: Path) -> None:
    # make_config's own [ingest] is the generator with two SSRCs: they are not what a custom
    # source sends, so the SDP must not announce them.
    config = make_config(tmp_path, HOST)
    assert "a=ssrc:" in StreamService(config).sdp()
    assert "a=ssrc:" not in StreamService(config, ingest=ListIngest([])).sdp()


def test_a_custom_ingest_that_cannot_start_fails_the_start_and_is_closed(tmp_path: Path) -> None:
    config = _config(tmp_path, {"source": "generator"})
    source = ListIngest([], fail_start=True)
    service = StreamService(config, output=Recorder(), ingest=source)  # type: ignore[arg-type]
    with pytest.raises(StreamStartError, match="ingest: the encoder is not ready"):
        asyncio.run(service.start())
    assert source.calls == ["start", "close"]
    assert service.status().state == "stopped"


def test_stop_cancels_a_custom_ingest_and_closes_it(tmp_path: Path) -> None:
    config = _config(tmp_path, {"source": "generator"})
    source = EndlessIngest([])
    out = Recorder()
    service = StreamService(config, output=out, ingest=source)  # type: ignore[arg-type]

    async def run() -> None:
        await service.start()
        assert await async_wait_until(lambda: "run" in source.calls)
        await asyncio.wait_for(service.stop(), 10)

    asyncio.run(run())
    assert source.calls == ["start", "run", "close"]
    assert not service.ingest_finished.is_set()  # cancelled, not finished
    assert out.to(config.session.mikey_dest)  # the first MTK message still left
