"""MTKs for a streaming session from the durable key store (TS 33.246 6.3.3.2.2; profile.md).

:class:`MtkIssuer` makes one new MTK at a time for a Key Group:

1. reads the group's CURRENT MSK from the store (the BM-SC rotates MSKs and pushes them; the
   stream follows whatever the store says is current when it makes the next MTK);
2. allocates the next MTK ID of that MSK (durable before it returns, inside the MSK's MTK ID
   validity range). When the range is used up it promotes the group's NEXT MSK, if there is one,
   and continues under it; with no NEXT MSK it raises :class:`MtkUnavailable` (the caller keeps
   its last MTK and reports the error);
3. takes the MSK's next MIKEY TS counter (durable before it returns);
4. draws a fresh MTK (SRTP master key) and a fresh 112-bit SRTP master salt and RAND;
5. builds the streaming MTK message: TEK+SALT, KV SPI = MKI = MSK ID || MTK ID, CS ID map with
   each SSRC and its current ROC (``broadcast.mikey.mbms.build_mtk_message``).

The store calls are blocking (SQLite with ``synchronous=FULL``); the asyncio service runs
:meth:`MtkIssuer.issue` in a worker thread. No key byte is ever logged or put in an error text.

:func:`ensure_standalone_keys` prepares a store for ``mbms stream`` without a BM-SC: Key Domain,
streaming Key Group and a CURRENT MSK (random key) when missing.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from broadcast import profile
from broadcast.keys.errors import (
    CounterExhausted,
    DuplicateKey,
    KeyModelError,
    KeyStateError,
    MtkIdExhausted,
    UnknownKey,
)
from broadcast.keys.ids import KeyDomainId, MskId, MtkId, srtp_mki
from broadcast.keys.material import Msk, Mtk, SrtpSalt
from broadcast.keys.store import KeyStore, MskRecord, MskState
from broadcast.mikey.mbms import build_mtk_message
from broadcast.mikey.payloads import SrtpCs

log = logging.getLogger("broadcast.streaming")

#: Source of random bytes: ``rand(n)`` returns ``n`` bytes (injectable for tests).
RandomSource = Callable[[int], bytes]

#: How often one ``issue`` re-reads the store when the CURRENT MSK changes under it.
_ATTEMPTS = 4


class MtkUnavailable(Exception):
    """No new MTK can be made now (no CURRENT MSK, MTK IDs or counters exhausted with no NEXT
    MSK, store failure). The text names identifiers only, never keys."""


@dataclass(frozen=True, slots=True)
class IssuedMtk:
    """One MTK with its MIKEY MTK message. ``repr`` shows identifiers only."""

    key_domain: KeyDomainId
    msk_id: MskId
    mtk_id: MtkId
    counter: int
    mtk: Mtk
    salt: SrtpSalt
    #: The streaming MTK message; every (re-)send uses exactly these bytes.
    message: bytes = field(repr=False)
    #: SSRC/ROC entries of its CS ID map (ROC as known when the message was built).
    sessions: tuple[SrtpCs, ...] = ()

    @property
    def mki(self) -> bytes:
        """SRTP MKI = MSK ID || MTK ID (profile.md "Identifiers")."""
        return srtp_mki(self.msk_id, self.mtk_id)

    @property
    def name(self) -> str:
        """``MSK ID/MTK ID`` in hex, e.g. ``00010002/0005`` (for logs and status lines)."""
        return f"{self.msk_id}/{self.mtk_id}"


def cs_id_map(streams: Sequence[tuple[int, int]]) -> tuple[SrtpCs, ...]:
    """CS ID map entries (policy 0, SSRC, ROC) for ``(ssrc, roc)`` pairs; one entry with SSRC 0
    and ROC 0 when no stream is known yet (profile.md "CS ID map")."""
    entries = tuple(SrtpCs(profile.SRTP_POLICY_NO, ssrc, roc) for ssrc, roc in streams)
    return entries or (SrtpCs(profile.SRTP_POLICY_NO, 0, 0),)


class MtkIssuer:
    """Makes the MTKs of one Key Group, following the store's CURRENT MSK."""

    def __init__(
        self,
        store: KeyStore,
        key_domain: KeyDomainId,
        key_group: int,
        *,
        rand: RandomSource = secrets.token_bytes,
    ) -> None:
        self.store = store
        self.key_domain = key_domain
        self.key_group = key_group
        self._rand = rand
        self._last_msk: MskId | None = None

    def issue(self, streams: Sequence[tuple[int, int]] = ()) -> IssuedMtk:
        """A new MTK under the group's CURRENT MSK (see the module doc). Blocking."""
        try:
            return self._issue(cs_id_map(streams))
        except MtkUnavailable:
            raise
        except KeyModelError as exc:  # store failure, or a state changed mid-way too often
            raise MtkUnavailable(f"key store: {exc}") from exc

    def _issue(self, sessions: tuple[SrtpCs, ...]) -> IssuedMtk:
        kd, group = self.key_domain, self.key_group
        for _ in range(_ATTEMPTS):
            msk = self._current_msk()
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
                    log.info("MSK changed: MTKs continue under MSK %s", msk.msk_id)
                self._last_msk = msk.msk_id
            return self._build(msk, mtk_id, counter, sessions)
        raise MtkUnavailable(
            f"the CURRENT MSK of Key Group {group} kept changing; no MTK made this time"
        )

    def _current_msk(self) -> MskRecord:
        try:
            return self.store.get_msk(self.key_domain, MskId.current(self.key_group))
        except UnknownKey as exc:
            raise MtkUnavailable(
                f"Key Group {self.key_group} of Key Domain {self.key_domain} has no CURRENT MSK"
            ) from exc

    def _promote_next(self, msk: MskRecord, cause: Exception) -> None:
        what = "MTK IDs" if isinstance(cause, MtkIdExhausted) else "TS counters"
        try:
            new = self.store.promote(self.key_domain, self.key_group)
        except KeyStateError:
            # Promoted concurrently (the CURRENT MSK is no longer ``msk``)? Then just go on.
            try:
                if self._current_msk().msk_id != msk.msk_id:
                    return
            except MtkUnavailable:
                pass
            raise MtkUnavailable(
                f"MSK {msk.msk_id} has used its {what} ({msk.mtk_id_low}..{msk.mtk_id_high}) "
                f"and Key Group {self.key_group} has no NEXT MSK: keeping the last MTK"
            ) from cause
        log.warning(
            "MSK %s has used its %s: promoted NEXT MSK %s to CURRENT", msk.msk_id, what, new.msk_id
        )

    def _build(
        self, msk: MskRecord, mtk_id: MtkId, counter: int, sessions: tuple[SrtpCs, ...]
    ) -> IssuedMtk:
        mtk = Mtk(self._rand(profile.KEY_LEN))
        salt = SrtpSalt(self._rand(profile.SRTP_SALT_LEN))
        message = build_mtk_message(
            msk=msk.key,
            key_domain_id=self.key_domain,
            msk_id=msk.msk_id,
            mtk_id=mtk_id,
            mtk=mtk,
            counter=counter,
            rand=self._rand(profile.RAND_LEN),
            salt=salt,
            srtp_sessions=sessions,
        )
        return IssuedMtk(self.key_domain, msk.msk_id, mtk_id, counter, mtk, salt, message, sessions)


def ensure_standalone_keys(
    store: KeyStore,
    key_domain: KeyDomainId,
    key_group: int,
    *,
    rand: RandomSource = secrets.token_bytes,
) -> MskRecord:
    """Make sure the Key Domain, the streaming Key Group and a CURRENT MSK exist; returns the
    CURRENT MSK. A NEXT MSK is promoted when there is no CURRENT one; otherwise a new MSK with a
    random key and the full MTK ID range is stored as CURRENT. Logs the MSK ID, never the key.

    Raises :class:`MtkUnavailable` when the Key Group exists but is not a streaming group (its
    MSK messages would not carry the SRTP policy, profile.md "CS ID map").
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
            group = store.add_key_group(key_domain, key_group, streaming=True)
            log.info("created streaming Key Group %d in Key Domain %s", key_group, key_domain)
        except DuplicateKey:
            group = store.get_key_group(key_domain, key_group)
    if not group.streaming:
        raise MtkUnavailable(
            f"Key Group {key_group} of Key Domain {key_domain} exists but is not a streaming group"
        )
    for _ in range(_ATTEMPTS):
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
            if number > 0xFFFF:
                raise MtkUnavailable(f"Key Group {key_group} has used every Key Number")
            record = store.add_msk(
                key_domain,
                MskId(key_group, number),
                Msk(rand(profile.KEY_LEN)),
                state=MskState.CURRENT,
            )
        except (DuplicateKey, KeyStateError):
            continue  # another writer got there first: read again
        log.info("created CURRENT MSK %s (random key) for Key Group %d", record.msk_id, key_group)
        return record
    raise MtkUnavailable(f"could not establish a CURRENT MSK for Key Group {key_group}")


__all__ = [
    "IssuedMtk",
    "MtkIssuer",
    "MtkUnavailable",
    "RandomSource",
    "cs_id_map",
    "ensure_standalone_keys",
]
