"""The protected file carousel as an asyncio service (the shell around the sans-IO core).

:class:`CarouselService` owns the socket (:class:`~broadcast.aio.sgimb.output.DatagramOutput`), the
timers, the spool directory and the key store handle; everything it decides comes from
:class:`~broadcast.engine.download.session.CarouselSession` and
:class:`~broadcast.engine.download.scheduler.CarouselScheduler`. Two tasks run in one event loop:

- the sender: poll the scheduler with the clock, send the batch, sleep until the deadline (or
  until new objects are published);
- the maintainer: every ``watch_interval`` rescan the inputs and, every ``mtk_period``, rotate the
  MTK (TS 33.246 §6.3.3: new MTK → new MIKEY object, every file protected again under it, new
  TOIs, new FDT Instance; the old generation is sent for the grace period, then dropped).
  Protecting files (AES + MD5 + gzip + disk) runs in a worker thread so sending never stalls.

With ``fec = "raptor"`` the sender encodes each Raptor source block in the event loop when its
first packets are due (RFC 5053 §5.4: the intermediate symbols, then repair symbols in slices of
:data:`~broadcast.proto.flute.blocks.RAPTOR_CHUNK`): about 1 ms for a 300 kB block,
60-95 ms for a full 8192-symbol (11.7 MB) block, once per block and round — at 2 Mbit/s such a
block takes about 50 s to send.

Usable programmatically (``async with CarouselService(config) as service``), with an injectable
store, output, clock and random source, and a :attr:`CarouselService.stats` snapshot. The one
clock, ``clock_unix``, is the wall clock: the session's FDT ``Expires`` is a wall-clock time and
the scheduler paces by the same time (TOIs and FDT Instance IDs start from it too).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import tempfile
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from broadcast.aio import clock
from broadcast.aio.download.watch import InputFile, content_location, diff, scan
from broadcast.aio.service import AsyncService
from broadcast.aio.sgimb.output import DatagramOutput, source_address
from broadcast.config.carousel import CarouselConfig
from broadcast.engine.download.objects import (
    PreparedObject,
    Protection,
    prepare_file,
    prepare_mikey,
)
from broadcast.engine.download.scheduler import PACKET_OVERHEAD, CarouselScheduler
from broadcast.engine.download.session import CarouselSession, SessionParams
from broadcast.engine.keys.mtk import IssuedMtk, MtkIssuer
from broadcast.proto.announce.sdp import Origin, SessionDescription, flute_sdp
from broadcast.proto.dcf import DcfError
from broadcast.proto.flute.lct import FDT_INSTANCE_ID_MOD
from broadcast.proto.keys import KeyModelError, KeyStore, KeyStoreError
from broadcast.store.keys import SQLiteKeyStore
from broadcast.time import Rand, UnixClock

log = logging.getLogger(__name__)

#: Window over which the sending bitrate is measured, seconds.
_RATE_WINDOW = 2.0


@dataclass(frozen=True, slots=True)
class CarouselStats:
    """A snapshot of the carousel."""

    objects: int
    files: int
    live_bytes: int
    packets: int
    bytes_sent: int
    rounds: int
    bitrate: float
    fdt_instance_id: int | None
    fdt_instances: int
    msk_id: str | None
    mtk_id: str | None
    mtk_rotations: int
    send_errors: int
    elapsed: float


@dataclass(slots=True)
class _Published:
    toi: int
    input: InputFile


def carousel_sdp(config: CarouselConfig, *, source: str, session_id: int) -> SessionDescription:
    """The SDP of the carousel's FLUTE session sent from ``source``
    (:func:`broadcast.proto.announce.sdp.flute_sdp`: TSI, source filter, FEC declaration of the
    configured FEC, TTL for a multicast destination). ``s=`` is the configured name with its
    white space folded (``-`` when none is left); ``o=`` carries ``session_id``, version 1."""
    address, port = config.destination
    return flute_sdp(
        address=address,
        port=port,
        tsi=config.tsi,
        source=source,
        ttl=config.output.ttl,
        fec_encoding_id=config.fec_encoding_id,
        session_name=" ".join(config.name.split()) or "-",
        origin=Origin(session_id=session_id, session_version=1, address=source),
    )


class CarouselService(AsyncService):
    """A FLUTE carousel of DCF-protected files with in-band MIKEY MTK objects."""

    def __init__(
        self,
        config: CarouselConfig,
        *,
        store: KeyStore | None = None,
        output: DatagramOutput | None = None,
        clock_unix: UnixClock = clock.unix,
        rand: Rand = os.urandom,
    ) -> None:
        self.config = config
        self._store = store
        self._own_store = store is None
        self._output = output
        self._own_output = output is None
        self._clock_unix = clock_unix
        self._rand = rand
        cfg = config
        self.scheduler = CarouselScheduler(bitrate=cfg.bitrate)
        self.params = SessionParams(
            tsi=cfg.tsi,
            version=cfg.flute_version,
            symbol_length=cfg.symbol_length,
            max_block_length=cfg.max_source_block_length,
            repeat_interval=cfg.repeat_interval,
            fdt_repeat_interval=cfg.fdt_repeat_interval,
            fdt_expires=cfg.fdt_expires,
            grace_period=cfg.grace_period,
            repair_overhead=cfg.repair_overhead,
            source_every_round=cfg.send_source_every_round,
        )
        self.session: CarouselSession | None = None
        self.issuer: MtkIssuer | None = None
        self.mtk: IssuedMtk | None = None
        self.sdp: str | None = None
        self._mikey_toi: int | None = None
        self._files: dict[str, _Published] = {}
        self._spool: Path | None = None
        self._own_spool = False
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        self._progress = asyncio.Condition()
        self._started = 0.0
        self._next_rotation: float | None = None
        self._rotations = 0
        self._rate: deque[tuple[float, int]] = deque()
        self._bytes_sent = 0

    # --- life cycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        """Set up keys, spool and output, publish the first generation and start sending."""
        cfg = self.config
        now = self._clock_unix()
        self._started = now
        if cfg.spool_directory is not None:
            cfg.spool_directory.mkdir(parents=True, exist_ok=True)
            self._spool = cfg.spool_directory
        else:
            self._spool = Path(tempfile.mkdtemp(prefix="mbms-carousel-"))
            self._own_spool = True
        # TOIs and FDT Instance IDs start from the clock so a restarted sender does not reuse
        # values receivers may still remember (RFC 3926 §3.4.1 compares instance IDs).
        self.session = CarouselSession(
            self.params,
            self.scheduler,
            first_toi=((int(now) & 0xFFFFFF) << 8) | 1,
            first_fdt_instance_id=int(now) % FDT_INSTANCE_ID_MOD,
        )
        if cfg.confidentiality:
            if self._store is None:
                assert cfg.store_path is not None
                self._store = SQLiteKeyStore(cfg.store_path)
            self.issuer = MtkIssuer(
                self._store,
                cfg.key_domain,
                cfg.key_group,
                streaming=False,
                rand=self._rand,
                log=log,
            )
            record = await asyncio.to_thread(self.issuer.ensure)
            log.info("key group %d: CURRENT MSK %s", cfg.key_group, record.msk_id)
        if self._output is None:
            self._output = DatagramOutput(cfg.output)
        source = source_address(cfg.destination, cfg.output.source)
        self.sdp = carousel_sdp(cfg, source=source, session_id=int(now)).to_text()
        if cfg.sdp_path is not None:
            cfg.sdp_path.write_text(self.sdp, encoding="utf-8")
            log.info("SDP written to %s", cfg.sdp_path)
        if cfg.confidentiality:
            await self._rotate()
        else:
            await self._rescan()
        if cfg.mtk_period and cfg.confidentiality:
            self._next_rotation = now + cfg.mtk_period
        self._tasks = [
            asyncio.create_task(self._send_loop(), name="carousel-send"),
            asyncio.create_task(self._maintain_loop(), name="carousel-maintain"),
        ]

    async def stop(self) -> None:
        """Stop sending and release everything the service opened (idempotent)."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.session is not None:
            self.session.close()
        if self._own_output and self._output is not None:
            self._output.close()
            self._output = None
        if self._own_store and self._store is not None:
            self._store.close()
            self._store = None
        if self._own_spool and self._spool is not None:
            shutil.rmtree(self._spool, ignore_errors=True)
            self._spool = None

    # --- progress --------------------------------------------------------------------------------
    @property
    def stats(self) -> CarouselStats:
        session = self.session
        now = self._clock_unix()
        while self._rate and self._rate[0][0] < now - _RATE_WINDOW:
            self._rate.popleft()
        window = sum(n for _, n in self._rate)
        span = min(_RATE_WINDOW, max(now - self._started, 1e-3))
        output = self._output
        return CarouselStats(
            objects=len(session.objects) if session else 0,
            files=len(self._files),
            live_bytes=session.live_bytes() if session else 0,
            packets=self.scheduler.stats.packets,
            bytes_sent=self._bytes_sent,
            rounds=session.rounds() if session else 0,
            bitrate=8 * window / span,
            fdt_instance_id=session.fdt.instance_id if session and session.fdt else None,
            fdt_instances=session.fdt_instances if session else 0,
            msk_id=str(self.mtk.msk_id) if self.mtk else None,
            mtk_id=str(self.mtk.mtk_id) if self.mtk else None,
            mtk_rotations=self._rotations,
            send_errors=output.stats.errors if output else 0,
            elapsed=now - self._started,
        )

    async def wait_rounds(self, rounds: int) -> None:
        """Return once every live object has been sent ``rounds`` times."""
        async with self._progress:
            await self._progress.wait_for(
                lambda: self.session is not None and self.session.rounds() >= rounds
            )

    # --- sending ---------------------------------------------------------------------------------
    async def _send_loop(self) -> None:
        assert self.session is not None and self._output is not None
        dest = self.config.destination
        while True:
            now = self._clock_unix()
            self.session.update(now)
            poll = self.scheduler.poll(now)
            if poll.packets:
                await self._output.send_batch_async(poll.packets, dest)
                size = sum(len(p) for p in poll.packets) + PACKET_OVERHEAD * len(poll.packets)
                self._bytes_sent += size
                self._rate.append((now, size))
            if poll.completed:
                async with self._progress:
                    self._progress.notify_all()
            self._wake.clear()
            delay = None if poll.deadline is None else poll.deadline - self._clock_unix()
            if delay is not None and delay <= 0:
                await asyncio.sleep(0)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)

    # --- maintenance -----------------------------------------------------------------------------
    async def _maintain_loop(self) -> None:
        cfg = self.config
        while True:
            await asyncio.sleep(cfg.watch_interval)
            now = self._clock_unix()
            try:
                if self._next_rotation is not None and now >= self._next_rotation:
                    self._next_rotation = now + cfg.mtk_period
                    await self._rotate()
                else:
                    await self._rescan()
            except (KeyModelError, KeyStoreError) as exc:
                log.warning("key management: %s; keeping the current MTK", exc)

    def _protection(self) -> Protection | None:
        if self.mtk is None:
            return None
        cfg = self.config
        return Protection.for_mtk(
            self.mtk, bmsc_fqdn=cfg.bmsc_fqdn, key_management_uri=cfg.key_management_uri
        )

    async def _prepare(
        self, inputs: Sequence[InputFile], protection: Protection | None
    ) -> list[tuple[InputFile, PreparedObject]]:
        assert self.session is not None and self._spool is not None
        jobs = [(f, self.session.allocate_toi()) for f in inputs]
        return await asyncio.to_thread(self._prepare_sync, jobs, protection, self._spool)

    def _prepare_sync(
        self,
        jobs: Sequence[tuple[InputFile, int]],
        protection: Protection | None,
        spool: Path,
    ) -> list[tuple[InputFile, PreparedObject]]:
        cfg = self.config
        out: list[tuple[InputFile, PreparedObject]] = []
        for item, toi in jobs:
            try:
                obj = prepare_file(
                    toi,
                    item.path,
                    content_location=content_location(item.name, cfg.content_base),
                    spool_dir=spool,
                    symbol_length=cfg.symbol_length,
                    max_block_length=cfg.max_source_block_length,
                    protection=protection,
                    gzip=cfg.gzip,
                    rand=self._rand,
                    fec=cfg.fec_encoding_id,
                )
            except (OSError, DcfError) as exc:
                log.warning("%s: not published this time (%s)", item.name, exc)
                continue
            out.append((item, obj))
        return out

    async def _rotate(self) -> None:
        """A new MTK: new MIKEY object, every file protected again, old generation retired."""
        assert self.session is not None and self.issuer is not None
        issued = await asyncio.to_thread(self.issuer.issue)
        cfg = self.config
        inputs = list(scan(cfg.input_directory, cfg.input_files).values())
        self.mtk = issued
        prepared = await self._prepare(inputs, self._protection())
        now = self._clock_unix()
        mikey = prepare_mikey(
            self.session.allocate_toi(),
            issued,
            symbol_length=cfg.symbol_length,
            max_block_length=cfg.max_source_block_length,
        )
        old = [p.toi for p in self._files.values()]
        if self._mikey_toi is not None:
            old.append(self._mikey_toi)
        self.session.publish([mikey, *(obj for _, obj in prepared)], now)
        self.session.retire(old, now)
        self._mikey_toi = mikey.toi
        self._files = {item.name: _Published(obj.toi, item) for item, obj in prepared}
        self._rotations += 1
        log.info(
            "MTK %s under MSK %s: %d file(s) protected, MIKEY object TOI %d",
            issued.mtk_id,
            issued.msk_id,
            len(prepared),
            mikey.toi,
        )
        self._wake.set()

    async def _rescan(self) -> None:
        """Follow added, changed and removed input files."""
        assert self.session is not None
        cfg = self.config
        current = {name: p.input for name, p in self._files.items()}
        changes = diff(current, scan(cfg.input_directory, cfg.input_files))
        if not changes:
            return
        prepared = await self._prepare([*changes.added, *changes.changed], self._protection())
        now = self._clock_unix()
        retire = [self._files.pop(name).toi for name in changes.removed if name in self._files]
        for item, obj in prepared:
            previous = self._files.get(item.name)
            if previous is not None:
                retire.append(previous.toi)
            self._files[item.name] = _Published(obj.toi, item)
        self.session.publish([obj for _, obj in prepared], now)
        self.session.retire(retire, now)
        if prepared or retire:
            log.info(
                "inputs: %d added, %d changed, %d removed",
                len(changes.added),
                len(changes.changed),
                len(changes.removed),
            )
        self._wake.set()


__all__ = ["CarouselService", "CarouselStats"]
