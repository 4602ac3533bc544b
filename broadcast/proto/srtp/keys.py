"""SRTP/SRTCP session key derivation (RFC 3711 §4.3).

``key_id = label (8 bits) || r (48 bits)`` with ``r = index DIV key_derivation_rate`` (``DIV 0`` is
0: derive once); ``x = key_id XOR master_salt`` (right-aligned); the key is the first n bits of
``PRF(k_master, x)`` = AES-CM keystream under IV = x·2^16 (§4.3.3). Labels: 0x00 k_e, 0x01 k_a,
0x02 k_s for SRTP; 0x03, 0x04, 0x05 for SRTCP, whose index is ``0 || 31-bit SRTCP index`` (§4.3.2).
"""

from __future__ import annotations

from typing import Final

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from broadcast.proto.keys.material import Mtk, SecretBytes, SrtpSalt

LABEL_SRTP_ENCRYPTION: Final = 0x00
LABEL_SRTP_AUTH: Final = 0x01
LABEL_SRTP_SALT: Final = 0x02
LABEL_SRTCP_ENCRYPTION: Final = 0x03
LABEL_SRTCP_AUTH: Final = 0x04
LABEL_SRTCP_SALT: Final = 0x05

_INDEX_MASK: Final = (1 << 48) - 1
#: PRF output is bounded by the 16-bit block counter of AES-CM (§4.3.3: n ≤ 2^16 blocks).
_MAX_PRF_BYTES: Final = 16 << 16


class SessionKeys:
    """k_e, k_a, k_s of one direction (SRTP or SRTCP). ``repr`` shows lengths only."""

    __slots__ = ("auth_key", "encryption_key", "salt")

    def __init__(self, encryption_key: bytes, auth_key: bytes, salt: bytes) -> None:
        self.encryption_key = encryption_key
        self.auth_key = auth_key
        self.salt = salt

    def __repr__(self) -> str:
        return (
            f"<SessionKeys k_e {len(self.encryption_key)} bytes, k_a {len(self.auth_key)} bytes, "
            f"k_s {len(self.salt)} bytes, redacted>"
        )

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("SessionKeys is not picklable")


def _raw(value: SecretBytes | bytes) -> bytes:
    return value.secret if isinstance(value, SecretBytes) else bytes(value)


def prf(master_key: bytes, x: int, length: int) -> bytes:
    """``PRF_n(k_master, x)``: AES-CM keystream with IV = x·2^16, first ``length`` bytes (§4.3.3).

    The counter occupies the low 16 bits only, so the blocks are produced explicitly with AES-ECB.
    """
    if not 0 <= length <= _MAX_PRF_BYTES:
        raise ValueError("PRF output length out of range")
    base = (x << 16) & ((1 << 128) - 1)
    blocks = b"".join((base | j).to_bytes(16, "big") for j in range((length + 15) // 16))
    enc = Cipher(algorithms.AES(master_key), modes.ECB()).encryptor()  # noqa: S305 - PRF blocks
    return (enc.update(blocks) + enc.finalize())[:length]


def key_derivation_r(index: int, key_derivation_rate: int) -> int:
    """``r = index DIV key_derivation_rate``, 0 when the rate is 0 (§4.3.1)."""
    return 0 if key_derivation_rate == 0 else (index & _INDEX_MASK) // key_derivation_rate


def derive_key(master_key: bytes, master_salt: bytes, label: int, r: int, length: int) -> bytes:
    """One session key: ``PRF(k_master, (label || r) XOR master_salt)`` truncated (§4.3.1)."""
    if not 0 <= label <= 0xFF or not 0 <= r <= _INDEX_MASK:
        raise ValueError("label or r out of range")
    key_id = (label << 48) | r
    x = key_id ^ int.from_bytes(master_salt, "big")
    return prf(master_key, x, length)


def derive_session_keys(
    master_key: Mtk | bytes,
    master_salt: SrtpSalt | bytes,
    *,
    rtcp: bool = False,
    index: int = 0,
    key_derivation_rate: int = 0,
    enc_key_len: int = 16,
    auth_key_len: int = 20,
    salt_len: int = 14,
) -> SessionKeys:
    """Derive k_e, k_a, k_s for SRTP (labels 0-2) or SRTCP (labels 3-5) at ``index`` (§4.3)."""
    key, salt = _raw(master_key), _raw(master_salt)
    r = key_derivation_r(index, key_derivation_rate)
    base = LABEL_SRTCP_ENCRYPTION if rtcp else LABEL_SRTP_ENCRYPTION
    return SessionKeys(
        encryption_key=derive_key(key, salt, base, r, enc_key_len),
        auth_key=derive_key(key, salt, base + 1, r, auth_key_len),
        salt=derive_key(key, salt, base + 2, r, salt_len),
    )
