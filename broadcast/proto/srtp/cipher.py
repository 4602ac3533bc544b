"""Encryption transforms: AES Counter Mode and the NULL cipher (RFC 3711 §4.1.1, §4.1.3).

SRTP: ``IV = (k_s·2^16) XOR (SSRC·2^64) XOR (i·2^16)`` with i the 48-bit packet index; SRTCP: the
same with the SSRC of the first header and the 31-bit SRTCP index. The counter runs in the low 16
bits of the IV, so one IV covers at most 2^16 AES blocks.
"""

from __future__ import annotations

from typing import Final

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from broadcast.proto.srtp.errors import PacketTooLong

#: 2^16 blocks of 16 bytes: the most AES-CM may produce under one IV (RFC 3711 §4.1.1).
MAX_KEYSTREAM_BYTES: Final = 16 << 16


def srtp_iv(session_salt: bytes, ssrc: int, index: int) -> bytes:
    """The 128-bit AES-CM IV of a packet (RFC 3711 §4.1.1)."""
    value = (int.from_bytes(session_salt, "big") << 16) ^ (ssrc << 64) ^ (index << 16)
    return value.to_bytes(16, "big")


def aes_cm(session_key: bytes, iv: bytes, data: bytes) -> bytes:
    """XOR ``data`` with the AES-CM keystream starting at ``iv`` (encrypt = decrypt).

    The IV's low 16 bits are 0 for SRTP/SRTCP, so a 2^16-block bound keeps the 128-bit CTR
    counter of the library equal to SRTP's 16-bit block counter.
    """
    if len(data) > MAX_KEYSTREAM_BYTES:
        raise PacketTooLong(f"encrypted portion of {len(data)} bytes exceeds 2^16 AES blocks")
    enc = Cipher(algorithms.AES(session_key), modes.CTR(iv)).encryptor()
    return enc.update(data) + enc.finalize()


def keystream(session_key: bytes, iv: bytes, length: int) -> bytes:
    """The first ``length`` bytes of the AES-CM keystream (RFC 3711 Appendix B.2)."""
    return aes_cm(session_key, iv, bytes(length))
