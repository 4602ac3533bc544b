"""Message authentication: HMAC-SHA1 (RFC 3711 §4.2.1) and the RCC tag (RFC 4771 §2, §3).

SRTP: ``MAC = HMAC-SHA1(k_a, Authenticated_Portion || ROC)``, ROC 32-bit big-endian; SRTCP: over the
authenticated portion (header, encrypted portion, E || SRTCP index) only. Tags compare in
constant time.
"""

from __future__ import annotations

import hashlib
import hmac

from broadcast.proto.srtp.policy import ROC_LEN, Auth, CryptoPolicy


def hmac_sha1(auth_key: bytes, data: bytes) -> bytes:
    """The full 160-bit HMAC-SHA1 (RFC 2104)."""
    return hmac.digest(auth_key, data, hashlib.sha1)


def srtp_tag(policy: CryptoPolicy, auth_key: bytes, portion: bytes, roc: int, seq: int) -> bytes:
    """The SRTP authentication tag of a packet (empty when the packet carries none).

    - HMAC-SHA1: first ``tag_len`` bytes of ``HMAC(k_a, portion || ROC)`` (RFC 3711 §4.2).
    - RCCm1/RCCm2 with SEQ ≡ 0 mod R: ``ROC || MAC_tr``, MAC_tr = first ``tag_len - 4`` bytes of
      the same MAC; RCCm2 otherwise: the plain HMAC-SHA1 tag; RCCm1 otherwise: none.
    - RCCm3 with SEQ ≡ 0 mod R: the ROC alone (no MAC); otherwise none (RFC 4771 §3).
    """
    auth = policy.srtp_auth
    if auth is Auth.NULL:
        return b""
    roc_bytes = roc.to_bytes(ROC_LEN, "big")
    carries = policy.carries_roc(seq)
    if auth is Auth.RCCM3:
        return roc_bytes if carries else b""
    if auth is Auth.RCCM1 and not carries:
        return b""
    mac = hmac_sha1(auth_key, portion + roc_bytes)
    if carries:
        return roc_bytes + mac[: policy.srtp_tag_len - ROC_LEN]
    return mac[: policy.srtp_tag_len]


def srtcp_tag(policy: CryptoPolicy, auth_key: bytes, portion: bytes) -> bytes:
    """The SRTCP tag: first ``tag_len`` bytes of ``HMAC(k_a, portion)``; empty for NULL auth."""
    if policy.srtcp_auth is Auth.NULL:
        return b""
    return hmac_sha1(auth_key, portion)[: policy.srtcp_tag_len]


def tags_equal(expected: bytes, received: bytes) -> bool:
    """Constant-time tag comparison."""
    return hmac.compare_digest(expected, received)
