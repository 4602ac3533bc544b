"""KEMAC transforms: AES-CM-128 encryption and HMAC-SHA-1-160 MAC (RFC 3830 §4.2.3, §4.2.4).

Reference (pure Python over the ``cryptography`` package); ``broadcast._native.crypto`` provides
the same on OpenSSL EVP for the batch paths.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

MAC_LEN: Final = 20
#: AES-CM may encrypt at most 2^23 bits under one IV (§4.2.3).
AES_CM_MAX_BYTES: Final = (1 << 23) // 8


def kemac_iv(salt_key: bytes, csb_id: int, timestamp: int) -> bytes:
    """IV = (S XOR (0x0000 || CSB ID || T)) || 0x0000, S = 112-bit salt, T = 64-bit timestamp.

    A 32-bit COUNTER timestamp is zero-padded to 64 bits (RFC 3830 §6.6; profile.md).
    """
    if len(salt_key) != 14:
        raise ValueError("salt_key must be 112 bits")
    mix = (csb_id << 64) | (timestamp & 0xFFFF_FFFF_FFFF_FFFF)
    return (int.from_bytes(salt_key, "big") ^ mix).to_bytes(14, "big") + b"\x00\x00"


def aes_cm(key: bytes, iv: bytes, data: bytes) -> bytes:
    """AES in counter mode as SRTP uses it (128-bit counter block starting at ``iv``)."""
    if len(data) > AES_CM_MAX_BYTES:
        raise ValueError("AES-CM data exceeds 2^23 bits")
    enc = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
    return enc.update(data) + enc.finalize()


def hmac_sha1_160(key: bytes, data: bytes) -> bytes:
    return hmac.digest(key, data, hashlib.sha1)


def mac_equal(a: bytes, b: bytes) -> bool:
    """Constant-time comparison of MACs."""
    return hmac.compare_digest(a, b)
