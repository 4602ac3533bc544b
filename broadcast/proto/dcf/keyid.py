"""The ``MBMS-Key-ID`` textual header of an MBMS download DCF [P] (profile.md, "Protection of
the content" → Download).

Value: lower-case hex of Key Domain ID (3 bytes) ‖ MSK ID (4 bytes) ‖ MTK ID (2 bytes), i.e.
exactly 18 hex digits, e.g. ``MBMS-Key-ID:00f110000100070001`` for Key Domain ``00 F1 10``, MSK ID
``0001 0007`` and MTK ID ``0001``. It tells the UE which MTK (delivered by MIKEY in the same FLUTE
session) decrypts the ``odda`` data.
"""

from __future__ import annotations

import string
from typing import NamedTuple

from broadcast import profile
from broadcast.proto.keys import InvalidIdentifier, KeyDomainId, MskId, MtkId

_HEX = frozenset(string.hexdigits)


def _byte_len() -> int:
    """Bytes of Key Domain ID ‖ MSK ID ‖ MTK ID (the profile's identifier lengths, read now)."""
    return profile.KEY_DOMAIN_ID_LEN + profile.MSK_ID_LEN + profile.MTK_ID_LEN


class MbmsKeyId(NamedTuple):
    """(Key Domain ID, MSK ID, MTK ID) naming the MTK that protects a DCF."""

    key_domain_id: KeyDomainId
    msk_id: MskId
    mtk_id: MtkId

    def to_bytes(self) -> bytes:
        return bytes(self.key_domain_id) + bytes(self.msk_id) + bytes(self.mtk_id)

    def header_value(self) -> str:
        """The textual header value: 18 lower-case hex digits."""
        return self.to_bytes().hex()

    @classmethod
    def from_bytes(cls, raw: bytes) -> MbmsKeyId:
        """Split 9 bytes into the three identifiers (``InvalidIdentifier`` when malformed)."""
        kd_len, msk_len = profile.KEY_DOMAIN_ID_LEN, profile.MSK_ID_LEN
        if len(raw) != _byte_len():
            raise InvalidIdentifier(f"MBMS-Key-ID must be {_byte_len()} bytes, got {len(raw)}")
        return cls(
            KeyDomainId(raw[:kd_len]),
            MskId.from_bytes(raw[kd_len : kd_len + msk_len]),
            MtkId.from_bytes(raw[kd_len + msk_len :]),
        )

    @classmethod
    def parse(cls, value: str) -> MbmsKeyId:
        """Parse a header value: exactly 18 hex digits (either case accepted on receive), MTK ID
        not 0. Raises :class:`~broadcast.proto.keys.InvalidIdentifier` otherwise."""
        hex_len = 2 * _byte_len()
        if len(value) != hex_len or not _HEX.issuperset(value):
            raise InvalidIdentifier(f"MBMS-Key-ID must be {hex_len} hex digits, got {value[:40]!r}")
        return cls.from_bytes(bytes.fromhex(value))
