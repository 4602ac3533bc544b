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
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from typing import Final

from broadcast.bmsc.config import PushConfig
from broadcast.bmsc.keymgmt import KeyManagement
from broadcast.bmsc.store import Delivery, DeliveryKind, DeliveryState

log = logging.getLogger("broadcast.bmsc.push")

#: Longest sleep of the scheduler without a wake-up (bounds the reaction to external writers).
TICK_MAX_S: Final = 0.5
#: Shortest sleep when something is due but nothing could be sent.
TICK_MIN_S: Final = 0.002


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
        clock: Callable[[], float] = time.time,
        on_failed: Callable[[Delivery], None] | None = None,
        on_acked: Callable[[Delivery], None] | None = None,
    ) -> None:
        self.km = km
        self.config = config
        self.clock = clock
        self.on_failed = on_failed
        self.on_acked = on_acked
        self.stats: Counter[str] = Counter()
        self._transport: asyncio.DatagramTransport | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._acked: list[Delivery] = []

    @property
    def local_address(self) -> tuple[str, int]:
        if self._transport is None:
            raise RuntimeError("push scheduler not started")
        host, port = self._transport.get_extra_info("sockname")[:2]
        return str(host), int(port)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(self),
            local_addr=(self.config.source, self.config.source_port),
        )
        self._transport = transport
        self._task = asyncio.create_task(self._run(), name="bmsc-push")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        self._flush_acks(self.clock())
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

    def _flush_acks(self, now: float) -> None:
        if not self._acked:
            return
        acked, self._acked = self._acked, []
        self.km.store.mark_acked([d.id for d in acked], now)
        if self.on_acked is not None:
            for d in acked:
                self.on_acked(d)

    # --- sending -----------------------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            try:
                sent = self.run_once()
            except Exception:
                log.exception("push scheduler pass failed")
                self.stats["scheduler_errors"] += 1
                sent = 0
            if sent >= self.config.batch:
                await asyncio.sleep(0)  # more is due: let the loop breathe, then go on
                continue
            nxt = self.km.store.next_due_at()
            delay = TICK_MAX_S if nxt is None else nxt - self.clock()
            delay = min(TICK_MAX_S, max(TICK_MIN_S, delay))
            self._wake.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    def run_once(self) -> int:
        """One pass: record ACKs, send what is due, record attempts; returns rows handled."""
        now = self.clock()
        self._flush_acks(now)
        due = self.km.store.due_deliveries(now, self.config.batch)
        if not due:
            return 0
        transport = self._transport
        if transport is None:
            raise RuntimeError("push scheduler not started")
        sent: list[tuple[int, int, float]] = []
        finished: list[tuple[int, DeliveryState]] = []
        failed: list[Delivery] = []
        for d in due:
            retransmitting = d.ack_required
            if retransmitting and d.attempts >= self.config.max_attempts:
                finished.append((d.id, DeliveryState.FAILED))
                failed.append(d)
                continue
            try:
                transport.sendto(d.message, (d.host, d.port))
            except OSError as exc:
                self.stats["send_errors"] += 1
                log.info("push to %s:%d failed: %s", d.host, d.port, exc.strerror)
            kind = "pull" if d.kind is DeliveryKind.PULL else "msk"
            self.stats[f"{kind}_sent" if d.attempts == 0 else f"{kind}_resent"] += 1
            attempts = d.attempts + 1
            if retransmitting:
                sent.append((d.id, attempts, now + self.config.wait_after(attempts)))
            else:
                sent.append((d.id, attempts, now))
                finished.append((d.id, DeliveryState.SENT))
        self.km.store.record_attempts(sent, finished, now)
        for d in failed:
            self.stats[f"{d.kind.value}_failed"] += 1
            log.warning(
                "gave up: %s delivery %d (Key Group %d, Key Number %d) to %s:%d after %d "
                "transmissions",
                d.kind.value,
                d.id,
                d.key_group,
                d.key_number,
                d.host,
                d.port,
                d.attempts,
            )
            if self.on_failed is not None:
                self.on_failed(d)
        return len(due)
