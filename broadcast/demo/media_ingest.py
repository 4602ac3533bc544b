"""Real media into the protected stream: :class:`MediaIngest` is a streaming ingest source
(the protocol of :mod:`broadcast.aio.streaming.ingest`: ``start`` / ``run(sink, clock_mono)`` /
``close``, ``stats``) that plays :class:`broadcast.demo.media.MediaGenerator` — a VP8 colour-bar
test pattern and an Opus 440 Hz tone as RTP (RFC 7741, RFC 7587) — paced at real time by the media
presentation times.

Encoding runs in a worker thread, a little ahead of time (``prefetch`` seconds of media), so the
event loop only sleeps until each frame is due and hands its packets to the sink. A frame whose
time has passed (the machine was busy) goes out at once: the stream falls behind, never skips.
``delay`` holds the first frame back (the demo lets the first MTK message be sent and re-sent
for one lead time before any media).

The demo hands the object to the stream directly (``StreamService(config, ingest=media)``):
the service starts it, runs it once the first MTK message has left and cancels it on ``stop()``
— no UDP ingest socket, no plain RTP on the loopback.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final

from broadcast.aio.streaming.ingest import IngestSink, IngestStats
from broadcast.demo.media import MediaGenerator, MediaGeneratorConfig, RtpOut
from broadcast.time import MonotonicClock

Sleep = Callable[[float], Awaitable[None]]

#: Seconds of media encoded ahead of its presentation time.
PREFETCH_S: Final = 0.3
#: Frames handed from the encoding thread at once at most.
_CHUNK_FRAMES: Final = 16


@dataclass(frozen=True, slots=True)
class MediaIngestConfig:
    """What to play: the generator's settings and, optionally, how long (``None`` = no end)."""

    media: MediaGeneratorConfig = field(default_factory=MediaGeneratorConfig)
    duration: float | None = None
    prefetch: float = PREFETCH_S
    #: Seconds :meth:`MediaIngest.run` waits before the first frame (media time starts then).
    delay: float = 0.0


class MediaIngest:
    """Plays the media generator into a sink at real time (see the module doc).

    ``sleep`` waits on the time scale of the ``clock_mono`` given to :meth:`run` (tests pass a
    fake clock and its sleep together).
    """

    def __init__(
        self, config: MediaIngestConfig | None = None, *, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.config = config or MediaIngestConfig()
        self._sleep = sleep
        self.generator = MediaGenerator(self.config.media)
        self.stats = IngestStats()
        self.frames = 0

    async def start(self) -> None:
        """Nothing to open (the encoders exist already)."""

    def _encode(self, horizon: float, last_at: float) -> list[list[RtpOut]]:
        """Frames up to ``horizon`` seconds of media (at least one), in the worker thread."""
        out: list[list[RtpOut]] = []
        at = last_at
        while (not out or at < horizon) and len(out) < _CHUNK_FRAMES:
            frame = self.generator.next_packets()
            if not frame:
                break
            out.append(frame)
            at = frame[0].at
        return out

    async def run(self, sink: IngestSink, clock_mono: MonotonicClock) -> None:
        if self.config.delay > 0:
            await self._sleep(self.config.delay)
        start = clock_mono()
        last_at = 0.0
        end = self.config.duration
        while True:
            horizon = clock_mono() - start + self.config.prefetch
            frames = await asyncio.to_thread(self._encode, horizon, last_at)
            if not frames:
                return
            for frame in frames:
                at = frame[0].at
                last_at = at
                if end is not None and at >= end:
                    return
                wait = start + at - clock_mono()
                if wait > 0:
                    await self._sleep(wait)
                packets = [p.packet for p in frame]
                self.frames += 1
                self.stats.datagrams += len(packets)
                self.stats.bytes += sum(map(len, packets))
                sink.deliver(packets)

    def close(self) -> None:
        """Nothing to close."""


__all__ = ["MediaIngest", "MediaIngestConfig"]
