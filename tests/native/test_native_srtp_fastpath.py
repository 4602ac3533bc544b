"""Native SRTP batch hot path: the HMAC-SHA-1 engines (known answers from Python's ``hmac``,
every engine byte-identical to the pure transform) and the sender's index-accounting fast path
(``scan_rtp`` / ``estimate_indices`` behind ``SrtpBatchSender``) against the per-packet
``SrtpSender`` on gappy, wrapping, reordered, duplicated and multi-SSRC input (RFC 3711 §3.3,
Appendix A)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broadcast._native import srtp_batch as native
from broadcast.proto.srtp import Auth, Cipher, CryptoPolicy, SrtpError, SrtpReceiver, SrtpSender
from broadcast.proto.srtp.batch import SrtpBatchSender, unprotect_batch

MKI = bytes.fromhex("0a0b0c0d0e0f")
KEY = bytes(range(16))
SALT = bytes(range(100, 114))


def _rtp(seq: int, ssrc: int, payload: bytes) -> bytes:
    return bytes([0x80, 96]) + seq.to_bytes(2, "big") + bytes(4) + ssrc.to_bytes(4, "big") + payload


def _engines() -> Iterator[str]:
    """Each usable engine selected in turn; the default is restored afterwards."""
    previous = native.sha1_engine()
    try:
        for name in native.sha1_engines():
            native.set_sha1_engine(name)
            yield name
    finally:
        native.set_sha1_engine(previous)


def test_engine_selection() -> None:
    engines = native.sha1_engines()
    assert engines[0] == "openssl"
    assert set(engines) <= {"openssl", "sha-ni"}
    assert native.sha1_engine() == engines[-1]  # the fastest usable one by default
    with pytest.raises(ValueError, match="not usable"):
        native.set_sha1_engine("md5")
    if "sha-ni" not in engines:
        with pytest.raises(ValueError, match="not usable"):
            native.set_sha1_engine("sha-ni")
    assert list(_engines()) == list(engines)
    assert native.sha1_engine() == engines[-1]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    k_a=st.binary(min_size=1, max_size=64),
    payloads=st.lists(st.integers(0, 300), min_size=1, max_size=11),
    roc=st.integers(0, 0xFFFF_FFFF),
)
def test_hmac_tag_known_answer(k_a: bytes, payloads: list[int], roc: int) -> None:
    """NULL cipher, full 20-byte tag: tag = HMAC-SHA1(k_a, packet || ROC) for every packet of
    groups of 1..11 (full and partial 4-lane groups, every tail-block shape)."""
    pkts = [
        _rtp(k, 0x01020304 + k % 3, bytes((k + i) & 0xFF for i in range(n)))
        for k, n in enumerate(payloads)
    ]
    indices = [(roc << 16) | k for k in range(len(pkts))]
    expected = [
        p + MKI + hmac.new(k_a, p + roc.to_bytes(4, "big"), hashlib.sha1).digest() for p in pkts
    ]
    args = (None, SALT, k_a, MKI, False, native.AUTH_HMAC_SHA1, 20, 1)
    for _ in _engines():
        assert native.protect_batch(*args, pkts, indices) == expected
        assert native.unprotect_batch(*args, expected, indices) == pkts


POLICIES = {
    "hmac80": CryptoPolicy.aes_cm_128_hmac_sha1_80(),
    "hmac32": CryptoPolicy.aes_cm_128_hmac_sha1_32(),
    "rccm2": CryptoPolicy(srtp_auth=Auth.RCCM2, srtp_tag_len=14, roc_rate=4),
    "rccm1": CryptoPolicy(srtp_auth=Auth.RCCM1, srtp_tag_len=14, roc_rate=3),
    "rccm3": CryptoPolicy(srtp_auth=Auth.RCCM3, srtp_tag_len=4, roc_rate=2),
    "null-cipher": CryptoPolicy(srtp_cipher=Cipher.NULL, srtcp_encrypt=False),
}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted(POLICIES)),
    sizes=st.lists(st.integers(0, 1300), min_size=1, max_size=13),
)
def test_engines_equal_pure_both_ways(name: str, sizes: list[int]) -> None:
    policy = POLICIES[name]
    pkts = [_rtp(k, 77, bytes((3 * k + i) & 0xFF for i in range(n))) for k, n in enumerate(sizes)]
    pure = SrtpSender(policy)
    pure.keys.add(MKI, KEY, SALT)
    expected = [pure.protect(p, MKI) for p in pkts]
    keys = pure.keys.get(MKI).session_keys(rtcp=False, index=0)
    for _ in _engines():
        s = SrtpSender(policy)
        s.keys.add(MKI, KEY, SALT)
        assert SrtpBatchSender(s).protect_batch(pkts, MKI) == expected
        indices = list(range(len(pkts)))
        assert unprotect_batch(policy, keys, MKI, expected, indices) == pkts
        tampered = [p[:1] + bytes([p[1] ^ 1]) + p[2:] for p in expected]  # PT bit
        res = unprotect_batch(policy, keys, MKI, tampered, indices)
        tagged = [policy.srtp_tag_len_for(i) > 0 for i in indices]
        if policy.srtp_auth is not Auth.RCCM3:  # RCCm3 tags (the bare ROC) verify nothing
            assert [r is None for r in res] == tagged


# --- the sender's accounting fast path --------------------------------------------------------

# A step of an SSRC's SEQ: mostly +1, sometimes a gap, a wrap-sized jump, a replay or reorder.
step_st = st.sampled_from([1] * 6 + [2, 5, 200, 32767, 32768, 40000, 0, -1, -3, -70, -200])
stream_st = st.tuples(st.sampled_from([7, 8, 9, 0xFFFFFFFF]), step_st)


def _state(s: SrtpSender) -> dict[int, tuple[int | None, int, int | None]]:
    out: dict[int, tuple[int | None, int, int | None]] = {}
    for ssrc in s._streams.ssrcs():
        st_ = s._streams.get(ssrc)
        assert st_ is not None
        out[ssrc] = (st_.srtp_window.highest, st_.srtp_window._bits, st_.base_roc)
    return out


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    batches=st.lists(st.lists(stream_st, min_size=0, max_size=40), min_size=1, max_size=4),
    start=st.integers(0, 0xFFFF),
    roc=st.sampled_from([0, 1, 0xFFFF_FFFF]),
    window=st.sampled_from([64, 128, 1000]),
)
def test_fast_accounting_equals_per_packet_plan(
    batches: list[list[tuple[int, int]]], start: int, roc: int, window: int
) -> None:
    """Batch after batch, the native accounting gives what the per-packet plan (the
    ``native=False`` batch sender, itself checked against ``SrtpSender.protect``) gives: the
    same packets, or the same typed error with nothing committed, and the same state."""
    policy = POLICIES["hmac32"]
    ref = SrtpSender(policy, replay_window=window, initial_roc=roc, max_streams=3)
    fast = SrtpSender(policy, replay_window=window, initial_roc=roc, max_streams=3)
    for s in (ref, fast):
        s.keys.add(MKI, KEY, SALT)
    ref_batcher, batcher = SrtpBatchSender(ref, native=False), SrtpBatchSender(fast)
    seqs: dict[int, int] = {}
    for batch in batches:
        pkts = []
        for ssrc, step in batch:
            seq = (seqs.get(ssrc, start - 1) + step) & 0xFFFF
            seqs[ssrc] = seq
            pkts.append(_rtp(seq, ssrc, bytes([seq & 0xFF]) * 3))
        before = _state(fast)
        try:
            expected = ref_batcher.protect_batch(pkts, MKI)
        except SrtpError as exc:
            with pytest.raises(type(exc)):
                batcher.protect_batch(pkts, MKI)
            assert _state(fast) == before == _state(ref)  # all-or-nothing
        else:
            assert batcher.protect_batch(pkts, MKI) == expected
            assert _state(fast) == _state(ref)
        assert fast.keys.usage(MKI) == ref.keys.usage(MKI)


def test_fast_path_gap_window_and_receiver() -> None:
    """In-order with gaps across a SEQ wrap: the window bits are the per-packet ones and a
    receiver accepts every packet."""
    policy = POLICIES["hmac80"]
    seqs = [65530, 65531, 65534, 2, 3, 9, 10, 11, 400]
    pkts = [_rtp(q, 5, b"x" * 40) for q in seqs]
    pure, fast = SrtpSender(policy), SrtpSender(policy)
    for s in (pure, fast):
        s.keys.add(MKI, KEY, SALT)
    expected = [pure.protect(p, MKI) for p in pkts]
    assert SrtpBatchSender(fast).protect_batch(pkts, MKI) == expected
    assert _state(fast) == _state(pure)
    assert fast.roc(5) == 1
    rx = SrtpReceiver(policy)
    rx.keys.add(MKI, KEY, SALT)
    assert [rx.unprotect(p)[0] for p in expected] == pkts


def test_scan_rtp() -> None:
    a, b = _rtp(1, 10, b"p"), _rtp(2, 20, b"")
    assert native.scan_rtp([a, b, a, b, b], True) == ((10, 20), bytes([0, 1, 0, 1, 1]))
    assert native.scan_rtp([], True) == ((), b"")
    for bad in (b"\x80" * 11, b"\x40" + bytes(11), bytes([0x81]) + bytes(11), bytearray(a)):
        assert native.scan_rtp([a, bad], True) is None
    ext = bytes([0x90]) + bytes(11) + b"\xbe\xde\x00\x01" + bytes(4)
    assert native.scan_rtp([ext], False) == ((0,), b"\x00")
    assert native.scan_rtp([ext[:-1]], False) is None  # extension runs past the end
    many = [_rtp(0, k, b"") for k in range(256)]
    assert native.scan_rtp(many[:255], True) is not None
    assert native.scan_rtp(many, True) is None
    huge = _rtp(0, 1, bytes((16 << 16) + 1))
    assert native.scan_rtp([huge], True) is None  # over 2^16 AES blocks
    assert native.scan_rtp([huge], False) == ((1,), b"\x00")


def test_estimate_indices() -> None:
    pkts = [_rtp(65535, 1, b""), _rtp(0, 1, b""), _rtp(7, 2, b""), _rtp(3, 1, b"")]
    ssrcs, slots = native.scan_rtp(pkts, True)
    assert ssrcs == (1, 2)
    got = native.estimate_indices(pkts, slots, [-1, (5 << 16) | 6], [4, 0])
    assert got == (
        [(4 << 16) | 65535, 5 << 16, (5 << 16) | 7, (5 << 16) | 3],
        [((4 << 16) | 65535, (5 << 16) | 3, 3), ((5 << 16) | 7, (5 << 16) | 7, 1)],
    )
    # not above the SSRC's highest (a replay) / a reorder inside the batch / before ROC 0
    assert native.estimate_indices(pkts, slots, [-1, (5 << 16) | 7], [4, 0]) is None
    assert native.estimate_indices(pkts[::-1], slots[::-1], [-1, -1], [4, 0]) is None
    assert native.estimate_indices([_rtp(65535, 1, b"")], b"\x00", [3], [0]) is None
    # past the end of the index space
    last = (1 << 48) - 1
    assert native.estimate_indices([_rtp(0, 1, b"")], b"\x00", [last], [0]) is None
    with pytest.raises(ValueError):
        native.estimate_indices(pkts, slots[:-1], [-1, -1], [0, 0])
    with pytest.raises(ValueError):
        native.estimate_indices(pkts, slots, [-1, -1], [0, 1 << 32])
    with pytest.raises(ValueError):
        native.estimate_indices(pkts, b"\x00\x00\x05\x00", [-1, -1], [0, 0])


def test_unprotect_accepts_buffers_and_reports_typed_errors() -> None:
    policy = POLICIES["hmac80"]
    s = SrtpSender(policy)
    s.keys.add(MKI, KEY, SALT)
    pkts = [_rtp(k, 3, b"abc" * k) for k in range(6)]
    srtp = SrtpBatchSender(s).protect_batch(pkts, MKI)
    keys = s.keys.get(MKI).session_keys(rtcp=False, index=0)
    assert unprotect_batch(policy, keys, MKI, [bytearray(p) for p in srtp], range(6)) == pkts
    with pytest.raises(SrtpError):
        unprotect_batch(policy, keys, MKI, [srtp[0], b"\x80\x00"], [0, 1])
    with pytest.raises(ValueError, match="SEQ"):
        unprotect_batch(policy, keys, MKI, srtp[:2], [0, 2])
