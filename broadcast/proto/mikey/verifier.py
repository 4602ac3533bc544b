"""The UE-side receive checks for MBMS MIKEY messages (RFC 3830 §5.3-§5.4, TS 33.246 6.3, profile).

``Verifier.receive(data)`` runs, in order: decode and classify; find the key (MUK by IDi/IDr,
MSK by Key Domain ID and MSK ID); COUNTER strictly greater than the last accepted one for that
MUK / MSK (replay); the MAC; for MTK messages the MTK ID inside the MSK's validity interval and
newer than the current one. Only a message that passes every check changes state. Every
rejection is a typed ``MikeyError``; a re-send of the message last accepted is a
``DuplicateMessage`` so receivers can count periodic MTK re-sends apart from attacks.

Sans-IO: no sockets, clocks or threads; state lives in memory (a caller may persist it).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from broadcast.proto.keys.ids import KeyDomainId, MskId, MtkId, MukId
from broadcast.proto.keys.material import Msk, Muk
from broadcast.proto.mikey.errors import MtkIdRejected, ReplayedCounter, UnknownKey
from broadcast.proto.mikey.mbms import (
    Envelope,
    Kind,
    MskDelivery,
    MtkDelivery,
    SolicitedPull,
    build_ack,
    envelope,
    open_msk_message,
    open_mtk_message,
    open_solicited_pull,
)


class DuplicateMessage(ReplayedCounter):
    """The very message last accepted for that key, received again (e.g. a periodic re-send)."""


@dataclass(slots=True)
class _MukState:
    muk: Muk
    counter: int = 0
    last_digest: bytes = b""


@dataclass(slots=True)
class _MskState:
    msk: Msk
    valid_from: MtkId
    valid_to: MtkId
    delivery: MskDelivery | None  # None: installed out of band (add_msk)
    counter: int = 0
    current_mtk: MtkId | None = None
    last_digest: bytes = b""
    mtks: dict[MtkId, MtkDelivery] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Accepted:
    """The outcome of an accepted message; ``ack`` holds the MIKEY ACK to send, if requested."""

    kind: Kind
    msk: MskDelivery | None = None
    mtk: MtkDelivery | None = None
    pull: SolicitedPull | None = None
    ack: bytes | None = None


def _digest(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


class Verifier:
    """Stateful receiver of MSK, MTK and solicited-pull messages for one UE."""

    #: MTK deliveries kept per MSK (current and a few previous, for in-flight packets).
    MTKS_KEPT = 4

    def __init__(self) -> None:
        self._muks: dict[MukId, _MukState] = {}
        self._msks: dict[tuple[KeyDomainId, MskId], _MskState] = {}

    def add_muk(self, muk_id: MukId, muk: Muk, counter: int = 0) -> None:
        """Install a MUK (from GBA); ``counter`` is the last accepted COUNTER, if known."""
        self._muks[muk_id] = _MukState(muk, counter)

    def add_msk(
        self,
        key_domain_id: KeyDomainId,
        msk_id: MskId,
        msk: Msk,
        valid_from: MtkId,
        valid_to: MtkId,
    ) -> None:
        """Install an MSK obtained out of band (configuration, another UE component holding the
        MUK). MTK messages under it get exactly the checks of :meth:`receive`. Re-installing the
        same key keeps that MSK's COUNTER and MTK state (replay protection survives)."""
        key = (key_domain_id, msk_id)
        old = self._msks.get(key)
        if old is not None and old.msk == msk:
            old.valid_from, old.valid_to = valid_from, valid_to
            return
        self._msks[key] = _MskState(msk, valid_from, valid_to, None)

    def knows_msk(self, key_domain_id: KeyDomainId, msk_id: MskId) -> bool:
        return (key_domain_id, msk_id) in self._msks

    def msk(self, key_domain_id: KeyDomainId, msk_id: MskId) -> MskDelivery | None:
        """The verified MSK message that delivered this MSK (None if unknown or installed with
        :meth:`add_msk`)."""
        st = self._msks.get((key_domain_id, msk_id))
        return None if st is None else st.delivery

    def mtk(self, key_domain_id: KeyDomainId, msk_id: MskId, mtk_id: MtkId) -> MtkDelivery | None:
        st = self._msks.get((key_domain_id, msk_id))
        return None if st is None else st.mtks.get(mtk_id)

    def current_mtk(self, key_domain_id: KeyDomainId, msk_id: MskId) -> MtkDelivery | None:
        st = self._msks.get((key_domain_id, msk_id))
        if st is None or st.current_mtk is None:
            return None
        return st.mtks.get(st.current_mtk)

    def msk_ids(self) -> list[tuple[KeyDomainId, MskId]]:
        return list(self._msks)

    @staticmethod
    def _replay(last: int, last_digest: bytes, env: Envelope, digest: bytes) -> None:
        if env.counter <= last:
            cls = DuplicateMessage if digest == last_digest else ReplayedCounter
            raise cls(f"{env.kind.value} COUNTER {env.counter} not above {last}", field="T COUNTER")

    def receive(self, data: bytes) -> Accepted:
        env = envelope(data)
        digest = _digest(data)
        if env.kind is Kind.MTK:
            return self._receive_mtk(env, digest)
        if env.kind in (Kind.MSK, Kind.SOLICITED_PULL):
            return self._receive_muk_protected(env, digest)
        raise UnknownKey("a UE does not receive MIKEY ACKs", field="HDR data type")

    def _receive_muk_protected(self, env: Envelope, digest: bytes) -> Accepted:
        muk_id = env.muk_id
        st = self._muks.get(muk_id) if muk_id is not None else None
        if st is None or muk_id is None:
            raise UnknownKey(f"no MUK for IDi/IDr {muk_id}", field="ID")
        self._replay(st.counter, st.last_digest, env, digest)
        if env.kind is Kind.SOLICITED_PULL:
            pull = open_solicited_pull(env, st.muk)
            st.counter, st.last_digest = env.counter, digest
            return Accepted(Kind.SOLICITED_PULL, pull=pull)
        delivery = open_msk_message(env, st.muk)
        st.counter, st.last_digest = env.counter, digest
        key = (env.key_domain_id, env.msk_id)
        old = self._msks.get(key)
        if old is None or old.msk != delivery.msk:
            self._msks[key] = _MskState(
                delivery.msk, delivery.valid_from, delivery.valid_to, delivery
            )
        else:  # same key re-delivered: keep MTK state and counter
            old.delivery = delivery
            old.valid_from, old.valid_to = delivery.valid_from, delivery.valid_to
        ack = build_ack(env, st.muk) if env.ack_requested else None
        return Accepted(Kind.MSK, msk=delivery, ack=ack)

    def _receive_mtk(self, env: Envelope, digest: bytes) -> Accepted:
        st = self._msks.get((env.key_domain_id, env.msk_id))
        if st is None:
            raise UnknownKey(
                f"no MSK {env.msk_id} in Key Domain {env.key_domain_id}", field="EXT MSK ID"
            )
        self._replay(st.counter, st.last_digest, env, digest)
        mtk_id = env.mtk_id
        assert mtk_id is not None
        # MAC first: an unauthenticated message must not reveal anything about our state.
        delivery = open_mtk_message(env, st.msk)
        if not st.valid_from <= mtk_id <= st.valid_to:
            raise MtkIdRejected(
                f"MTK ID {mtk_id} outside {st.valid_from}..{st.valid_to}",
                field="EXT MTK ID",
            )
        if st.current_mtk is not None and mtk_id <= st.current_mtk:
            raise MtkIdRejected(
                f"MTK ID {mtk_id} not newer than {st.current_mtk}", field="EXT MTK ID"
            )
        st.counter, st.last_digest, st.current_mtk = env.counter, digest, mtk_id
        st.mtks[mtk_id] = delivery
        while len(st.mtks) > self.MTKS_KEPT:
            del st.mtks[min(st.mtks)]
        return Accepted(Kind.MTK, mtk=delivery)
