"""MTKs with their MIKEY MTK message, for a streaming or a download Key Group (TS 33.246 6.3.3;
profile.md "MIKEY", "CS ID map", "Transport").

:class:`MtkIssuer` makes one new MTK at a time for one Key Group; the streaming service (MTK
messages on UDP 2269) and the download carousel (MIKEY objects in the FLUTE session) use the same
issuer:

1. it allocates the next MTK ID and MIKEY TS counter under the group's CURRENT MSK, read from the
   store *each time*, both durable before they are returned
   (:class:`~broadcast.engine.keys.issuing.MtkAllocator`: the NEXT MSK is promoted when the
   CURRENT one has used its range; with no NEXT MSK
   :class:`~broadcast.engine.keys.issuing.MtkUnavailable` is raised and the
   caller keeps its last MTK);
2. it draws the MTK (and, for streaming, a 112-bit SRTP master salt) and the RAND;
3. it builds the MTK message under the MSK (:func:`broadcast.proto.mikey.mbms.build_mtk_message`)
   — the one difference between the two kinds of group:

   - streaming: TEK+SALT, KV SPI = MKI = MSK ID || MTK ID, CS ID map with each SSRC and its
     current ROC (:func:`cs_id_map`);
   - download: TEK, KV null, empty CS ID map.

:meth:`MtkIssuer.ensure` prepares a store for a run without a BM-SC: Key Domain, Key Group of the
issuer's kind and a CURRENT MSK (random key) when missing
(:func:`~broadcast.engine.keys.issuing.ensure_key_group`).

The store calls are blocking (SQLite with ``synchronous=FULL``); an asyncio service runs
:meth:`MtkIssuer.issue` in a worker thread. No key byte is ever logged, put in a repr or in an
error text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from broadcast import profile
from broadcast.engine.keys.issuing import MtkAllocator
from broadcast.proto.dcf import MbmsKeyId
from broadcast.proto.keys.ids import KeyDomainId, MskId, MtkId, srtp_mki
from broadcast.proto.keys.material import Mtk, SrtpSalt
from broadcast.proto.mikey.mbms import build_mtk_message
from broadcast.proto.mikey.payloads import SrtpCs


@dataclass(frozen=True, slots=True)
class IssuedMtk:
    """One MTK with the MIKEY message that carries it. ``repr`` shows identifiers only (key
    material prints redacted, the message not at all)."""

    key_id: MbmsKeyId
    mtk: Mtk
    #: The MTK message; every (re-)send uses exactly these bytes.
    message: bytes = field(repr=False)
    counter: int
    #: The SRTP master salt of a streaming MTK (None for a download MTK).
    salt: SrtpSalt | None = None
    #: SSRC/ROC entries of a streaming message's CS ID map (ROC as known when it was built).
    sessions: tuple[SrtpCs, ...] = ()

    @property
    def key_domain(self) -> KeyDomainId:
        return self.key_id.key_domain_id

    @property
    def msk_id(self) -> MskId:
        return self.key_id.msk_id

    @property
    def mtk_id(self) -> MtkId:
        return self.key_id.mtk_id

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
    """Makes the MTKs of one Key Group (``streaming`` or download) under its CURRENT MSK; built
    like its :class:`~broadcast.engine.keys.issuing.MtkAllocator` (store, Key Domain, Key Group,
    ``streaming``, ``rand``, ``log``)."""

    def issue(self, streams: Sequence[tuple[int, int]] = ()) -> IssuedMtk:
        """A new MTK under the group's CURRENT MSK with its message (module doc). Blocking.

        ``streams``: the ``(SSRC, ROC)`` pairs of a streaming group's CS ID map; a download
        message has none.
        """
        if streams and not self.streaming:
            raise ValueError("a download MTK message has no CS ID map entries")
        alloc = self.allocate()
        mtk = Mtk(self.draw(profile.KEY_LEN))
        salt = SrtpSalt(self.draw(profile.SRTP_SALT_LEN)) if self.streaming else None
        sessions = cs_id_map(streams) if self.streaming else ()
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
        key_id = MbmsKeyId(self.key_domain, alloc.msk_id, alloc.mtk_id)
        return IssuedMtk(key_id, mtk, message, alloc.counter, salt, sessions)


__all__ = ["IssuedMtk", "MtkIssuer", "cs_id_map"]
