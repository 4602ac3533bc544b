"""The key store interface of the BM-SC (TS 33.246 clauses 6.3.2, 6.3.3; profile.md "Identifiers",
"MIKEY" T payload).

Callers depend on :class:`KeyStore` only, so that another backend (PostgreSQL) can be added without
touching them; :mod:`broadcast.store.keys` is the first implementation.

What the store keeps:

* Key Domains and their Key Groups; a Key Group says whether it protects a streaming session
  (profile.md "CS ID map": the MSK message of a streaming group carries the SRTP policy), and a
  streaming group keeps its SRTP policy (:class:`~broadcast.proto.srtp.settings.SrtpConfig`):
  the one source of that policy — the BM-SC sets it from its configuration and puts it into the
  group's MSK messages, the stream protecting the group's session reads it.
* MSKs per Key Group with a state (:class:`MskState`). At most one CURRENT and at most one NEXT MSK
  per group. Key Number 0 is not a real Key Number: it names the CURRENT MSK of the group in
  requests, solicited pulls and announcements [3GPP], so an MSK is never stored under it.
* Per MSK, the MTK IDs handed out: strictly increasing from the MSK's lowest valid MTK ID to its
  highest (the KV interval of the MSK key data, profile.md "Key data sub-payloads"); MTK ID 0 is
  reserved [P].
* The 32-bit MIKEY TS counters (TS type 2 COUNTER): one per MUK for MSK messages, one per MSK for
  MTK messages. First value 1, strictly increasing, never reused.
* MUKs by MUK ID with their expiry time (unix seconds given by the caller: a store never reads a
  clock).

Durability contract (profile.md "T": "the counter is made durable BEFORE the message leaves"): an
allocated counter or MTK ID is committed to stable storage, in one transaction that excludes every
other writer of the same store, BEFORE the call returns it. A crash after the return can therefore
never make the engine hand out the same value again, and two processes on the same store never get
the same value.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self

from broadcast import profile
from broadcast.proto.keys.errors import InvalidIdentifier, KeyStateError
from broadcast.proto.keys.ids import KeyDomainId, MskId, MtkId, MukId
from broadcast.proto.keys.material import Msk, Muk
from broadcast.proto.srtp.settings import SrtpConfig
from broadcast.time import UnixS


class MskState(enum.StrEnum):
    """Life cycle of an MSK inside its Key Group: NEXT -> CURRENT -> RETIRED.

    CURRENT is the MSK that Key Number 0 resolves to; NEXT is delivered ahead of the switch;
    RETIRED is terminal (no new MTK is issued under it).
    """

    CURRENT = "current"
    NEXT = "next"
    RETIRED = "retired"


def check_key_group(key_group: int) -> int:
    """Validate a Key Group number: the 16 high bits of the MSK ID [3GPP]."""
    if (
        isinstance(key_group, bool)
        or not isinstance(key_group, int)
        or not (0 <= key_group <= 0xFFFF)
    ):
        raise InvalidIdentifier(f"Key Group must be 0..65535, got {key_group!r}")
    return key_group


def check_stored_msk_id(msk_id: MskId) -> MskId:
    """Refuse Key Number 0 where a real MSK is meant: 0 means "the current MSK" [3GPP]."""
    if msk_id.is_current_alias:
        raise InvalidIdentifier(
            f"MSK ID {msk_id} has Key Number 0, which means 'the current MSK', not a stored MSK"
        )
    return msk_id


def check_mtk_id_range(low: int, high: int) -> None:
    """Validate an MSK's MTK ID validity interval low..high within 1..65535 [P]."""
    for name, v in (("lowest", low), ("highest", high)):
        if isinstance(v, bool) or not isinstance(v, int):
            raise InvalidIdentifier(f"{name} MTK ID must be an int, got {v!r}")
    if not profile.MTK_ID_MIN <= low <= high <= profile.MTK_ID_MAX:
        raise InvalidIdentifier(
            f"MTK ID range must satisfy {profile.MTK_ID_MIN} <= low <= high <= "
            f"{profile.MTK_ID_MAX}, got {low}..{high}"
        )


@dataclass(frozen=True, slots=True)
class KeyGroupRecord:
    """A Key Group of a Key Domain; ``streaming`` = it protects a streaming session, whose SRTP
    policy is ``srtp`` (None for a download group; a streaming group without one given gets the
    profile's policy)."""

    key_domain: KeyDomainId
    key_group: int
    streaming: bool = False
    srtp: SrtpConfig | None = None

    def __post_init__(self) -> None:
        check_key_group(self.key_group)
        if self.streaming and self.srtp is None:
            object.__setattr__(self, "srtp", SrtpConfig())
        if not self.streaming and self.srtp is not None:
            raise KeyStateError(
                f"Key Group {self.key_group} is a download group: it has no SRTP policy"
            )


@dataclass(frozen=True, slots=True)
class MskRecord:
    """An MSK as stored: identity, key, valid MTK IDs ``mtk_id_low..mtk_id_high`` and state.

    ``msk_id`` always has a real Key Number (never 0). The repr shows no key bytes.
    """

    key_domain: KeyDomainId
    msk_id: MskId
    key: Msk
    mtk_id_low: int
    mtk_id_high: int
    state: MskState

    def __post_init__(self) -> None:
        check_stored_msk_id(self.msk_id)
        check_mtk_id_range(self.mtk_id_low, self.mtk_id_high)
        if not isinstance(self.key, Msk):
            raise TypeError("MskRecord.key must be an Msk")

    @property
    def key_group(self) -> int:
        return self.msk_id.key_group


@dataclass(frozen=True, slots=True)
class MukRecord:
    """A MUK with its expiry (unix seconds, exclusive). The repr shows no key bytes."""

    muk_id: MukId
    key: Muk
    expires_at: UnixS

    def __post_init__(self) -> None:
        if not isinstance(self.key, Muk):
            raise TypeError("MukRecord.key must be a Muk")
        if isinstance(self.expires_at, bool) or not isinstance(self.expires_at, int):
            raise TypeError("MukRecord.expires_at must be an int (unix seconds)")

    def is_expired(self, now_unix: UnixS) -> bool:
        """True when ``now_unix`` (given by the caller) is at or past the expiry."""
        return now_unix >= self.expires_at


class KeyStore(Protocol):
    """Durable storage of the BM-SC's keys, MTK ID allocation and MIKEY TS counters.

    Every method is atomic. Allocation methods commit before they return (module docstring).
    Errors: :class:`UnknownKey` for a missing domain/group/MSK/MUK, :class:`DuplicateKey`,
    :class:`KeyStateError` for a forbidden state change, :class:`InvalidIdentifier`,
    :class:`MtkIdExhausted`, :class:`CounterExhausted`, :class:`KeyStoreError` for a backend
    failure. No error message contains key bytes.
    """

    # --- Key Domains and Key Groups (TS 33.246 6.3.2.1: MSK ID = Key Group || Key Number) -----
    def add_key_domain(self, key_domain: KeyDomainId) -> None:
        """Add a Key Domain (DuplicateKey if present)."""
        ...

    def list_key_domains(self) -> list[KeyDomainId]:
        """All Key Domains, sorted by their bytes."""
        ...

    def add_key_group(
        self,
        key_domain: KeyDomainId,
        key_group: int,
        *,
        streaming: bool = False,
        srtp: SrtpConfig | None = None,
    ) -> KeyGroupRecord:
        """Add a Key Group to a known Key Domain (UnknownKey / DuplicateKey); a streaming group
        with its SRTP policy ``srtp`` (None: the profile's), a download group never has one
        (KeyStateError)."""
        ...

    def set_key_group_srtp(
        self, key_domain: KeyDomainId, key_group: int, srtp: SrtpConfig
    ) -> KeyGroupRecord:
        """Replace the SRTP policy of a streaming Key Group (UnknownKey; KeyStateError for a
        download group)."""
        ...

    def get_key_group(self, key_domain: KeyDomainId, key_group: int) -> KeyGroupRecord:
        """The Key Group, or UnknownKey."""
        ...

    def list_key_groups(self, key_domain: KeyDomainId) -> list[KeyGroupRecord]:
        """The Key Groups of a Key Domain, sorted by number (UnknownKey for an unknown domain)."""
        ...

    # --- MSKs ----------------------------------------------------------------------------------
    def add_msk(
        self,
        key_domain: KeyDomainId,
        msk_id: MskId,
        key: Msk,
        *,
        mtk_id_low: int = profile.MTK_ID_MIN,
        mtk_id_high: int = profile.MTK_ID_MAX,
        state: MskState = MskState.NEXT,
    ) -> MskRecord:
        """Store an MSK in its (existing) Key Group.

        Key Number 0 -> InvalidIdentifier; a used Key Number -> DuplicateKey; a second CURRENT or
        NEXT MSK in the group -> KeyStateError.
        """
        ...

    def get_msk(self, key_domain: KeyDomainId, msk_id: MskId) -> MskRecord:
        """The MSK; Key Number 0 resolves to the group's CURRENT MSK [3GPP]. UnknownKey if none."""
        ...

    def list_msks(self, key_domain: KeyDomainId, key_group: int) -> list[MskRecord]:
        """The MSKs of a Key Group in any state, sorted by Key Number."""
        ...

    def promote(self, key_domain: KeyDomainId, key_group: int) -> MskRecord:
        """Make the NEXT MSK CURRENT and retire the old CURRENT one; returns the new CURRENT.

        KeyStateError when the group has no NEXT MSK.
        """
        ...

    def retire(self, key_domain: KeyDomainId, msk_id: MskId) -> MskRecord:
        """Retire a CURRENT or NEXT MSK (a RETIRED one stays as it is). Key Number 0 refused."""
        ...

    # --- MTK IDs (profile.md: strictly increasing under one MSK, never 0) ---------------------
    def allocate_mtk_id(self, key_domain: KeyDomainId, msk_id: MskId) -> MtkId:
        """Hand out the next MTK ID of the MSK, durable before it returns.

        The first is the MSK's ``mtk_id_low``; then strictly increasing up to ``mtk_id_high``,
        after which MtkIdExhausted (the caller must rotate the MSK). KeyStateError for a RETIRED
        MSK; Key Number 0 refused (the MKI must name the real MSK).
        """
        ...

    def current_mtk_id(self, key_domain: KeyDomainId, msk_id: MskId) -> MtkId | None:
        """The last MTK ID allocated under the MSK, or None before the first allocation."""
        ...

    # --- MIKEY TS counters (profile.md "T": 32-bit COUNTER, per MUK / per MSK) ---------------
    def next_counter_for_muk(self, muk_id: MukId) -> int:
        """Next TS counter for an MSK message under this MUK ID, durable before it returns.

        1, 2, 3, ... up to 0xFFFFFFFF, then CounterExhausted. The counter belongs to the MUK ID,
        not to the stored MUK: it survives replacing or purging the MUK.
        """
        ...

    def next_counters_for_muks(self, muk_ids: Sequence[MukId]) -> list[int]:
        """One new TS counter per entry of ``muk_ids``, all in ONE transaction, durable before it
        returns (an MSK push round: one message per UE).

        The result is in the order of ``muk_ids``; a MUK ID listed n times gets n strictly
        increasing values. Same values, guarantees and errors as ``n`` calls of
        :meth:`next_counter_for_muk`, but all-or-nothing: CounterExhausted for one MUK ID (or a
        store failure) hands out no value at all.
        """
        ...

    def next_counters_with_muks(
        self, muk_ids: Sequence[MukId]
    ) -> list[tuple[int, MukRecord | None]]:
        """:meth:`next_counters_for_muks` (same values, guarantees and errors) that also returns,
        per entry, the MUK stored for that MUK ID at that moment (expired or not), or None when
        none is stored (the counter is then simply never used): a push round's one pass."""
        ...

    def next_counter_for_msk(self, key_domain: KeyDomainId, msk_id: MskId) -> int:
        """Next TS counter for an MTK message under this MSK, durable before it returns.

        1, 2, 3, ... up to 0xFFFFFFFF, then CounterExhausted. KeyStateError for a RETIRED MSK;
        Key Number 0 refused.
        """
        ...

    # --- MUKs (TS 33.246 6.3.2.2: MUK from GBA, identified by IDi || IDr) --------------------
    def put_muk(self, muk_id: MukId, key: Muk, *, expires_at_unix: UnixS) -> MukRecord:
        """Store or replace the MUK of a MUK ID with its expiry (whole unix seconds)."""
        ...

    def get_muk(self, muk_id: MukId) -> MukRecord:
        """The MUK (expired or not: see :meth:`MukRecord.is_expired`), or UnknownKey."""
        ...

    def put_muks(self, records: Iterable[MukRecord]) -> int:
        """Store or replace many MUKs in ONE transaction; returns how many rows were written."""
        ...

    def get_muks(self, muk_ids: Iterable[MukId]) -> dict[MukId, MukRecord]:
        """The stored MUKs of ``muk_ids`` (expired or not) from one consistent snapshot; a MUK ID
        without a MUK is absent from the result (no UnknownKey)."""
        ...

    def purge_expired_muks(self, now_unix: UnixS) -> int:
        """Delete the MUKs expired at ``now_unix``; returns how many. Counters stay."""
        ...

    # --- life cycle ------------------------------------------------------------------------------
    def close(self) -> None:
        """Release the backend; further calls raise KeyStoreError. Idempotent."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
