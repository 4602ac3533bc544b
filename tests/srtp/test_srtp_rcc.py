"""RFC 4771 ROC-carrying transforms RCCm1/RCCm2/RCCm3 (spec-digest §4.4).

The expected packets are recomputed independently with the ``cryptography`` package (AES-CTR,
HMAC-SHA1) from the published RFC 3711 B.3 session keys — not with the code under test.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as c_hmac
from cryptography.hazmat.primitives.ciphers import Cipher as CCipher
from cryptography.hazmat.primitives.ciphers import algorithms, modes

from broadcast.proto.keys import Mtk, SrtpSalt
from broadcast.proto.srtp import (
    Auth,
    AuthenticationFailed,
    CryptoPolicy,
    ReplayedPacket,
    RocUnknown,
    SrtpReceiver,
    SrtpSender,
)

H = bytes.fromhex
MASTER_KEY = Mtk(H("E1F97A0D3E018BE0D64FA32C06DE4139"))
MASTER_SALT = SrtpSalt(H("0EC675AD498AFEEBB6960B3AABE6"))
# RFC 3711 B.3 / libsrtp session keys of that master key (index DIV kdr = 0).
K_E = H("C61E7A93744F39EE10734AFE3FF7A087")
K_A = H("cebe321f6ff7716b6fd4ab49af256a156d38baa4")
K_S = H("30CBBC08863D8C85D49DB34A9AE1")
MKI = H("000100010007")
SSRC = 0xCAFEBABE
R = 16


def rccm(mode: Auth, tag_len: int = 14, rate: int = R, kdr: int = 0) -> CryptoPolicy:
    return CryptoPolicy(
        srtp_auth=mode, srtp_tag_len=tag_len, roc_rate=rate, key_derivation_rate=kdr
    )


M1, M2, M3 = rccm(Auth.RCCM1), rccm(Auth.RCCM2), rccm(Auth.RCCM3, tag_len=4)


def make_rtp(seq: int, payload: bytes | None = None) -> bytes:
    payload = payload if payload is not None else seq.to_bytes(2, "big") * 10
    return (
        bytes((0x80, 0x0F))
        + seq.to_bytes(2, "big")
        + H("decafbad")
        + SSRC.to_bytes(4, "big")
        + payload
    )


def sender(policy: CryptoPolicy, roc: int = 0) -> SrtpSender:
    s = SrtpSender(policy, initial_roc=roc)
    s.keys.add(MKI, MASTER_KEY, MASTER_SALT)
    return s


def receiver(policy: CryptoPolicy, roc: int | None = 0) -> SrtpReceiver:
    r = SrtpReceiver(policy, initial_roc=roc)
    r.keys.add(MKI, MASTER_KEY, MASTER_SALT)
    return r


def independent_portion(rtp: bytes, roc: int) -> bytes:
    seq = int.from_bytes(rtp[2:4], "big")
    index = (roc << 16) | seq
    iv = ((int.from_bytes(K_S, "big") << 16) ^ (SSRC << 64) ^ (index << 16)).to_bytes(16, "big")
    enc = CCipher(algorithms.AES(K_E), modes.CTR(iv)).encryptor()
    return rtp[:12] + enc.update(rtp[12:]) + enc.finalize()


def independent_mac(portion: bytes, roc: int) -> bytes:
    h = c_hmac.HMAC(K_A, hashes.SHA1())  # HMAC-SHA1: what SRTP specifies
    h.update(portion + roc.to_bytes(4, "big"))
    return h.finalize()


# --- tag layout, recomputed independently ----------------------------------------------------
@pytest.mark.parametrize("tag_len", [14, 10, 4])
@pytest.mark.parametrize("mode", [Auth.RCCM1, Auth.RCCM2])
def test_roc_carrying_tag_matches_independent_hmac(mode: Auth, tag_len: int) -> None:
    roc = 0x00010203
    s = sender(rccm(mode, tag_len), roc=roc)
    for seq in (0x1230, 0x1231):  # 0x1230 ≡ 0 mod 16 carries the ROC
        rtp = make_rtp(seq)
        portion = independent_portion(rtp, roc)
        mac = independent_mac(portion, roc)
        if seq % R == 0:
            expected_tag = roc.to_bytes(4, "big") + mac[: tag_len - 4]
        elif mode is Auth.RCCM2:
            expected_tag = mac[:tag_len]
        else:
            expected_tag = b""  # RCCm1: packets without the ROC are not integrity protected
        assert s.protect(rtp, MKI) == portion + MKI + expected_tag


def test_rccm3_carries_the_roc_in_clear_and_no_mac() -> None:
    roc = 7
    s = sender(M3, roc=roc)
    for seq in (0x0040, 0x0041):
        rtp = make_rtp(seq)
        trailer = roc.to_bytes(4, "big") if seq % R == 0 else b""
        assert s.protect(rtp, MKI) == independent_portion(rtp, roc) + MKI + trailer


def test_srtcp_never_uses_rcc() -> None:
    s = sender(M2)
    rtcp = H("81c8000bcafebabe") + b"\xab" * 16
    srtcp = s.protect_rtcp(rtcp, MKI)
    assert len(srtcp) == len(rtcp) + 4 + len(MKI) + 10  # E||index, MKI, HMAC-SHA1-80


# --- late joiners ----------------------------------------------------------------------------
def stream(s: SrtpSender, start: int, count: int) -> list[tuple[bytes, bytes]]:
    return [
        (make_rtp(q & 0xFFFF), s.protect(make_rtp(q & 0xFFFF), MKI))
        for q in range(start, start + count)
    ]


@pytest.mark.parametrize("kdr", [0, 1 << 4])
@pytest.mark.parametrize("mode", [Auth.RCCM1, Auth.RCCM2, Auth.RCCM3])
def test_late_joiner_after_roc_wrap_locks_on_at_next_roc_carrying_packet(
    mode: Auth, kdr: int
) -> None:
    policy = rccm(mode, 4 if mode is Auth.RCCM3 else 14, kdr=kdr)
    s = sender(policy)
    packets = stream(s, 65000, 800)  # wraps at 65536: ROC 0 -> 1
    assert s.roc(SSRC) == 1
    join = 65536 + 103 - 65000  # first packet seen: SEQ 103 of ROC 1
    r = receiver(policy, roc=None)  # knows nothing
    unknown = 0
    for rtp, srtp in packets[join:]:
        seq = int.from_bytes(rtp[2:4], "big")
        if r.roc(SSRC) is None and seq % R:
            with pytest.raises(RocUnknown):
                r.unprotect(srtp)
            unknown += 1
            continue
        assert r.unprotect(srtp) == (rtp, MKI)  # from SEQ 112 on, every packet
    assert unknown == 112 - 103
    assert r.stats.rejected == {"roc_unknown": unknown}
    assert r.roc(SSRC) == s.roc(SSRC) == 1


def test_rccm2_stale_roc_from_mikey_resyncs_at_roc_carrying_packet() -> None:
    s = sender(M2)
    packets = stream(s, 65500, 200)
    r = receiver(M2, roc=0)  # told ROC 0 before the wrap; joins after it
    first = 65536 + 3 - 65500
    for _rtp, srtp in packets[first : first + 13]:  # SEQ 3..15: verified with ROC 0, fail
        with pytest.raises(AuthenticationFailed):
            r.unprotect(srtp)
    for rtp, srtp in packets[first + 13 :]:  # SEQ 16 carries ROC 1
        assert r.unprotect(srtp)[0] == rtp
    assert r.roc(SSRC) == 1
    assert r.stats.roc_resyncs == 1


def test_rccm2_recovers_after_losing_more_than_2_15_packets() -> None:
    s = sender(M2)
    r = receiver(M2)
    plain = receiver(M2)  # same, but we will only show it non-ROC packets
    packets = stream(s, 0, 101)
    for rtp, srtp in packets:
        assert r.unprotect(srtp)[0] == rtp
        plain.unprotect(srtp)
    # About 70000 packets are lost (the sender protects a few of them, nobody receives them):
    # the next SEQ looks close to s_l, but the ROC moved on.
    for seq in (20000, 40000, 60000):
        stream(s, seq, 1)
    later = stream(s, 70100, 40)  # SEQ 4564.. of ROC 1
    assert s.roc(SSRC) == 1
    for rtp, srtp in later:
        seq = int.from_bytes(rtp[2:4], "big")
        if seq < 4576:
            with pytest.raises(AuthenticationFailed):
                r.unprotect(srtp)
        else:
            assert r.unprotect(srtp)[0] == rtp
    assert r.roc(SSRC) == 1 and r.stats.roc_resyncs == 1
    # Without ROC-carrying packets the receiver would stay out of sync.
    for _rtp, srtp in later:
        if int.from_bytes(srtp[2:4], "big") % R:
            with pytest.raises(AuthenticationFailed):
                plain.unprotect(srtp)


@pytest.mark.parametrize("mode", [Auth.RCCM1, Auth.RCCM2])
def test_forged_roc_is_rejected_and_state_unchanged(mode: Auth) -> None:
    policy = rccm(mode)
    s = sender(policy)
    r = receiver(policy, roc=None)
    packets = stream(s, 16, 17)
    r.unprotect(packets[0][1])
    forged = bytearray(packets[16][1])  # SEQ 32 carries ROC 0
    forged[-14:-10] = (5).to_bytes(4, "big")
    with pytest.raises(AuthenticationFailed):
        r.unprotect(bytes(forged))
    assert r.roc(SSRC) == 0
    assert r.unprotect(packets[16][1])[0] == packets[16][0]


def test_old_roc_carrying_packet_cannot_pull_the_roc_back() -> None:
    s = sender(M2)
    r = receiver(M2)
    packets = stream(s, 65500, 100)
    for _rtp, srtp in packets:
        r.unprotect(srtp)
    assert r.roc(SSRC) == 1
    old = packets[4][1]  # SEQ 65504, ROC 0: authentic, but behind the window
    with pytest.raises(ReplayedPacket):
        r.unprotect(old)
    assert r.roc(SSRC) == 1


def test_rccm3_tampered_roc_desyncs_until_next_roc_and_app_flag_ignores_it() -> None:
    s = sender(M3, roc=3)
    packets = stream(s, 0, 40)
    r = receiver(M3, roc=3)
    trusting = receiver(M3, roc=3)
    trusting.rccm3_roc_synchronized = True
    for rtp, srtp in packets[:16]:
        assert r.unprotect(srtp)[0] == rtp
        assert trusting.unprotect(srtp)[0] == rtp
    bad = bytearray(packets[16][1])  # SEQ 16 carries ROC 3 in clear
    bad[-4:] = (9).to_bytes(4, "big")
    out, _ = r.unprotect(bytes(bad))
    assert out != packets[16][0] and r.roc(SSRC) == 9  # RFC 4771 §5: DoS until next ROC
    assert trusting.unprotect(bytes(bad))[0] == packets[16][0]  # §3: local ROC kept
    for rtp, srtp in packets[17:32]:
        assert r.unprotect(srtp)[0] != rtp
    for rtp, srtp in packets[32:]:  # SEQ 32 brings ROC 3 back
        assert r.unprotect(srtp)[0] == rtp
    assert r.roc(SSRC) == 3 and r.stats.roc_resyncs == 2
