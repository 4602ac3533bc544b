"""CryptoPolicy: mapping from the MIKEY SrtpPolicy (RFC 3830 §6.10.1, RFC 4771 §4), validation,
per-packet trailer layout."""

from __future__ import annotations

from typing import Any

import pytest

from broadcast import profile
from broadcast.proto.mikey import SrtpPolicy
from broadcast.proto.mikey.constants import SrtpAuthAlg, SrtpEncrAlg
from broadcast.proto.srtp import Auth, Cipher, CryptoPolicy, UnsupportedPolicy


def test_profile_default_policy_maps_to_rccm2_r16() -> None:
    p = CryptoPolicy.from_srtp_policy(SrtpPolicy())
    assert p.srtp_cipher is Cipher.AES_CM
    assert p.srtcp_encrypt
    assert p.srtp_auth is Auth.RCCM2
    assert p.roc_rate == profile.RCC_DEFAULT_RATE == 16
    assert p.srtp_tag_len == 10
    assert p.srtcp_auth is Auth.HMAC_SHA1
    assert p.srtcp_tag_len == 10
    assert p.key_derivation_rate == 0


def test_sp_round_trip_through_mikey_payload() -> None:
    src = SrtpPolicy(srtp_auth_alg=SrtpAuthAlg.RCCM1, srtp_auth_tag_len=14, roc_transmission_rate=8)
    p = CryptoPolicy.from_srtp_policy(SrtpPolicy.from_sp(src.to_sp()))
    assert (p.srtp_auth, p.srtp_tag_len, p.roc_rate) == (Auth.RCCM1, 14, 8)


@pytest.mark.parametrize(
    ("kwargs", "cipher", "encrypt_rtcp"),
    [
        ({"encr_alg": SrtpEncrAlg.NULL}, Cipher.NULL, False),
        ({"srtp_encryption": False}, Cipher.NULL, True),
        ({"srtcp_encryption": False}, Cipher.AES_CM, False),
    ],
)
def test_confidentiality_off(kwargs: dict[str, Any], cipher: Cipher, encrypt_rtcp: bool) -> None:
    p = CryptoPolicy.from_srtp_policy(SrtpPolicy(srtp_auth_alg=SrtpAuthAlg.HMAC_SHA1, **kwargs))
    assert p.srtp_cipher is cipher
    assert p.srtcp_encrypt is encrypt_rtcp


def test_integrity_off() -> None:
    p = CryptoPolicy.from_srtp_policy(
        SrtpPolicy(srtp_auth_alg=SrtpAuthAlg.NULL, srtcp_auth_alg=SrtpAuthAlg.NULL)
    )
    assert p.srtp_auth is Auth.NULL and p.srtcp_auth is Auth.NULL
    assert p.srtp_tag_len_for(0) == 0 and p.srtcp_tag == 0
    q = CryptoPolicy.from_srtp_policy(
        SrtpPolicy(srtp_auth_alg=SrtpAuthAlg.HMAC_SHA1, srtp_authentication=False)
    )
    assert q.srtp_auth is Auth.NULL and q.srtcp_auth is Auth.HMAC_SHA1
    r = CryptoPolicy.from_srtp_policy(
        SrtpPolicy(srtp_auth_alg=SrtpAuthAlg.RCCM3, srtp_auth_tag_len=4, srtp_authentication=False)
    )
    assert r.srtp_auth is Auth.RCCM3


@pytest.mark.parametrize(
    "src",
    [
        SrtpPolicy(encr_alg=SrtpEncrAlg.AES_F8),
        SrtpPolicy(srtp_auth_alg=SrtpAuthAlg.RCCM3, srtp_auth_tag_len=10),
        SrtpPolicy(srtcp_auth_alg=SrtpAuthAlg.RCCM2),
        SrtpPolicy(srtp_authentication=False),  # RCCm2 without authentication
        SrtpPolicy(key_derivation_rate=3),
        SrtpPolicy(key_derivation_rate=1 << 25),
        SrtpPolicy(session_encr_key_len=32),
        SrtpPolicy(srtp_auth_alg=99),
        SrtpPolicy(srtp_auth_alg=SrtpAuthAlg.HMAC_SHA1, srtp_auth_tag_len=21),
        SrtpPolicy(srtp_auth_tag_len=25),
        SrtpPolicy(roc_transmission_rate=0),
    ],
)
def test_unsupported_policies_are_typed_errors(src: SrtpPolicy) -> None:
    with pytest.raises(UnsupportedPolicy):
        CryptoPolicy.from_srtp_policy(src)


def test_trailer_layout_per_mode() -> None:
    r = 16
    m1 = CryptoPolicy(srtp_auth=Auth.RCCM1, srtp_tag_len=14, roc_rate=r)
    m2 = CryptoPolicy(srtp_auth=Auth.RCCM2, srtp_tag_len=14, roc_rate=r)
    m3 = CryptoPolicy(srtp_auth=Auth.RCCM3, srtp_tag_len=4, roc_rate=r)
    hm = CryptoPolicy()
    for seq, carries in ((0, True), (16, True), (17, False), (65535, False), (65520, True)):
        assert m1.carries_roc(seq) is carries
        assert m1.srtp_tag_len_for(seq) == (14 if carries else 0)
        assert m2.srtp_tag_len_for(seq) == 14
        assert m3.srtp_tag_len_for(seq) == (4 if carries else 0)
        assert hm.srtp_tag_len_for(seq) == 10
        assert not hm.carries_roc(seq)
