"""Sans-IO carousel scheduler: which packets to send now, and when to ask again.

FLUTE has no feedback channel: reliability comes from repeating every object and the FDT
Instances that describe them (RFC 3926 §3.3, TS 26.346 §7.2 "carousel"). This module decides the
order and the pace; it reads no clock and owns no socket. The caller passes ``now_unix`` (Unix
seconds, :data:`~broadcast.time.UnixS`: the carousel session's times are those of its FDT
``Expires``) to :meth:`CarouselScheduler.poll`, sends the packets it returns, and calls again at
the returned deadline (or when something changes).

- Each :class:`CarouselEntry` is one transport object: its :class:`~broadcast.proto.flute.blocks.
  BlockPacketizer`, an :class:`ObjectSource` to read its bytes from (one source block at a time,
  so memory stays bounded whatever the object size), a priority, a repeat interval and an
  optional retirement time after which it is no longer sent. A Raptor source block (up to 8192
  symbols, RFC 5053) is handed out in slices (:meth:`~broadcast.proto.flute.blocks.BlockPacketizer.
  chunks`), encoded when its first slice is due; each pass ``n`` is asked for with its index, so
  every round carries fresh repair symbols.
- Priorities: lower first. The service uses 0 for FDT Instances, 1 for MIKEY objects and 2 for
  files, so a due FDT or MTK message goes out before the next block of a file (the MIKEY object is
  "scheduled before the files it keys", profile.md Transport).
- Repetition: a pass over an object starts when it is due; the next pass is due ``interval``
  seconds after the previous one started (interval 0 = as often as the bitrate allows; entries of
  equal priority then take turns). A pass in progress is finished before another object of the
  same priority starts, so the objects are not needlessly interleaved.
- Rate: a token bucket in bytes (IPv4 + UDP headers included, :data:`PACKET_OVERHEAD`). One step
  — a Compact No-Code source block, or a slice of a Raptor block — is sent as a unit and may
  overdraw the bucket; the deficit is then waited out. Over any long period the rate never
  exceeds ``bitrate``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Final, Protocol

from broadcast.proto.flute.blocks import BlockPacketizer
from broadcast.time import UnixS

#: Bytes an IPv4 + UDP header adds to every ALC packet, counted against the bitrate.
PACKET_OVERHEAD: Final = 28
#: ``pass_started`` of an entry that has not started a pass.
_EPOCH: Final = UnixS(0.0)
#: Priorities used by the carousel service (lower is sent first).
PRIORITY_FDT: Final = 0
PRIORITY_MIKEY: Final = 1
PRIORITY_FILE: Final = 2


class ObjectSource(Protocol):
    """Random access to the bytes of one transport object."""

    def read(self, offset: int, size: int) -> bytes:
        """Exactly ``size`` bytes from ``offset``."""
        ...

    def close(self) -> None:
        """Release what the source holds (idempotent)."""
        ...


class BytesSource:
    """An object held in memory (FDT Instances, MIKEY messages, tests)."""

    __slots__ = ("_data",)

    def __init__(self, data: bytes) -> None:
        self._data = data

    def read(self, offset: int, size: int) -> bytes:
        return self._data[offset : offset + size]

    def close(self) -> None:
        return None


class FileSource:
    """An object stored in a file (the carousel's spool); opened on first read."""

    __slots__ = ("_fd", "path", "unlink_on_close")

    def __init__(self, path: str | os.PathLike[str], *, unlink_on_close: bool = False) -> None:
        self.path = os.fspath(path)
        self.unlink_on_close = unlink_on_close
        self._fd: int | None = None

    def read(self, offset: int, size: int) -> bytes:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY)
        data = os.pread(self._fd, size, offset)
        if len(data) != size:
            raise OSError(f"{self.path}: short read at {offset} ({len(data)} of {size} bytes)")
        return data

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self.unlink_on_close:
            self.unlink_on_close = False
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)


@dataclass(slots=True, eq=False)
class CarouselEntry:
    """One object on the carousel and its sending state."""

    toi: int
    packetizer: BlockPacketizer
    source: ObjectSource
    priority: int
    interval: float
    next_due: UnixS
    label: str = ""
    retire_at: UnixS | None = None
    step: int = 0
    pass_started: UnixS = _EPOCH
    passes: int = 0
    served: int = -1
    packets_sent: int = 0
    bytes_sent: int = 0
    #: The slices of the block being sent, and the next one (looked ahead to see the block end).
    chunks: Iterator[list[bytes]] | None = field(default=None, repr=False)
    pending: list[bytes] = field(default_factory=list, repr=False)

    @property
    def in_progress(self) -> bool:
        return self.step > 0 or self.chunks is not None


@dataclass(frozen=True, slots=True)
class Poll:
    """What :meth:`CarouselScheduler.poll` decided.

    ``packets`` to send now; ``deadline``: when to poll again (``None``: nothing is scheduled,
    poll again when entries change); ``completed``: TOIs whose pass finished in this batch.
    """

    packets: list[bytes]
    deadline: UnixS | None
    completed: tuple[int, ...] = ()


@dataclass(slots=True)
class TokenBucket:
    """Token bucket in bytes; ``rate`` bytes/s, at most ``capacity`` tokens saved up.

    Tokens may go negative (a block was sent on credit); nothing more is sent until they are
    positive again.
    """

    rate: float
    capacity: float
    tokens: float = 0.0
    updated: UnixS | None = None

    def refill(self, now_unix: UnixS) -> None:
        if self.updated is not None and now_unix > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now_unix - self.updated) * self.rate)
        if self.updated is None or now_unix > self.updated:
            self.updated = now_unix

    def wait(self) -> float:
        """Seconds until the bucket is positive (0 when it is)."""
        return 0.0 if self.tokens > 0 else (-self.tokens) / self.rate + 1e-6


@dataclass(slots=True)
class SchedulerStats:
    packets: int = 0
    bytes: int = 0
    passes: int = 0


class CarouselScheduler:
    """Orders and paces the packets of the carousel's entries (see the module docstring).

    ``bitrate``: bits per second including IPv4/UDP headers, ``None`` = unlimited. ``burst``:
    bytes the bucket may save up (default: 100 ms of traffic, at least 64 kB). ``max_batch``:
    packets returned by one poll at most (a poll always finishes the step it started).
    """

    def __init__(
        self,
        *,
        bitrate: float | None,
        burst: int | None = None,
        max_batch: int = 256,
        on_retire: Callable[[CarouselEntry], None] | None = None,
    ) -> None:
        if bitrate is not None and bitrate <= 0:
            raise ValueError("bitrate must be positive (or None for unlimited)")
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._bucket: TokenBucket | None = None
        if bitrate is not None:
            rate = bitrate / 8
            capacity = burst if burst is not None else max(64 * 1024, rate / 10)
            self._bucket = TokenBucket(rate=rate, capacity=float(capacity), tokens=float(capacity))
        self.max_batch = max_batch
        self.stats = SchedulerStats()
        self._entries: dict[int, CarouselEntry] = {}
        self._on_retire = on_retire

    # --- entries ---------------------------------------------------------------------------------
    def add(self, entry: CarouselEntry) -> None:
        """Put an entry on the carousel (replacing one with the same TOI).

        Entries above the file priority need a positive interval: repeated back to back they
        would starve every lower-priority entry.
        """
        if entry.priority < PRIORITY_FILE and entry.interval <= 0:
            raise ValueError("an FDT or MIKEY entry needs a positive repeat interval")
        old = self._entries.pop(entry.toi, None)
        if old is not None and old is not entry:
            self._retired(old)
        self._entries[entry.toi] = entry

    def remove(self, toi: int) -> None:
        """Take an entry off now (its source is closed)."""
        entry = self._entries.pop(toi, None)
        if entry is not None:
            self._retired(entry)

    def retire(self, toi: int, at_unix: UnixS) -> None:
        """Stop sending ``toi`` at ``at_unix`` (a pass in progress then is cut short)."""
        entry = self._entries.get(toi)
        if entry is not None and (entry.retire_at is None or at_unix < entry.retire_at):
            entry.retire_at = at_unix

    def entry(self, toi: int) -> CarouselEntry | None:
        return self._entries.get(toi)

    @property
    def entries(self) -> list[CarouselEntry]:
        return list(self._entries.values())

    def close(self) -> None:
        """Remove every entry (closing the sources)."""
        for toi in list(self._entries):
            self.remove(toi)

    def _retired(self, entry: CarouselEntry) -> None:
        entry.source.close()
        if self._on_retire is not None:
            self._on_retire(entry)

    # --- scheduling ------------------------------------------------------------------------------
    def _expire(self, now_unix: UnixS) -> None:
        for toi, entry in list(self._entries.items()):
            if entry.retire_at is not None and entry.retire_at <= now_unix:
                self.remove(toi)

    def _pick(self, now_unix: UnixS) -> CarouselEntry | None:
        best: CarouselEntry | None = None
        best_key: tuple[int, int, float, int, int] | None = None
        for entry in self._entries.values():
            if not entry.in_progress and entry.next_due > now_unix:
                continue
            # Priority; a pass in progress first; the most overdue; the least recently served.
            key = (
                entry.priority,
                0 if entry.in_progress else 1,
                entry.next_due,
                entry.served,
                entry.toi,
            )
            if best_key is None or key < best_key:
                best, best_key = entry, key
        return best

    def next_due(self) -> UnixS | None:
        """The earliest time an entry wants to be sent (now if one is in progress)."""
        times = [
            entry.pass_started if entry.in_progress else entry.next_due
            for entry in self._entries.values()
        ]
        return min(times) if times else None

    def poll(self, now_unix: UnixS) -> Poll:
        """The packets to send at ``now_unix`` and the time to poll again."""
        self._expire(now_unix)
        bucket = self._bucket
        if bucket is not None:
            bucket.refill(now_unix)
        packets: list[bytes] = []
        completed: list[int] = []
        while len(packets) < self.max_batch:
            entry = self._pick(now_unix)
            if entry is None:
                break
            if bucket is not None and bucket.tokens <= 0:
                return Poll(packets, UnixS(now_unix + bucket.wait()), tuple(completed))
            sent = self._step(entry, now_unix)
            packets += sent
            size = sum(len(p) for p in sent) + PACKET_OVERHEAD * len(sent)
            if bucket is not None:
                bucket.tokens -= size
            if not entry.in_progress:
                completed.append(entry.toi)
        if len(packets) >= self.max_batch:
            wait = 0.0 if bucket is None else bucket.wait()
            return Poll(packets, UnixS(now_unix + wait), tuple(completed))
        due = self.next_due()
        if due is not None and bucket is not None and bucket.tokens <= 0:
            due = UnixS(max(due, now_unix + bucket.wait()))
        return Poll(packets, due, tuple(completed))

    def _step(self, entry: CarouselEntry, now_unix: UnixS) -> list[bytes]:
        """Send the next slice of ``entry``'s current block (reading the block's bytes when it
        starts); finish the pass after its last block."""
        if not entry.in_progress:
            entry.pass_started = now_unix
        if entry.chunks is None:
            offset, size = entry.packetizer.byte_range(entry.step)
            data = entry.source.read(offset, size) if size else b""
            entry.chunks = entry.packetizer.chunks(entry.step, data, pass_index=entry.passes)
            entry.pending = next(entry.chunks, [])
        sent = entry.pending
        following = next(entry.chunks, None)
        if following is not None:
            entry.pending = following
        else:
            entry.chunks, entry.pending = None, []
            entry.step += 1
        entry.packets_sent += len(sent)
        entry.bytes_sent += sum(len(p) for p in sent)
        self.stats.packets += len(sent)
        self.stats.bytes += sum(len(p) for p in sent)
        if entry.step >= entry.packetizer.steps:
            entry.step = 0
            entry.passes += 1
            self.stats.passes += 1
            entry.served = self.stats.passes
            entry.next_due = UnixS(max(entry.pass_started + entry.interval, now_unix))
        return sent


__all__ = [
    "PACKET_OVERHEAD",
    "PRIORITY_FDT",
    "PRIORITY_FILE",
    "PRIORITY_MIKEY",
    "BytesSource",
    "CarouselEntry",
    "CarouselScheduler",
    "FileSource",
    "ObjectSource",
    "Poll",
    "SchedulerStats",
    "TokenBucket",
]
