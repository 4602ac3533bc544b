"""Key material whose repr/str never show the key bytes (DEVELOPERS.md "Security").

A key object exposes its bytes only through the explicit ``secret`` property (and ``bytes()``), so
that an accidental ``print``, f-string, log line or exception text shows a fingerprint-free
placeholder instead of the key.
"""

from __future__ import annotations

import hmac
from typing import ClassVar

from broadcast import profile
from broadcast.proto.keys.errors import InvalidKeyMaterial


class SecretBytes:
    """Immutable secret bytes. ``repr``/``str`` show the kind and length only."""

    __slots__ = ("_secret",)
    kind: ClassVar[str] = "secret"
    lengths: ClassVar[tuple[int, ...]] = ()

    def __init__(self, secret: bytes) -> None:
        if type(secret) is bytes:  # the common case, without a copy (bytes are immutable)
            raw = secret
        elif isinstance(secret, bytes | bytearray | memoryview):
            raw = bytes(secret)
        else:
            raise InvalidKeyMaterial(f"{self.kind} must be bytes")
        if self.lengths and len(raw) not in self.lengths:
            allowed = " or ".join(str(n) for n in self.lengths)
            raise InvalidKeyMaterial(f"{self.kind} must be {allowed} bytes, got {len(raw)}")
        self._secret = raw

    @property
    def secret(self) -> bytes:
        """The key bytes. Use only to feed a cipher; never log them."""
        return self._secret

    def __bytes__(self) -> bytes:
        return self._secret

    def __len__(self) -> int:
        return len(self._secret)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, SecretBytes)
        return hmac.compare_digest(self._secret, other._secret)

    def __hash__(self) -> int:
        return hash((type(self), len(self._secret)))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {len(self._secret)} bytes, redacted>"

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError(f"{type(self).__name__} is not picklable")


class Muk(SecretBytes):
    """MBMS User Key (from GBA: Ks_(ext)_NAF truncated, or Ks_int_NAF)."""

    kind = "MUK"
    lengths = (profile.MUK_LEN,)


class Msk(SecretBytes):
    """MBMS Service Key."""

    kind = "MSK"
    lengths = (profile.KEY_LEN,)


class Mtk(SecretBytes):
    """MBMS Traffic Key (SRTP master key for streaming, DCF key for download)."""

    kind = "MTK"
    lengths = (profile.KEY_LEN,)


class SrtpSalt(SecretBytes):
    """SRTP master salt carried with a streaming MTK."""

    kind = "SRTP master salt"
    lengths = (profile.SRTP_SALT_LEN,)


class SessionKey(SecretBytes):
    """Any derived key (MIKEY encr_key/auth_key/salt_key, TEK, GBA keys): any length."""

    kind = "derived key"
