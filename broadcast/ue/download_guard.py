"""UE-side checks on the MIKEY MTK objects of a download session, before the download receiver
opens them (TS 33.246 6.3.2.2.3, 6.3.3.2.1; RFC 3830 §5.4 replay).

:class:`~broadcast.download.receiver.DownloadReceiver` verifies each MIKEY object's MAC with the
MSK it names; two things a UE also needs are added here, on objects the FLUTE layer completed:

- COUNTER replay protection per MSK: an MTK message whose COUNTER is not above the highest one
  accepted under its MSK is refused (``replay``) unless it is byte for byte a message accepted
  before (a carousel re-send). The carousel publishes each MTK generation in order, so a UE only
  ever sees an older generation's object first when it joins during a grace period — its files
  then come from the newer generation. (A DCF names its MTK, so an old MTK could never open new
  content; the check keeps the UE's MTK history monotonic like the streaming path's.)
- the missed-MSK-update signal: an MTK object naming an MSK the UE does not hold means an MSK
  update was missed; ``on_missed_msk(key_domain_id, msk_id)`` is called — at most once per Key
  Group per ``signal_interval`` seconds, and only for the Key Groups announced for the session
  (unauthenticated traffic triggers it). The object itself goes on to the receiver, which keeps
  it until the MSK arrives.

Sans-IO: ``now`` is passed in. :class:`GuardedSessionReceiver` is the FLUTE session receiver
with the guard applied to every completed object.
"""

from __future__ import annotations

import hashlib
from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import Final

from broadcast import profile
from broadcast.dcf import MbmsKeyId
from broadcast.flute import ReceivedObject, ReceiverConfig, SessionReceiver
from broadcast.flute.receiver import Event
from broadcast.keys.ids import KeyDomainId, MskId
from broadcast.mikey import Kind, MikeyError, envelope
from broadcast.ue.service_keys import MskStore

#: Digests of accepted MTK messages remembered (re-sends pass), and of messages in flight.
MAX_REMEMBERED: Final = 64
#: Default minimum time between two missed-update signals for one Key Group [P].
MISSED_SIGNAL_INTERVAL_S: Final = 5.0

MissedMskHook = Callable[[KeyDomainId, MskId], None]
_MskKey = tuple[KeyDomainId, MskId]


class DownloadMtkGuard:
    """Replay check and missed-MSK signal for one download session (see the module doc)."""

    def __init__(
        self,
        keys: MskStore,
        *,
        key_domain_id: KeyDomainId | None = None,
        key_groups: frozenset[int] | None = None,
        on_missed_msk: MissedMskHook | None = None,
        signal_interval: float = MISSED_SIGNAL_INTERVAL_S,
    ) -> None:
        self.keys = keys
        self.key_domain_id = key_domain_id
        self.key_groups = key_groups
        self.on_missed_msk = on_missed_msk
        self.signal_interval = signal_interval
        #: ``replay`` (refused here), ``missed_msk_signals``.
        self.stats: Counter[str] = Counter()
        self._highest: dict[_MskKey, int] = {}
        self._accepted: OrderedDict[bytes, None] = OrderedDict()
        self._in_flight: OrderedDict[tuple[_MskKey, int], bytes] = OrderedDict()
        self._last_signal: dict[int, float] = {}

    def _ours(self, key_domain_id: KeyDomainId, msk_id: MskId) -> bool:
        if self.key_domain_id is not None and key_domain_id != self.key_domain_id:
            return False
        return self.key_groups is None or msk_id.key_group in self.key_groups

    def check(self, obj: ReceivedObject, now: float) -> bool:
        """True: hand ``obj`` to the download receiver; False: refused here (a replay)."""
        if obj.file.content_type != profile.MIKEY_CONTENT_TYPE:
            return True
        try:
            env = envelope(obj.data)
        except MikeyError:
            return True  # the receiver rejects it with the precise reason
        if env.kind is not Kind.MTK:
            return True
        key = (env.key_domain_id, env.msk_id)
        if self.keys.get(*key) is None:
            self._missed(env.key_domain_id, env.msk_id, now)
            return True
        digest = hashlib.sha256(obj.data).digest()
        highest = self._highest.get(key)
        if highest is not None and env.counter <= highest and digest not in self._accepted:
            self.stats["replay"] += 1
            return False
        self._in_flight[(key, env.counter)] = digest
        while len(self._in_flight) > MAX_REMEMBERED:
            self._in_flight.popitem(last=False)
        return True

    def accepted(self, key_id: MbmsKeyId, counter: int) -> None:
        """The receiver verified and kept the MTK ``key_id`` carried with ``counter``."""
        key = (key_id.key_domain_id, key_id.msk_id)
        self._highest[key] = max(counter, self._highest.get(key, counter))
        digest = self._in_flight.pop((key, counter), None)
        if digest is not None:
            self._accepted[digest] = None
            while len(self._accepted) > MAX_REMEMBERED:
                self._accepted.popitem(last=False)

    def _missed(self, key_domain_id: KeyDomainId, msk_id: MskId, now: float) -> None:
        if not self._ours(key_domain_id, msk_id):
            return
        last = self._last_signal.get(msk_id.key_group)
        if last is not None and now - last < self.signal_interval:
            return
        self._last_signal[msk_id.key_group] = now
        self.stats["missed_msk_signals"] += 1
        if self.on_missed_msk is not None:
            self.on_missed_msk(key_domain_id, msk_id)


class GuardedSessionReceiver(SessionReceiver):
    """A FLUTE :class:`SessionReceiver` whose completed objects pass ``guard`` first."""

    def __init__(
        self,
        tsi: int,
        guard: DownloadMtkGuard,
        clock: Callable[[], float],
        config: ReceiverConfig | None = None,
    ) -> None:
        super().__init__(tsi, config)
        self.guard = guard
        self.clock = clock

    def feed(self, packet: bytes, now: int) -> list[Event]:
        events = super().feed(packet, now)
        if not events:
            return events
        t = self.clock()
        return [e for e in events if not isinstance(e, ReceivedObject) or self.guard.check(e, t)]


__all__ = ["MISSED_SIGNAL_INTERVAL_S", "DownloadMtkGuard", "GuardedSessionReceiver"]
