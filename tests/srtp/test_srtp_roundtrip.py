"""Property tests: protect -> unprotect returns the packet, for every supported policy, random
SSRCs, headers, payloads and SEQ sequences that wrap (RFC 3711 §3.3, Appendix A; RFC 4771)."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broadcast.proto.keys import Mtk, SrtpSalt
from broadcast.proto.mikey import SrtpPolicy
from broadcast.proto.srtp import Auth, Cipher, CryptoPolicy, SrtpReceiver, SrtpSender

POLICIES = {
    "hmac80": CryptoPolicy.aes_cm_128_hmac_sha1_80(),
    "hmac32": CryptoPolicy.aes_cm_128_hmac_sha1_32(),
    "null-cipher": CryptoPolicy(srtp_cipher=Cipher.NULL, srtcp_encrypt=False),
    "null-auth": CryptoPolicy(srtp_auth=Auth.NULL, srtcp_auth=Auth.NULL),
    "null-null": CryptoPolicy(
        srtp_cipher=Cipher.NULL, srtcp_encrypt=False, srtp_auth=Auth.NULL, srtcp_auth=Auth.NULL
    ),
    "rccm1": CryptoPolicy(srtp_auth=Auth.RCCM1, srtp_tag_len=14, roc_rate=16),
    "rccm2": CryptoPolicy(srtp_auth=Auth.RCCM2, srtp_tag_len=14, roc_rate=16),
    "rccm2-r1": CryptoPolicy(srtp_auth=Auth.RCCM2, srtp_tag_len=10, roc_rate=1),
    "rccm3": CryptoPolicy(srtp_auth=Auth.RCCM3, srtp_tag_len=4, roc_rate=16),
    "rccm2-kdr": CryptoPolicy(srtp_auth=Auth.RCCM2, roc_rate=4, key_derivation_rate=1 << 4),
    "hmac80-kdr": CryptoPolicy(key_derivation_rate=1),
    "profile-default": CryptoPolicy.from_srtp_policy(SrtpPolicy()),
}


def make_rtp(
    seq: int,
    ssrc: int,
    payload: bytes,
    *,
    csrcs: tuple[int, ...] = (),
    ext: bytes | None = None,
    pt: int = 96,
) -> bytes:
    """A version-2 RTP packet (RFC 3550 §5.1) with optional CSRCs and header extension."""
    b0 = 0x80 | (0x10 if ext is not None else 0) | len(csrcs)
    out = bytes((b0, pt)) + seq.to_bytes(2, "big") + (seq * 160).to_bytes(4, "big")[-4:]
    out += ssrc.to_bytes(4, "big") + b"".join(c.to_bytes(4, "big") for c in csrcs)
    if ext is not None:
        out += b"\xbe\xde" + (len(ext) // 4).to_bytes(2, "big") + ext
    return out + payload


def make_rtcp(ssrc: int, body: bytes) -> bytes:
    """An RTCP SR-like packet: V=2, PT 200, length, SSRC, body (RFC 3550 §6.4.1)."""
    words = (8 + len(body)) // 4 - 1
    return bytes((0x80, 200)) + words.to_bytes(2, "big") + ssrc.to_bytes(4, "big") + body


def pair(
    policy: CryptoPolicy, mki: bytes, key: bytes, salt: bytes, roc: int = 0
) -> tuple[SrtpSender, SrtpReceiver]:
    sender = SrtpSender(policy, mki_len=len(mki), initial_roc=roc, key_capacity=3 if mki else 1)
    receiver = SrtpReceiver(policy, mki_len=len(mki), initial_roc=roc, key_capacity=3 if mki else 1)
    for ctx in (sender, receiver):
        ctx.keys.add(mki, Mtk(key), SrtpSalt(salt))
    return sender, receiver


header_ext = st.one_of(st.none(), st.binary(min_size=0, max_size=3).map(lambda b: b * 4))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted(POLICIES)),
    key=st.binary(min_size=16, max_size=16),
    salt=st.binary(min_size=14, max_size=14),
    mki=st.sampled_from([b"", b"\x01\x02\x03\x04", b"\x00\x01\x00\x07\x00\x2a"]),
    ssrc=st.integers(0, 2**32 - 1),
    roc=st.one_of(st.just(0), st.integers(0, 2**32 - 2)),
    start=st.one_of(st.integers(65400, 65535), st.integers(0, 65535)),
    gaps=st.lists(st.one_of(st.just(1), st.integers(1, 32000)), min_size=1, max_size=25),
    payloads=st.lists(st.binary(max_size=120), min_size=1, max_size=25),
    csrcs=st.lists(st.integers(0, 2**32 - 1), max_size=3).map(tuple),
    ext=header_ext,
)
def test_srtp_round_trip(
    name: str,
    key: bytes,
    salt: bytes,
    mki: bytes,
    ssrc: int,
    roc: int,
    start: int,
    gaps: list[int],
    payloads: list[bytes],
    csrcs: tuple[int, ...],
    ext: bytes | None,
) -> None:
    policy = POLICIES[name]
    sender, receiver = pair(policy, mki, key, salt, roc)
    seq, index = start, (roc << 16) | start
    for n, gap in enumerate(gaps):
        rtp = make_rtp(seq, ssrc, payloads[n % len(payloads)], csrcs=csrcs, ext=ext)
        srtp = sender.protect(rtp, mki)
        header_len = len(rtp) - len(payloads[n % len(payloads)])
        assert srtp[:header_len] == rtp[:header_len]  # the header stays in clear
        if policy.srtp_cipher is Cipher.NULL:
            assert srtp[: len(rtp)] == rtp
        assert receiver.unprotect(srtp) == (rtp, mki)
        assert receiver.roc(ssrc) == sender.roc(ssrc) == index >> 16
        if index + gap >= 1 << 48:
            break
        index += gap
        seq = index & 0xFFFF
    assert receiver.stats.srtp_accepted == sender.keys.usage(mki).srtp_packets
    assert receiver.stats.total_rejected == 0


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(sorted(POLICIES)),
    ssrc=st.integers(0, 2**32 - 1),
    bodies=st.lists(st.binary(max_size=40).map(lambda b: b + b"\0" * (-len(b) % 4)), max_size=8),
)
def test_srtcp_round_trip(name: str, ssrc: int, bodies: list[bytes]) -> None:
    mki = b"\x00\x02\x00\x00\x00\x09"
    sender, receiver = pair(POLICIES[name], mki, bytes(range(16)), bytes(range(14)))
    for i, body in enumerate(bodies):
        rtcp = make_rtcp(ssrc, body)
        srtcp = sender.protect_rtcp(rtcp, mki)
        e_index = int.from_bytes(srtcp[len(rtcp) : len(rtcp) + 4], "big")
        assert e_index & 0x7FFF_FFFF == i
        assert bool(e_index >> 31) is POLICIES[name].srtcp_encrypt
        assert receiver.unprotect_rtcp(srtcp) == (rtcp, mki)
    assert receiver.stats.srtcp_accepted == len(bodies)


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(sorted(POLICIES)),
    start=st.integers(65480, 65535),
    seed=st.integers(0, 2**32 - 1),
)
def test_reordered_delivery_inside_the_window(name: str, start: int, seed: int) -> None:
    """Packets shuffled within blocks of 8 across a SEQ wrap all decrypt (Appendix A, §3.3.2)."""
    mki = b"\xaa" * 6
    sender, receiver = pair(POLICIES[name], mki, b"k" * 16, b"s" * 14)
    packets = [make_rtp((start + i) & 0xFFFF, 7, bytes([i]) * 20) for i in range(64)]
    protected = [(rtp, sender.protect(rtp, mki)) for rtp in packets]
    rng = random.Random(seed)
    # The first packet of each RCC mode's stream is sent first so the receiver has a reference.
    order = [protected[0]]
    for block in range(0, 64, 8):
        chunk = protected[max(block, 1) : block + 8]
        rng.shuffle(chunk)
        order += chunk
    for rtp, srtp in order:
        assert receiver.unprotect(srtp) == (rtp, mki)
    assert receiver.roc(7) == sender.roc(7) == 1
