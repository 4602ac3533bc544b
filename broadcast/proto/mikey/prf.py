"""MIKEY-1 PRF and the keys derived with it (RFC 3830 §4.1.2-§4.1.4).

This is the readable reference path; ``broadcast._native.crypto`` implements the same functions in
Cython on OpenSSL and a test asserts both give identical bytes.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Final

#: Constants of §4.1.3 (keys from the TGK) and §4.1.4 (keys for MIKEY messages).
TEK_CONST: Final = 0x2AD01C64
AUTH_CONST: Final = 0x1B5C7973
ENCR_CONST: Final = 0x15798CEF
SALT_CONST: Final = 0x39A2C14B
MSG_ENCR_CONST: Final = 0x150533E1
MSG_AUTH_CONST: Final = 0x2D22AC75
MSG_SALT_CONST: Final = 0x29B88916

#: Lengths (bytes) for AES-CM-128 / HMAC-SHA-1-160 (§4.2.3, §4.2.4).
ENCR_KEY_LEN: Final = 16
AUTH_KEY_LEN: Final = 20
SALT_KEY_LEN: Final = 14

_SHA1_LEN: Final = 20
_INKEY_BLOCK: Final = 32  # 256 bits


def _p_function(s: bytes, label: bytes, m: int) -> bytes:
    """P(s, label, m) = HMAC(s, A_1 || label) || ... || HMAC(s, A_m || label), A_0 = label."""
    out = bytearray()
    a = label
    for _ in range(m):
        a = hmac.digest(s, a, hashlib.sha1)
        out += hmac.digest(s, a + label, hashlib.sha1)
    return bytes(out)


def prf(inkey: bytes, label: bytes, outkey_len: int) -> bytes:
    """PRF(inkey, label) truncated to ``outkey_len`` bytes (RFC 3830 §4.1.2).

    The inkey is split into 256-bit blocks s_1..s_n (the last may be shorter); the outputs of the
    P-function for every block are XORed.
    """
    if outkey_len <= 0:
        raise ValueError("outkey_len must be positive")
    m = -(-outkey_len // _SHA1_LEN)
    n = max(1, -(-len(inkey) // _INKEY_BLOCK))
    acc = 0
    size = m * _SHA1_LEN
    for i in range(n):
        block = inkey[i * _INKEY_BLOCK : (i + 1) * _INKEY_BLOCK]
        acc ^= int.from_bytes(_p_function(block, label, m), "big")
    return acc.to_bytes(size, "big")[:outkey_len]


@dataclass(frozen=True, slots=True)
class MessageKeys:
    """encr_key, auth_key and salt_key of one MIKEY message (RFC 3830 §4.1.4). Never printed."""

    encr_key: bytes
    auth_key: bytes
    salt_key: bytes

    def __repr__(self) -> str:
        return "<MessageKeys redacted>"

    __str__ = __repr__


def message_label(const: int, csb_id: int, rand: bytes) -> bytes:
    """label = constant || 0xFF || CSB ID || RAND (§4.1.4)."""
    return const.to_bytes(4, "big") + b"\xff" + csb_id.to_bytes(4, "big") + rand


def message_keys(inkey: bytes, csb_id: int, rand: bytes) -> MessageKeys:
    """Keys protecting a pre-shared-key MIKEY message from the PSK (MUK or MSK) (§4.1.4)."""
    return MessageKeys(
        encr_key=prf(inkey, message_label(MSG_ENCR_CONST, csb_id, rand), ENCR_KEY_LEN),
        auth_key=prf(inkey, message_label(MSG_AUTH_CONST, csb_id, rand), AUTH_KEY_LEN),
        salt_key=prf(inkey, message_label(MSG_SALT_CONST, csb_id, rand), SALT_KEY_LEN),
    )


def tgk_label(const: int, cs_id: int, csb_id: int, rand: bytes) -> bytes:
    """label = constant || CS ID (8) || CSB ID (32) || RAND (§4.1.3)."""
    return const.to_bytes(4, "big") + bytes((cs_id,)) + csb_id.to_bytes(4, "big") + rand


def derive_tek(tgk: bytes, cs_id: int, csb_id: int, rand: bytes, length: int = 16) -> bytes:
    """TEK = PRF(TGK, 0x2AD01C64 || CS ID || CSB ID || RAND) (§4.1.3)."""
    return prf(tgk, tgk_label(TEK_CONST, cs_id, csb_id, rand), length)


def derive_salt(tgk: bytes, cs_id: int, csb_id: int, rand: bytes, length: int = 14) -> bytes:
    """Salting key = PRF(TGK, 0x39A2C14B || CS ID || CSB ID || RAND) (§4.1.3)."""
    return prf(tgk, tgk_label(SALT_CONST, cs_id, csb_id, rand), length)
