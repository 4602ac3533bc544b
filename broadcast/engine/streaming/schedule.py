"""The MTK schedule of a streaming session, sans-IO (TS 33.246 6.3.3.2.2; profile.md "Transport").

The seed: MTK messages go to UDP 2269 at the RTP destination address; "reliability of MTK
delivery is reached by re-sending MTK messages periodically" and "MTK messages may be sent before
the RTP traffic changes over to a new MTK". This class decides *when*; it owns no socket, clock,
store or thread. The caller gives it ``now_mono`` (monotonic seconds,
:data:`~broadcast.time.MonotonicS`) and the number of packets protected, and carries out the
actions it returns, in order:

- :class:`RequestMtk` — make the next MTK (store allocation; see
  :class:`~broadcast.engine.keys.mtk.MtkIssuer`) and hand it back with
  :meth:`MtkSchedule.provide`, or report failure with :meth:`MtkSchedule.fail`;
- :class:`InstallKey` — add the MTK (master key + salt under its MKI) to the SRTP sender's key
  ring (it holds previous, current and next, so the switch is one assignment);
- :class:`SendMikey` — send these bytes to ``<destination>:2269`` now. Re-sends of one MTK are
  the same bytes (same TS counter, same RAND);
- :class:`Switch` — from the next RTP/RTCP packet on, protect with this MTK's MKI.

Timeline of MTK k+1 (``lead``, ``interval`` and ``period`` from :class:`MtkTiming`):

- *time mode* (``period_packets == 0``): MTK k became current at S_k; the next one is requested at
  S_k + period - lead; its message is sent as soon as it is provided (time A); the switch happens
  at max(S_k + period, A + lead). So the switch never comes less than ``lead`` after the first
  copy of its message, even when the store was slow.
- *packet mode* (``period_packets > 0``): the next MTK is requested once the current one has
  protected ``period_packets`` packets; the switch happens ``lead`` seconds after its first copy
  was sent (packets keep flowing under the current MTK meanwhile).
- While an MTK is current its message is re-sent every ``interval``; during the lead window the
  upcoming MTK's message is re-sent every ``interval`` as well.
- The very first MTK is current at once: its message is sent before any packet (there is no
  earlier key to protect packets with while waiting).
- A failed request (:meth:`MtkSchedule.fail`) keeps the current MTK, sets :attr:`error` and
  retries after ``retry`` seconds; the next successful MTK clears the error.

:meth:`MtkSchedule.next_deadline` tells when :meth:`MtkSchedule.poll` has something to do by time
(in packet mode the caller also polls after protecting packets).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from broadcast import profile
from broadcast.engine.keys.mtk import IssuedMtk
from broadcast.time import MonotonicS

#: After a failed MTK creation (no MSK, MTK IDs exhausted, store error), retry this often —
#: implementation tuning of the service, not a protocol decision (``[mtk] retry``).
MTK_RETRY_S: Final = 1.0


class ScheduleError(Exception):
    """The schedule was driven against its contract (e.g. an MTK that is not newer)."""


@dataclass(frozen=True, slots=True)
class MtkTiming:
    """When MTKs change and how their messages are repeated (seconds; see the module doc)."""

    period: float = profile.STREAM_MTK_PERIOD_S
    period_packets: int = 0
    lead: float = profile.STREAM_MTK_LEAD_S
    interval: float = profile.STREAM_MTK_RESEND_INTERVAL_S
    retry: float = MTK_RETRY_S

    def __post_init__(self) -> None:
        for name in ("period", "lead", "interval", "retry"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ValueError(f"MTK {name} must be a number of seconds, got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"MTK {name} must be finite")
        if self.period <= 0:
            raise ValueError("MTK period must be > 0 s")
        if self.lead < 0:
            raise ValueError("MTK lead must be >= 0 s")
        if self.interval <= 0:
            raise ValueError("MTK re-send interval must be > 0 s")
        if self.retry <= 0:
            raise ValueError("MTK retry must be > 0 s")
        if isinstance(self.period_packets, bool) or not isinstance(self.period_packets, int):
            raise ValueError("MTK period_packets must be an integer")
        if self.period_packets < 0:
            raise ValueError("MTK period_packets must be >= 0 (0 = time-based period)")

    @property
    def packet_mode(self) -> bool:
        return self.period_packets > 0


@dataclass(frozen=True, slots=True)
class RequestMtk:
    """Make the next MTK and give it to :meth:`MtkSchedule.provide` (or call ``fail``)."""


@dataclass(frozen=True, slots=True)
class InstallKey:
    """Add this MTK to the SRTP sender's key ring (before its message leaves)."""

    mtk: IssuedMtk


@dataclass(frozen=True, slots=True)
class SendMikey:
    """Send ``mtk.message`` to the MIKEY port now. ``copy`` 0 is the first send."""

    mtk: IssuedMtk
    copy: int

    @property
    def message(self) -> bytes:
        return self.mtk.message


@dataclass(frozen=True, slots=True)
class Switch:
    """Protect every packet from now on with ``mtk.mki``."""

    mtk: IssuedMtk


Action = RequestMtk | InstallKey | SendMikey | Switch


class _Announced:
    """An MTK whose message is on the air: when it was first sent, when to send it next."""

    __slots__ = ("copies", "first_sent", "mtk", "next_send")

    def __init__(self, mtk: IssuedMtk, now_mono: MonotonicS, interval: float) -> None:
        self.mtk = mtk
        self.first_sent = now_mono
        self.next_send = now_mono + interval
        self.copies = 1


class MtkSchedule:
    """Previous/current/upcoming MTK bookkeeping and the send/switch decisions (module doc)."""

    def __init__(self, timing: MtkTiming | None = None) -> None:
        self.timing = timing or MtkTiming()
        self._current: _Announced | None = None
        self._upcoming: _Announced | None = None
        self._pending = False
        self._started = False
        self._retry_at = -math.inf
        #: When the current MTK's period ends (time mode).
        self._planned_switch = math.inf
        self._packets = 0
        #: Why the last request failed (cleared by the next MTK); None when all is well.
        self.error: str | None = None
        self.switches = 0

    # -- inputs ------------------------------------------------------------------------------
    def start(self, now_mono: MonotonicS) -> list[Action]:
        """Begin: ask for the first MTK."""
        if self._started:
            raise ScheduleError("the schedule was already started")
        self._started = True
        self._pending = True
        self._retry_at = now_mono
        return [RequestMtk()]

    def provide(self, mtk: IssuedMtk, now_mono: MonotonicS) -> list[Action]:
        """The MTK asked for by :class:`RequestMtk`: install it and send its first copy (and,
        for the first MTK, switch to it at once)."""
        if not self._pending:
            raise ScheduleError("no MTK was requested")
        newest = self._upcoming or self._current
        if newest is not None:
            old = newest.mtk
            if mtk.msk_id == old.msk_id and mtk.mtk_id <= old.mtk_id:
                raise ScheduleError(f"MTK {mtk.name} is not newer than {old.name}")
            if mtk.mki == old.mki:
                raise ScheduleError(f"MTK {mtk.name} was already provided")
        self._pending = False
        self.error = None
        slot = _Announced(mtk, now_mono, self.timing.interval)
        actions: list[Action] = [InstallKey(mtk), SendMikey(mtk, 0)]
        if self._current is None:
            self._switch_to(slot, now_mono)
            actions.append(Switch(mtk))
        else:
            self._upcoming = slot
        return actions

    def fail(self, reason: str, now_mono: MonotonicS) -> None:
        """The requested MTK could not be made: keep the current one, retry later."""
        if not self._pending:
            raise ScheduleError("no MTK was requested")
        self._pending = False
        self.error = reason
        self._retry_at = now_mono + self.timing.retry

    def count_packets(self, n: int) -> None:
        """``n`` more packets were protected with the current MTK."""
        self._packets += n

    def poll(self, now_mono: MonotonicS) -> list[Action]:
        """Everything due at ``now_mono``: a switch, re-sends, a request for the next MTK."""
        actions: list[Action] = []
        up = self._upcoming
        if up is not None and self._switch_due(up, now_mono):
            self._upcoming = None
            self._switch_to(up, now_mono)
            actions.append(Switch(up.mtk))
        interval = self.timing.interval
        for slot in (self._current, self._upcoming):
            if slot is not None and now_mono >= slot.next_send:
                actions.append(SendMikey(slot.mtk, slot.copies))
                slot.copies += 1
                slot.next_send += interval
                if slot.next_send <= now_mono:  # fell behind (a stall): no burst of copies
                    slot.next_send = now_mono + interval
        if self._request_due(now_mono):
            self._pending = True
            actions.append(RequestMtk())
        return actions

    # -- queries -----------------------------------------------------------------------------
    def next_deadline(self) -> MonotonicS | None:
        """The earliest ``now_mono`` at which :meth:`poll` has something to do by time alone."""
        times: list[float] = []
        for slot in (self._current, self._upcoming):
            if slot is not None:
                times.append(slot.next_send)
        up = self._upcoming
        if up is not None:
            at = self._switch_time(up)
            if at is not None:
                times.append(at)
        elif self._current is not None and not self._pending:
            if self.timing.packet_mode:
                if self._packets >= self.timing.period_packets:
                    times.append(self._retry_at)
            else:
                times.append(max(self._planned_switch - self.timing.lead, self._retry_at))
        elif self._current is None and self._started and not self._pending:
            times.append(self._retry_at)
        return MonotonicS(min(times)) if times else None

    @property
    def current(self) -> IssuedMtk | None:
        return None if self._current is None else self._current.mtk

    @property
    def upcoming(self) -> IssuedMtk | None:
        return None if self._upcoming is None else self._upcoming.mtk

    @property
    def pending(self) -> bool:
        """An MTK was requested and neither provided nor failed yet."""
        return self._pending

    @property
    def packets_under_current(self) -> int:
        return self._packets

    def seconds_to_switch(self, now_mono: MonotonicS) -> float | None:
        """Time until the next switch when known from the clock alone (else None)."""
        up = self._upcoming
        if up is not None:
            at = self._switch_time(up)
            return None if at is None else max(0.0, at - now_mono)
        if self._current is None or self.timing.packet_mode:
            return None
        at = max(self._planned_switch, now_mono + self.timing.lead if self._pending else now_mono)
        return max(0.0, at - now_mono)

    def packets_to_switch(self) -> int | None:
        """Packets still to protect before the next MTK is requested (packet mode only)."""
        if not self.timing.packet_mode or self._current is None:
            return None
        return max(0, self.timing.period_packets - self._packets)

    # -- internals ---------------------------------------------------------------------------
    def _switch_to(self, slot: _Announced, now_mono: MonotonicS) -> None:
        self._current = slot
        self._packets = 0
        self._planned_switch = now_mono + self.timing.period
        self.switches += 1

    def _switch_time(self, up: _Announced) -> float | None:
        earliest = up.first_sent + self.timing.lead
        if self.timing.packet_mode:
            return earliest if self._packets >= self.timing.period_packets else None
        return max(self._planned_switch, earliest)

    def _switch_due(self, up: _Announced, now_mono: MonotonicS) -> bool:
        at = self._switch_time(up)
        return at is not None and now_mono >= at

    def _request_due(self, now_mono: MonotonicS) -> bool:
        if self._pending or self._upcoming is not None or now_mono < self._retry_at:
            return False
        if self._current is None:
            return self._started  # the first MTK failed: retry
        if self.timing.packet_mode:
            return self._packets >= self.timing.period_packets
        return now_mono >= self._planned_switch - self.timing.lead


__all__ = [
    "Action",
    "InstallKey",
    "MtkSchedule",
    "MtkTiming",
    "RequestMtk",
    "ScheduleError",
    "SendMikey",
    "Switch",
]
