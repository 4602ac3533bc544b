"""Feed a :class:`~broadcast.engine.ue.download_receiver.DownloadReceiver` from asyncio without
stalling.

:meth:`DownloadReceiver.feed` is sans-IO and synchronous, and some packets are expensive: the one
that completes a Raptor source block runs the RFC 5053 §5.5 decoder (K = 8192 symbols of 1428
bytes: 20-80 ms per attempt, measured; the native solver releases the GIL), and the one that
completes a file checks its Content-MD5 and decrypts its DCF (tens of ms per 10 MB, whatever the
FEC). Called from the event loop that also runs streaming, timers and the other sessions, that
work would stall them. :class:`ReceiveWorker` keeps it off the loop (the UE's
:class:`~broadcast.aio.ue.download.DownloadClient` feeds its receiver through one):

- :meth:`ReceiveWorker.feed` only queues the packet (bounded like a socket buffer: beyond
  ``max_queued`` packets the newest are dropped and counted — FEC and the carousel repair loss);
- one task hands everything queued so far, in arrival order, to a worker thread
  (:func:`asyncio.to_thread`) as one batch; one batch runs at a time, so the receiver is never
  touched by two threads at once, and the thread hop is paid per batch, not per packet;
- MSK installation (:meth:`ReceiveWorker.add_msk`) goes through the same queue, so it is ordered
  with the packets and never races a batch;
- the events of a batch are handed to ``on_event`` on the event loop, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from broadcast.aio.service import AsyncService
from broadcast.engine.ue.download_receiver import DownloadEvent, DownloadReceiver
from broadcast.proto.keys import KeyDomainId, Msk, MskId, MtkId
from broadcast.time import NtpS

log = logging.getLogger(__name__)

#: Packets queued at most before new ones are dropped (about 12 MB of 1500-byte packets).
DEFAULT_MAX_QUEUED: Final = 8192

_Call = Callable[[DownloadReceiver], list[DownloadEvent]]
_Item = tuple[bytes, NtpS] | _Call


@dataclass(slots=True)
class WorkerStats:
    """``packets`` fed, ``dropped`` because the queue was full, ``batches`` handed to the
    thread, ``largest_batch`` in packets and calls."""

    packets: int = 0
    dropped: int = 0
    batches: int = 0
    largest_batch: int = 0


class ReceiveWorker(AsyncService):
    """Runs a :class:`DownloadReceiver` in a worker thread, batch by batch (module docstring).

    Use ``async with ReceiveWorker(receiver, on_event)`` (or :meth:`start` / :meth:`stop`);
    packets fed before the start wait in the queue.
    """

    def __init__(
        self,
        receiver: DownloadReceiver,
        on_event: Callable[[DownloadEvent], None],
        *,
        max_queued: int = DEFAULT_MAX_QUEUED,
    ) -> None:
        if max_queued < 1:
            raise ValueError("max_queued must be at least 1")
        self.receiver = receiver
        self.on_event = on_event
        self.max_queued = max_queued
        self.stats = WorkerStats()
        self._queue: deque[_Item] = deque()
        self._queued_packets = 0
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    # --- input (event loop) ----------------------------------------------------------------------
    def feed(self, packet: bytes, now_ntp: NtpS) -> bool:
        """Queue one ALC packet received at ``now_ntp`` (NTP seconds); False if it was dropped."""
        if self._queued_packets >= self.max_queued or self._closing:
            self.stats.dropped += 1
            return False
        self._queue.append((packet, now_ntp))
        self._queued_packets += 1
        self.stats.packets += 1
        self._idle.clear()
        self._wake.set()
        return True

    def add_msk(
        self,
        key_domain: KeyDomainId,
        msk_id: MskId,
        msk: Msk,
        *,
        valid_from: MtkId | None = None,
        valid_to: MtkId | None = None,
    ) -> None:
        """:meth:`DownloadReceiver.add_msk`, in order with the packets; its events (MIKEY
        objects that waited for this MSK, files that waited for their MTKs) go to ``on_event``."""

        def call(receiver: DownloadReceiver) -> list[DownloadEvent]:
            return receiver.add_msk(
                key_domain, msk_id, msk, valid_from=valid_from, valid_to=valid_to
            )

        self._queue.append(call)
        self._idle.clear()
        self._wake.set()

    # --- life cycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("the receive worker is already running")
        self._closing = False
        self._task = asyncio.create_task(self._run(), name="download-receive-worker")

    async def stop(self) -> None:
        """Drop what is still queued, let the batch in progress finish, stop (idempotent)."""
        task, self._task = self._task, None
        if task is None:
            return
        self._closing = True
        self._queue.clear()
        self._queued_packets = 0
        self._wake.set()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        self._idle.set()

    async def drain(self) -> None:
        """Return once everything queued so far has been processed and its events delivered."""
        if self._task is None and self._queue:
            raise RuntimeError("the receive worker is not running")
        await self._idle.wait()

    # --- the worker ------------------------------------------------------------------------------
    async def _run(self) -> None:
        while not self._closing:
            if not self._queue:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = list(self._queue)
            self._queue.clear()
            self._queued_packets = 0
            self.stats.batches += 1
            self.stats.largest_batch = max(self.stats.largest_batch, len(batch))
            events = await asyncio.to_thread(self._process, batch)
            for event in events:
                try:
                    self.on_event(event)
                except Exception:
                    log.exception("download event handler failed on %r", event)

    def _process(self, batch: list[_Item]) -> list[DownloadEvent]:
        """In the worker thread: feed the batch in order; a failing item is logged, skipped."""
        receiver = self.receiver
        out: list[DownloadEvent] = []
        for item in batch:
            try:
                if isinstance(item, tuple):
                    out += receiver.feed(item[0], item[1])
                else:
                    out += item(receiver)
            except Exception:  # feed() never raises on bad input; this is a bug, keep receiving
                log.exception("download receiver failed on a queued item")
        return out


__all__ = ["DEFAULT_MAX_QUEUED", "ReceiveWorker", "WorkerStats"]
