"""The missed-MSK-update signal of a download session (TS 33.246 6.3.2.2.3), sans-IO.

The download receiver (:class:`~broadcast.engine.ue.download_receiver.DownloadReceiver`) does every
check on the MIKEY MTK objects itself — through the MIKEY ``Verifier``: COUNTER replay per MSK (an
exact re-send of an accepted object is "already have it", not an error), the MAC, the MTK ID
rules — and refuses an MTK object naming an MSK the UE does not hold with a ``FileRejected``
whose ``key_id`` carries that Key Domain ID and MSK ID. Such an object means the UE missed an
MSK update; :class:`MissedMskSignal` turns it into ``on_missed_msk(key_domain_id, msk_id)`` (the
MSK client then re-requests the current MSK).

Because unauthenticated traffic triggers it, the signal is raised only for the Key Domain and
the Key Groups announced for the session, and at most once per Key Group per ``interval``
seconds. ``now_mono`` is passed in (monotonic seconds, :data:`~broadcast.time.MonotonicS`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from broadcast.proto.keys.ids import KeyDomainId, MskId
from broadcast.time import MonotonicS

#: Default minimum time between two missed-update signals for one Key Group [P].
MISSED_SIGNAL_INTERVAL_S: Final = 5.0

MissedMskHook = Callable[[KeyDomainId, MskId], None]


class MissedMskSignal:
    """Rate-limited, filtered missed-MSK signal for one download session (module doc)."""

    def __init__(
        self,
        *,
        key_domain_id: KeyDomainId | None = None,
        key_groups: frozenset[int] | None = None,
        on_missed_msk: MissedMskHook | None = None,
        interval: float = MISSED_SIGNAL_INTERVAL_S,
    ) -> None:
        self.key_domain_id = key_domain_id
        self.key_groups = key_groups
        self.on_missed_msk = on_missed_msk
        self.interval = interval
        #: Signals raised (after filtering and rate limiting).
        self.signals = 0
        self._last: dict[int, MonotonicS] = {}

    def ours(self, key_domain_id: KeyDomainId, msk_id: MskId) -> bool:
        """Whether the MSK belongs to the session's Key Domain and announced Key Groups."""
        if self.key_domain_id is not None and key_domain_id != self.key_domain_id:
            return False
        return self.key_groups is None or msk_id.key_group in self.key_groups

    def missed(self, key_domain_id: KeyDomainId, msk_id: MskId, now_mono: MonotonicS) -> bool:
        """Traffic named an MSK the UE lacks; True when the signal was raised."""
        if not self.ours(key_domain_id, msk_id):
            return False
        last = self._last.get(msk_id.key_group)
        if last is not None and now_mono - last < self.interval:
            return False
        self._last[msk_id.key_group] = now_mono
        self.signals += 1
        if self.on_missed_msk is not None:
            self.on_missed_msk(key_domain_id, msk_id)
        return True


__all__ = ["MISSED_SIGNAL_INTERVAL_S", "MissedMskHook", "MissedMskSignal"]
