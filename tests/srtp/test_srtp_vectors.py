"""Known-answer tests: RFC 3711 Appendix B.2 (AES-CM) and B.3 (key derivation), and the libsrtp
``srtp_validate`` / ``srtp_validate_mki`` packets (spec-digest §6.1, §6.2)."""

from __future__ import annotations

import pytest

from broadcast.proto.keys import Mtk, SrtpSalt
from broadcast.proto.srtp import CryptoPolicy, SrtpReceiver, SrtpSender, derive_session_keys
from broadcast.proto.srtp.cipher import keystream, srtp_iv
from broadcast.proto.srtp.keys import (
    LABEL_SRTP_AUTH,
    LABEL_SRTP_ENCRYPTION,
    LABEL_SRTP_SALT,
    derive_key,
)

H = bytes.fromhex

# --- RFC 3711 B.2 ---------------------------------------------------------------------------
B2_KEY = H("2B7E151628AED2A6ABF7158809CF4F3C")
B2_SALT = H("F0F1F2F3F4F5F6F7F8F9FAFBFCFD")
B2_FIRST = [
    H("E03EAD0935C95E80E166B16DD92B4EB4"),
    H("D23513162B02D0F72A43A2FE4A5F97AB"),
    H("41E95B3BB0A2E8DD477901E4FCA894C0"),
]
B2_LAST = [  # counters ...FEFF, ...FF00, ...FF01: blocks 0xFEFF, 0xFF00, 0xFF01
    H("EC8CDF7398607CB0F2D21675EA9EA1E4"),
    H("362B7C3C6773516318A077D7FC5073AE"),
    H("6A2CC3787889374FBEB4C81B17BA6C44"),
]

# --- RFC 3711 B.3 / libsrtp -----------------------------------------------------------------
MASTER_KEY = H("E1F97A0D3E018BE0D64FA32C06DE4139")
MASTER_SALT = H("0EC675AD498AFEEBB6960B3AABE6")
K_E = H("C61E7A93744F39EE10734AFE3FF7A087")
K_S = H("30CBBC08863D8C85D49DB34A9AE1")
B3_AUTH_94 = H(
    "CEBE321F6FF7716B6FD4AB49AF256A15"
    "6D38BAA48F0A0ACF3C34E2359E6CDBCE"
    "E049646C43D9327AD175578EF7227098"
    "6371C10C9A369AC2F94A8C5FBCDDDC25"
    "6D6E919A48B610EF17C2041E47403576"
    "6B68642C59BBFC2F34DB60DBDFB2"
)

RTP = H("800f1234decafbadcafebabe" + "ab" * 16)
SRTP = H("800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402b78d6acc99ea179b8dbb")
MKI4 = H("e1f97a0d")
SRTP_MKI = H("800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402e1f97a0db78d6acc99ea179b8dbb")
RTCP = H("81c8000bcafebabe" + "ab" * 16)
SRTCP_1 = H("81c8000bcafebabe7128035be487b9bdbef89041f977a5a880000001993e08cd54d6c1230798")
SRTCP_1_MKI = H(
    "81c8000bcafebabe7128035be487b9bdbef89041f977a5a880000001e1f97a0d993e08cd54d6c1230798"
)


def test_b2_aes_cm_keystream_first_and_last_blocks() -> None:
    iv = srtp_iv(B2_SALT, ssrc=0, index=0)
    assert iv == H("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000")
    stream = keystream(B2_KEY, iv, 1044512)  # 65282 blocks, the whole B.2 segment
    assert len(stream) == 65282 * 16
    for j, block in enumerate(B2_FIRST):
        assert stream[16 * j : 16 * (j + 1)] == block
    for j, block in zip((0xFEFF, 0xFF00, 0xFF01), B2_LAST, strict=True):
        assert stream[16 * j : 16 * (j + 1)] == block


@pytest.mark.parametrize(
    ("label", "length", "expected"),
    [
        (LABEL_SRTP_ENCRYPTION, 16, K_E),
        (LABEL_SRTP_SALT, 14, K_S),
        (LABEL_SRTP_AUTH, 94, B3_AUTH_94),  # multi-block PRF output
    ],
    ids=["k_e", "k_s", "k_a-94-bytes"],
)
def test_b3_key_derivation(label: int, length: int, expected: bytes) -> None:
    assert derive_key(MASTER_KEY, MASTER_SALT, label, 0, length) == expected


def test_b3_session_keys_object_and_redaction() -> None:
    keys = derive_session_keys(Mtk(MASTER_KEY), SrtpSalt(MASTER_SALT))
    assert keys.encryption_key == K_E
    assert keys.salt == K_S
    assert keys.auth_key == B3_AUTH_94[:20]
    assert keys.auth_key == H("cebe321f6ff7716b6fd4ab49af256a156d38baa4")  # libsrtp's k_a
    text = repr(keys) + str(keys)
    for secret in (K_E, K_S, keys.auth_key, MASTER_KEY):
        assert secret.hex() not in text.lower()
    assert "redacted" in text


def test_libsrtp_iv_for_seq_0x1234() -> None:
    assert srtp_iv(K_S, 0xCAFEBABE, 0x1234) == H("30cbbc084cc3363bd49db34a88d50000")


def _sender(mki_len: int, mki: bytes) -> SrtpSender:
    sender = SrtpSender(CryptoPolicy.aes_cm_128_hmac_sha1_80(), mki_len=mki_len, key_capacity=1)
    sender.keys.add(mki, Mtk(MASTER_KEY), SrtpSalt(MASTER_SALT))
    return sender


def _receiver(mki_len: int, mki: bytes) -> SrtpReceiver:
    receiver = SrtpReceiver(CryptoPolicy.aes_cm_128_hmac_sha1_80(), mki_len=mki_len, key_capacity=1)
    receiver.keys.add(mki, Mtk(MASTER_KEY), SrtpSalt(MASTER_SALT))
    return receiver


@pytest.mark.parametrize(("mki", "srtp"), [(b"", SRTP), (MKI4, SRTP_MKI)], ids=["no-mki", "mki4"])
def test_libsrtp_srtp_vector(mki: bytes, srtp: bytes) -> None:
    assert _sender(len(mki), mki).protect(RTP, mki) == srtp
    assert _receiver(len(mki), mki).unprotect(srtp) == (RTP, mki)


def test_mki_is_not_authenticated() -> None:
    # Same tag with and without the MKI (RFC 3711 §3.1: the MKI is outside the authenticated part).
    assert SRTP_MKI[-10:] == SRTP[-10:]
    assert SRTP_MKI[:-14] == SRTP[:-10]


@pytest.mark.parametrize(
    ("mki", "srtcp"), [(b"", SRTCP_1), (MKI4, SRTCP_1_MKI)], ids=["no-mki", "mki4"]
)
def test_libsrtp_srtcp_vector_index_1(mki: bytes, srtcp: bytes) -> None:
    sender = _sender(len(mki), mki)
    first = sender.protect_rtcp(RTCP, mki)  # our SRTCP index starts at 0 (RFC 3711 §3.3.2)
    assert first[-(4 + len(mki) + 10) : -(len(mki) + 10)] == H("80000000")
    assert sender.protect_rtcp(RTCP, mki) == srtcp  # E = 1, index 1
    receiver = _receiver(len(mki), mki)
    assert receiver.unprotect_rtcp(srtcp) == (RTCP, mki)
    assert receiver.unprotect_rtcp(first) == (RTCP, mki)  # older index inside the window
