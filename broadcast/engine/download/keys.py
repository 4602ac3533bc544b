"""Download MTKs from the durable key store (TS 33.246 §6.3.3, profile.md "MIKEY", "Transport").

For every MTK period the carousel asks :class:`MtkIssuer` for a new MTK. The issuer:

1. allocates the next MTK ID and MIKEY TS counter under the Key Group's CURRENT MSK, read from
   the store *each time* (the BM-SC rotates MSKs; Key Number 0 resolves to the CURRENT one,
   TS 33.246 §6.3.2.1) — both durable before the message exists, so no packet can carry a value
   the store could hand out again, even after a crash; the NEXT MSK is promoted when the CURRENT
   one has used its MTK ID range (:class:`broadcast.engine.keys.issuing.MtkAllocator`),
2. draws the MTK (16 random bytes) and builds the download MTK message (TEK, KV null, empty CS ID
   map; :func:`broadcast.proto.mikey.build_mtk_message`) under the MSK.

For a standalone carousel :meth:`MtkIssuer.ensure` creates what is missing: the Key Domain, the
Key Group (streaming = False) and a CURRENT MSK (random key; only its ID is ever logged;
:func:`broadcast.engine.keys.issuing.ensure_key_group`).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

from broadcast import profile
from broadcast.engine.keys.issuing import KeyGroupKindError, MtkAllocator, RandomSource
from broadcast.proto.dcf import MbmsKeyId
from broadcast.proto.keys import KeyDomainId, KeyStore, MskId, Mtk, MtkId
from broadcast.proto.mikey import build_mtk_message

log = logging.getLogger(__name__)

#: The store's Key Group cannot serve a download carousel (it is a streaming group).
KeySetupError = KeyGroupKindError


@dataclass(frozen=True, slots=True)
class IssuedMtk:
    """One download MTK and the MIKEY message that carries it. The repr shows identifiers only."""

    key_id: MbmsKeyId
    mtk: Mtk = field(repr=False)
    message: bytes = field(repr=False)
    counter: int

    @property
    def msk_id(self) -> MskId:
        return self.key_id.msk_id

    @property
    def mtk_id(self) -> MtkId:
        return self.key_id.mtk_id


class MtkIssuer(MtkAllocator):
    """Issues download MTKs under the CURRENT MSK of one (download) Key Group."""

    def __init__(
        self,
        store: KeyStore,
        key_domain: KeyDomainId,
        key_group: int,
        *,
        rand: RandomSource = os.urandom,
    ) -> None:
        super().__init__(store, key_domain, key_group, streaming=False, rand=rand, log=log)

    def issue(self) -> IssuedMtk:
        """A new MTK under the CURRENT MSK with its MIKEY message (IDs and counter durable)."""
        alloc = self.allocate()
        mtk = Mtk(self.draw(profile.KEY_LEN))
        message = build_mtk_message(
            msk=alloc.msk.key,
            key_domain_id=self.key_domain,
            msk_id=alloc.msk_id,
            mtk_id=alloc.mtk_id,
            mtk=mtk,
            counter=alloc.counter,
            rand=self.draw(profile.RAND_LEN),
        )
        key_id = MbmsKeyId(self.key_domain, alloc.msk_id, alloc.mtk_id)
        return IssuedMtk(key_id=key_id, mtk=mtk, message=message, counter=alloc.counter)


__all__ = ["IssuedMtk", "KeySetupError", "MtkIssuer"]
