"""broadcast._native.crypto (Cython on OpenSSL EVP) must equal the pure-Python reference.

Reference: broadcast.proto.mikey.prf (MIKEY-1 PRF, RFC 3830 §4.1.2; message keys, §4.1.4) and
broadcast.proto.mikey.transforms (AES-CM-128, HMAC-SHA-1-160, KEMAC IV). Known answers are the
self-computed vectors of /work/shared/reference/spec-digest.md §6.4.
"""

from __future__ import annotations

import hashlib
import hmac
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broadcast._native import crypto as native
from broadcast.proto.mikey import prf as ref_prf
from broadcast.proto.mikey import transforms as ref_tf

PSK = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
CSB_ID = 0x11223344
RAND = bytes.fromhex("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf")
ENCR_KEY = bytes.fromhex("72dfc1da3690f6ad530e3062cd3a902f")
AUTH_KEY = bytes.fromhex("34e165a1115f1eab1bf423b3c4ad13d508f8b776")
SALT_KEY = bytes.fromhex("8d7d506a4a99390d7da6288dcab0")
KEMAC_IV = bytes.fromhex("8d7d414879dd390d7da6288dcab10000")
TGK = bytes(range(0x40, 0x50))
KEY_DATA = bytes.fromhex("00100010") + TGK + bytes.fromhex("000e") + bytes(range(0x60, 0x6E))
ENCRYPTED = bytes.fromhex(
    "9d3773c4753399388a0f48b618b1b0e9b6ca818cd9ad1bacdc31fd7d21e38f6b7169d87a"
)
PRF_48_ABC_32 = bytes.fromhex("a8fb7aa6694d94ca60ca6b748c40d57203584f3afb05d03c08e17e5f2aa84ead")


def ref_message_keys(inkey: bytes, csb_id: int, rand: bytes) -> tuple[bytes, bytes, bytes]:
    k = ref_prf.message_keys(inkey, csb_id, rand)
    return (k.encr_key, k.auth_key, k.salt_key)


# --- known answers (spec-digest §6.4) ----------------------------------------------------------


def test_kat_message_keys() -> None:
    assert native.message_keys(PSK, CSB_ID, RAND) == (ENCR_KEY, AUTH_KEY, SALT_KEY)
    assert ref_message_keys(PSK, CSB_ID, RAND) == (ENCR_KEY, AUTH_KEY, SALT_KEY)


def test_kat_message_keys_via_prf() -> None:
    for const, expected in (
        (ref_prf.MSG_ENCR_CONST, ENCR_KEY),
        (ref_prf.MSG_AUTH_CONST, AUTH_KEY),
        (ref_prf.MSG_SALT_CONST, SALT_KEY),
    ):
        label = ref_prf.message_label(const, CSB_ID, RAND)
        assert native.prf(PSK, label, len(expected)) == expected


def test_kat_kemac_iv() -> None:
    assert native.kemac_iv(SALT_KEY, CSB_ID, 1) == KEMAC_IV


def test_kat_kemac_encryption() -> None:
    assert native.aes_cm(ENCR_KEY, KEMAC_IV, KEY_DATA) == ENCRYPTED
    assert native.aes_cm(ENCR_KEY, KEMAC_IV, ENCRYPTED) == KEY_DATA


def test_kat_prf_two_inkey_blocks() -> None:
    assert native.prf(bytes(range(48)), b"abc", 32) == PRF_48_ABC_32


def test_kat_tek_and_salt_from_tgk() -> None:
    tek_label = ref_prf.tgk_label(ref_prf.TEK_CONST, 1, CSB_ID, RAND)
    salt_label = ref_prf.tgk_label(ref_prf.SALT_CONST, 1, CSB_ID, RAND)
    assert native.prf(TGK, tek_label, 16).hex() == "3bcf36c2069304edad26ad43ba8d308d"
    assert native.prf(TGK, salt_label, 14).hex() == "b9557b8a34ce142a6fab5d8f2fa4"


def test_kat_hmac_sha1_rfc2202() -> None:
    # RFC 2202 test cases 1 and 6 (key longer than the 64-byte block is hashed first).
    assert native.hmac_sha1(b"\x0b" * 20, b"Hi There").hex() == (
        "b617318655057264e28bc0b6fb378c8ef146be00"
    )
    data = b"Test Using Larger Than Block-Size Key - Hash Key First"
    assert native.hmac_sha1(b"\xaa" * 80, data).hex() == (
        "aa4ae5e15272d00e95705637ce8a3b55ed402112"
    )


# --- equality with the Python reference (property tests) ---------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    inkey=st.binary(min_size=1, max_size=100),
    label=st.binary(min_size=0, max_size=100),
    outkey_len=st.integers(min_value=1, max_value=100),
)
def test_prf_matches_reference(inkey: bytes, label: bytes, outkey_len: int) -> None:
    assert native.prf(inkey, label, outkey_len) == ref_prf.prf(inkey, label, outkey_len)


@pytest.mark.parametrize("inkey_len", [0, 1, 31, 32, 33, 64, 65, 96, 97, 200])
@pytest.mark.parametrize("outkey_len", [1, 19, 20, 21, 40, 41, 256])
def test_prf_block_boundaries(inkey_len: int, outkey_len: int) -> None:
    inkey = bytes((7 * i + 3) & 0xFF for i in range(inkey_len))
    label = b"\x15\x05\x33\xe1\xff" + bytes(20)
    assert native.prf(inkey, label, outkey_len) == ref_prf.prf(inkey, label, outkey_len)


@settings(max_examples=200, deadline=None)
@given(
    inkey=st.binary(min_size=1, max_size=100),
    csb_id=st.integers(min_value=0, max_value=0xFFFF_FFFF),
    rand=st.binary(min_size=0, max_size=300),
)
def test_message_keys_matches_reference(inkey: bytes, csb_id: int, rand: bytes) -> None:
    got = native.message_keys(inkey, csb_id, rand)
    assert got == ref_message_keys(inkey, csb_id, rand)
    assert tuple(map(len, got)) == (16, 20, 14)


@settings(max_examples=200, deadline=None)
@given(
    key=st.binary(min_size=16, max_size=16),
    iv=st.binary(min_size=16, max_size=16),
    data=st.binary(min_size=0, max_size=2000),
)
def test_aes_cm_matches_reference(key: bytes, iv: bytes, data: bytes) -> None:
    out = native.aes_cm(key, iv, data)
    assert out == ref_tf.aes_cm(key, iv, data)
    assert native.aes_cm(key, iv, out) == data


@pytest.mark.parametrize(
    "iv",
    [
        b"\xff" * 16,  # whole 128-bit counter wraps to zero
        bytes(8) + b"\xff" * 8,  # carry out of the low 64 bits
        b"\x00" * 15 + b"\xfe",
    ],
)
def test_aes_cm_counter_carry(iv: bytes) -> None:
    data = bytes(range(256)) * 3
    assert native.aes_cm(PSK, iv, data) == ref_tf.aes_cm(PSK, iv, data)


@settings(max_examples=200, deadline=None)
@given(key=st.binary(min_size=0, max_size=200), data=st.binary(min_size=0, max_size=2000))
def test_hmac_sha1_matches_reference(key: bytes, data: bytes) -> None:
    assert native.hmac_sha1(key, data) == ref_tf.hmac_sha1_160(key, data)
    assert native.hmac_sha1(key, data) == hmac.digest(key, data, hashlib.sha1)


@settings(max_examples=200, deadline=None)
@given(
    salt=st.binary(min_size=14, max_size=14),
    csb_id=st.integers(min_value=0, max_value=(1 << 48) - 1),
    timestamp=st.integers(min_value=-(1 << 70), max_value=1 << 70),
)
def test_kemac_iv_matches_reference(salt: bytes, csb_id: int, timestamp: int) -> None:
    assert native.kemac_iv(salt, csb_id, timestamp) == ref_tf.kemac_iv(salt, csb_id, timestamp)


def test_large_output_and_label() -> None:
    inkey = bytes(range(100))
    label = bytes(range(256)) * 4
    assert native.prf(inkey, label, 1001) == ref_prf.prf(inkey, label, 1001)
    assert native.message_keys(inkey, 1, label) == ref_message_keys(inkey, 1, label)


def test_accepts_bytes_like() -> None:
    expected = native.message_keys(PSK, CSB_ID, RAND)
    assert native.message_keys(bytearray(PSK), CSB_ID, memoryview(RAND)) == expected
    assert native.prf(memoryview(PSK), bytearray(b"abc"), 20) == native.prf(PSK, b"abc", 20)
    assert native.aes_cm(bytearray(ENCR_KEY), memoryview(KEMAC_IV), bytearray(KEY_DATA)) == (
        ENCRYPTED
    )
    assert native.kemac_iv(bytearray(SALT_KEY), CSB_ID, 1) == KEMAC_IV
    assert isinstance(native.aes_cm(ENCR_KEY, KEMAC_IV, bytearray(KEY_DATA)), bytes)


def test_empty_inputs() -> None:
    assert native.aes_cm(PSK, PSK, b"") == b""
    assert native.prf(b"", b"", 20) == ref_prf.prf(b"", b"", 20)
    assert native.message_keys(b"", 0, b"") == ref_message_keys(b"", 0, b"")
    assert native.hmac_sha1(b"", b"") == hmac.digest(b"", b"", hashlib.sha1)


# --- bad arguments: exceptions, never a crash ------------------------------------------------


@pytest.mark.parametrize("key_len", [0, 1, 15, 17, 24, 32])
def test_aes_cm_wrong_key_length(key_len: int) -> None:
    with pytest.raises(ValueError, match="key must be 16 bytes"):
        native.aes_cm(bytes(key_len), bytes(16), b"data")


@pytest.mark.parametrize("iv_len", [0, 12, 14, 15, 17, 32])
def test_aes_cm_wrong_iv_length(iv_len: int) -> None:
    with pytest.raises(ValueError, match="iv must be 16 bytes"):
        native.aes_cm(bytes(16), bytes(iv_len), b"data")


def test_aes_cm_too_much_data() -> None:
    too_long = bytes(ref_tf.AES_CM_MAX_BYTES + 1)
    with pytest.raises(ValueError, match="2\\^23"):
        native.aes_cm(bytes(16), bytes(16), too_long)
    with pytest.raises(ValueError):
        ref_tf.aes_cm(bytes(16), bytes(16), too_long)
    max_len = bytes(ref_tf.AES_CM_MAX_BYTES)
    assert native.aes_cm(PSK, PSK, max_len) == ref_tf.aes_cm(PSK, PSK, max_len)


@pytest.mark.parametrize("salt_len", [0, 13, 15, 16])
def test_kemac_iv_wrong_salt_length(salt_len: int) -> None:
    with pytest.raises(ValueError, match="112 bits"):
        native.kemac_iv(bytes(salt_len), 1, 1)


@pytest.mark.parametrize("csb_id", [-1, 1 << 48])
def test_kemac_iv_csb_id_out_of_range(csb_id: int) -> None:
    with pytest.raises(OverflowError):
        native.kemac_iv(SALT_KEY, csb_id, 1)
    with pytest.raises(OverflowError):
        ref_tf.kemac_iv(SALT_KEY, csb_id, 1)


@pytest.mark.parametrize("outkey_len", [0, -1, -20])
def test_prf_non_positive_length(outkey_len: int) -> None:
    with pytest.raises(ValueError, match="outkey_len must be positive"):
        native.prf(PSK, b"abc", outkey_len)


@pytest.mark.parametrize("csb_id", [-1, 1 << 32])
def test_message_keys_csb_id_out_of_range(csb_id: int) -> None:
    with pytest.raises(OverflowError):
        native.message_keys(PSK, csb_id, RAND)
    with pytest.raises(OverflowError):
        ref_prf.message_keys(PSK, csb_id, RAND)


@pytest.mark.parametrize(
    "call",
    [
        lambda: native.hmac_sha1("key", b"data"),
        lambda: native.hmac_sha1(b"key", None),
        lambda: native.prf(None, b"abc", 16),
        lambda: native.prf(PSK, "abc", 16),
        lambda: native.prf(PSK, b"abc", "16"),
        lambda: native.message_keys(PSK, "1", RAND),
        lambda: native.message_keys(PSK, 1, 16),
        lambda: native.aes_cm(PSK, PSK, "text"),
        lambda: native.kemac_iv("salt" * 4, 1, 1),
        lambda: native.kemac_iv(SALT_KEY, 1.5, 1),
    ],
)
def test_wrong_types_raise_type_error(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TypeError):
        call()


def test_error_messages_do_not_leak_key_bytes() -> None:
    key = bytes.fromhex("deadbeef" * 4 + "ca")
    with pytest.raises(ValueError) as exc:
        native.aes_cm(key, bytes(16), b"")
    text = str(exc.value).lower()
    assert "deadbeef" not in text
    assert "\\xde" not in text


def test_concurrent_threads_agree() -> None:
    # The GIL is released around OpenSSL; results must not interfere between threads.
    inputs = [(bytes([i]) * (16 + i), i, bytes([i]) * 16) for i in range(8)]
    expected = [ref_message_keys(*args) for args in inputs]
    failures: list[int] = []

    def worker(idx: int) -> None:
        for _ in range(300):
            if native.message_keys(*inputs[idx]) != expected[idx]:
                failures.append(idx)
                return

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


@pytest.mark.parametrize(
    "call",
    [
        lambda: native.message_keys(PSK, 1.0, RAND),
        lambda: native.kemac_iv(SALT_KEY, 1.0, 1),
        lambda: native.kemac_iv(SALT_KEY, 1, 1.0),
    ],
)
def test_floats_rejected(call) -> None:  # type: ignore[no-untyped-def]
    # Integers only (no silent truncation); the reference fails on floats too
    # (AttributeError from float.to_bytes, TypeError from float << 64 / float & mask).
    with pytest.raises(TypeError):
        call()
