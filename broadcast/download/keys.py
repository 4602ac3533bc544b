"""Download MTKs from the durable key store (TS 33.246 §6.3.3, profile.md "MIKEY", "Transport").

For every MTK period the carousel asks :class:`MtkIssuer` for a new MTK. The issuer:

1. reads the Key Group's CURRENT MSK from the store *each time* (the BM-SC rotates MSKs; Key
   Number 0 resolves to the CURRENT one, TS 33.246 §6.3.2.1),
2. allocates the next MTK ID under it (``allocate_mtk_id``: strictly increasing inside the MSK's
   MTK ID range, durable before it returns) and the next MIKEY TS counter of that MSK
   (``next_counter_for_msk``, durable before it returns) — both before the message exists, so no
   packet can carry a value the store could hand out again, even after a crash,
3. draws the MTK (16 random bytes) and builds the download MTK message (TEK, KV null, empty CS ID
   map; :func:`broadcast.mikey.build_mtk_message`) under the MSK.

For a standalone carousel :meth:`MtkIssuer.ensure` creates what is missing: the Key Domain, the
Key Group (streaming = False) and a CURRENT MSK (random key; only its ID is ever logged).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from broadcast import profile
from broadcast.dcf import MbmsKeyId
from broadcast.keys import (
    KeyDomainId,
    KeyStore,
    Msk,
    MskId,
    MskRecord,
    MskState,
    Mtk,
    MtkId,
    UnknownKey,
)
from broadcast.mikey import build_mtk_message

log = logging.getLogger(__name__)

Rand = Callable[[int], bytes]


class KeySetupError(Exception):
    """The store's Key Group cannot serve a download carousel (e.g. it is a streaming group)."""


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


class MtkIssuer:
    """Issues download MTKs under the CURRENT MSK of one Key Group."""

    def __init__(
        self,
        store: KeyStore,
        key_domain: KeyDomainId,
        key_group: int,
        *,
        rand: Rand = os.urandom,
    ) -> None:
        self.store = store
        self.key_domain = key_domain
        self.key_group = key_group
        self._rand = rand

    def ensure(self) -> MskRecord:
        """Make sure the Key Domain, the (download) Key Group and a CURRENT MSK exist."""
        store, kd, group = self.store, self.key_domain, self.key_group
        if kd not in store.list_key_domains():
            store.add_key_domain(kd)
            log.info("created Key Domain %s", kd)
        try:
            record = store.get_key_group(kd, group)
        except UnknownKey:
            store.add_key_group(kd, group, streaming=False)
            log.info("created download Key Group %d in Key Domain %s", group, kd)
        else:
            if record.streaming:
                raise KeySetupError(
                    f"Key Group {group} of Key Domain {kd} protects a streaming session"
                )
        try:
            return store.get_msk(kd, MskId.current(group))
        except UnknownKey:
            pass
        used = {m.msk_id.key_number for m in store.list_msks(kd, group)}
        number = next(n for n in range(1, 0x10000) if n not in used)
        msk = store.add_msk(
            kd, MskId(group, number), Msk(self._draw(profile.KEY_LEN)), state=MskState.CURRENT
        )
        log.info("created CURRENT MSK %s in Key Domain %s (key not shown)", msk.msk_id, kd)
        return msk

    def current_msk(self) -> MskRecord:
        """The Key Group's CURRENT MSK as the store has it now."""
        return self.store.get_msk(self.key_domain, MskId.current(self.key_group))

    def issue(self) -> IssuedMtk:
        """A new MTK under the CURRENT MSK with its MIKEY message (IDs and counter durable)."""
        msk = self.current_msk()
        mtk_id = self.store.allocate_mtk_id(self.key_domain, msk.msk_id)
        counter = self.store.next_counter_for_msk(self.key_domain, msk.msk_id)
        mtk = Mtk(self._draw(profile.KEY_LEN))
        message = build_mtk_message(
            msk=msk.key,
            key_domain_id=self.key_domain,
            msk_id=msk.msk_id,
            mtk_id=mtk_id,
            mtk=mtk,
            counter=counter,
            rand=self._draw(profile.RAND_LEN),
        )
        key_id = MbmsKeyId(self.key_domain, msk.msk_id, mtk_id)
        return IssuedMtk(key_id=key_id, mtk=mtk, message=message, counter=counter)

    def _draw(self, n: int) -> bytes:
        out = self._rand(n)
        if not isinstance(out, bytes) or len(out) != n:
            raise ValueError(f"rand({n}) did not return {n} bytes")
        return out


__all__ = ["IssuedMtk", "KeySetupError", "MtkIssuer"]
