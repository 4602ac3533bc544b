"""MBMS key identifiers (TS 33.246 clauses 6.3.2.1, 6.3.3.1; profile.md "Identifiers").

All identifiers are immutable value objects that validate their range on construction and
convert to and from their on-the-wire bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from broadcast import profile
from broadcast.proto.keys.errors import InvalidIdentifier


def _digits(value: str, name: str, lengths: tuple[int, ...]) -> str:
    if not value.isascii() or not value.isdigit() or len(value) not in lengths:
        allowed = " or ".join(str(n) for n in lengths)
        raise InvalidIdentifier(f"{name} must be {allowed} decimal digits, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class KeyDomainId:
    """Key Domain ID: MCC || MNC in 3 bytes, TS 24.008 PLMN BCD layout [3GPP size, P layout].

    ``mcc``/``mnc`` show a nibble that is not a BCD digit as a hex letter (a received Key Domain
    ID is opaque: TS 33.246 6.3.2.1 says the UE does not interpret it).

    Octet 1 = MCC2 MCC1, octet 2 = MNC3 MCC3 (MNC3 = F for a two-digit MNC), octet 3 = MNC2 MNC1
    (high nibble first). MCC 001 / MNC 01 gives ``00 F1 10``.
    """

    value: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.value, bytes) or len(self.value) != profile.KEY_DOMAIN_ID_LEN:
            raise InvalidIdentifier(
                f"Key Domain ID must be {profile.KEY_DOMAIN_ID_LEN} bytes, got {self.value!r}"
            )

    @classmethod
    def from_plmn(cls, mcc: str, mnc: str) -> KeyDomainId:
        mcc = _digits(mcc, "MCC", (3,))
        mnc = _digits(mnc, "MNC", (2, 3))
        d = [int(c) for c in mcc]
        n = [int(c) for c in mnc]
        mnc3 = n[2] if len(n) == 3 else 0xF
        return cls(bytes(((d[1] << 4) | d[0], (mnc3 << 4) | d[2], (n[1] << 4) | n[0])))

    @classmethod
    def from_hex(cls, text: str) -> KeyDomainId:
        try:
            raw = bytes.fromhex(text)
        except ValueError as exc:
            raise InvalidIdentifier(f"Key Domain ID is not hex: {text!r}") from exc
        return cls(raw)

    @property
    def mcc(self) -> str:
        b = self.value
        return f"{b[0] & 0xF:x}{b[0] >> 4:x}{b[1] & 0xF:x}"

    @property
    def mnc(self) -> str:
        b = self.value
        digits = f"{b[2] & 0xF:x}{b[2] >> 4:x}"
        return digits if b[1] >> 4 == 0xF else digits + f"{b[1] >> 4:x}"

    def __bytes__(self) -> bytes:
        return self.value

    def __str__(self) -> str:
        return self.value.hex().upper()


@dataclass(frozen=True, slots=True, order=True)
class MskId:
    """MSK ID: Key Group (16 bits) || Key Number (16 bits); Key Number 0 = current [3GPP]."""

    key_group: int
    key_number: int

    def __post_init__(self) -> None:
        for name, v in (("Key Group", self.key_group), ("Key Number", self.key_number)):
            if not isinstance(v, int) or not 0 <= v <= 0xFFFF:
                raise InvalidIdentifier(f"MSK ID {name} must be 0..65535, got {v!r}")

    @classmethod
    def from_bytes(cls, raw: bytes) -> MskId:
        if len(raw) != profile.MSK_ID_LEN:
            raise InvalidIdentifier(f"MSK ID must be {profile.MSK_ID_LEN} bytes, got {len(raw)}")
        return cls(int.from_bytes(raw[:2], "big"), int.from_bytes(raw[2:], "big"))

    @classmethod
    def from_int(cls, value: int) -> MskId:
        if not 0 <= value <= 0xFFFF_FFFF:
            raise InvalidIdentifier(f"MSK ID must be a 32-bit value, got {value!r}")
        return cls(value >> 16, value & 0xFFFF)

    @classmethod
    def from_hex(cls, text: str) -> MskId:
        try:
            raw = bytes.fromhex(text)
        except ValueError as exc:
            raise InvalidIdentifier(f"MSK ID is not hex: {text!r}") from exc
        return cls.from_bytes(raw)

    @classmethod
    def current(cls, key_group: int) -> MskId:
        """The MSK ID that names "the current MSK" of a Key Group (Key Number 0)."""
        return cls(key_group, profile.KEY_NUMBER_CURRENT)

    @property
    def is_current_alias(self) -> bool:
        return self.key_number == profile.KEY_NUMBER_CURRENT

    def __bytes__(self) -> bytes:
        return self.key_group.to_bytes(2, "big") + self.key_number.to_bytes(2, "big")

    def __int__(self) -> int:
        return (self.key_group << 16) | self.key_number

    def __str__(self) -> str:
        return bytes(self).hex()


@dataclass(frozen=True, slots=True, order=True)
class MtkId:
    """MTK ID: 16 bits, strictly increasing under one MSK; ``profile.MTK_ID_RESERVED`` (0) is
    reserved [P], the valid range is ``profile.MTK_ID_MIN..MTK_ID_MAX``."""

    value: int

    def __post_init__(self) -> None:
        v = self.value
        if not isinstance(v, int) or not profile.MTK_ID_MIN <= v <= profile.MTK_ID_MAX:
            raise InvalidIdentifier(
                f"MTK ID must be {profile.MTK_ID_MIN}..{profile.MTK_ID_MAX}, got {v!r}"
            )
        if v == profile.MTK_ID_RESERVED:
            raise InvalidIdentifier(f"MTK ID {v} is reserved")

    @classmethod
    def from_bytes(cls, raw: bytes) -> MtkId:
        if len(raw) != profile.MTK_ID_LEN:
            raise InvalidIdentifier(f"MTK ID must be {profile.MTK_ID_LEN} bytes, got {len(raw)}")
        return cls(int.from_bytes(raw, "big"))

    def __bytes__(self) -> bytes:
        return self.value.to_bytes(profile.MTK_ID_LEN, "big")

    def __int__(self) -> int:
        return self.value

    def __str__(self) -> str:
        return bytes(self).hex()


@dataclass(frozen=True, slots=True)
class MukId:
    """MUK ID = IDi || IDr: IDi = BM-SC FQDN (NAF-ID, URI), IDr = B-TID (NAI) [3GPP shape, P]."""

    idi: bytes
    idr: bytes

    def __post_init__(self) -> None:
        idi, idr = self.idi, self.idr
        if (  # the common case in one test (a push round builds a million of these)
            type(idi) is bytes and type(idr) is bytes and 0 < len(idi) <= 0xFFFF >= len(idr) > 0
        ):
            return
        for name, v in (("IDi", idi), ("IDr", idr)):
            if not isinstance(v, bytes) or not 0 < len(v) <= 0xFFFF:
                raise InvalidIdentifier(f"MUK ID {name} must be 1..65535 bytes")

    @classmethod
    def of(cls, bmsc_fqdn: str, b_tid: str) -> MukId:
        return cls(bmsc_fqdn.encode(), b_tid.encode())

    def __bytes__(self) -> bytes:
        return self.idi + self.idr

    def __str__(self) -> str:
        return f"{self.idi.decode(errors='replace')}|{self.idr.decode(errors='replace')}"


def srtp_mki(msk_id: MskId, mtk_id: MtkId) -> bytes:
    """The 6-byte SRTP MKI = MSK ID || MTK ID [P]."""
    return bytes(msk_id) + bytes(mtk_id)


def parse_srtp_mki(mki: bytes) -> tuple[MskId, MtkId]:
    if len(mki) != profile.SRTP_MKI_LEN:
        raise InvalidIdentifier(f"SRTP MKI must be {profile.SRTP_MKI_LEN} bytes, got {len(mki)}")
    return MskId.from_bytes(mki[:4]), MtkId.from_bytes(mki[4:])
