"""The UE-side Verifier: key lookup, replay, MAC, MTK ID rules, ACKs; failures change nothing."""

from __future__ import annotations

import pytest
from mikey_support import (
    KDID,
    KEY_GROUP,
    MSK,
    MSK2,
    MSK_ID,
    MTK,
    MUK,
    MUK2,
    MUK_ID,
    RAND,
    RAND2,
    assert_no_secret,
    msk_message,
    mtk_message,
    only_mikey_errors,
    pull_message,
)

from broadcast.proto.keys import MskId, MtkId, MukId
from broadcast.proto.mikey import (
    DuplicateMessage,
    Kind,
    MacMismatch,
    MikeyDecodeError,
    MikeyError,
    MtkIdRejected,
    ProfileViolation,
    ReplayedCounter,
    SrtpPolicy,
    UnknownKey,
    Verifier,
    build_ack,
    envelope,
    verify_ack,
)
from broadcast.proto.mikey.message import Message
from broadcast.proto.mikey.payloads import Kemac, Rand


def _verifier(counter: int = 0) -> Verifier:
    v = Verifier()
    v.add_muk(MUK_ID, MUK, counter)
    return v


def _with_msk(vf: int = 1, vt: int = 100) -> Verifier:
    v = _verifier()
    v.receive(msk_message(counter=1, vf=vf, vt=vt))
    return v


def _rejects(v: Verifier, data: bytes, error: type[MikeyError]) -> MikeyError:
    exc = only_mikey_errors(lambda: v.receive(data))
    assert isinstance(exc, error), repr(exc)
    return exc


def _current_id(v: Verifier) -> MtkId | None:
    d = v.current_mtk(KDID, MSK_ID)
    return None if d is None else d.envelope.mtk_id


# --- MSK messages -----------------------------------------------------------------------------


def test_msk_accepted_after_add_muk() -> None:
    v = _verifier()
    acc = v.receive(msk_message(counter=1, policy=SrtpPolicy()))
    assert acc.kind is Kind.MSK
    assert acc.msk is not None and acc.msk.msk == MSK
    assert (acc.msk.valid_from, acc.msk.valid_to) == (MtkId(1), MtkId(100))
    assert acc.msk.srtp_policy == SrtpPolicy()
    assert acc.ack is None and acc.mtk is None and acc.pull is None
    assert v.msk(KDID, MSK_ID) == acc.msk
    assert v.msk_ids() == [(KDID, MSK_ID)]
    assert v.current_mtk(KDID, MSK_ID) is None


def test_ack_produced_when_requested_and_it_verifies_at_the_bmsc() -> None:
    v = _verifier()
    sent = msk_message(counter=1, ack=True)
    acc = v.receive(sent)
    assert acc.ack is not None
    ack_env = envelope(acc.ack)
    assert ack_env.kind is Kind.ACK
    # BM-SC side: the ACK answers exactly this MSK message under this MUK.
    verify_ack(ack_env, envelope(sent), MUK)
    assert acc.ack == build_ack(envelope(sent), MUK)
    with pytest.raises(MacMismatch):
        verify_ack(ack_env, envelope(sent), MUK2)
    with pytest.raises(ProfileViolation):
        verify_ack(ack_env, envelope(msk_message(counter=2, ack=True)), MUK)
    # A tampered ACK does not verify.
    bad = bytearray(acc.ack)
    bad[-1] ^= 1
    with pytest.raises(MacMismatch):
        verify_ack(envelope(bytes(bad)), envelope(sent), MUK)


def test_no_ack_without_v_bit() -> None:
    assert _verifier().receive(msk_message(counter=1, ack=False)).ack is None


def test_unknown_muk() -> None:
    _rejects(Verifier(), msk_message(counter=1), UnknownKey)
    v = Verifier()
    v.add_muk(MukId(MUK_ID.idi, b"another-btid@bsf.example"), MUK)
    _rejects(v, msk_message(counter=1), UnknownKey)
    _rejects(v, pull_message(counter=1), UnknownKey)


def test_wrong_muk_is_a_mac_mismatch_and_changes_nothing() -> None:
    v = _verifier()
    _rejects(v, msk_message(counter=5, muk=MUK2), MacMismatch)
    assert v.msk(KDID, MSK_ID) is None
    # The counter did not advance: a valid message with the same counter is still accepted.
    acc = v.receive(msk_message(counter=5))
    assert acc.msk is not None and acc.msk.msk == MSK


def test_counter_replay() -> None:
    v = _verifier()
    v.receive(msk_message(counter=5))
    # Same counter, different message (new RAND): a replay, not a duplicate.
    exc = _rejects(v, msk_message(counter=5, rand=RAND2), ReplayedCounter)
    assert not isinstance(exc, DuplicateMessage)
    _rejects(v, msk_message(counter=4, rand=RAND2), ReplayedCounter)
    assert v.receive(msk_message(counter=6)).kind is Kind.MSK


def test_exact_resend_of_last_accepted_is_a_duplicate() -> None:
    v = _verifier()
    first = msk_message(counter=5)
    v.receive(first)
    _rejects(v, first, DuplicateMessage)
    v.receive(msk_message(counter=6))
    # No longer the last one accepted: an ordinary replay.
    exc = _rejects(v, first, ReplayedCounter)
    assert not isinstance(exc, DuplicateMessage)


def test_initial_counter_from_add_muk() -> None:
    v = _verifier(counter=10)
    _rejects(v, msk_message(counter=10), ReplayedCounter)
    assert v.receive(msk_message(counter=11)).kind is Kind.MSK


def test_same_msk_redelivered_keeps_mtk_state_new_msk_resets_it() -> None:
    v = _with_msk()
    v.receive(mtk_message(mtk_id=3, counter=1))
    v.receive(msk_message(counter=2, vt=200))  # same key, new interval
    assert _current_id(v) == MtkId(3)
    d = v.msk(KDID, MSK_ID)
    assert d is not None and d.valid_to == MtkId(200)
    _rejects(v, mtk_message(mtk_id=4, counter=1), ReplayedCounter)  # MTK counter kept
    v.receive(msk_message(counter=3, msk=MSK2))  # a different key under the same MSK ID
    assert v.current_mtk(KDID, MSK_ID) is None
    acc = v.receive(mtk_message(mtk_id=1, counter=1, msk=MSK2))
    assert acc.mtk is not None and acc.mtk.mtk == MTK


# --- MTK messages -----------------------------------------------------------------------------


def test_mtk_messages_accepted_in_increasing_mtk_ids() -> None:
    v = _with_msk()
    for counter, mtk_id in enumerate((1, 2, 5, 100), start=1):
        acc = v.receive(mtk_message(mtk_id=mtk_id, counter=counter))
        assert acc.kind is Kind.MTK
        assert acc.mtk is not None and acc.mtk.mtk == MTK
        assert acc.mtk.envelope.mtk_id == MtkId(mtk_id)
        assert _current_id(v) == MtkId(mtk_id)
        assert v.mtk(KDID, MSK_ID, MtkId(mtk_id)) == acc.mtk


def test_only_the_last_few_mtks_are_kept() -> None:
    v = _with_msk()
    for i in range(1, 8):
        v.receive(mtk_message(mtk_id=i, counter=i, streaming=i % 2 == 0))
    kept = [i for i in range(1, 8) if v.mtk(KDID, MSK_ID, MtkId(i)) is not None]
    assert kept == list(range(8 - Verifier.MTKS_KEPT, 8))


@pytest.mark.parametrize("mtk_id", [101, 0xFFFF])
def test_mtk_id_above_validity_interval(mtk_id: int) -> None:
    v = _with_msk(vf=1, vt=100)
    _rejects(v, mtk_message(mtk_id=mtk_id, counter=1), MtkIdRejected)
    assert v.current_mtk(KDID, MSK_ID) is None
    # Nothing changed: the same counter is still usable.
    assert v.receive(mtk_message(mtk_id=100, counter=1)).kind is Kind.MTK


def test_mtk_id_below_validity_interval() -> None:
    v = _with_msk(vf=10, vt=20)
    _rejects(v, mtk_message(mtk_id=9, counter=1), MtkIdRejected)
    assert v.receive(mtk_message(mtk_id=10, counter=1)).kind is Kind.MTK


def test_mtk_id_not_newer() -> None:
    v = _with_msk()
    v.receive(mtk_message(mtk_id=5, counter=1))
    _rejects(v, mtk_message(mtk_id=5, counter=2, rand=RAND2), MtkIdRejected)
    _rejects(v, mtk_message(mtk_id=4, counter=3), MtkIdRejected)
    assert _current_id(v) == MtkId(5)
    # The rejected counters were not consumed.
    assert v.receive(mtk_message(mtk_id=6, counter=2)).kind is Kind.MTK


def test_mtk_counter_replay_and_duplicate() -> None:
    v = _with_msk()
    first = mtk_message(mtk_id=1, counter=7)
    v.receive(first)
    _rejects(v, first, DuplicateMessage)  # periodic re-send
    exc = _rejects(v, mtk_message(mtk_id=2, counter=7), ReplayedCounter)
    assert not isinstance(exc, DuplicateMessage)
    _rejects(v, mtk_message(mtk_id=2, counter=6), ReplayedCounter)
    assert _current_id(v) == MtkId(1)


def test_mtk_under_unknown_msk() -> None:
    v = _with_msk()
    _rejects(v, mtk_message(mtk_id=1, counter=1, msk_id=MskId(KEY_GROUP, 9)), UnknownKey)
    _rejects(Verifier(), mtk_message(mtk_id=1, counter=1), UnknownKey)


def test_mtk_under_the_wrong_msk_key() -> None:
    v = _with_msk()
    _rejects(v, mtk_message(mtk_id=1, counter=1, msk=MSK2), MacMismatch)
    assert v.current_mtk(KDID, MSK_ID) is None


def _authenticated_ranges(raw: bytes) -> dict[str, range]:
    """Byte ranges of pure data inside an MTK message: flipping them can only break the MAC."""
    msg = Message.decode(raw)
    rand = msg.first(Rand)
    kemac = msg.first(Kemac)
    assert rand is not None and kemac is not None
    r = raw.index(rand.value)
    e = raw.index(kemac.encr_data)
    return {
        "CSB ID": range(4, 8),
        "RAND": range(r, r + len(rand.value)),
        "Encr data": range(e, e + len(kemac.encr_data)),
        "MAC": range(len(raw) - 20, len(raw)),
    }


@pytest.mark.parametrize("streaming", [True, False], ids=["streaming", "download"])
def test_tampered_mtk_message_is_rejected_at_every_bit(streaming: bool) -> None:
    v = _with_msk()
    v.receive(mtk_message(mtk_id=1, counter=1, streaming=streaming))
    good = mtk_message(mtk_id=2, counter=2, rand=RAND2, streaming=streaming)
    mac_only = _authenticated_ranges(good)
    before = v.current_mtk(KDID, MSK_ID)
    for i in range(len(good)):
        for bit in range(8):
            bad = bytearray(good)
            bad[i] ^= 1 << bit
            exc = only_mikey_errors(lambda bad=bad: v.receive(bytes(bad)))
            assert exc is not None, (i, bit)
            assert isinstance(
                exc,
                MacMismatch | MikeyDecodeError | ProfileViolation | UnknownKey | ReplayedCounter,
            ), (i, bit, exc)
            if any(i in rng for rng in mac_only.values()):
                assert isinstance(exc, MacMismatch), (i, bit, exc)
            # A failed message never changes the current MTK.
            assert v.current_mtk(KDID, MSK_ID) == before
    acc = v.receive(good)
    assert acc.mtk is not None and _current_id(v) == MtkId(2)


def test_tampered_msk_message_is_rejected_at_every_bit() -> None:
    good = msk_message(counter=1, ack=True, policy=SrtpPolicy())
    v = _verifier()
    for i in range(len(good)):
        for bit in range(8):
            bad = bytearray(good)
            bad[i] ^= 1 << bit
            exc = only_mikey_errors(lambda bad=bad: v.receive(bytes(bad)))
            assert exc is not None, (i, bit)
            assert v.msk_ids() == []
    assert v.receive(good).ack is not None


# --- solicited pull and others --------------------------------------------------------------


def test_solicited_pull_accepted_returns_the_key_group() -> None:
    v = _verifier()
    acc = v.receive(pull_message(counter=3))
    assert acc.kind is Kind.SOLICITED_PULL
    assert acc.pull is not None and acc.pull.key_group == KEY_GROUP
    assert acc.pull.envelope.msk_id == MskId.current(KEY_GROUP)
    assert acc.ack is None and acc.msk is None
    # The pull shares the MUK's counter with MSK messages.
    _rejects(v, msk_message(counter=3), ReplayedCounter)
    _rejects(v, pull_message(counter=2, rand=RAND), ReplayedCounter)
    assert v.receive(msk_message(counter=4)).kind is Kind.MSK


def test_solicited_pull_with_wrong_muk() -> None:
    v = _verifier()
    _rejects(v, pull_message(counter=1, muk=MUK2), MacMismatch)
    assert v.receive(pull_message(counter=1)).kind is Kind.SOLICITED_PULL


def test_a_ue_does_not_accept_acks() -> None:
    v = _verifier()
    acc = v.receive(msk_message(counter=1, ack=True))
    assert acc.ack is not None
    _rejects(v, acc.ack, UnknownKey)


def test_verifier_errors_never_show_key_material() -> None:
    v = _with_msk()
    for data in (
        msk_message(counter=1, muk=MUK2),
        mtk_message(mtk_id=1, counter=1, msk=MSK2),
        mtk_message(mtk_id=200, counter=1),
        msk_message(counter=1),
    ):
        exc = only_mikey_errors(lambda data=data: v.receive(data))
        assert exc is not None
        assert_no_secret(str(exc))


# --- MSKs installed out of band (add_msk) -----------------------------------------------------


def test_add_msk_gives_mtk_messages_the_same_checks() -> None:
    v = Verifier()
    v.add_msk(KDID, MSK_ID, MSK, MtkId(1), MtkId(100))
    assert v.knows_msk(KDID, MSK_ID)
    assert v.msk(KDID, MSK_ID) is None  # no MSK message behind it
    acc = v.receive(mtk_message(mtk_id=3, counter=2))
    assert acc.mtk is not None and acc.mtk.mtk == MTK
    _rejects(v, mtk_message(mtk_id=101, counter=3), MtkIdRejected)
    _rejects(v, mtk_message(mtk_id=4, counter=2, rand=RAND2), ReplayedCounter)


def test_add_msk_again_keeps_replay_state_new_key_resets_it() -> None:
    v = Verifier()
    v.add_msk(KDID, MSK_ID, MSK, MtkId(1), MtkId(100))
    v.receive(mtk_message(mtk_id=3, counter=5))
    v.add_msk(KDID, MSK_ID, MSK, MtkId(1), MtkId(100))
    _rejects(v, mtk_message(mtk_id=4, counter=5, rand=RAND2), ReplayedCounter)
    assert _current_id(v) == MtkId(3)
    v.add_msk(KDID, MSK_ID, MSK2, MtkId(1), MtkId(100))
    assert _current_id(v) is None
    _rejects(v, mtk_message(mtk_id=4, counter=6), MacMismatch)  # signed with the old MSK


def test_add_msk_does_not_reveal_the_key() -> None:
    v = Verifier()
    v.add_msk(KDID, MSK_ID, MSK, MtkId(1), MtkId(100))
    assert_no_secret(repr(v))
    assert_no_secret(repr(v.__dict__))
