"""Native batch SRTP (broadcast._native.srtp_batch via broadcast.proto.srtp.batch) against the pure
per-packet sender/receiver: byte-for-byte output, state, typed errors, tamper detection."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import broadcast._native.srtp_batch  # noqa: F401  (the native module under test; no fallback)
from broadcast.proto.srtp import (
    Auth,
    BadVersion,
    Cipher,
    CryptoPolicy,
    IndexReused,
    KeyLifetimeExhausted,
    PacketTooShort,
    SessionKeys,
    SrtpError,
    SrtpReceiver,
    SrtpSender,
    TooManyStreams,
    UnknownMki,
)
from broadcast.proto.srtp import batch as batch_mod
from broadcast.proto.srtp.batch import SrtpBatchSender, unprotect_batch

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
    "hmac80-kdr": CryptoPolicy(key_derivation_rate=1 << 4),
    "hmac-authkey32": CryptoPolicy(auth_key_len=32),
}
MKI = bytes.fromhex("0102030405a6")
KEY = bytes(range(16))
SALT = bytes(range(100, 114))


def _sender(policy: CryptoPolicy, **kw: object) -> SrtpSender:
    s = SrtpSender(policy, **kw)  # type: ignore[arg-type]
    s.keys.add(MKI, KEY, SALT)
    return s


def _rtp(seq: int, ssrc: int, payload: bytes, csrcs: int = 0, ext: bytes | None = None) -> bytes:
    b0 = 0x80 | csrcs | (0x10 if ext is not None else 0)
    hdr = bytes([b0, 96]) + seq.to_bytes(2, "big") + (1234).to_bytes(4, "big")
    hdr += ssrc.to_bytes(4, "big") + bytes(range(4 * csrcs))
    if ext is not None:
        hdr += b"\xbe\xde" + (len(ext) // 4).to_bytes(2, "big") + ext
    return hdr + payload


packet_st = st.builds(
    lambda ssrc, payload, csrcs, ext_words, has_ext: (ssrc, payload, csrcs, ext_words, has_ext),
    st.sampled_from([0x11223344, 0xDEADBEEF, 0]),
    st.binary(min_size=0, max_size=1400),
    st.integers(0, 15),
    st.integers(0, 4),
    st.booleans(),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted(POLICIES)),
    start=st.integers(65500, 65535) | st.integers(0, 65535),
    specs=st.lists(packet_st, min_size=1, max_size=60),
)
def test_native_batch_equals_pure_sender(name: str, start: int, specs: list) -> None:
    policy = POLICIES[name]
    pkts = [
        _rtp(
            (start + k) & 0xFFFF,
            ssrc,
            payload,
            csrcs,
            bytes(range(4 * words)) if has_ext else None,
        )
        for k, (ssrc, payload, csrcs, words, has_ext) in enumerate(specs)
    ]
    pure, nat_sender, fallback = _sender(policy), _sender(policy), _sender(policy)
    expected = [pure.protect(p, MKI) for p in pkts]
    assert SrtpBatchSender(nat_sender).protect_batch(pkts, MKI) == expected
    assert SrtpBatchSender(fallback, native=False).protect_batch(pkts, MKI) == expected
    for s in (nat_sender, fallback):
        assert s.keys.usage(MKI) == pure.keys.usage(MKI)
        for ssrc in {p[0] for p in specs}:
            assert s.roc(ssrc) == pure.roc(ssrc)
            mine, ref = s._streams.get(ssrc), pure._streams.get(ssrc)
            assert mine is not None and ref is not None
            assert mine.srtp_window.highest == ref.srtp_window.highest
            assert mine.srtp_window._bits == ref.srtp_window._bits
    # the state continues exactly like the pure sender's
    nxt = _rtp((start + len(pkts)) & 0xFFFF, specs[0][0], b"next")
    assert SrtpBatchSender(nat_sender).protect_batch([nxt], MKI) == [pure.protect(nxt, MKI)]

    # receive side: native unprotect of the pure-protected packets gives the plaintext
    rx = SrtpReceiver(policy)
    rx.keys.add(MKI, KEY, SALT)
    indices = []
    for p, srtp in zip(pkts, expected, strict=True):
        assert rx.unprotect(srtp)[0] == p
        indices.append((rx.roc(int.from_bytes(p[8:12], "big")) << 16) | ((p[2] << 8) | p[3]))
    key = rx.keys.get(MKI)
    if policy.key_derivation_rate == 0:
        keys = key.session_keys(rtcp=False, index=0)
        assert unprotect_batch(policy, keys, MKI, expected, indices) == pkts
        assert unprotect_batch(policy, keys, MKI, expected, indices, native=False) == pkts


def _keys(policy: CryptoPolicy) -> SessionKeys:
    s = _sender(policy)
    return s.keys.get(MKI).session_keys(rtcp=False, index=0)


@pytest.mark.parametrize("name", ["hmac80", "hmac32", "rccm1", "rccm2", "null-cipher"])
def test_tampered_gives_none(name: str) -> None:
    policy = POLICIES[name]
    s = _sender(policy)
    pkts = [_rtp(seq, 7, bytes(range(50))) for seq in range(32)]
    srtp = SrtpBatchSender(s).protect_batch(pkts, MKI)
    keys = _keys(policy)
    for pos in (0, 13, 40, -1):
        bad = []
        for p in srtp:
            b = bytearray(p)
            b[pos] ^= 0x01
            bad.append(bytes(b))
        for native in (True, False):
            res = unprotect_batch(policy, keys, MKI, bad, list(range(32)), native=native)
            tagged = [policy.srtp_tag_len_for(seq) > 0 for seq in range(32)]
            if pos == -1:
                # the last byte: the tag where there is one, else the (unauthenticated) MKI
                assert all(r is None for r in res)
            else:
                assert [r is None for r in res] == tagged
    # another MKI -> None
    for native in (True, False):
        res = unprotect_batch(policy, keys, b"\xff" * 6, srtp, list(range(32)), native=native)
        assert res == [None] * 32


MALFORMED = [
    (b"\x80\x00\x00", PacketTooShort),
    (b"\x40" + bytes(20), BadVersion),
    (bytes([0x8F]) + bytes(20), PacketTooShort),  # 15 CSRCs past the end
    (bytes([0x90]) + bytes(11), PacketTooShort),  # X without the extension header
    (bytes([0x90]) + bytes(13) + b"\xff\xff", PacketTooShort),  # extension length past the end
]


@pytest.mark.parametrize(("packet", "error"), MALFORMED)
@pytest.mark.parametrize("native", [True, False])
def test_malformed_rejected_like_pure(packet: bytes, error: type, native: bool) -> None:
    policy = POLICIES["hmac80"]
    pure = _sender(policy)
    with pytest.raises(error) as pure_exc:
        pure.protect(packet, MKI)
    s = _sender(policy)
    good = _rtp(1, 9, b"ok")
    with pytest.raises(error) as exc:
        SrtpBatchSender(s, native=native).protect_batch([good, packet], MKI)
    assert str(exc.value) == str(pure_exc.value)
    # all-or-nothing: the good packet was not accounted
    assert s.keys.usage(MKI).srtp_packets == 0
    assert SrtpBatchSender(s, native=native).protect_batch([good], MKI) == [pure.protect(good, MKI)]
    with pytest.raises(SrtpError):
        unprotect_batch(policy, _keys(policy), MKI, [packet], [0], native=native)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=80), seq=st.integers(0, 0xFFFF))
def test_fuzz_unprotect_never_crashes(data: bytes, seq: int) -> None:
    policy = POLICIES["rccm2"]
    keys = _keys(policy)
    if len(data) >= 4:
        data = data[:2] + seq.to_bytes(2, "big") + data[4:]
    try:
        res = unprotect_batch(policy, keys, MKI, [data], [seq])
    except (SrtpError, ValueError):
        return
    assert res in ([None], [res[0]])


def test_index_reused_and_limits() -> None:
    policy = POLICIES["hmac80"]
    s = _sender(policy)
    b = SrtpBatchSender(s)
    b.protect_batch([_rtp(5, 1, b"a")], MKI)
    with pytest.raises(IndexReused):
        b.protect_batch([_rtp(6, 1, b"a"), _rtp(5, 1, b"a")], MKI)
    with pytest.raises(IndexReused):
        b.protect_batch([_rtp(7, 1, b"a"), _rtp(7, 1, b"a")], MKI)
    assert s.keys.usage(MKI).srtp_packets == 1
    with pytest.raises(UnknownMki):
        b.protect_batch([_rtp(8, 1, b"a")], b"\0" * 6)

    limited = _sender(policy, srtp_packet_limit=3)
    with pytest.raises(KeyLifetimeExhausted):
        SrtpBatchSender(limited).protect_batch([_rtp(i, 1, b"") for i in range(4)], MKI)
    assert (
        len(SrtpBatchSender(limited).protect_batch([_rtp(i, 1, b"") for i in range(3)], MKI)) == 3
    )

    few = _sender(policy, max_streams=2)
    with pytest.raises(TooManyStreams):
        SrtpBatchSender(few).protect_batch([_rtp(0, i, b"") for i in range(3)], MKI)
    assert SrtpBatchSender(few).protect_batch([_rtp(0, i, b"") for i in range(2)], MKI)


def test_native_rejects_bad_arguments() -> None:
    native = batch_mod._native
    args = (KEY, SALT, bytes(20), MKI, True, 1, 10, 1)
    with pytest.raises(ValueError, match="SEQ"):
        native.protect_batch(*args, [_rtp(1, 1, b"")], [2])
    with pytest.raises(ValueError):
        native.protect_batch(*args, [_rtp(1, 1, b"")], [1 << 48])
    with pytest.raises(TypeError):
        native.protect_batch(*args, ["x"], [0])
    with pytest.raises(ValueError):
        native.protect_batch(KEY[:15], *args[1:], [_rtp(1, 1, b"")], [1])
    with pytest.raises(ValueError):
        native.protect_batch(*args, [b"\x90" + bytes(11)], [0])
    assert native.protect_batch(*args, [], []) == []
