"""Typed FLUTE errors (RFC 3926 / RFC 6726, ALC RFC 5775, LCT RFC 3451 / RFC 5651, FEC RFC 5052).

Every error the package raises on bad input is a :class:`FluteError`. Each names the field and the
byte offset where decoding went wrong (when there is one) and has a short ``reason`` that is the
key of the receiver's rejection counters. Messages carry only public facts (lengths, offsets,
identifiers), never object contents.
"""

from __future__ import annotations

from typing import ClassVar, Self

from broadcast.proto.errors import LocatedError


class FluteError(LocatedError):
    """Base of every FLUTE error: the only exception the codecs and the receiver let escape."""

    reason: ClassVar[str] = "flute_error"

    def at(self, offset: int) -> Self:
        """The same error located at ``offset`` (unchanged if it already has an offset)."""
        if self.offset is not None:
            return self
        located = type(self)(self.detail, field=self.field, offset=offset)
        located.__cause__ = self.__cause__
        return located


class FluteEncodeError(FluteError, ValueError):
    """A value cannot be encoded (out of range for its field, inconsistent parameters)."""

    reason = "encode"


# --- LCT (RFC 3451 / RFC 5651) -------------------------------------------------------------------
class LctError(FluteError):
    """The bytes are not an LCT header of the configured profile."""

    reason = "lct_malformed"


class TruncatedPacket(LctError):
    """A fixed field runs past the end of the packet."""

    reason = "truncated"


class BadVersion(LctError):
    """The LCT version field V is not 1 (RFC 3451 §5.1, RFC 5651 §5.1)."""

    reason = "bad_version"


class BadHeaderLength(LctError):
    """HDR_LEN is shorter than the fixed header or runs past the end of the packet."""

    reason = "bad_hdr_len"


class BadExtension(LctError):
    """A header extension is malformed: HEL 0, past HDR_LEN, bad content (RFC 5651 §5.2)."""

    reason = "bad_extension"


# --- ALC / FEC (RFC 5775, RFC 5052, RFC 5445) ----------------------------------------------------
class AlcError(FluteError):
    """A well-formed LCT header that is not a usable ALC/FLUTE packet."""

    reason = "alc_malformed"


class MissingIdentifier(AlcError):
    """No TSI (ALC requires one, RFC 5775 §4.1) or no TOI (FLUTE needs one, RFC 3926 §3.3)."""

    reason = "missing_id"


class UnsupportedCodepoint(AlcError):
    """The Codepoint (= FEC Encoding ID in FLUTE, RFC 3926 §5.1) names no registered FEC scheme."""

    reason = "unsupported_fec"


class FecError(AlcError):
    """FEC Object Transmission Information or an encoding symbol is inconsistent (RFC 5052)."""

    reason = "bad_fec"


class BadOti(FecError):
    """The FEC OTI (EXT_FTI or FDT attributes) is malformed or out of range."""

    reason = "bad_oti"


class ObjectTooLarge(FecError):
    """The transfer length exceeds the configured maximum object size (no allocation is made)."""

    reason = "object_too_large"


class BadSymbol(FecError):
    """SBN / ESI out of range for the object's block structure, or a wrong symbol length."""

    reason = "bad_symbol"


class ConflictingSymbol(FecError):
    """A repeated encoding symbol differs from the one already received."""

    reason = "conflicting_symbol"


class ConflictingOti(FecError):
    """Packets of one object announce different FEC Object Transmission Information."""

    reason = "conflicting_oti"


# --- FDT (RFC 3926 §3.4, TS 26.346 §7.2.10) ------------------------------------------------------
class FdtError(FluteError):
    """An FDT Instance is malformed, unsafe or outside the configured limits."""

    reason = "fdt_malformed"


class FdtTooLarge(FdtError):
    """The FDT Instance document is larger than the configured limit."""

    reason = "fdt_too_large"


class FdtForbiddenConstruct(FdtError):
    """DOCTYPE, entity declarations or references: refused before any expansion."""

    reason = "fdt_forbidden"


class FdtLimitExceeded(FdtError):
    """Too many File entries, elements, attributes or too deep nesting."""

    reason = "fdt_limit"


class FdtEncodeError(FdtError, FluteEncodeError):
    """An FdtInstance cannot be written (e.g. no File entry, TOI out of range)."""

    reason = "fdt_encode"


class ContentEncodingError(FdtError):
    """EXT_CENC names an unknown content encoding or the FDT does not decompress within limits."""

    reason = "bad_cenc"


# --- Receiver ------------------------------------------------------------------------------------
class ReceiverError(FluteError):
    """A packet is well formed but cannot be used by this session receiver."""

    reason = "receiver"


class WrongSession(ReceiverError):
    """The TSI is not the one of this session (RFC 5775 §4.4 step 2)."""

    reason = "wrong_tsi"


class MissingExtFdt(ReceiverError):
    """A TOI 0 packet without EXT_FDT (RFC 3926 §3.3: MUST include it)."""

    reason = "missing_ext_fdt"


class ExpiredFdt(ReceiverError):
    """The FDT Instance has expired: it must not be used (RFC 3926 §3.3)."""

    reason = "fdt_expired"


class ResourceLimit(ReceiverError):
    """The receiver's bounded state is full; the packet was not stored."""

    reason = "resource_limit"


class IntegrityError(ReceiverError):
    """A completed object does not match its FDT Content-MD5 / Content-Length / Transfer-Length."""

    reason = "integrity"
