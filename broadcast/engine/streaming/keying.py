"""MTKs for a streaming session from the durable key store (TS 33.246 6.3.3.2.2; profile.md).

:class:`MtkIssuer` makes one new MTK at a time for a Key Group:

1. allocates the next MTK ID and MIKEY TS counter under the group's CURRENT MSK, both durable
   before they are returned (:class:`broadcast.engine.keys.issuing.MtkAllocator`: the stream follows
   whatever the store says is current; when the MSK's range is used up the group's NEXT MSK is
   promoted, with no NEXT MSK :class:`MtkUnavailable` is raised and the caller keeps its last MTK
   and reports the error);
2. draws a fresh MTK (SRTP master key) and a fresh 112-bit SRTP master salt and RAND;
3. builds the streaming MTK message: TEK+SALT, KV SPI = MKI = MSK ID || MTK ID, CS ID map with
   each SSRC and its current ROC (``broadcast.proto.mikey.mbms.build_mtk_message``).

The store calls are blocking (SQLite with ``synchronous=FULL``); the asyncio service runs
:meth:`MtkIssuer.issue` in a worker thread. No key byte is ever logged or put in an error text.

:func:`ensure_standalone_keys` prepares a store for ``mbms stream`` without a BM-SC: Key Domain,
streaming Key Group and a CURRENT MSK (random key) when missing
(:func:`broadcast.engine.keys.issuing.ensure_key_group`).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

from broadcast import profile
from broadcast.engine.keys.issuing import (
    MtkAllocation,
    MtkAllocator,
    MtkUnavailable,
    RandomSource,
    ensure_key_group,
)
from broadcast.proto.keys.ids import KeyDomainId, MskId, MtkId, srtp_mki
from broadcast.proto.keys.material import Mtk, SrtpSalt
from broadcast.proto.keys.store import KeyStore, MskRecord
from broadcast.proto.mikey.mbms import build_mtk_message
from broadcast.proto.mikey.payloads import SrtpCs
from broadcast.proto.srtp.settings import SrtpConfig

log = logging.getLogger("broadcast.streaming")


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


class MtkIssuer(MtkAllocator):
    """Makes the MTKs of one streaming Key Group, following the store's CURRENT MSK."""

    def __init__(
        self,
        store: KeyStore,
        key_domain: KeyDomainId,
        key_group: int,
        *,
        rand: RandomSource = secrets.token_bytes,
    ) -> None:
        super().__init__(store, key_domain, key_group, streaming=True, rand=rand, log=log)

    def issue(self, streams: Sequence[tuple[int, int]] = ()) -> IssuedMtk:
        """A new MTK under the group's CURRENT MSK (see the module doc). Blocking."""
        return self._build(self.allocate(), cs_id_map(streams))

    def _build(self, alloc: MtkAllocation, sessions: tuple[SrtpCs, ...]) -> IssuedMtk:
        mtk = Mtk(self.draw(profile.KEY_LEN))
        salt = SrtpSalt(self.draw(profile.SRTP_SALT_LEN))
        message = build_mtk_message(
            msk=alloc.msk.key,
            key_domain_id=self.key_domain,
            msk_id=alloc.msk_id,
            mtk_id=alloc.mtk_id,
            mtk=mtk,
            counter=alloc.counter,
            rand=self.draw(profile.RAND_LEN),
            salt=salt,
            srtp_sessions=sessions,
        )
        return IssuedMtk(
            self.key_domain, alloc.msk_id, alloc.mtk_id, alloc.counter, mtk, salt, message, sessions
        )


def ensure_standalone_keys(
    store: KeyStore,
    key_domain: KeyDomainId,
    key_group: int,
    *,
    rand: RandomSource = secrets.token_bytes,
    srtp: SrtpConfig | None = None,
) -> MskRecord:
    """Make sure the Key Domain, the streaming Key Group (created with the SRTP policy ``srtp``,
    None: the profile's) and a CURRENT MSK exist; returns the CURRENT MSK
    (:func:`broadcast.engine.keys.issuing.ensure_key_group` with ``streaming=True``).

    Raises :class:`MtkUnavailable` (a :class:`~broadcast.engine.keys.issuing.KeyGroupKindError`)
    when the Key Group exists but is not a streaming group (its MSK messages would not carry the
    SRTP policy, profile.md "CS ID map").
    """
    return ensure_key_group(
        store, key_domain, key_group, streaming=True, rand=rand, log=log, srtp=srtp
    )


__all__ = [
    "IssuedMtk",
    "MtkIssuer",
    "MtkUnavailable",
    "RandomSource",
    "cs_id_map",
    "ensure_standalone_keys",
]
