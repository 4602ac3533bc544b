"""The UE's MSK store (what the MSK client feeds) and the MTK gate."""

from __future__ import annotations

import logging

import pytest
from ue_support import KDID, MSK2_BYTES, MSK2_ID, MSK_BYTES, MSK_ID, StreamSender, msk_entry

from broadcast.engine.ue.mtk_gate import MtkGate
from broadcast.engine.ue.service_keys import MskEntry, MskStore
from broadcast.proto.keys import Msk, MskId, MtkId, Muk, MukId
from broadcast.proto.mikey import SrtpPolicy, build_msk_message
from broadcast.proto.mikey.errors import ProfileViolation, ReplayedCounter, UnknownKey
from broadcast.proto.mikey.verifier import Verifier

MUK = Muk(bytes.fromhex("6d1c0b0e7a3f49e2b5c4d8a19f20e7c3"))
MUK_ID = MukId.of("bmsc.example.org", "btid@bsf.example.org")


def pushed_msk_message(policy: SrtpPolicy | None = None) -> bytes:
    return build_msk_message(
        muk=MUK,
        muk_id=MUK_ID,
        key_domain_id=KDID,
        msk_id=MSK_ID,
        msk=Msk(MSK_BYTES),
        valid_from=MtkId(1),
        valid_to=MtkId(50),
        counter=1,
        csb_id=7,
        rand=bytes(16),
        ack=False,
        srtp_policy=policy,
    )


def test_an_msk_client_delivery_feeds_the_store_and_its_listeners() -> None:
    verifier = Verifier()  # what the MSK client does with a push
    verifier.add_muk(MUK_ID, MUK)
    accepted = verifier.receive(pushed_msk_message(SrtpPolicy()))
    assert accepted.msk is not None
    store = MskStore()
    heard: list[MskEntry] = []
    store.subscribe(heard.append)
    store.on_delivery(accepted.msk)
    (entry,) = heard
    assert (entry.key_domain_id, entry.msk_id, entry.valid_to) == (KDID, MSK_ID, MtkId(50))
    assert entry.srtp_policy == SrtpPolicy() and entry.source == "push"
    assert store.add_delivery(accepted.msk) is False  # the same MSK again: no event
    assert store.added == {"push": 1}
    assert store.find(MSK_ID) is entry and store.find(MSK_ID, KDID) is entry


def test_store_bounds_and_listener_failures(caplog: pytest.LogCaptureFixture) -> None:
    store = MskStore(max_entries=2)

    def broken(_: MskEntry) -> None:
        raise RuntimeError("listener bug")

    heard: list[MskEntry] = []
    store.subscribe(broken)
    unsubscribe = store.subscribe(heard.append)
    with caplog.at_level(logging.ERROR):
        for n in (1, 2, 3):
            store.add(msk_entry(MskId(1, n)))
    assert len(heard) == 3 and len(store) == 2
    assert store.get(KDID, MskId(1, 1)) is None  # the oldest went first
    assert "listener failed" in caplog.text
    unsubscribe()
    store.add(msk_entry(MskId(1, 4)))
    assert len(heard) == 3
    # A changed key under the same ID is news.
    assert store.add(msk_entry(MskId(1, 4), MSK2_BYTES)) is True


def test_entry_checks_and_redaction() -> None:
    with pytest.raises(ValueError, match="Key Number 0"):
        msk_entry(MskId(1, 0))
    with pytest.raises(ValueError, match="validity"):
        msk_entry(valid_from=MtkId(5), valid_to=MtkId(4))
    entry = msk_entry()
    assert MSK_BYTES.hex() not in repr(entry) + str(entry)


def test_gate_accepts_only_mtk_messages_under_installed_msks() -> None:
    gate = MtkGate()
    tx = StreamSender()
    key = tx.new_mtk()
    with pytest.raises(UnknownKey):
        gate.receive(tx.mtk_message(key))
    gate.install(msk_entry())
    assert gate.knows(KDID, MSK_ID) and not gate.knows(KDID, MSK2_ID)
    delivery = gate.receive(tx.mtk_message(key))
    assert delivery.mtk == key.mtk
    with pytest.raises(ProfileViolation, match="only MTK"):
        gate.receive(pushed_msk_message())  # an MSK message on the MTK port
    # Re-installing the same MSK keeps its COUNTER state: an old message is still a replay.
    gate.install(msk_entry())
    with pytest.raises(ReplayedCounter):
        gate.receive(tx.mtk_message(key, counter=1))
    assert MSK_BYTES.hex() not in repr(gate)
