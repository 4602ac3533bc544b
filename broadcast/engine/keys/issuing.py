"""MTK ID and counter allocation under a Key Group's CURRENT MSK (TS 33.246 §6.3.3; profile.md
"Identifiers", "MIKEY" T payload).

What every MTK the BM-SC makes needs, whatever carries it (a streaming MTK message on UDP 2269,
a download MIKEY object in the FLUTE carousel; both made by
:class:`broadcast.engine.keys.mtk.MtkIssuer`):

1. the Key Group's CURRENT MSK, read from the store *each time* (the BM-SC rotates MSKs and
   pushes them; Key Number 0 names the CURRENT MSK, TS 33.246 §6.3.2.1);
2. the next MTK ID of that MSK (``allocate_mtk_id``: strictly increasing inside the MSK's MTK ID
   validity range, profile.md "Identifiers") and the MSK's next MIKEY TS counter
   (``next_counter_for_msk``, profile.md "T") — both durable before they are returned, so no
   packet can carry a value the store could hand out again, even after a crash. When the MSK has
   used its range (or its counters) the group's NEXT MSK, if there is one, is promoted to CURRENT
   and the allocation continues under it; without one :class:`MskUsedUp` is raised;
3. fresh random bytes (MTK, RAND, salt) from an injected source, checked for length.

The message itself (TEK or TEK+SALT, KV, CS ID map) is built by :mod:`broadcast.engine.keys.mtk`.

:func:`ensure_key_group` prepares a store for a service run without a BM-SC: the Key Domain, the
Key Group (streaming or download) and a CURRENT MSK with a random key when missing.

Sans-IO apart from the store: the store calls block (SQLite with ``synchronous=FULL``), so an
asyncio caller runs them in a worker thread. Logs and error texts carry identifiers, never keys.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Final

from broadcast import profile
from broadcast.proto.keys.errors import (
    CounterExhausted,
    DuplicateKey,
    KeyModelError,
    KeyStateError,
    MtkIdExhausted,
    UnknownKey,
)
from broadcast.proto.keys.ids import KeyDomainId, MskId, MtkId
from broadcast.proto.keys.material import Msk
from broadcast.proto.keys.store import KeyStore, MskRecord, MskState
from broadcast.proto.srtp.settings import SrtpConfig
from broadcast.time import Rand

#: How often one call re-reads the store when the CURRENT MSK changes under it (another writer
#: rotates or creates MSKs concurrently).
ATTEMPTS: Final = 4
_KEY_NUMBER_MAX: Final = 0xFFFF

_log = logging.getLogger(__name__)


class MtkUnavailable(KeyModelError):
    """No new MTK can be made now (no CURRENT MSK, MTK IDs or counters used up with no NEXT MSK,
    store failure). The text names identifiers only, never keys."""


class KeyGroupKindError(MtkUnavailable):
    """The Key Group exists but is of the other kind (streaming vs download): its MSK messages
    would not carry the right policy (profile.md "CS ID map")."""


class MskUsedUp(MtkUnavailable):
    """The CURRENT MSK has used its MTK IDs or TS counters and the Key Group has no NEXT MSK."""


class MtkIdsUsedUp(MskUsedUp, MtkIdExhausted):
    """:class:`MskUsedUp` because of the MTK ID validity range."""


class CountersUsedUp(MskUsedUp, CounterExhausted):
    """:class:`MskUsedUp` because of the 32-bit MIKEY TS counter."""


@dataclass(frozen=True, slots=True)
class MtkAllocation:
    """An MTK ID and a TS counter, both durable, under ``msk``. ``repr`` shows no key byte."""

    key_domain: KeyDomainId
    msk: MskRecord
    mtk_id: MtkId
    counter: int

    @property
    def msk_id(self) -> MskId:
        return self.msk.msk_id


def draw(rand: Rand, n: int) -> bytes:
    """``n`` random bytes from ``rand``; :class:`ValueError` if it returns anything else."""
    out = rand(n)
    if not isinstance(out, bytes) or len(out) != n:
        raise ValueError(f"rand({n}) did not return {n} bytes")
    return out


def _kind(streaming: bool) -> str:
    return "streaming" if streaming else "download"


def ensure_key_group(
    store: KeyStore,
    key_domain: KeyDomainId,
    key_group: int,
    *,
    streaming: bool,
    rand: Rand = secrets.token_bytes,
    log: logging.Logger = _log,
    srtp: SrtpConfig | None = None,
) -> MskRecord:
    """Make sure the Key Domain, the Key Group (``streaming`` or download; a streaming group
    created here keeps the SRTP policy ``srtp``, None: the profile's) and a CURRENT MSK exist;
    returns the CURRENT MSK. A NEXT MSK is promoted when there is no CURRENT one; otherwise
    a new MSK (Key Number one above the highest used, random key, full MTK ID range) is stored as
    CURRENT. Safe against a concurrent writer doing the same. Logs the MSK ID, never the key.

    Raises :class:`KeyGroupKindError` when the Key Group exists with the other kind.
    """
    if key_domain not in store.list_key_domains():
        try:
            store.add_key_domain(key_domain)
            log.info("created Key Domain %s", key_domain)
        except DuplicateKey:
            pass
    try:
        group = store.get_key_group(key_domain, key_group)
    except UnknownKey:
        try:
            group = store.add_key_group(key_domain, key_group, streaming=streaming, srtp=srtp)
            log.info(
                "created %s Key Group %d in Key Domain %s", _kind(streaming), key_group, key_domain
            )
        except DuplicateKey:
            group = store.get_key_group(key_domain, key_group)
    if group.streaming != streaming:
        what = "not a streaming group" if streaming else "a streaming group, not a download group"
        raise KeyGroupKindError(
            f"Key Group {key_group} of Key Domain {key_domain} exists but is {what}"
        )
    for _ in range(ATTEMPTS):
        try:
            return store.get_msk(key_domain, MskId.current(key_group))
        except UnknownKey:
            pass
        msks = store.list_msks(key_domain, key_group)
        try:
            if any(m.state is MskState.NEXT for m in msks):
                record = store.promote(key_domain, key_group)
                log.info("promoted NEXT MSK %s to CURRENT", record.msk_id)
                return record
            number = max((m.msk_id.key_number for m in msks), default=0) + 1
            if number > _KEY_NUMBER_MAX:
                raise MtkUnavailable(f"Key Group {key_group} has used every Key Number")
            record = store.add_msk(
                key_domain,
                MskId(key_group, number),
                Msk(draw(rand, profile.KEY_LEN)),
                state=MskState.CURRENT,
            )
        except (DuplicateKey, KeyStateError):
            continue  # another writer got there first: read again
        log.info(
            "created CURRENT MSK %s (random key, not shown) for Key Group %d of Key Domain %s",
            record.msk_id,
            key_group,
            key_domain,
        )
        return record
    raise MtkUnavailable(f"could not establish a CURRENT MSK for Key Group {key_group}")


class MtkAllocator:
    """Allocates MTK IDs and counters under the CURRENT MSK of one Key Group (module doc).

    :class:`~broadcast.engine.keys.mtk.MtkIssuer` builds on it and adds the message.
    """

    def __init__(
        self,
        store: KeyStore,
        key_domain: KeyDomainId,
        key_group: int,
        *,
        streaming: bool,
        rand: Rand = secrets.token_bytes,
        log: logging.Logger = _log,
    ) -> None:
        self.store = store
        self.key_domain = key_domain
        self.key_group = key_group
        self.streaming = streaming
        self._rand = rand
        self._log = log
        self._last_msk: MskId | None = None

    def ensure(self, srtp: SrtpConfig | None = None) -> MskRecord:
        """:func:`ensure_key_group` for this Key Group and kind (a streaming group created here
        keeps the SRTP policy ``srtp``, None: the profile's); returns the CURRENT MSK."""
        return ensure_key_group(
            self.store,
            self.key_domain,
            self.key_group,
            streaming=self.streaming,
            rand=self._rand,
            log=self._log,
            srtp=srtp,
        )

    def current_msk(self) -> MskRecord:
        """The Key Group's CURRENT MSK as the store has it now (:class:`MtkUnavailable` if none)."""
        try:
            return self.store.get_msk(self.key_domain, MskId.current(self.key_group))
        except UnknownKey as exc:
            raise MtkUnavailable(
                f"Key Group {self.key_group} of Key Domain {self.key_domain} has no CURRENT MSK"
            ) from exc

    def draw(self, n: int) -> bytes:
        """``n`` fresh random bytes from the injected source (checked, :func:`draw`)."""
        return draw(self._rand, n)

    def allocate(self) -> MtkAllocation:
        """The next MTK ID and counter under the CURRENT MSK (module doc). Blocking.

        Every failure is an :class:`MtkUnavailable` (store failures wrapped, text with
        identifiers only).
        """
        try:
            return self._allocate()
        except MtkUnavailable:
            raise
        except KeyModelError as exc:  # store failure
            raise MtkUnavailable(f"key store: {exc}") from exc

    def _allocate(self) -> MtkAllocation:
        kd = self.key_domain
        for _ in range(ATTEMPTS):
            msk = self.current_msk()
            try:
                mtk_id = self.store.allocate_mtk_id(kd, msk.msk_id)
                counter = self.store.next_counter_for_msk(kd, msk.msk_id)
            except (MtkIdExhausted, CounterExhausted) as exc:
                self._promote_next(msk, exc)
                continue
            except KeyStateError:
                # The MSK was retired between reading and allocating (the BM-SC rotated it):
                # read the new CURRENT one. An MTK ID allocated here stays unused, never reused.
                continue
            if msk.msk_id != self._last_msk:
                if self._last_msk is not None:
                    self._log.info("MSK changed: MTKs continue under MSK %s", msk.msk_id)
                self._last_msk = msk.msk_id
            return MtkAllocation(kd, msk, mtk_id, counter)
        raise MtkUnavailable(
            f"the CURRENT MSK of Key Group {self.key_group} kept changing; no MTK made this time"
        )

    def _promote_next(self, msk: MskRecord, cause: KeyModelError) -> None:
        ids = isinstance(cause, MtkIdExhausted)
        what = "MTK IDs" if ids else "TS counters"
        try:
            new = self.store.promote(self.key_domain, self.key_group)
        except KeyStateError:
            # Promoted concurrently (the CURRENT MSK is no longer ``msk``)? Then just go on.
            try:
                if self.current_msk().msk_id != msk.msk_id:
                    return
            except MtkUnavailable:
                pass
            used_up = MtkIdsUsedUp if ids else CountersUsedUp
            raise used_up(
                f"MSK {msk.msk_id} has used its {what} ({msk.mtk_id_low}..{msk.mtk_id_high}) "
                f"and Key Group {self.key_group} has no NEXT MSK: keeping the last MTK"
            ) from cause
        self._log.warning(
            "MSK %s has used its %s: promoted NEXT MSK %s to CURRENT", msk.msk_id, what, new.msk_id
        )


__all__ = [
    "ATTEMPTS",
    "CountersUsedUp",
    "KeyGroupKindError",
    "MskUsedUp",
    "MtkAllocation",
    "MtkAllocator",
    "MtkIdsUsedUp",
    "MtkUnavailable",
    "draw",
    "ensure_key_group",
]
