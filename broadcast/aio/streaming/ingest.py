"""Where the RTP comes from: a UDP socket, a pcap file or the built-in generator.

Every source implements :class:`IngestSource`: ``async start()`` (open what it needs, so that a
bad address or file fails the service start with a clear error), ``async run(sink, clock_mono)``
(deliver until the source ends or the task is cancelled), ``close()`` and a ``stats``
(:class:`IngestStats`) it keeps up to date. It hands datagrams to the sink in batches:
``sink.deliver(datagrams)`` for what may be RTP or RTCP (told apart per RFC 5761 §4) and
``sink.deliver_rtcp(datagrams)`` for what arrived on an RTCP port. Sources never interpret or
judge the bytes: the sink (``ProtectPipeline``) checks and counts them.

:class:`~broadcast.aio.streaming.service.StreamService` builds one of the three sources below from
its ``[ingest]`` configuration (:func:`make_ingest`), or runs any object implementing the
protocol given as ``StreamService(config, ingest=...)`` — a program that produces RTP itself
(an encoder in the same process, the demo's media source) feeds the service directly, without
a loopback UDP hop.

- :class:`UdpIngest` — what ffmpeg (``-f rtp udp://host:port``) or GStreamer (``udpsink``) send:
  a non-blocking socket drained in batches of up to ``max_batch`` datagrams per wake-up — ONE
  ``recvmmsg`` system call takes every datagram already queued (up to the bound;
  :func:`broadcast.aio.sgimb.engine.batch_receiver`), or with ``recv_batch = False`` one
  ``recv`` per datagram;
  with ``rtcp_port`` a second socket for RTCP (ffmpeg sends it to port + 1).
- :class:`PcapIngest` — UDP datagrams of a classic pcap file (``broadcast.proto.rtp.pcap``),
  optionally only those to ``udp_port`` (RTP) and ``udp_port + 1`` (RTCP), replayed with their
  captured timing (``pace``) or as fast as the loop allows, once or in a ``loop``. Each new
  pass continues every SSRC's SEQ and timestamp where the previous pass ended (a sender never
  protects an SRTP index twice, RFC 3711 §9.1, so a replayed SEQ would be refused); forwarded
  RTCP is passed on as captured.
- :class:`GeneratorIngest` — :class:`~broadcast.engine.streaming.generator.RtpGenerator` packets at
  their due times, in bursts at most every ``GENERATOR_TICK`` (5 ms).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Final, Protocol

from broadcast.aio.sgimb.engine import Receiver, batch_receiver
from broadcast.config.stream import MAX_BATCH, IngestConfig, PcapIngestConfig, UdpIngestConfig
from broadcast.engine.streaming.generator import GeneratorConfig, RtpGenerator
from broadcast.proto.rtp.pcap import PcapReader, PcapStats, UdpRecord, open_pcap
from broadcast.proto.rtp.rtp import is_rtcp
from broadcast.time import MonotonicClock

Address = tuple[str, int]

#: Receive buffer asked for on ingest sockets (the kernel may cap it at net.core.rmem_max).
RCVBUF: Final = 4 << 20
#: Read size: the largest UDP payload, so that nothing is silently truncated.
_RECV_SIZE: Final = 65536
#: Shortest sleep of the pcap replay (avoids one wake-up per packet at high rates).
_MIN_TICK: Final = 0.001
#: The generator sends what is due at most every 5 ms: a wake-up of the event loop costs far more
#: than a packet (tens of µs on a VM), and 5 ms bursts are finer than an encoder's frame bursts.
GENERATOR_TICK: Final = 0.005
#: The pcap replay yields to the event loop at least every this many records.
_YIELD_EVERY: Final = 1024


class IngestSink(Protocol):
    """Where a source delivers (the stream service)."""

    def deliver(self, datagrams: list[bytes]) -> None:
        """RTP datagrams, or RTP and RTCP multiplexed on one port (RFC 5761 §4)."""

    def deliver_rtcp(self, datagrams: list[bytes]) -> None:
        """Datagrams that arrived on an RTCP port (forwarded when ``[rtcp] mode = "forward"``)."""


class IngestError(Exception):
    """The source cannot be opened (address in use, file missing or not a pcap file)."""


@dataclass
class IngestStats:
    datagrams: int = 0
    bytes: int = 0
    #: pcap only: records skipped by reason, and why the file ended early.
    pcap: PcapStats | None = None


class IngestSource(Protocol):
    """What the stream service runs as its ingest (the module doc; ``StreamService(ingest=)``).

    The service calls :meth:`start` once while it starts (before the first MTK exists), then
    runs :meth:`run` as a task once the first MTK message has left, and calls :meth:`close` when
    it stops (also when the start failed after :meth:`start` was called). ``stop()`` cancels
    :meth:`run`; when it returns by itself, the source is finished
    (``StreamService.ingest_finished`` is set). A custom source feeding the service from the
    same event loop::

        class ListIngest:
            def __init__(self, packets: list[bytes]) -> None:
                self.packets, self.stats = packets, IngestStats()

            async def start(self) -> None: ...

            async def run(self, sink: IngestSink, clock_mono: MonotonicClock) -> None:
                self.stats.datagrams += len(self.packets)
                sink.deliver(self.packets)

            def close(self) -> None: ...
    """

    @property
    def stats(self) -> IngestStats:
        """Datagrams and bytes handed to the sink so far (``StreamStatus.ingest_datagrams``)."""
        ...

    async def start(self) -> None:
        """Open what the source needs; :class:`IngestError` fails the service start cleanly."""

    async def run(self, sink: IngestSink, clock_mono: MonotonicClock) -> None:
        """Deliver batches to ``sink`` (``clock_mono``: the service's monotonic clock) until the
        source ends (return) or the task is cancelled. Never called twice."""

    def close(self) -> None:
        """Release what :meth:`start` opened (also after a failed :meth:`start`)."""


class UdpIngest:
    """RTP (and RTCP) from UDP sockets (see the module doc)."""

    def __init__(self, config: UdpIngestConfig) -> None:
        self.config = config
        self.stats = IngestStats()
        self._socks: list[tuple[socket.socket, bool]] = []
        self._receivers: dict[int, Receiver] = {}

    @property
    def native(self) -> bool:
        """True when the sockets are read with recvmmsg (set by :meth:`start`)."""
        return bool(self._receivers)

    async def start(self) -> None:
        host, port = self.config.listen
        try:
            rtp = self._bind(host, port)
            self._socks.append((rtp, False))
            if self.config.rtcp_port is not None:
                self._socks.append((self._bind(host, self.config.rtcp_port), True))
        except OSError as exc:
            self.close()
            raise IngestError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
        if self.config.recv_batch:
            for sock, _ in self._socks:
                self._receivers[sock.fileno()] = batch_receiver(sock, self.config.max_batch)

    @staticmethod
    def _bind(host: str, port: int) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
            sock.bind((host, port))
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        return sock

    @property
    def local_address(self) -> Address:
        """The bound RTP address (useful with port 0)."""
        host, port = self._socks[0][0].getsockname()
        return str(host), int(port)

    async def run(self, sink: IngestSink, clock_mono: MonotonicClock) -> None:
        loop = asyncio.get_running_loop()
        for sock, rtcp in self._socks:
            receiver = self._receivers.get(sock.fileno())
            if receiver is not None:
                loop.add_reader(sock.fileno(), self._drain_batch, sock, receiver, rtcp, sink)
            else:
                loop.add_reader(sock.fileno(), self._drain, sock, rtcp, sink)
        try:
            await asyncio.Event().wait()  # until cancelled
        finally:
            for sock, _ in self._socks:
                with contextlib.suppress(ValueError, OSError):
                    loop.remove_reader(sock.fileno())

    def _drain_batch(
        self, sock: socket.socket, receiver: Receiver, rtcp: bool, sink: IngestSink
    ) -> None:
        """What is queued, up to ``max_batch`` datagrams: one recvmmsg per MAX_RECV_BATCH."""
        if sock.fileno() < 0:  # closed while this wake-up was pending: the number may be reused
            return
        batch: list[bytes] = []
        remaining = self.config.max_batch
        while remaining > 0:
            want = min(remaining, receiver.max_count)
            try:
                got = receiver.recv_batch(want)
            except OSError:  # e.g. an ICMP error queued on the socket: nothing to read
                break
            batch += got
            if len(got) < want:
                break
            remaining -= want
        self._deliver(batch, rtcp, sink)

    def _drain(self, sock: socket.socket, rtcp: bool, sink: IngestSink) -> None:
        batch: list[bytes] = []
        recv = sock.recv
        for _ in range(self.config.max_batch):
            try:
                batch.append(recv(_RECV_SIZE))
            except (BlockingIOError, InterruptedError):
                break
            except OSError:  # e.g. an ICMP error queued on the socket: nothing to read
                break
        self._deliver(batch, rtcp, sink)

    def _deliver(self, batch: list[bytes], rtcp: bool, sink: IngestSink) -> None:
        if batch:
            self.stats.datagrams += len(batch)
            self.stats.bytes += sum(map(len, batch))
            (sink.deliver_rtcp if rtcp else sink.deliver)(batch)

    def close(self) -> None:
        self._receivers.clear()
        for sock, _ in self._socks:
            sock.close()
        self._socks.clear()


class SeqContinuation:
    """Rewrites SEQ and timestamp of replayed RTP so that pass k+1 continues pass k, per SSRC."""

    def __init__(self) -> None:
        self._offset: dict[bytes, tuple[int, int]] = {}
        # SSRC -> [first SEQ, last SEQ, first timestamp, last timestamp, packets] of this pass
        self._span: dict[bytes, list[int]] = {}

    def rewrite(self, datagram: bytes) -> bytes:
        d = datagram
        if len(d) < 12 or d[0] >> 6 != 2 or is_rtcp(d):
            return d
        key = d[8:12]
        seq = (d[2] << 8) | d[3]
        ts = int.from_bytes(d[4:8], "big")
        span = self._span.get(key)
        if span is None:
            self._span[key] = [seq, seq, ts, ts, 1]
        else:
            span[1], span[3], span[4] = seq, ts, span[4] + 1
        off = self._offset.get(key)
        if off is None:
            return d
        new_seq = (seq + off[0]) & 0xFFFF
        new_ts = (ts + off[1]) & 0xFFFF_FFFF
        return d[:2] + new_seq.to_bytes(2, "big") + new_ts.to_bytes(4, "big") + d[8:]

    def next_pass(self) -> None:
        """The file starts over: shift every SSRC by what its last pass spanned."""
        for key, (seq0, seq1, ts0, ts1, n) in self._span.items():
            ts_len = (ts1 - ts0) & 0xFFFF_FFFF
            step = ts_len // max(1, n - 1)
            seq_off, ts_off = self._offset.get(key, (0, 0))
            self._offset[key] = (
                (seq_off + ((seq1 - seq0) & 0xFFFF) + 1) & 0xFFFF,
                (ts_off + ts_len + step) & 0xFFFF_FFFF,
            )
        self._span.clear()


class PcapIngest:
    """Datagrams of a pcap file (see the module doc)."""

    def __init__(self, config: PcapIngestConfig) -> None:
        self.config = config
        self.stats = IngestStats()
        self._file: BinaryIO | None = None
        self._reader: PcapReader | None = None
        self._continuation = SeqContinuation()

    async def start(self) -> None:
        self._reader = self._open()
        self.stats.pcap = self._reader.stats

    def _open(self) -> PcapReader:
        self.close()
        try:
            self._file = self.config.file.open("rb")
        except OSError as exc:
            raise IngestError(f"cannot read {self.config.file}: {exc.strerror or exc}") from exc
        try:
            return open_pcap(self._file)
        except ValueError as exc:
            self.close()
            raise IngestError(f"{self.config.file}: {exc}") from exc

    def _kind(self, rec: UdpRecord) -> bool | None:
        """None: not ours; True: RTCP port; False: RTP (or multiplexed) port."""
        port = self.config.udp_port
        if port is None or rec.dport == port:
            return False
        return True if rec.dport == port + 1 else None

    async def run(self, sink: IngestSink, clock_mono: MonotonicClock) -> None:
        assert self._reader is not None, "start() first"
        reader = self._reader
        while True:
            delivered = await self._replay(reader, sink, clock_mono)
            if not self.config.loop or delivered == 0:
                return
            await asyncio.sleep(0)  # a short file must not turn the loop into a busy spin
            self._continuation.next_pass()
            reader = self._open()  # a fresh pass; the statistics keep adding up
            assert self.stats.pcap is not None
            reader.stats = self.stats.pcap

    async def _replay(
        self, reader: PcapReader, sink: IngestSink, clock_mono: MonotonicClock
    ) -> int:
        """One pass over the file; returns how many datagrams were delivered."""
        cfg = self.config
        delivered = 0
        rtp: list[bytes] = []
        rtcp: list[bytes] = []
        start = clock_mono()
        first: float | None = None

        def flush() -> None:
            if rtp:
                sink.deliver(rtp.copy())
                rtp.clear()
            if rtcp:
                sink.deliver_rtcp(rtcp.copy())
                rtcp.clear()

        records: Iterator[UdpRecord] = iter(reader)
        for n, rec in enumerate(records):
            if n % _YIELD_EVERY == _YIELD_EVERY - 1:
                await asyncio.sleep(0)  # a long run of skipped records must not block the loop
            kind = self._kind(rec)
            if kind is None:
                reader.stats.skipped["other_port"] += 1
                continue
            if first is None:
                first = rec.time
            if cfg.pace:
                wait = start + (rec.time - first) - clock_mono()
                if wait > _MIN_TICK:
                    flush()
                    await asyncio.sleep(wait)
            delivered += 1
            self.stats.datagrams += 1
            self.stats.bytes += len(rec.payload)
            if kind:
                rtcp.append(rec.payload)
            else:
                rtp.append(self._continuation.rewrite(rec.payload) if cfg.loop else rec.payload)
            if len(rtp) + len(rtcp) >= cfg.max_batch:
                flush()
                await asyncio.sleep(0)  # let the rest of the loop run between batches
        flush()
        return delivered

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class GeneratorIngest:
    """The built-in RTP generator, paced by ``clock_mono``."""

    def __init__(self, config: GeneratorConfig, *, max_batch: int = MAX_BATCH) -> None:
        self.config = config
        self.generator = RtpGenerator(config)
        self.stats = IngestStats()
        self.max_batch = max_batch

    async def start(self) -> None:
        """Nothing to open."""

    async def run(self, sink: IngestSink, clock_mono: MonotonicClock) -> None:
        gen = self.generator
        rounds = max(1, self.max_batch // len(self.config.ssrcs))
        start = clock_mono()
        while True:
            packets = gen.due(clock_mono() - start, rounds)
            if packets:
                self.stats.datagrams += len(packets)
                self.stats.bytes += sum(map(len, packets))
                sink.deliver(packets)
            nxt = gen.next_due()
            if nxt is None:
                return
            if len(packets) >= rounds * len(self.config.ssrcs):
                await asyncio.sleep(0)  # capped: more are due already, let the loop breathe
            else:
                await asyncio.sleep(max(GENERATOR_TICK, start + nxt - clock_mono()))

    def close(self) -> None:
        """Nothing to close."""


Ingest = UdpIngest | PcapIngest | GeneratorIngest


def make_ingest(config: IngestConfig) -> Ingest:
    """The source for an ingest configuration."""
    if isinstance(config, UdpIngestConfig):
        return UdpIngest(config)
    if isinstance(config, PcapIngestConfig):
        return PcapIngest(config)
    return GeneratorIngest(config)


__all__ = [
    "GeneratorIngest",
    "Ingest",
    "IngestError",
    "IngestSink",
    "IngestSource",
    "IngestStats",
    "PcapIngest",
    "SeqContinuation",
    "UdpIngest",
    "make_ingest",
]
