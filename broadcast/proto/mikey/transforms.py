"""KEMAC transforms: AES-CM-128 encryption and HMAC-SHA-1-160 MAC (RFC 3830 §4.2.3, §4.2.4).

Reference (pure Python over the ``cryptography`` package); ``broadcast._native.crypto`` provides
the same on OpenSSL EVP for the batch paths. :func:`kemac_encrypt` and :func:`kemac_mac` select
the transform by its RFC 3830 §6.2 code point: the builders pass the profile's
(``profile.KEMAC_ENCR_ALG`` / ``KEMAC_MAC_ALG``), so the choice is made in one place.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from broadcast.proto.mikey.constants import MAC_LENGTHS, EncrAlg, MacAlg
from broadcast.proto.mikey.errors import UnsupportedValue
from broadcast.proto.mikey.prf import MessageKeys

#: HMAC-SHA-1-160 output length (RFC 3830 §4.2.4).
MAC_LEN: Final = MAC_LENGTHS[MacAlg.HMAC_SHA1_160]
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


#: KEMAC Encr algs implemented (RFC 3830 §4.2.3): NULL (key data in clear) and AES-CM-128.
#: AES-KW-128 (2) is not.
ENCR_ALGS: Final = frozenset({EncrAlg.NULL, EncrAlg.AES_CM_128})
#: KEMAC / V MAC algs implemented (RFC 3830 §4.2.4): HMAC-SHA-1-160. NULL (no MAC at all) is
#: deliberately absent: every message of the pre-shared-key method is authenticated.
MAC_ALGS: Final = frozenset({MacAlg.HMAC_SHA1_160})


def kemac_encrypt(
    encr_alg: int, keys: MessageKeys, csb_id: int, timestamp: int, data: bytes
) -> bytes:
    """KEMAC Encr data for ``data`` under ``encr_alg`` (its own inverse: also decrypts).

    AES-CM-128 with IV = :func:`kemac_iv` (§4.2.3); NULL returns ``data``. Any other algorithm
    raises ``UnsupportedValue`` (field "KEMAC Encr alg").
    """
    if encr_alg == EncrAlg.AES_CM_128:
        return aes_cm(keys.encr_key, kemac_iv(keys.salt_key, csb_id, timestamp), data)
    if encr_alg == EncrAlg.NULL:
        return data
    raise UnsupportedValue(f"KEMAC Encr alg {encr_alg} is not implemented", field="KEMAC Encr alg")


def mac_len(mac_alg: int) -> int:
    """Length of the MAC of ``mac_alg`` (``UnsupportedValue`` when not implemented)."""
    if mac_alg not in MAC_ALGS:
        raise UnsupportedValue(f"MAC alg {mac_alg} is not implemented", field="KEMAC MAC alg")
    return MAC_LENGTHS[mac_alg]


def kemac_mac(mac_alg: int, auth_key: bytes, data: bytes) -> bytes:
    """The MAC of ``data`` under ``mac_alg`` (§4.2.4; ``UnsupportedValue`` when not implemented)."""
    mac_len(mac_alg)
    return hmac_sha1_160(auth_key, data)
