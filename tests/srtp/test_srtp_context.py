"""Crypto-context behaviour: master keys by MKI, replay, tampering, ROC across SEQ wrap, key
lifetimes, key derivation rate, bounded state, redaction (RFC 3711 §3.2, §3.3, §4.3, §9.2)."""

from __future__ import annotations

import pytest

from broadcast.proto.keys import MskId, Mtk, MtkId, SrtpSalt, srtp_mki
from broadcast.proto.srtp import (
    AuthenticationFailed,
    BadVersion,
    CryptoPolicy,
    IndexReused,
    KeyLifetimeExhausted,
    KeyRingError,
    PacketTooShort,
    PolicyMismatch,
    ReplayedPacket,
    RocUnknown,
    SrtpError,
    SrtpReceiver,
    SrtpSender,
    TooManyStreams,
    UnknownMki,
    derive_session_keys,
)
from broadcast.proto.srtp.replay import ReplayWindow, Verdict, estimate_index
from broadcast.proto.srtp.transform import protect_rtcp, protect_rtp

MSK = MskId(0x0001, 0x0002)
KEY_A, SALT_A = Mtk(bytes(range(16))), SrtpSalt(bytes(range(100, 114)))
KEY_B, SALT_B = Mtk(bytes(range(16, 32))), SrtpSalt(bytes(range(50, 64)))
KEY_C, SALT_C = Mtk(b"\xc3" * 16), SrtpSalt(b"\x3c" * 14)
MKI_A, MKI_B, MKI_C = (srtp_mki(MSK, MtkId(n)) for n in (1, 2, 3))
SSRC = 0x0BADCAFE


def make_rtp(seq: int, payload: bytes = b"payload!" * 4, ssrc: int = SSRC) -> bytes:
    return (
        bytes((0x80, 96)) + seq.to_bytes(2, "big") + b"\0\0\0\0" + ssrc.to_bytes(4, "big") + payload
    )


def make_rtcp(ssrc: int = SSRC) -> bytes:
    return bytes((0x80, 200, 0, 6)) + ssrc.to_bytes(4, "big") + b"\x11" * 20


def contexts(policy: CryptoPolicy | None = None, **kwargs: int) -> tuple[SrtpSender, SrtpReceiver]:
    policy = policy or CryptoPolicy()
    sender, receiver = SrtpSender(policy, **kwargs), SrtpReceiver(policy, **kwargs)
    for ctx in (sender, receiver):
        ctx.keys.add(srtp_mki(MSK, MtkId(1)), KEY_A, SALT_A)
        ctx.keys.add(srtp_mki(MSK, MtkId(2)), KEY_B, SALT_B)
    return sender, receiver


# --- master keys by MKI ----------------------------------------------------------------------
def test_mki_layout_is_msk_id_then_mtk_id() -> None:
    sender, _ = contexts()
    srtp = sender.protect(make_rtp(1), MKI_B)
    assert srtp[-16:-10] == bytes(MSK) + b"\x00\x02"


def test_master_key_switch_mid_stream_with_late_packets_of_the_old_key() -> None:
    sender, receiver = contexts()
    sent = []
    for seq in range(65530, 65530 + 20):
        mki = MKI_A if seq < 65540 else MKI_B
        sent.append((make_rtp(seq & 0xFFFF), mki, sender.protect(make_rtp(seq & 0xFFFF), mki)))
    # Deliver with two old-key packets arriving after the switch.
    order = sent[:8] + sent[10:14] + sent[8:10] + sent[14:]
    for rtp, mki, srtp in order:
        assert receiver.unprotect(srtp) == (rtp, mki)
    assert receiver.keys.usage(MKI_A).srtp_packets == 10
    assert receiver.keys.usage(MKI_B).srtp_packets == 10
    assert receiver.roc(SSRC) == sender.roc(SSRC) == 1


def test_key_ring_is_bounded_and_evicts_the_oldest() -> None:
    sender, receiver = contexts()
    old = sender.protect(make_rtp(5), MKI_A)
    assert receiver.keys.add(srtp_mki(MSK, MtkId(3)), KEY_C, SALT_C) is None  # capacity 3
    assert receiver.keys.add(srtp_mki(MSK, MtkId(4)), KEY_C, SALT_A) == MKI_A
    assert receiver.keys.mkis == (MKI_B, MKI_C, srtp_mki(MSK, MtkId(4)))
    with pytest.raises(UnknownMki):
        receiver.unprotect(old)
    assert receiver.stats.rejected["unknown_mki"] == 1
    with pytest.raises(UnknownMki):
        sender.protect(make_rtp(6), MKI_C)


def test_key_ring_readd_is_idempotent_and_conflicts_are_refused() -> None:
    sender, _ = contexts()
    sender.protect(make_rtp(1), MKI_A)
    assert sender.keys.add(MKI_A, Mtk(KEY_A.secret), SrtpSalt(SALT_A.secret)) is None
    assert sender.keys.usage(MKI_A).srtp_packets == 1  # counters kept
    with pytest.raises(KeyRingError):
        sender.keys.add(MKI_A, KEY_B, SALT_A)
    with pytest.raises(KeyRingError):
        sender.keys.add(b"\x01\x02", KEY_C, SALT_C)  # wrong MKI length
    with pytest.raises(KeyRingError):
        sender.keys.add(MKI_C, b"short", SALT_C.secret)
    assert sender.keys.remove(MKI_A) and not sender.keys.remove(MKI_A)
    assert MKI_A not in sender.keys and MKI_B in sender.keys and len(sender.keys) == 1


def test_mki_is_not_authenticated_so_a_swapped_mki_fails_authentication() -> None:
    sender, receiver = contexts()
    srtp = sender.protect(make_rtp(9), MKI_A)
    swapped = srtp[:-16] + MKI_B + srtp[-10:]
    with pytest.raises(AuthenticationFailed):
        receiver.unprotect(swapped)
    assert receiver.unprotect(srtp)[1] == MKI_A


# --- replay ---------------------------------------------------------------------------------
def test_replay_rejected_and_counted() -> None:
    sender, receiver = contexts()
    packets = [sender.protect(make_rtp(seq), MKI_A) for seq in range(300)]
    receiver.unprotect(packets[0])
    with pytest.raises(ReplayedPacket):
        receiver.unprotect(packets[0])
    for p in packets[1:]:
        receiver.unprotect(p)
    with pytest.raises(ReplayedPacket, match="too old"):
        receiver.unprotect(packets[100])  # 199 behind, window 128
    with pytest.raises(ReplayedPacket, match="duplicate"):
        receiver.unprotect(packets[250])
    assert receiver.stats.rejected["replayed"] == 3
    assert receiver.stats.srtp_accepted == 300


def test_srtcp_replay_rejected() -> None:
    sender, receiver = contexts()
    first = sender.protect_rtcp(make_rtcp(), MKI_A)
    second = sender.protect_rtcp(make_rtcp(), MKI_B)
    assert receiver.unprotect_rtcp(second)[1] == MKI_B
    assert receiver.unprotect_rtcp(first)[1] == MKI_A
    for p in (first, second):
        with pytest.raises(ReplayedPacket):
            receiver.unprotect_rtcp(p)


def test_replay_window_unit() -> None:
    w = ReplayWindow(64)
    assert w.check(10) is Verdict.FRESH
    w.accept(10)
    w.accept(12)
    assert w.check(11) is Verdict.FRESH and w.check(10) is Verdict.DUPLICATE
    w.accept(10 + (1 << 40))  # a large jump neither loops nor grows the mask
    assert w.check(12) is Verdict.TOO_OLD and w.check(10 + (1 << 40)) is Verdict.DUPLICATE
    with pytest.raises(ValueError):
        ReplayWindow(63)


# --- tampering ------------------------------------------------------------------------------
@pytest.mark.parametrize("position", [1, 3, 5, 11, 12, 30, -16, -1])
def test_tampered_packet_rejected_and_state_unchanged(position: int) -> None:
    sender, receiver = contexts()
    for seq in range(65000, 65010):
        receiver.unprotect(sender.protect(make_rtp(seq), MKI_A))
    genuine = sender.protect(make_rtp(65010), MKI_A)
    bad = bytearray(genuine)
    bad[position] ^= 0x01
    roc_before, accepted_before = receiver.roc(SSRC), receiver.stats.srtp_accepted
    with pytest.raises((AuthenticationFailed, UnknownMki)):
        receiver.unprotect(bytes(bad))
    assert receiver.roc(SSRC) == roc_before
    assert receiver.stats.srtp_accepted == accepted_before
    assert receiver.keys.usage(MKI_A).srtp_packets == 10
    assert receiver.unprotect(genuine)[0] == make_rtp(65010)  # not marked as seen


def test_forged_wrap_does_not_move_the_roc() -> None:
    sender, receiver = contexts()
    for seq in range(40000, 40010):
        receiver.unprotect(sender.protect(make_rtp(seq), MKI_A))
    forged = bytearray(sender.protect(make_rtp(40010), MKI_A))
    forged[2:4] = (5).to_bytes(2, "big")  # s_l - 32768 > 5: estimated as ROC + 1
    with pytest.raises(AuthenticationFailed):
        receiver.unprotect(bytes(forged))
    assert receiver.roc(SSRC) == 0
    assert receiver.stats.rejected == {"auth_failed": 1}


def test_srtcp_tampered_and_e_flag_mismatch() -> None:
    sender, receiver = contexts()
    srtcp = bytearray(sender.protect_rtcp(make_rtcp(), MKI_A))
    srtcp[10] ^= 0x80
    with pytest.raises(AuthenticationFailed):
        receiver.unprotect_rtcp(bytes(srtcp))
    # An authentic packet whose E flag contradicts the receiver's policy.
    plain_sender = SrtpSender(CryptoPolicy(srtcp_encrypt=False))
    plain_sender.keys.add(MKI_A, KEY_A, SALT_A)
    with pytest.raises(PolicyMismatch):
        receiver.unprotect_rtcp(plain_sender.protect_rtcp(make_rtcp(), MKI_A))


def test_bad_headers() -> None:
    _, receiver = contexts()
    with pytest.raises(PacketTooShort):
        receiver.unprotect(b"\x80" * 11)
    with pytest.raises(BadVersion):
        receiver.unprotect(b"\x40" + b"\0" * 40)
    with pytest.raises(PacketTooShort):
        receiver.unprotect(b"\x8f" + b"\0" * 40)  # 15 CSRCs do not fit
    with pytest.raises(PacketTooShort):
        receiver.unprotect_rtcp(b"\x80\xc8\x00\x01" + b"\0" * 10)
    with pytest.raises(BadVersion):
        receiver.unprotect_rtcp(b"\x00" * 40)


# --- index / ROC ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("highest", "seq", "expected"),
    [
        (0x0005_0010, 0x0011, 0x0005_0011),
        (0x0005_0010, 0xFFF0, 0x0004_FFF0),  # s_l < 2^15, SEQ far above: previous ROC
        (0x0005_FFF0, 0x0003, 0x0006_0003),  # s_l ≥ 2^15, SEQ far below: next ROC
        (0x0005_9000, 0x0FFF, 0x0006_0FFF),
        (0x0005_9000, 0x1000, 0x0005_1000),  # s_l - 32768 = 0x1000: not > SEQ
        (0x0005_8000, 0x0000, 0x0005_0000),
        (0x0000_0001, 0xFFFF, -1),  # before ROC 0: caller rejects
    ],
)
def test_appendix_a_estimation(highest: int, seq: int, expected: int) -> None:
    assert estimate_index(highest, seq) == expected


def test_roc_follows_seq_wraps_on_both_sides() -> None:
    sender, receiver = contexts()
    seq = 30000
    for _ in range(12):  # three wraps, steps < 2^15
        for step in (0, 1):
            s = (seq + step) & 0xFFFF
            receiver.unprotect(sender.protect(make_rtp(s), MKI_A))
        seq += 20000
    assert sender.roc(SSRC) == receiver.roc(SSRC) == (seq - 20000) >> 16


def test_sender_refuses_index_reuse() -> None:
    sender, _ = contexts()
    sender.protect(make_rtp(7), MKI_A)
    with pytest.raises(IndexReused):
        sender.protect(make_rtp(7), MKI_B)  # same index, even under another key


def test_receiver_without_roc_and_without_rcc_reports_roc_unknown() -> None:
    sender, _ = contexts()
    receiver = SrtpReceiver(CryptoPolicy(), initial_roc=None)
    receiver.keys.add(MKI_A, KEY_A, SALT_A)
    srtp = sender.protect(make_rtp(3), MKI_A)
    with pytest.raises(RocUnknown):
        receiver.unprotect(srtp)
    assert receiver.roc(SSRC) is None
    assert receiver.set_roc(SSRC, 0)
    assert receiver.unprotect(srtp)[0] == make_rtp(3)
    assert not receiver.set_roc(SSRC, 9)  # the stream has history now: ignored
    assert receiver.roc(SSRC) == 0


def test_set_roc_from_mikey_then_decrypt() -> None:
    sender, receiver = contexts()
    sender.set_roc(SSRC, 0x1234)
    receiver.set_roc(SSRC, 0x1234)
    srtp = sender.protect(make_rtp(77), MKI_A)
    assert receiver.unprotect(srtp)[0] == make_rtp(77)
    assert receiver.roc(SSRC) == sender.roc(SSRC) == 0x1234
    with pytest.raises(ValueError):
        sender.set_roc(SSRC, 1)


# --- lifetimes ------------------------------------------------------------------------------
def test_srtp_packet_limit_per_master_key() -> None:
    sender, receiver = contexts(srtp_packet_limit=3, srtcp_packet_limit=2)
    packets = [sender.protect(make_rtp(i), MKI_A) for i in range(3)]
    with pytest.raises(KeyLifetimeExhausted):
        sender.protect(make_rtp(3), MKI_A)
    packets.append(sender.protect(make_rtp(3), MKI_B))  # the next MTK takes over
    for p in packets:
        receiver.unprotect(p)
    late = SrtpSender(CryptoPolicy())
    late.keys.add(MKI_A, KEY_A, SALT_A)
    with pytest.raises(KeyLifetimeExhausted):
        receiver.unprotect(late.protect(make_rtp(9), MKI_A))
    assert receiver.stats.rejected["key_exhausted"] == 1


def test_srtcp_packet_limit_per_master_key() -> None:
    sender, _ = contexts(srtcp_packet_limit=2)
    sender.protect_rtcp(make_rtcp(), MKI_A)
    sender.protect_rtcp(make_rtcp(), MKI_A)
    with pytest.raises(KeyLifetimeExhausted):
        sender.protect_rtcp(make_rtcp(), MKI_A)
    assert sender.protect_rtcp(make_rtcp(), MKI_B)  # index 2 under the new key


def test_limits_cannot_exceed_rfc_values() -> None:
    with pytest.raises(KeyRingError):
        SrtpSender(CryptoPolicy(), srtp_packet_limit=(1 << 48) + 1)
    with pytest.raises(KeyRingError):
        SrtpSender(CryptoPolicy(), srtcp_packet_limit=(1 << 31) + 1)
    with pytest.raises(KeyRingError):
        SrtpSender(CryptoPolicy(), key_capacity=17)
    with pytest.raises(KeyRingError):
        SrtpSender(CryptoPolicy(), mki_len=0, key_capacity=2)


def test_sender_index_space_exhausted() -> None:
    sender = SrtpSender(CryptoPolicy(), initial_roc=0xFFFF_FFFF)
    sender.keys.add(MKI_A, KEY_A, SALT_A)
    sender.protect(make_rtp(0xFFFE), MKI_A)
    sender.protect(make_rtp(0xFFFF), MKI_A)
    with pytest.raises(KeyLifetimeExhausted):
        sender.protect(make_rtp(0), MKI_A)


# --- key derivation rate --------------------------------------------------------------------
def test_nonzero_key_derivation_rate_rekeys_every_kdr_packets() -> None:
    policy = CryptoPolicy(key_derivation_rate=4)
    sender, receiver = contexts(policy)
    roc = 2
    sender.set_roc(SSRC, roc)
    receiver.set_roc(SSRC, roc)
    for seq in range(65530, 65530 + 12):
        s = seq & 0xFFFF
        index = ((roc + (seq >> 16)) << 16) | s
        keys = derive_session_keys(KEY_A, SALT_A, index=index, key_derivation_rate=4)
        rtp = make_rtp(s)
        expected = protect_rtp(policy, keys, rtp, header_len=12, ssrc=SSRC, index=index, mki=MKI_A)
        srtp = sender.protect(rtp, MKI_A)
        assert srtp == expected
        assert receiver.unprotect(srtp)[0] == rtp
    k0 = derive_session_keys(KEY_A, SALT_A, index=0, key_derivation_rate=4)
    k3 = derive_session_keys(KEY_A, SALT_A, index=3, key_derivation_rate=4)
    k4 = derive_session_keys(KEY_A, SALT_A, index=4, key_derivation_rate=4)
    assert k0.encryption_key == k3.encryption_key != k4.encryption_key
    # SRTCP: labels 3-5 and r = SRTCP index DIV kdr.
    for i in range(6):
        rk = derive_session_keys(KEY_A, SALT_A, rtcp=True, index=i, key_derivation_rate=4)
        exp = protect_rtcp(policy, rk, make_rtcp(), ssrc=SSRC, index=i, mki=MKI_A)
        assert sender.protect_rtcp(make_rtcp(), MKI_A) == exp
        assert receiver.unprotect_rtcp(exp)[0] == make_rtcp()


# --- bounded state and redaction ------------------------------------------------------------
def test_stream_table_is_bounded() -> None:
    sender, receiver = contexts(max_streams=2)
    for ssrc in (1, 2):
        receiver.unprotect(sender.protect(make_rtp(1, ssrc=ssrc), MKI_A))
    with pytest.raises(TooManyStreams):
        sender.protect(make_rtp(1, ssrc=3), MKI_A)
    other = SrtpSender(CryptoPolicy())
    other.keys.add(MKI_A, KEY_A, SALT_A)
    with pytest.raises(TooManyStreams):
        receiver.unprotect(other.protect(make_rtp(1, ssrc=3), MKI_A))
    assert receiver.roc(3) == 0  # default for an unknown SSRC, nothing stored


def test_reprs_and_error_messages_never_show_keys() -> None:
    sender, receiver = contexts(srtp_packet_limit=1)
    secrets = [k.secret.hex() for k in (KEY_A, KEY_B, SALT_A, SALT_B)]
    srtp = sender.protect(make_rtp(1), MKI_A)
    texts = [repr(sender), repr(receiver), repr(sender.keys), repr(sender.keys.get(MKI_A))]
    texts.append(repr(sender.keys.get(MKI_A).session_keys(rtcp=False, index=0)))
    receiver.unprotect(srtp)
    for action in (
        lambda: receiver.unprotect(srtp),
        lambda: receiver.unprotect(srtp[:-1] + b"\0"),
        lambda: sender.protect(make_rtp(2), MKI_A),
        lambda: receiver.unprotect(b"\x80" * 40),
    ):
        with pytest.raises(SrtpError) as info:
            action()
        texts.append(str(info.value))
    for text in texts:
        for secret in secrets:
            assert secret not in text.lower()
