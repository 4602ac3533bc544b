"""AES-128-CBC with RFC 2630 (PKCS#7) padding over the ``cryptography`` package, in chunks.

OMA-TS-DRM-DCF-V2_0 EncryptionMethod AES_128_CBC (1) with PaddingScheme RFC 2630 (1): the
``odda`` EncryptedData is IV (16 bytes) ‖ CBC ciphertext of the padded plaintext, so its length
is 16 + 16·(⌊PlaintextLength / 16⌋ + 1). The key is the MTK (profile.md).
"""

from __future__ import annotations

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from broadcast.proto.dcf import constants as c
from broadcast.proto.dcf.errors import DcfKeyError
from broadcast.proto.keys import InvalidKeyMaterial, SecretBytes


def key_bytes(key: SecretBytes | bytes) -> bytes:
    """The 16 key bytes of an :class:`~broadcast.proto.keys.Mtk` (or of raw bytes)."""
    raw = key.secret if isinstance(key, SecretBytes) else key
    if not isinstance(raw, bytes) or len(raw) != c.KEY_LEN:
        raise InvalidKeyMaterial(f"the DCF key (MTK) must be {c.KEY_LEN} bytes")
    return raw


def padded_length(plaintext_length: int) -> int:
    """Length of the RFC 2630-padded plaintext (always 1..16 bytes of padding)."""
    return (plaintext_length // c.AES_BLOCK + 1) * c.AES_BLOCK


def encrypted_data_length(plaintext_length: int) -> int:
    """EncryptedDataLength for ``plaintext_length`` bytes: IV + padded ciphertext."""
    return c.IV_LEN + padded_length(plaintext_length)


class CbcEncryptor:
    """Pads and encrypts a plaintext handed over in pieces."""

    __slots__ = ("_enc", "_pad")

    def __init__(self, key: bytes, iv: bytes) -> None:
        self._pad = padding.PKCS7(128).padder()
        self._enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()

    def update(self, data: bytes | memoryview) -> bytes:
        return self._enc.update(self._pad.update(data))

    def finalize(self) -> bytes:
        return self._enc.update(self._pad.finalize()) + self._enc.finalize()


class CbcDecryptor:
    """Decrypts a ciphertext handed over in pieces and removes the padding at the end.

    ``update`` holds back the last block until ``finalize`` (the PKCS#7 unpadder needs it), so
    nothing after the true end of the plaintext is ever returned.
    """

    __slots__ = ("_box_offset", "_dec", "_unpad")

    def __init__(self, key: bytes, iv: bytes, *, box_offset: int = 0) -> None:
        self._dec = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
        self._unpad = padding.PKCS7(128).unpadder()
        self._box_offset = box_offset

    def update(self, data: bytes | memoryview) -> bytes:
        return self._unpad.update(self._dec.update(data))

    def finalize(self) -> bytes:
        try:
            return self._unpad.update(self._dec.finalize()) + self._unpad.finalize()
        except ValueError:
            raise DcfKeyError(offset=self._box_offset) from None


def check_padding(
    key: bytes, previous_block: bytes, last_block: bytes, pad_len: int, *, box_offset: int = 0
) -> None:
    """Decrypt only the last block (CBC: its IV is the previous ciphertext block, or the IV) and
    check that it ends in exactly ``pad_len`` bytes of value ``pad_len``.

    Lets the reader reject a wrong key before it writes a single plaintext byte.
    """
    dec = Cipher(algorithms.AES(key), modes.CBC(previous_block)).decryptor()
    block = dec.update(last_block) + dec.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        unpadded = unpadder.update(block) + unpadder.finalize()
    except ValueError:
        raise DcfKeyError(offset=box_offset) from None
    if len(block) - len(unpadded) != pad_len:
        raise DcfKeyError(offset=box_offset)
