"""MSK push and solicited pull over UDP, MIKEY ACKs, retransmission (TS 33.246 6.3.2.2.4,
6.3.2.3.1; profile.md "Transport": MIKEY over UDP to the UE, port 2269 by default; the ACK comes
back to the push's source address and port).

:class:`PushScheduler` owns one UDP socket. It sends every recorded delivery when it is due
(``next_at``), one at a time per MUK (the UE accepts MUK counters only in increasing order);
after each transmission of a message that asks for an ACK (V = 1) it waits
``ack_timeout * backoff^(n-1)`` and re-sends the SAME bytes, up to ``max_attempts``
transmissions, then gives up: the delivery becomes ``failed``, is logged and reported through
``on_failed``. A message without V is ``sent`` after one transmission. A solicited pull is
re-sent the same way until the UE's MSK request answers it. ACKs received on the socket are
verified (``verify_ack`` with the UE's MUK) and mark their delivery ``acked``.

A pass (:meth:`PushScheduler.run_once`: read the due rows, send, record the attempts in one
durable transaction) runs in a worker thread when the scheduler runs on its own, so that a
commit never stalls the event loop; callbacks run in the loop. The datagrams of a pass leave in
batches through the native batched UDP send of :mod:`broadcast.aio.sgimb.engine` (``sendmmsg``,
non-blocking: what the socket buffer cannot take waits for the next pass), with a ``sendto``
per datagram where the socket is not IPv4.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import Final

from broadcast.aio import clock
from broadcast.aio.sgimb.engine import MSG_DONTWAIT, NativeEngine
from broadcast.engine.bmsc.keymgmt import KeyManagement
from broadcast.engine.bmsc.settings import PushConfig
from broadcast.proto.msk.store import Delivery, DeliveryKind, DeliveryState, DueDelivery
from broadcast.time import UnixClock, UnixS

log = logging.getLogger("broadcast.aio.bmsc.push")

#: Longest sleep of the scheduler without a wake-up (bounds the reaction to external writers).
TICK_MAX_S: Final = 0.5
#: Shortest sleep when something is due but nothing could be sent.
TICK_MIN_S: Final = 0.002
_AGAIN: Final = frozenset({errno.EAGAIN, errno.EWOULDBLOCK})


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, owner: PushScheduler) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        self.owner.on_datagram(data, addr)

    def error_received(self, exc: Exception) -> None:
        self.owner.stats["udp_errors"] += 1


class PushScheduler:
    """Sends due deliveries, retransmits, gives up, receives MIKEY ACKs (module docstring)."""

    def __init__(
        self,
        km: KeyManagement,
        config: PushConfig,
        *,
        clock_unix: UnixClock = clock.unix,
        on_failed: Callable[[Delivery], None] | None = None,
        on_acked: Callable[[Delivery], None] | None = None,
    ) -> None:
        self.km = km
        self.config = config
        self.clock_unix = clock_unix
        self.on_failed = on_failed
        self.on_acked = on_acked
        self.stats: Counter[str] = Counter()
        self._transport: asyncio.DatagramTransport | None = None
        self._sock: socket.socket | None = None
        self._engine: NativeEngine | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._acked: list[Delivery] = []

    @property
    def local_address(self) -> tuple[str, int]:
        if self._sock is None:
            raise RuntimeError("push scheduler not started")
        host, port = self._sock.getsockname()[:2]
        return str(host), int(port)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(
            self.config.source, self.config.source_port, type=socket.SOCK_DGRAM
        )
        family, _, _, _, address = infos[0]
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.bind(address)
            transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(self), sock=sock)
        except BaseException:
            sock.close()
            raise
        self._transport = transport
        self._sock = sock
        self._engine = NativeEngine(sock, False) if family == socket.AF_INET else None
        self._task = asyncio.create_task(self._run(), name="bmsc-push")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        self._flush_acks(self.clock_unix())
        self._engine = None
        self._sock = None
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def poke(self) -> None:
        """Something new is due: wake the scheduler now."""
        self._wake.set()

    # --- receiving ---------------------------------------------------------------------------
    def on_datagram(self, data: bytes, addr: tuple[object, ...]) -> None:
        try:
            delivery, reason = self.km.check_ack(data)
        except Exception:  # a store failure must not kill the socket
            log.exception("MIKEY ACK handling failed")
            self.stats["ack_errors"] += 1
            return
        self.stats[f"ack_{reason.replace('-', '_')}"] += 1
        if reason == "ok" and delivery is not None:
            self._acked.append(delivery)
            self._wake.set()
        elif reason not in ("ok", "done"):
            log.info("MIKEY datagram from %s refused: %s", addr[0] if addr else "?", reason)

    def _take_acks(self) -> list[Delivery]:
        acked, self._acked = self._acked, []
        return acked

    def _flush_acks(self, now_unix: UnixS) -> None:
        acked = self._take_acks()
        if acked:
            self.km.store.mark_acked([d.id for d in acked], now_unix)
            self._acked_callbacks(acked)

    def _acked_callbacks(self, acked: Sequence[Delivery]) -> None:
        if self.on_acked is not None:
            for d in acked:
                self.on_acked(d)

    # --- sending -----------------------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            acked = self._take_acks()
            try:
                sent, failed = await asyncio.to_thread(self._pass, self.clock_unix(), acked)
            except Exception:
                log.exception("push scheduler pass failed")
                self.stats["scheduler_errors"] += 1
                sent, failed = 0, []
            else:
                self._acked_callbacks(acked)
                self._failed_callbacks(failed)
            if sent >= self.config.batch:
                await asyncio.sleep(0)  # more is due: let the loop breathe, then go on
                continue
            nxt = self.km.store.next_due_at()
            delay = TICK_MAX_S if nxt is None else nxt - self.clock_unix()
            delay = min(TICK_MAX_S, max(TICK_MIN_S, delay))
            self._wake.clear()
            # asyncio.timeout, not wait_for: a cancel that races with a wake-up is never lost.
            with suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()

    def run_once(self) -> int:
        """One pass: record ACKs, send what is due, record attempts; returns rows handled."""
        acked = self._take_acks()
        handled, failed = self._pass(self.clock_unix(), acked)
        self._acked_callbacks(acked)
        self._failed_callbacks(failed)
        return handled

    def _pass(self, now_unix: UnixS, acked: Sequence[Delivery]) -> tuple[int, list[Delivery]]:
        """Record ``acked``, send what is due, record the attempts (one transaction); returns
        (rows handled, deliveries given up). No callback runs here (it may be a thread)."""
        store = self.km.store
        if acked:
            store.mark_acked([d.id for d in acked], now_unix)
        due = store.due_for_send(now_unix, self.config.batch)
        if not due:
            return 0, []
        if self._sock is None:
            raise RuntimeError("push scheduler not started")
        max_attempts = self.config.max_attempts
        give_up = [d for d in due if d.ack_required and d.attempts >= max_attempts]
        to_send = [d for d in due if not (d.ack_required and d.attempts >= max_attempts)]
        attempted = self._send(to_send)
        sent: list[tuple[int, int, UnixS]] = []
        finished: list[tuple[int, DeliveryState]] = [(d.id, DeliveryState.FAILED) for d in give_up]
        stats = self.stats
        for d in to_send[:attempted]:
            kind = "pull" if d.kind == DeliveryKind.PULL else "msk"
            stats[f"{kind}_sent" if d.attempts == 0 else f"{kind}_resent"] += 1
            attempts = d.attempts + 1
            if d.ack_required:
                sent.append((d.id, attempts, UnixS(now_unix + self.config.wait_after(attempts))))
            else:
                sent.append((d.id, attempts, now_unix))
                finished.append((d.id, DeliveryState.SENT))
        failed = [store.delivery(g.id) for g in give_up]  # as they were before giving up
        store.record_attempts(sent, finished, now_unix)
        for f in failed:
            stats[f"{f.kind.value}_failed"] += 1
            log.warning(
                "gave up: %s delivery %d (Key Group %d, Key Number %d) to %s:%d after %d "
                "transmissions",
                f.kind.value,
                f.id,
                f.key_group,
                f.key_number,
                f.host,
                f.port,
                f.attempts,
            )
        return len(give_up) + attempted, failed

    def _failed_callbacks(self, failed: Sequence[Delivery]) -> None:
        if self.on_failed is not None:
            for d in failed:
                self.on_failed(d)

    def _send(self, due: Sequence[DueDelivery]) -> int:
        """Hand ``due`` to the socket in order; returns how many were attempted (the rest found
        the socket buffer full and wait for the next pass). Errors are counted, never raised."""
        if not due:
            return 0
        engine = self._engine
        if engine is not None:
            try:
                res = engine.send(
                    [d.message for d in due], [(d.host, d.port) for d in due], MSG_DONTWAIT
                )
            except (OSError, ValueError):
                pass  # a destination that is not an IPv4 address: one by one below
            else:
                if res.failed:
                    self.stats["send_errors"] += res.failed
                    log.info(
                        "%d pushes failed: %s",
                        res.failed,
                        errno.errorcode.get(res.last_errno, str(res.last_errno)),
                    )
                return int(res.stopped_at)
        sock = self._sock
        assert sock is not None
        for i, d in enumerate(due):
            try:
                sock.sendto(d.message, (d.host, d.port))
            except OSError as exc:
                if exc.errno in _AGAIN:
                    return i
                self.stats["send_errors"] += 1
                log.info("push to %s:%d failed: %s", d.host, d.port, exc.strerror)
        return len(due)
