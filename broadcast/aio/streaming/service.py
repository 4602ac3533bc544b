"""The protected stream service (asyncio shell): ingest -> SRTP under the current MTK -> output,
with the MTK messages on UDP 2269 at the same destination (TS 33.246 6.3.3.2.2).

:class:`StreamService` owns the sockets, the timer and the threads; every decision is made by
sans-IO parts it only runs: :class:`~broadcast.engine.streaming.schedule.MtkSchedule` (when to make,
send and switch MTKs), :class:`~broadcast.engine.keys.mtk.MtkIssuer` (MTK ID, counter and
MIKEY message from the durable store — run in a worker thread, the store blocks on fsync), and
:class:`~broadcast.engine.streaming.pipeline.ProtectPipeline` (check, protect, send).

Programmatic use (one event loop can run several services next to a BM-SC and UEs, sharing one
key store object)::

    async with StreamService(config, store=store) as service:
        ...
        print(service.status())

The RTP comes from the source the ``[ingest]`` configuration names (UDP, pcap, generator), or
from ``ingest=``: any object implementing
:class:`~broadcast.aio.streaming.ingest.IngestSource` (``start``, ``run(sink, clock)``, ``close``,
``stats``) — a program producing RTP in the same event loop hands it to the service directly.
The service then ignores ``config.ingest`` and drives the object's life cycle like its own
(start, run as a task once the first MTK message has left, cancel and close on ``stop()``).

``start()`` fails with :class:`StreamStartError` when the session cannot run (no CURRENT MSK
without ``standalone``, a ``[srtp]`` that disagrees with the Key Group's policy in the key store,
address in use, unreadable pcap). Once running, problems are reported in
``status()`` (``error``) and logged, never raised: a failed MTK creation keeps the last MTK and
retries. The clocks (``clock_mono``, monotonic seconds for everything the service times;
``clock_unix``, Unix seconds for the RTCP sender report times) and the random source (``rand``)
are injectable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from broadcast.aio import clock
from broadcast.aio.service import AsyncService
from broadcast.aio.sgimb.output import DatagramOutput
from broadcast.aio.streaming.ingest import IngestError, IngestSource, make_ingest
from broadcast.config.stream import StreamConfig, session_srtp
from broadcast.engine.keys.issuing import MtkUnavailable
from broadcast.engine.keys.mtk import IssuedMtk, MtkIssuer
from broadcast.engine.streaming.generator import GeneratorConfig
from broadcast.engine.streaming.pipeline import ProtectPipeline
from broadcast.engine.streaming.schedule import (
    Action,
    InstallKey,
    MtkSchedule,
    RequestMtk,
    SendMikey,
    Switch,
)
from broadcast.proto.announce.sdp import RtpMap, streaming_sdp
from broadcast.proto.errors import ConfigError
from broadcast.proto.keys.errors import KeyModelError
from broadcast.proto.keys.store import KeyStore
from broadcast.proto.mikey.srtp_policy import SrtpPolicy
from broadcast.proto.srtp.sender import SrtpSender
from broadcast.proto.srtp.settings import SrtpConfig, srtp_policy
from broadcast.store.keys import SQLiteKeyStore
from broadcast.time import MonotonicClock, MonotonicS, Rand, UnixClock

log = logging.getLogger("broadcast.streaming")

#: Sender reports only for SSRCs that sent RTP within this many report intervals.
_SR_ACTIVE_INTERVALS: Final = 2
#: How long ``stop()`` waits for an MTK creation already running in its thread.
_STOP_WAIT: Final = 30.0


class StreamStartError(Exception):
    """The session cannot start; the text says why (no key bytes in it)."""


@dataclass(frozen=True)
class StreamStatus:
    """A snapshot of a running session (``StreamService.status()``)."""

    session: str
    state: str
    error: str | None
    msk_id: str | None
    mtk_id: str | None
    mki: str | None
    upcoming: str | None
    switches: int
    mtks_issued: int
    mikey_sent: int
    seconds_to_switch: float | None
    packets_to_switch: int | None
    ingest_datagrams: int
    rtp_in: int
    srtp_out: int
    srtcp_out: int
    sender_reports: int
    output_errors: int
    bad: dict[str, int] = field(default_factory=dict)
    ingest_finished: bool = False

    @property
    def bad_total(self) -> int:
        return sum(self.bad.values())


class StreamService(AsyncService):
    """One protected stream session (see the module doc)."""

    def __init__(
        self,
        config: StreamConfig,
        *,
        store: KeyStore | None = None,
        output: DatagramOutput | None = None,
        clock_mono: MonotonicClock = clock.monotonic,
        clock_unix: UnixClock = clock.unix,
        rand: Rand = secrets.token_bytes,
        native: bool = True,
        issue_in_thread: bool = True,
        ingest: IngestSource | None = None,
    ) -> None:
        self.config = config
        self.clock_mono = clock_mono
        self.clock_unix = clock_unix
        self._rand = rand
        self._native = native
        self._issue_in_thread = issue_in_thread
        self._store = store
        self._own_store = store is None
        self._output = output
        self._own_output = output is None
        self.schedule = MtkSchedule(config.mtk)
        self._pipeline: ProtectPipeline | None = None
        self._issuer: MtkIssuer | None = None
        #: The source given to the constructor (``None``: built from ``config.ingest``).
        self._given_ingest = ingest
        self._ingest: IngestSource | None = None
        self._ingest_task: asyncio.Task[None] | None = None
        self._issue_task: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._armed: float | None = None
        self._next_report = math.inf
        self._state = "new"
        #: The session's SRTP policy: the Key Group's, read from the store at start.
        self._srtp: SrtpConfig | None = None
        self.mtks_issued = 0
        self.mikey_sent = 0
        #: Set when the ingest has nothing more to deliver (end of a pcap file, generator count).
        self.ingest_finished = asyncio.Event()

    # -- what the BM-SC and the announcement need ----------------------------------------------
    @property
    def srtp(self) -> SrtpConfig:
        """The session's SRTP policy: once started, the Key Group's as the key store keeps it
        (the policy of the group's MSK messages); before, the configured ``[srtp]`` (or the
        profile's)."""
        if self._srtp is not None:
            return self._srtp
        return self.config.srtp if self.config.srtp is not None else SrtpConfig()

    @property
    def srtp_policy(self) -> SrtpPolicy:
        """:attr:`srtp` as the SP payload value of the group's MSK messages."""
        return srtp_policy(self.srtp)

    def _configured_ssrcs(self) -> tuple[int, ...]:
        """The SSRCs the configured generator will send (none known for any other source)."""
        if self._given_ingest is None and isinstance(self.config.ingest, GeneratorConfig):
            return self.config.ingest.ssrcs
        return ()

    def sdp(self) -> str:
        """The session's SDP (:func:`broadcast.proto.announce.sdp.streaming_sdp`)."""
        s = self.config.session
        rtpmap = RtpMap(
            s.payload_type,
            s.encoding,
            s.clock_rate,
            None if s.channels is None else str(s.channels),
        )
        description = streaming_sdp(
            address=s.destination,
            media=[(s.media, s.port, rtpmap)],
            ttl=self.config.output.ttl,
            source=self.config.output.source,
            ssrcs=self._configured_ssrcs(),
            cname=self.config.cname,
            session_name=s.name,
        )
        return description.to_text()

    @property
    def pipeline(self) -> ProtectPipeline:
        if self._pipeline is None:
            raise RuntimeError("the service is not started")
        return self._pipeline

    @property
    def ingest(self) -> IngestSource:
        """The running source (the one given as ``ingest=``, or built from the configuration)."""
        if self._ingest is None:
            raise RuntimeError("the service is not started")
        return self._ingest

    # -- life cycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        """Open the store, output and ingest, make and send the first MTK, start streaming."""
        if self._state != "new":
            raise RuntimeError("a StreamService starts once")
        self._state = "starting"
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        cfg = self.config
        keys = cfg.keys
        try:
            if self._store is None:
                self._store = await asyncio.to_thread(SQLiteKeyStore, keys.store)
            self._issuer = MtkIssuer(
                self._store,
                keys.key_domain,
                keys.key_group,
                streaming=True,
                rand=self._rand,
                log=log,
            )
            if keys.standalone:
                await asyncio.to_thread(self._issuer.ensure, cfg.srtp)
            group = await asyncio.to_thread(
                self._store.get_key_group, keys.key_domain, keys.key_group
            )
        except (KeyModelError, MtkUnavailable) as exc:
            raise StreamStartError(f"key store: {exc}") from exc
        try:
            self._srtp = session_srtp(cfg, group)
        except ConfigError as exc:
            raise StreamStartError(str(exc)) from exc
        if self._output is None:
            try:
                self._output = DatagramOutput(cfg.output)
            except (OSError, ValueError) as exc:
                raise StreamStartError(f"output: {exc}") from exc
        sender = SrtpSender(self.srtp_policy, max_streams=cfg.session.max_streams)
        self._pipeline = ProtectPipeline(
            sender,
            self._output,
            cfg.session.rtp_dest,
            cfg.session.rtcp_dest,
            forward_rtcp=cfg.rtcp.mode == "forward",
            native=self._native,
        )
        given = self._given_ingest
        self._ingest = make_ingest(cfg.ingest) if given is None else given
        try:
            await self._ingest.start()
        except IngestError as exc:
            raise StreamStartError(f"ingest: {exc}") from exc

        # The first MTK: its message leaves before any packet (schedule module doc).
        actions = self.schedule.start(self.clock_mono())
        assert actions == [RequestMtk()]
        try:
            first = await self._issue_blocking(self._expected_streams())
        except MtkUnavailable as exc:
            raise StreamStartError(str(exc)) from exc
        self._execute(self.schedule.provide(first, self.clock_mono()))
        if cfg.session.sdp is not None:
            self._write_sdp(cfg.session.sdp)
        if cfg.rtcp.mode == "generate":
            self._next_report = self.clock_mono() + cfg.rtcp.interval
        self._state = "running"
        log.info(
            "session %s: SRTP to %s:%d, MTK messages to %s:%d",
            cfg.session.name,
            *cfg.session.rtp_dest,
            *cfg.session.mikey_dest,
        )
        self._ingest_task = asyncio.get_running_loop().create_task(self._run_ingest())
        self._poll()

    async def stop(self) -> None:
        """Stop ingest and timers, let a running MTK creation finish, close what we opened."""
        if self._state == "stopped":
            return
        self._state = "stopping"
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._ingest_task is not None:
            self._ingest_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ingest_task
        if self._issue_task is not None and not self._issue_task.done():
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._issue_task), _STOP_WAIT)
        if self._ingest is not None:
            self._ingest.close()
        if self._output is not None and self._own_output:
            self._output.close()
        if self._store is not None and self._own_store:
            self._store.close()
        self._state = "stopped"

    async def _run_ingest(self) -> None:
        try:
            await self.ingest.run(self, self.clock_mono)
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug in a source must not pass silently
            log.exception("ingest failed")
        self.ingest_finished.set()

    # -- the ingest sink ------------------------------------------------------------------------
    def deliver(self, datagrams: list[bytes]) -> None:
        """Datagrams from the ingest (RTP, or RTCP multiplexed per RFC 5761)."""
        if self._state != "running":
            return
        now_mono = self.clock_mono()
        sent = self.pipeline.push(datagrams, now_mono)
        self.schedule.count_packets(sent)
        self._poll_at(now_mono)

    def deliver_rtcp(self, datagrams: list[bytes]) -> None:
        """Datagrams from an RTCP ingest port."""
        if self._state == "running":
            self.pipeline.push_rtcp(datagrams)

    # -- schedule ------------------------------------------------------------------------------
    def _expected_streams(self) -> list[tuple[int, int]]:
        return self.pipeline.streams(self._configured_ssrcs())

    def _poll(self) -> None:
        """:meth:`_poll_at` the monotonic clock's time."""
        if self._state in ("running", "starting"):
            self._poll_at(self.clock_mono())

    def _poll_at(self, now_mono: MonotonicS) -> None:
        if self._state not in ("running", "starting"):
            return
        self._execute(self.schedule.poll(now_mono))
        if now_mono >= self._next_report:
            rtcp = self.config.rtcp
            self.pipeline.send_reports(
                now_mono,
                self.clock_unix(),
                cname=self.config.cname,
                clock_rate=self.config.session.clock_rate,
                active_within=_SR_ACTIVE_INTERVALS * rtcp.interval,
            )
            self._next_report = now_mono + rtcp.interval
        self._arm()

    def _arm(self) -> None:
        deadline = min(self.schedule.next_deadline() or math.inf, self._next_report)
        if deadline == self._armed and self._timer is not None:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._armed = deadline
        if math.isfinite(deadline):
            delay = max(0.0, deadline - self.clock_mono())
            self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._armed = None
        self._poll()

    def _execute(self, actions: list[Action]) -> None:
        assert self._pipeline is not None and self._output is not None
        for action in actions:
            if isinstance(action, SendMikey):
                self._output.send(action.message, self.config.session.mikey_dest)
                self.mikey_sent += 1
                if action.copy == 0:
                    log.info(
                        "MTK %s: message sent (counter %d)", action.mtk.name, action.mtk.counter
                    )
            elif isinstance(action, Switch):
                self._pipeline.mki = action.mtk.mki
                log.info("switched to MTK %s", action.mtk.name)
            elif isinstance(action, InstallKey):
                m = action.mtk
                assert m.salt is not None  # a streaming MTK always has its SRTP master salt
                self._pipeline.sender.keys.add(m.mki, m.mtk, m.salt)
            elif isinstance(action, RequestMtk):
                self._issue_task = asyncio.get_running_loop().create_task(
                    self._issue_next(self._expected_streams())
                )

    async def _issue_blocking(self, streams: list[tuple[int, int]]) -> IssuedMtk:
        assert self._issuer is not None
        if self._issue_in_thread:
            mtk = await asyncio.to_thread(self._issuer.issue, streams)
        else:
            mtk = self._issuer.issue(streams)
        self.mtks_issued += 1
        return mtk

    async def _issue_next(self, streams: list[tuple[int, int]]) -> None:
        try:
            mtk = await self._issue_blocking(streams)
        except MtkUnavailable as exc:
            log.error("no new MTK: %s", exc)
            self.schedule.fail(str(exc), self.clock_mono())
        except Exception as exc:  # a bug must not stop the stream: keep the MTK, report it
            log.exception("MTK creation failed")
            self.schedule.fail(f"MTK creation failed: {type(exc).__name__}", self.clock_mono())
        else:
            # After stop() began, the MTK stays unused (its ID and counter are spent: never
            # reused, which is all the store promises).
            if self._state in ("running", "starting"):
                self._execute(self.schedule.provide(mtk, self.clock_mono()))
        self._poll()

    # -- status ----------------------------------------------------------------------------------
    def status(self) -> StreamStatus:
        sched = self.schedule
        current, upcoming = sched.current, sched.upcoming
        p = self._pipeline
        out = self._output
        ingest = self._ingest
        return StreamStatus(
            session=self.config.session.name,
            state="error" if sched.error and self._state == "running" else self._state,
            error=sched.error,
            msk_id=None if current is None else str(current.msk_id),
            mtk_id=None if current is None else str(current.mtk_id),
            mki=None if current is None else current.mki.hex(),
            upcoming=None if upcoming is None else upcoming.name,
            switches=max(0, sched.switches - 1),
            mtks_issued=self.mtks_issued,
            mikey_sent=self.mikey_sent,
            seconds_to_switch=sched.seconds_to_switch(self.clock_mono()),
            packets_to_switch=sched.packets_to_switch(),
            ingest_datagrams=0 if ingest is None else ingest.stats.datagrams,
            rtp_in=0 if p is None else p.stats.rtp_in,
            srtp_out=0 if p is None else p.stats.srtp_out,
            srtcp_out=0 if p is None else p.stats.srtcp_out,
            sender_reports=0 if p is None else p.stats.sender_reports,
            output_errors=0 if out is None else out.stats.errors,
            bad={} if p is None else dict(p.stats.bad),
            ingest_finished=self.ingest_finished.is_set(),
        )

    # -- files ----------------------------------------------------------------------------------
    def _write_sdp(self, path: Path) -> None:
        """Write the SDP atomically (temp file + rename); a failure is logged, not fatal."""
        text = self.sdp()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".sdp-", dir=path.parent)
            with os.fdopen(fd, "w", newline="") as f:
                f.write(text)
            os.replace(tmp, path)
        except OSError as exc:
            log.error("cannot write the SDP file %s: %s", path, exc.strerror or exc)
            return
        log.info("SDP written to %s", path)


__all__ = ["StreamService", "StreamStartError", "StreamStatus"]
