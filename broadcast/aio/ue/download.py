"""The asyncio shell of the UE's download side: one FLUTE session into the download receiver.

It binds the session's destination (``m=application <port> FLUTE/UDP 0`` with its ``c=``; the
group is joined when it is multicast) or ``listen_address`` for a unicast session, and feeds
every ALC packet to :class:`broadcast.engine.ue.download_receiver.DownloadReceiver` (FLUTE objects;
MIKEY MTK objects through the MIKEY ``Verifier`` — MSK, COUNTER replay, MAC, MTK ID rules; DCF files
decrypted with their MTK — TS 33.246 6.3.3.2.1). MSKs come from the UE's
:class:`~broadcast.engine.ue.service_keys.MskStore`.

The receiver runs in a worker thread (:class:`~broadcast.aio.ue.receive_worker.ReceiveWorker`):
the packet that completes a Raptor source block runs the RFC 5053 decoder and the one that
completes a file decrypts its DCF, work that would otherwise stall the event loop the UE's
streaming, key management and other sessions share. Packets and MSK installations go through the
worker's queue in arrival order; the events come back to the event loop, where they are counted,
logged and written out. Only the worker touches the receiver's state while it runs; the report
reads its counters (plain integers and counters, read whole). Received files are counted and, with
``output_dir``, written there under the last segment of their Content-Location (never outside
the directory).

An MTK object refused because it names an MSK the UE lacks (``unknown_msk``, its Key Domain ID
and MSK ID in the rejection) raises the missed-MSK-update signal (``on_missed_msk``, filtered and
rate-limited by :class:`~broadcast.engine.ue.download_guard.MissedMskSignal`); the receiver keeps
the object and opens it when the MSK arrives. Replayed MTK objects are refused and counted
(``mtk_replays``), re-sends of accepted ones counted apart (``mtk_resends``). Every decrypted
file is listed in the report with its size and the MD5 of its plaintext (the FLUTE layer has
already checked the transport object's ``Content-MD5`` when the FDT carried one:
``content_md5_checked``).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import ipaddress
import logging
import os
import re
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from broadcast.aio import clock
from broadcast.aio.service import AsyncService
from broadcast.aio.ue.receive_worker import ReceiveWorker
from broadcast.aio.ue.streaming import DEFAULT_RCVBUF, DatagramHandler, listen_socket
from broadcast.config.files import open_public
from broadcast.engine.ue.download_guard import (
    MISSED_SIGNAL_INTERVAL_S,
    MissedMskHook,
    MissedMskSignal,
)
from broadcast.engine.ue.download_receiver import (
    REPLAY,
    UNKNOWN_MSK,
    DownloadEvent,
    DownloadReceiver,
    FileReceived,
    FileRejected,
    MtkReceived,
)
from broadcast.engine.ue.link import Link
from broadcast.engine.ue.report import JsonValue
from broadcast.engine.ue.service_keys import MskEntry, MskStore
from broadcast.proto.announce.sdp import FluteSession
from broadcast.proto.dcf import MbmsKeyId
from broadcast.proto.keys.ids import KeyDomainId, MskId
from broadcast.proto.keys.material import Mtk
from broadcast.time import MonotonicClock, UnixClock, ntp_from_unix

log = logging.getLogger("broadcast.ue")

MtkLogger = Callable[[MbmsKeyId, Mtk], None]
FileConsumer = Callable[[FileReceived], None]

_SAFE_NAME = re.compile(r"[A-Za-z0-9._-]{1,200}")
#: Received files listed in the report (the most recent ones).
MAX_LISTED_FILES = 256
#: MTK IDs listed in the report (the most recent ones).
MAX_LISTED_MTKS = 4096


@dataclass(frozen=True, slots=True)
class DownloadConfig:
    session: FluteSession
    listen_address: str | None = None
    interface_address: str | None = None
    output_dir: Path | None = None
    accept_unprotected: bool = False
    rcvbuf: int = DEFAULT_RCVBUF


@dataclass
class DownloadCounters:
    """The UE-side counters of one download session (the receiver's plus packets and bytes)."""

    packets: int = 0
    mtks: int = 0
    files: int = 0
    bytes: int = 0
    files_written: int = 0
    rejected: Counter[str] = field(default_factory=Counter)

    def as_dict(self, waiting: int) -> dict[str, JsonValue]:
        return {
            "packets": self.packets,
            "mtks": self.mtks,
            "files": self.files,
            "bytes": self.bytes,
            "files_written": self.files_written,
            "waiting": waiting,
            "rejected": dict(sorted(self.rejected.items())),
        }


def file_name(content_location: str, toi: int) -> str:
    """A safe local file name: the Content-Location's last segment, else ``toi-<TOI>``."""
    last = content_location.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]
    if _SAFE_NAME.fullmatch(last) and last not in (".", ".."):
        return last
    return f"toi-{toi}"


class DownloadClient(AsyncService):
    """Receives one FLUTE download session (``async with`` or :meth:`start` / :meth:`stop`)."""

    def __init__(
        self,
        config: DownloadConfig,
        keys: MskStore,
        *,
        key_domain_id: KeyDomainId | None = None,
        on_mtk: MtkLogger | None = None,
        on_file: FileConsumer | None = None,
        clock_unix: UnixClock = clock.unix,
        clock_mono: MonotonicClock = clock.monotonic,
        key_groups: frozenset[int] | None = None,
        on_missed_msk: MissedMskHook | None = None,
        missed_signal_interval: float = MISSED_SIGNAL_INTERVAL_S,
        link: Link | None = None,
    ) -> None:
        self.config = config
        self.keys = keys
        self.key_domain_id = key_domain_id
        self.on_mtk = on_mtk
        self.on_file = on_file
        self.clock_unix = clock_unix
        self.clock_mono = clock_mono
        self.link = link
        self.missed_msk = MissedMskSignal(
            key_domain_id=key_domain_id,
            key_groups=key_groups,
            on_missed_msk=on_missed_msk,
            interval=missed_signal_interval,
        )
        self.receiver = DownloadReceiver(
            config.session.tsi, accept_unprotected=config.accept_unprotected
        )
        #: Feeds the receiver in a worker thread; its events come back to :meth:`_event`.
        self.worker = ReceiveWorker(self.receiver, self._event)
        self.counters = DownloadCounters()
        #: The files received (most recent :data:`MAX_LISTED_FILES`): name, size, plaintext MD5.
        self.files: deque[dict[str, JsonValue]] = deque(maxlen=MAX_LISTED_FILES)
        #: Every MTK received, as ``MSK ID/MTK ID`` (in order).
        self.mtk_ids: deque[str] = deque(maxlen=MAX_LISTED_MTKS)
        self.listening: list[tuple[str, int, str]] = []
        self.endpoints: list[tuple[str, int, str]] = []
        self._transport: asyncio.DatagramTransport | None = None
        self._unsubscribe = keys.subscribe(self._install)
        for entry in keys.entries():
            self._install(entry)

    def _install(self, entry: MskEntry) -> None:
        """A new MSK: install it (in order with the packets); MIKEY objects (and the files waiting
        for them) that arrived before it are opened then."""
        self.worker.add_msk(
            entry.key_domain_id,
            entry.msk_id,
            entry.msk,
            valid_from=entry.valid_from,
            valid_to=entry.valid_to,
        )

    def on_packet(self, data: bytes) -> None:
        """One ALC packet, received now by ``clock_unix``: queued for the worker (sans-IO entry
        point: tests may call it directly while :attr:`worker` runs, then :meth:`drain`)."""
        self.counters.packets += 1
        self.worker.feed(bytes(data), ntp_from_unix(self.clock_unix()))

    async def drain(self) -> None:
        """Return once every packet and MSK queued so far has been processed and its events
        handled."""
        await self.worker.drain()

    def _event(self, event: DownloadEvent) -> None:
        """One event of the receiver, on the event loop."""
        if isinstance(event, MtkReceived):
            self.counters.mtks += 1
            self.mtk_ids.append(f"{event.key_id.msk_id}/{event.key_id.mtk_id}")
            log.info("download MTK %s received", event.key_id)
            if self.on_mtk is not None:
                self.on_mtk(event.key_id, event.mtk)
        elif isinstance(event, FileReceived):
            self.counters.files += 1
            self.counters.bytes += len(event.data)
            log.info("file %r received (%d bytes)", event.content_location, len(event.data))
            self.files.append(
                {
                    "content_location": event.content_location,
                    "name": file_name(event.content_location, event.toi),
                    "size": len(event.data),
                    "md5": hashlib.md5(event.data, usedforsecurity=False).hexdigest(),
                    "mtk": None
                    if event.key_id is None
                    else f"{event.key_id.msk_id}/{event.key_id.mtk_id}",
                    "content_md5_checked": event.fdt_file.content_md5 is not None,
                }
            )
            self._write(event)
            if self.on_file is not None:
                self.on_file(event)
        elif isinstance(event, FileRejected):
            self.counters.rejected[event.reason] += 1
            log.info("object %r rejected: %s", event.content_location, event.reason)
            if event.reason == UNKNOWN_MSK and event.key_id is not None:
                self._missed(event.key_id.key_domain_id, event.key_id.msk_id)

    def _missed(self, key_domain_id: KeyDomainId, msk_id: MskId) -> None:
        if self.missed_msk.missed(key_domain_id, msk_id, self.clock_mono()):
            log.info(
                "missed MSK update: a download MTK object names MSK %s/%s, which this UE lacks",
                key_domain_id,
                msk_id,
            )

    def _write(self, event: FileReceived) -> None:
        out = self.config.output_dir
        if out is None:
            return
        path = out / file_name(event.content_location, event.toi)
        tmp = path.with_name(path.name + ".part")
        try:
            out.mkdir(parents=True, exist_ok=True)
            with open_public(tmp) as f:
                f.write(event.data)
            os.replace(tmp, path)
            self.counters.files_written += 1
        except OSError as exc:
            log.warning("cannot write %s: %s", path, exc.strerror)

    def as_dict(self) -> dict[str, JsonValue]:
        counters: dict[str, JsonValue] = self.counters.as_dict(self.receiver.stats.waiting)
        flute = self.receiver.flute.stats
        counters["flute_objects"] = flute.objects
        counters["flute_rejected"] = dict(sorted(flute.rejected.items()))
        counters["mtk_replays"] = self.receiver.stats.rejected[REPLAY]
        counters["mtk_resends"] = self.receiver.stats.resends
        counters["missed_msk_signals"] = self.missed_msk.signals
        counters["content_md5_checked"] = sum(1 for f in self.files if f["content_md5_checked"])
        counters["queue_dropped"] = self.worker.stats.dropped
        counters["mtk_ids"] = list(self.mtk_ids)
        counters["received_files"] = list(self.files)
        return counters

    async def start(self) -> None:
        if self._transport is not None:
            raise RuntimeError("the download client is already running")
        await self.worker.start()
        s = self.config.session
        host = s.address
        if self.config.listen_address is not None and not ipaddress.ip_address(host).is_multicast:
            host = self.config.listen_address
        loop = asyncio.get_running_loop()
        sock = listen_socket(host, s.port, self.config.interface_address, self.config.rcvbuf)
        try:
            transport, _ = await loop.create_datagram_endpoint(
                functools.partial(
                    DatagramHandler, self.on_packet, "FLUTE", link=self.link, local=(host, s.port)
                ),
                sock=sock,
            )
        except BaseException:
            sock.close()
            await self.worker.stop()
            raise
        self._transport = transport
        self.listening.append((host, s.port, f"FLUTE TSI {s.tsi}"))
        self.endpoints.append((host, s.port, f"FLUTE TSI {s.tsi}"))
        log.info("listening for FLUTE TSI %d on %s port %d", s.tsi, host, s.port)

    async def stop(self) -> None:
        """Close the socket, let the worker finish what was received, stop it (idempotent)."""
        if self._transport is not None:
            self._transport.close()
            self._transport = None
            await asyncio.sleep(0)
            await self.worker.drain()
        await self.worker.stop()
        self.listening.clear()

    def close(self) -> None:
        self._unsubscribe()
