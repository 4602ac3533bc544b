"""The GBA side of the BM-SC, pluggable (TS 33.246 6.1-6.2; TS 33.220 Annex B; profile.md "Keys
from GBA").

The BM-SC is a NAF. Given a B-TID and its own NAF-ID it needs Ks_(ext)_NAF and the key lifetime;
:class:`GbaKeySource` is that interface (a real deployment would ask the BSF over Zn; the project
ships the local simulator :class:`broadcast.store.gba_sim.SQLiteGbaStore`). From Ks_(ext)_NAF:

* the HTTP Digest password of the MSK request = base64(Ks_(ext)_NAF) [P];
* MUK = Ks_(ext)_NAF truncated to its first 128 bits (GBA_ME) [P];
* MUK ID = IDi || IDr with IDi = the BM-SC FQDN (NAF-ID without the Ua id) and IDr = B-TID [P].

The KDF (TS 33.220 Annex B.2): HMAC-SHA-256(Ks, FC || P0 || L0 || ... || Pn || Ln), FC = 0x01,
Li = 2-byte big-endian length of Pi; Ks_(ext)_NAF = KDF(Ks, "gba-me", RAND, IMPI, NAF_Id) with
NAF_Id = FQDN || Ua security protocol identifier (0x01,0x00,0x00,0x00,0x01 for MBMS) [P value].
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
from dataclasses import dataclass
from typing import Final, Protocol

from broadcast import profile
from broadcast.proto.keys.ids import MukId
from broadcast.proto.keys.material import Muk, SessionKey
from broadcast.proto.msk.errors import GbaError
from broadcast.time import UnixS

#: Longest FQDN (RFC 1035) and longest IMPI / B-TID accepted (an NAI, RFC 7542 suggests 253).
MAX_FQDN_LEN: Final = 253
MAX_NAI_LEN: Final = 253


def check_fqdn(fqdn: str) -> str:
    """A lower-case ASCII host name (the BM-SC FQDN / NAF-ID); GbaError otherwise."""
    if (
        not isinstance(fqdn, str)
        or not 0 < len(fqdn) <= MAX_FQDN_LEN
        or not fqdn.isascii()
        or fqdn != fqdn.lower()
        or any(not (c.isalnum() or c in "-.") for c in fqdn)
        or fqdn.startswith((".", "-"))
        or ".." in fqdn
    ):
        raise GbaError(f"not a lower-case FQDN: {fqdn!r}")
    return fqdn


def check_nai(value: str, what: str) -> str:
    """An IMPI or B-TID: printable ASCII without spaces, quotes or backslashes, 1..253 chars."""
    if (
        not isinstance(value, str)
        or not 0 < len(value) <= MAX_NAI_LEN
        or not value.isascii()
        or any(not c.isprintable() or c in ' "\\,' for c in value)
    ):
        raise GbaError(f"{what} must be 1..{MAX_NAI_LEN} printable ASCII characters")
    return value


def naf_id(bmsc_fqdn: str) -> bytes:
    """NAF_Id = FQDN || Ua security protocol identifier of MBMS (TS 33.220 Annex H) [P value]."""
    return check_fqdn(bmsc_fqdn).encode("ascii") + profile.UA_PROTOCOL_ID_MBMS


def gba_kdf(key: bytes, fc: int, *params: bytes) -> bytes:
    """TS 33.220 Annex B.2 KDF: HMAC-SHA-256(key, FC || P0 || L0 || P1 || L1 || ...)."""
    s = bytearray((fc,))
    for p in params:
        if len(p) > 0xFFFF:
            raise GbaError("a KDF parameter is longer than 65535 bytes")
        s += p
        s += len(p).to_bytes(2, "big")
    return hmac.new(key, bytes(s), hashlib.sha256).digest()


def ks_ext_naf(ks: SessionKey, rand: bytes, impi: str, naf: bytes) -> SessionKey:
    """Ks_(ext)_NAF = KDF(Ks, "gba-me", RAND, IMPI, NAF_Id) (TS 33.220 Annex B.3)."""
    if len(ks) != profile.GBA_KS_LEN:
        raise GbaError(f"Ks must be {profile.GBA_KS_LEN} bytes")
    return SessionKey(
        gba_kdf(
            ks.secret,
            profile.GBA_KDF_FC,
            profile.GBA_ME_LABEL,
            rand,
            check_nai(impi, "IMPI").encode("ascii"),
            naf,
        )
    )


def digest_password(ks_naf: SessionKey) -> str:
    """The HTTP Digest password of the MSK request: base64(Ks_(ext)_NAF) [P]. Secret."""
    return base64.b64encode(ks_naf.secret).decode("ascii")


def muk_from_ks_naf(ks_naf: SessionKey) -> Muk:
    """MUK = Ks_(ext)_NAF truncated to 128 bits (its first 16 bytes) for GBA_ME [P]."""
    return Muk(ks_naf.secret[: profile.MUK_LEN])


def muk_id_for(bmsc_fqdn: str, b_tid: str) -> MukId:
    """MUK ID = IDi (BM-SC FQDN) || IDr (B-TID) [P]."""
    return MukId.of(check_fqdn(bmsc_fqdn), check_nai(b_tid, "B-TID"))


@dataclass(frozen=True, slots=True)
class NafKey:
    """Ks_(ext)_NAF of one B-TID for one NAF, with its lifetime (unix seconds, exclusive)."""

    b_tid: str
    impi: str
    ks_naf: SessionKey
    expires_at: UnixS

    def is_expired(self, now_unix: UnixS) -> bool:
        return now_unix >= self.expires_at

    @property
    def password(self) -> str:
        """base64(Ks_(ext)_NAF): the Digest password. Secret: never log it."""
        return digest_password(self.ks_naf)

    @property
    def muk(self) -> Muk:
        return muk_from_ks_naf(self.ks_naf)


class GbaMiss(enum.Enum):
    """Why no key was returned."""

    UNKNOWN = "unknown B-TID"
    EXPIRED = "expired B-TID"


class GbaKeySource(Protocol):
    """Where the BM-SC (a NAF) gets Ks_(ext)_NAF for a B-TID (TS 33.246 6.2.1, TS 33.220 Zn)."""

    def naf_key(self, b_tid: str, naf: bytes, now_unix: UnixS) -> NafKey | GbaMiss:
        """Ks_(ext)_NAF of ``b_tid`` for the NAF-ID ``naf`` at ``now_unix`` (whole unix seconds),
        or why not.

        A syntactically bad B-TID is UNKNOWN (never an exception): it comes from the network.
        """
        ...
