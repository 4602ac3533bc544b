"""The UE's MSK store: (Key Domain ID, MSK ID) -> MSK, and an event when one arrives.

This is where the rest of the UE reads MSKs: the streaming receiver installs every MSK
it hears of, the key log writes it, the download receiver will look MSKs up by ID. Whoever
learns an MSK feeds it here:

- the configuration (MSKs given directly, for tests and integrators without a BM-SC);
- the MSK client (HTTP MSK request + MIKEY MSK push, TS 33.246 6.3.2.2-6.3.2.3): for a
  verified :class:`~broadcast.proto.mikey.mbms.MskDelivery` it calls :meth:`MskStore.add_delivery`
  (or, as its ``on_msk`` callback, :meth:`MskStore.on_delivery`).

Listeners run synchronously inside :meth:`MskStore.add`, in the caller's thread (the UE is one
asyncio loop); a failing listener is logged and does not stop the others. The store is bounded
(oldest entries go first). Nothing here ever prints a key: entries show IDs only.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from broadcast import profile
from broadcast.proto.keys.ids import KeyDomainId, MskId, MtkId
from broadcast.proto.keys.material import Msk
from broadcast.proto.mikey.mbms import MskDelivery
from broadcast.proto.mikey.srtp_policy import SrtpPolicy

log = logging.getLogger("broadcast.ue")

#: Where an MSK came from (reported, never used for decisions).
SOURCE_CONFIG: Final = "config"
SOURCE_PUSH: Final = "push"
#: Most MSKs one UE keeps [P].
MAX_MSKS: Final = 256
#: The whole MTK ID range: the validity of an MSK given without one.
FIRST_MTK_ID: Final = MtkId(profile.MTK_ID_MIN)
LAST_MTK_ID: Final = MtkId(profile.MTK_ID_MAX)


@dataclass(frozen=True, slots=True)
class MskEntry:
    """One MSK the UE holds, with the MTK IDs it may be used for (the KV interval of its MSK
    message) and, for a streaming Key Group, the SRTP policy that travelled with it."""

    key_domain_id: KeyDomainId
    msk_id: MskId
    msk: Msk
    valid_from: MtkId = FIRST_MTK_ID
    valid_to: MtkId = LAST_MTK_ID
    srtp_policy: SrtpPolicy | None = None
    source: str = SOURCE_CONFIG

    def __post_init__(self) -> None:
        if not isinstance(self.msk, Msk):
            raise TypeError("MskEntry.msk must be an Msk")
        if self.msk_id.is_current_alias:
            raise ValueError(f"MSK ID {self.msk_id}: Key Number 0 names no MSK (it means current)")
        if self.valid_to < self.valid_from:
            raise ValueError(f"MSK {self.msk_id}: MTK ID validity ends before it starts")

    @property
    def key(self) -> tuple[KeyDomainId, MskId]:
        return (self.key_domain_id, self.msk_id)

    @classmethod
    def from_delivery(cls, delivery: MskDelivery, source: str = SOURCE_PUSH) -> MskEntry:
        env = delivery.envelope
        return cls(
            env.key_domain_id,
            env.msk_id,
            delivery.msk,
            delivery.valid_from,
            delivery.valid_to,
            delivery.srtp_policy,
            source,
        )

    def __repr__(self) -> str:
        return (
            f"<MskEntry {self.key_domain_id}/{self.msk_id} MTK IDs {self.valid_from}.."
            f"{self.valid_to} from {self.source}, key redacted>"
        )

    __str__ = __repr__


MskListener = Callable[[MskEntry], None]


class MskStore:
    """The UE's MSKs by (Key Domain ID, MSK ID), with listeners for new ones."""

    def __init__(self, max_entries: int = MAX_MSKS) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._entries: OrderedDict[tuple[KeyDomainId, MskId], MskEntry] = OrderedDict()
        self._listeners: list[MskListener] = []
        self._max = max_entries
        #: MSKs added (new or with a new key), by source.
        self.added: dict[str, int] = {}

    def add(self, entry: MskEntry) -> bool:
        """Hold ``entry``; True (and listeners told) when it is new or its key changed."""
        old = self._entries.get(entry.key)
        if old is not None and (old.msk, old.srtp_policy, old.valid_from, old.valid_to) == (
            entry.msk,
            entry.srtp_policy,
            entry.valid_from,
            entry.valid_to,
        ):
            return False
        self._entries[entry.key] = entry
        self._entries.move_to_end(entry.key)
        while len(self._entries) > self._max:
            evicted, _ = self._entries.popitem(last=False)
            log.info("MSK store full: dropped MSK %s/%s", evicted[0], evicted[1])
        self.added[entry.source] = self.added.get(entry.source, 0) + 1
        log.info(
            "MSK %s/%s learnt from %s (MTK IDs %s..%s)",
            entry.key_domain_id,
            entry.msk_id,
            entry.source,
            entry.valid_from,
            entry.valid_to,
        )
        for listener in tuple(self._listeners):
            try:
                listener(entry)
            except Exception:  # a listener's bug must not stop the others
                log.exception("MSK listener failed for MSK %s/%s", *entry.key)
        return True

    def add_delivery(self, delivery: MskDelivery, source: str = SOURCE_PUSH) -> bool:
        """Hold the MSK of a verified MSK message (the MSK client's entry point)."""
        return self.add(MskEntry.from_delivery(delivery, source))

    def on_delivery(self, delivery: MskDelivery) -> None:
        """Callback form of :meth:`add_delivery` (``MskClient(..., on_msk=store.on_delivery)``)."""
        self.add_delivery(delivery, SOURCE_PUSH)

    def get(self, key_domain_id: KeyDomainId, msk_id: MskId) -> MskEntry | None:
        return self._entries.get((key_domain_id, msk_id))

    def find(self, msk_id: MskId, key_domain_id: KeyDomainId | None = None) -> MskEntry | None:
        """The MSK with this ID (an SRTP MKI names no Key Domain: any domain when None)."""
        if key_domain_id is not None:
            return self.get(key_domain_id, msk_id)
        for (_, mid), entry in reversed(self._entries.items()):
            if mid == msk_id:
                return entry
        return None

    def entries(self) -> tuple[MskEntry, ...]:
        return tuple(self._entries.values())

    def subscribe(self, listener: MskListener) -> Callable[[], None]:
        """Call ``listener`` for every MSK added from now on; returns the unsubscribe function."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"<MskStore {len(self._entries)} MSKs, keys redacted>"
