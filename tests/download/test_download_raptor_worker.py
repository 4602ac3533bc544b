"""ReceiveWorker: the DownloadReceiver fed in a worker thread (Raptor decoding off the loop)."""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from pathlib import Path

import pytest

from broadcast.aio.ue.receive_worker import ReceiveWorker
from broadcast.engine.download.objects import Protection, prepare_file, prepare_mikey
from broadcast.engine.download.scheduler import CarouselScheduler
from broadcast.engine.download.session import CarouselSession, SessionParams
from broadcast.engine.keys.mtk import MtkIssuer
from broadcast.engine.ue.download_receiver import (
    DownloadEvent,
    DownloadReceiver,
    FileReceived,
    MtkReceived,
)
from broadcast.proto.keys import KeyDomainId, MskRecord
from broadcast.store.keys import SQLiteKeyStore
from broadcast.time import ntp_from_unix

NOW = 1_800_000_000.0
KD = KeyDomainId.from_plmn("001", "01")


def _carousel(tmp_path: Path) -> tuple[list[bytes], MskRecord, bytes]:
    """One round of a Raptor carousel (MIKEY + one DCF file); the MSK record; the file."""
    rng = random.Random(9)
    data = rng.randbytes(200_000)
    (tmp_path / "f.bin").write_bytes(data)
    with SQLiteKeyStore(tmp_path / "k.sqlite") as store:
        issuer = MtkIssuer(store, KD, 256, streaming=False, rand=rng.randbytes)
        record = issuer.ensure()
        issued = issuer.issue()
    session = CarouselSession(SessionParams(tsi=5), CarouselScheduler(bitrate=None))
    mikey = prepare_mikey(session.allocate_toi(), issued, symbol_length=1428, max_block_length=64)
    dcf = prepare_file(
        session.allocate_toi(),
        tmp_path / "f.bin",
        content_location="f.bin",
        spool_dir=tmp_path,
        symbol_length=1428,
        max_block_length=64,
        protection=Protection(issued.key_id, issued.mtk, "bmsc.example.org", "http://b/km"),
        rand=rng.randbytes,
        fec=1,
    )
    session.publish([mikey, dcf], NOW)
    session.update(NOW)
    packets: list[bytes] = []
    for _ in range(1000):
        poll = session.scheduler.poll(NOW)
        packets += poll.packets
        if poll.deadline is None or poll.deadline > NOW:
            break
    return packets, record, data


def test_msk_after_the_packets_in_order_and_off_the_loop(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    packets, record, data = _carousel(tmp_path)
    events: list[DownloadEvent] = []
    threads: set[int] = set()

    def on_event(event: DownloadEvent) -> None:
        threads.add(threading.get_ident())
        events.append(event)
        if len(events) == 1:
            raise RuntimeError("handler bug")  # logged; the worker goes on

    async def main() -> ReceiveWorker:
        receiver = DownloadReceiver(5)
        async with ReceiveWorker(receiver, on_event) as worker:
            for packet in packets:
                assert worker.feed(packet, ntp_from_unix(NOW))
            await worker.drain()
            assert not any(isinstance(e, FileReceived) for e in events)  # no MSK yet
            assert receiver.stats.waiting == 1
            worker.add_msk(KD, record.msk_id, record.key)
            await worker.drain()
        assert threads == {threading.get_ident()}  # events come back on the loop
        return worker

    with caplog.at_level(logging.ERROR, logger="broadcast.aio.ue.receive_worker"):
        worker = asyncio.run(main())
    assert [type(e).__name__ for e in events][-2:] == ["MtkReceived", "FileReceived"]
    assert isinstance(events[-2], MtkReceived)
    received = events[-1]
    assert isinstance(received, FileReceived) and received.data == data
    assert "handler bug" in caplog.text
    assert worker.stats.packets == len(packets) and worker.stats.dropped == 0
    assert 1 <= worker.stats.batches <= len(packets) + 1


def test_queue_is_bounded_and_stop_drops_the_rest() -> None:
    async def main() -> None:
        receiver = DownloadReceiver(5)
        worker = ReceiveWorker(receiver, lambda event: None, max_queued=3)
        assert [worker.feed(b"x" * 20, 0) for _ in range(5)] == [True] * 3 + [False] * 2
        assert worker.stats.dropped == 2
        await worker.start()
        with pytest.raises(RuntimeError, match="already running"):
            await worker.start()
        await worker.drain()
        assert receiver.flute.stats.packets == 3  # the bad packets were fed, counted, rejected
        await worker.stop()
        await worker.stop()
        assert not worker.feed(b"late", 0)  # a stopped worker refuses packets

    asyncio.run(main())
    with pytest.raises(ValueError, match="max_queued"):
        ReceiveWorker(DownloadReceiver(5), lambda event: None, max_queued=0)
