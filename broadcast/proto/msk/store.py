"""The records of the BM-SC tables and the store protocol the MSK procedures use them through
(TS 33.246 6.3.2.2-6.3.2.3).

:class:`BmscStore` is what the sans-IO key management (:mod:`broadcast.engine.bmsc.keymgmt`)
needs of the BM-SC's durable tables — subscriptions, registrations, deliveries, the rotation
schedule — as :class:`~broadcast.proto.keys.store.KeyStore` is what it needs of the key store;
:class:`broadcast.store.bmsc.SQLiteBmscStore` implements both halves' tables in SQLite.
Every write commits before it returns. Every time here is Unix seconds
(:data:`~broadcast.time.UnixS`): the rows outlive the process.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from broadcast.proto.keys.ids import KeyDomainId, MukId
from broadcast.time import UnixS


def muk_tag(idr: bytes) -> int:
    """The 64-bit (signed) key of per-MUK lookups: BLAKE2b-64 of the IDr (B-TID). Queries
    compare the IDi and IDr themselves too, so a collision only costs a look at another row."""
    return int.from_bytes(hashlib.blake2b(idr, digest_size=8).digest(), "big", signed=True)


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    ACKED = "acked"
    SENT = "sent"
    ANSWERED = "answered"
    FAILED = "failed"
    SUPERSEDED = "superseded"


class DeliveryKind(enum.StrEnum):
    MSK = "msk"
    PULL = "pull"


@dataclass(frozen=True, slots=True)
class Subscription:
    impi: str
    key_domain: KeyDomainId
    key_group: int
    delivery_host: str | None = None
    delivery_port: int | None = None


@dataclass(frozen=True, slots=True)
class Registration:
    """A UE registered for a Key Group: its latest MUK ID and where MSK pushes go."""

    key_domain: KeyDomainId
    key_group: int
    impi: str
    muk_id: MukId
    host: str
    port: int
    registered_at: UnixS
    updated_at: UnixS
    id: int = 0  # the row id (0: not known)


class RegistrationRow(NamedTuple):
    """A registration as a rotation push reads it (a light row): row id, IMPI, MUK ID, address."""

    id: int
    impi: str
    idi: bytes
    idr: bytes
    host: str
    port: int


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """A MIKEY message to record before it is sent (its counter is already durable)."""

    kind: DeliveryKind
    key_domain: KeyDomainId
    key_group: int
    key_number: int
    impi: str
    muk_id: MukId
    host: str
    port: int
    csb_id: int
    counter: int
    ack_required: bool
    message: bytes
    next_at: UnixS
    reg_id: int = 0  # the registration's row id (0: looked up by Key Group and IMPI)


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    kind: DeliveryKind
    key_domain: KeyDomainId
    key_group: int
    key_number: int
    impi: str
    muk_id: MukId
    host: str
    port: int
    csb_id: int
    counter: int
    ack_required: bool
    message: bytes
    state: DeliveryState
    attempts: int
    next_at: UnixS
    created_at: UnixS
    done_at: UnixS | None


@dataclass(frozen=True, slots=True)
class UeGroupState:
    """What an MSK request needs to know about one UE (IMPI) and one Key Group, read at once:
    its subscription (None: not subscribed), its registration (None: key management not yet
    initiated) and whether a solicited pull to it may be pending."""

    subscription: Subscription | None
    registration: Registration | None
    pull_pending: bool


class DueDelivery(NamedTuple):
    """The columns the push scheduler needs to send a due delivery (a light row)."""

    id: int
    kind: str
    host: str
    port: int
    ack_required: int
    attempts: int
    message: bytes


class BmscStore(Protocol):
    """The BM-SC tables as the MSK procedures use them (see
    :class:`broadcast.store.bmsc.SQLiteBmscStore` for the semantics of each call)."""

    def ue_group_state(self, impi: str, key_domain: KeyDomainId, key_group: int) -> UeGroupState:
        """Subscription, registration and pending-pull flag of a UE for a group, read at once."""
        ...

    def register(
        self,
        key_domain: KeyDomainId,
        key_group: int,
        impi: str,
        *,
        muk_id: MukId,
        host: str,
        port: int,
        now_unix: UnixS,
    ) -> tuple[Registration, bool]:
        """Register (or update) a UE for a Key Group; returns (registration, newly initiated)."""
        ...

    def registration(
        self, key_domain: KeyDomainId, key_group: int, impi: str
    ) -> Registration | None: ...

    def iter_registration_rows(
        self, key_domain: KeyDomainId, key_group: int, *, chunk: int = 10_000
    ) -> Iterator[list[RegistrationRow]]:
        """The group's registrations as light rows in id order, ``chunk`` at a time."""
        ...

    def add_deliveries(self, items: Sequence[NewDelivery], now_unix: UnixS) -> list[int]:
        """Record messages (one transaction), superseding older pending ones; their row ids."""
        ...

    def add_deliveries_bulk(
        self, items: Sequence[NewDelivery], now_unix: UnixS, *, supersede: bool = True
    ) -> None:
        """Record many messages in one transaction."""
        ...

    def add_push_round(
        self,
        *,
        kind: DeliveryKind,
        key_domain: KeyDomainId,
        key_group: int,
        key_number: int,
        ack_required: bool,
        next_at_unix: UnixS,
        now_unix: UnixS,
        rows: Sequence[tuple[RegistrationRow, int, int, bytes]],
        supersede: bool,
    ) -> None:
        """Record one message per UE of a push round in one transaction."""
        ...

    def pending_for_ack(
        self, idr: bytes, counter: int, csb_id: int, *, idi: bytes | None = None
    ) -> Delivery | None:
        """The MSK delivery a MIKEY ACK (IDr, COUNTER, CSB ID) may answer."""
        ...

    def mark_pulls_answered(
        self, key_domain: KeyDomainId, key_group: int, impi: str, now_unix: UnixS
    ) -> int: ...

    def schedule(
        self, key_domain: KeyDomainId, key_group: int
    ) -> tuple[UnixS | None, UnixS | None]:
        """(current_since, promote_at) of a group; (None, None) if never recorded."""
        ...

    def set_schedule(
        self,
        key_domain: KeyDomainId,
        key_group: int,
        *,
        current_since_unix: UnixS | None,
        promote_at_unix: UnixS | None,
    ) -> None: ...

    # --- the push scheduler's side (sending, ACKs, retransmission) ---------------------------
    def due_for_send(self, now_unix: UnixS, limit: int) -> list[DueDelivery]:
        """Pending deliveries due by ``now_unix`` (at most ``limit``), as light rows."""
        ...

    def next_due_at(self) -> UnixS | None:
        """When the next pending delivery that is not waiting behind another one is due."""
        ...

    def record_attempts(
        self,
        sent: Sequence[tuple[int, int, UnixS]],
        finished: Sequence[tuple[int, DeliveryState]],
        now_unix: UnixS,
    ) -> None:
        """One transaction: ``sent`` = (id, attempts, next_at); ``finished`` = (id, state)."""
        ...

    def mark_acked(self, ids: Sequence[int], now_unix: UnixS) -> int:
        """Pending deliveries ``ids`` -> acked; how many changed."""
        ...

    def delivery(self, delivery_id: int) -> Delivery: ...

    def delivery_counts(self) -> dict[str, int]:
        """Deliveries per state."""
        ...
