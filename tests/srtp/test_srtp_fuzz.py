"""Hostile input: random bytes and mutated packets into unprotect/unprotect_rtcp raise only
SrtpError subclasses, and every rejection is counted."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from broadcast.proto.keys import Mtk, SrtpSalt
from broadcast.proto.srtp import Auth, Cipher, CryptoPolicy, SrtpError, SrtpReceiver, SrtpSender

POLICIES = [
    CryptoPolicy(),
    CryptoPolicy.aes_cm_128_hmac_sha1_32(),
    CryptoPolicy(srtp_auth=Auth.NULL, srtcp_auth=Auth.NULL),
    CryptoPolicy(srtp_cipher=Cipher.NULL, srtcp_encrypt=False),
    CryptoPolicy(srtp_auth=Auth.RCCM1, srtp_tag_len=14, roc_rate=2),
    CryptoPolicy(srtp_auth=Auth.RCCM2, srtp_tag_len=10, roc_rate=2, key_derivation_rate=2),
    CryptoPolicy(srtp_auth=Auth.RCCM3, srtp_tag_len=4, roc_rate=2),
]
MKIS = [b"", b"\x00\x01", b"\x00\x01\x00\x02\x00\x03"]


def contexts(policy: CryptoPolicy, mki: bytes, roc: int | None) -> tuple[SrtpSender, SrtpReceiver]:
    cap = 3 if mki else 1
    s = SrtpSender(policy, mki_len=len(mki), key_capacity=cap, max_streams=4)
    r = SrtpReceiver(policy, mki_len=len(mki), key_capacity=cap, initial_roc=roc, max_streams=4)
    for ctx in (s, r):
        ctx.keys.add(mki, Mtk(b"K" * 16), SrtpSalt(b"S" * 14))
    return s, r


def feed(receiver: SrtpReceiver, data: bytes, rtcp: bool) -> None:
    before = receiver.stats.total_rejected
    try:
        (receiver.unprotect_rtcp if rtcp else receiver.unprotect)(data)
    except SrtpError:
        assert receiver.stats.total_rejected == before + 1
    else:
        assert receiver.stats.total_rejected == before


@settings(max_examples=400, deadline=None)
@given(
    policy=st.sampled_from(POLICIES),
    mki=st.sampled_from(MKIS),
    roc=st.sampled_from([0, None, 0xFFFF_FFFF]),
    blobs=st.lists(
        st.one_of(
            st.binary(max_size=80),
            st.binary(min_size=1, max_size=80).map(lambda b: bytes([0x80 | (b[0] & 0x3F)]) + b),
            st.binary(min_size=12, max_size=80).map(lambda b: b"\x80\x00" + b[2:8] + b"\0" * 4 + b),
        ),
        min_size=1,
        max_size=8,
    ),
    rtcp=st.booleans(),
)
def test_random_bytes_raise_only_srtp_errors(
    policy: CryptoPolicy, mki: bytes, roc: int | None, blobs: list[bytes], rtcp: bool
) -> None:
    _, receiver = contexts(policy, mki, roc)
    for blob in blobs:
        # Give random bytes a chance to name a held key.
        for data in (blob, blob + mki + b"\0" * 14):
            feed(receiver, data, rtcp)


@settings(max_examples=300, deadline=None)
@given(
    policy=st.sampled_from(POLICIES),
    mki=st.sampled_from(MKIS),
    start=st.integers(0, 65535),
    edits=st.lists(
        st.tuples(st.integers(0, 200), st.integers(0, 255), st.sampled_from(["xor", "cut", "add"])),
        min_size=1,
        max_size=4,
    ),
    rtcp=st.booleans(),
)
def test_mutated_packets_raise_only_srtp_errors(
    policy: CryptoPolicy,
    mki: bytes,
    start: int,
    edits: list[tuple[int, int, str]],
    rtcp: bool,
) -> None:
    sender, receiver = contexts(policy, mki, 0)
    for n in range(4):
        seq = (start + n) & 0xFFFF
        if rtcp:
            good = sender.protect_rtcp(b"\x80\xc8\x00\x06" + b"\0\0\0\x05" + b"\x42" * 20, mki)
        else:
            rtp = b"\x90\x60" + seq.to_bytes(2, "big") + b"\0" * 4 + b"\0\0\0\x05"
            good = sender.protect(rtp + b"\xbe\xde\x00\x01abcd" + b"\x42" * 20, mki)
        bad = bytearray(good)
        for pos, value, how in edits:
            if not bad:
                break
            p = pos % len(bad)
            if how == "xor":
                bad[p] ^= value or 1
            elif how == "cut":
                del bad[p:]
            else:
                bad[p:p] = bytes([value])
        feed(receiver, bytes(bad), rtcp)
        feed(receiver, good, rtcp)
