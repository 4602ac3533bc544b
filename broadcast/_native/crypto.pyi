"""Type stub of the Cython extension ``broadcast._native.crypto`` (native/crypto.pyx).

MIKEY crypto on OpenSSL libcrypto, byte-identical to ``broadcast.proto.mikey.prf`` and
``broadcast.proto.mikey.transforms``. Byte arguments accept any contiguous bytes-like object.
"""

from typing import Final

__all__ = ["aes_cm", "hmac_sha1", "kemac_iv", "message_keys", "prf"]

ENCR_KEY_LEN: Final[int]
AUTH_KEY_LEN: Final[int]
SALT_KEY_LEN: Final[int]
MAC_LEN: Final[int]
AES_CM_MAX_BYTES: Final[int]

def hmac_sha1(key: bytes, data: bytes) -> bytes:
    """HMAC-SHA-1-160(key, data) -> 20 bytes."""

def prf(inkey: bytes, label: bytes, outkey_len: int) -> bytes:
    """MIKEY-1 PRF (RFC 3830 §4.1.2) truncated to ``outkey_len`` (> 0) bytes."""

def message_keys(inkey: bytes, csb_id: int, rand: bytes) -> tuple[bytes, bytes, bytes]:
    """(encr_key 16, auth_key 20, salt_key 14) of a PSK MIKEY message (RFC 3830 §4.1.4)."""

def aes_cm(key: bytes, iv: bytes, data: bytes) -> bytes:
    """AES-CM-128: 16-byte key, 16-byte initial counter block, data <= 2^23 bits."""

def kemac_iv(salt_key: bytes, csb_id: int, timestamp: int) -> bytes:
    """(S XOR (0x0000 || CSB ID || T)) || 0x0000 for a 14-byte salt S and 64-bit T."""
