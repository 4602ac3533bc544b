"""LCT header codec for FLUTE (RFC 3451 / RFC 5651) with the FLUTE and ALC header extensions.

Layout of the first word (big-endian, RFC 3451 §5.1 / RFC 5651 §5.1)::

    | V (4) | C (2) | r/PSI (2) | S | O (2) | H | T/Res | R/Res | A | B | HDR_LEN (8) | CP (8) |

followed by CCI (32*(C+1) bits), TSI (32*S + 16*H bits), TOI (32*O + 16*H bits), then — FLUTE v1
only (RFC 3451) — SCT if T = 1 and ERT if R = 1 (32 bits each), then the header extensions up to
HDR_LEN 32-bit words. The LCT version V is 1 in both RFCs; what differs is the meaning of bits 6-7
(reserved in RFC 3451, PSI in RFC 5651) and bits 12-13 (T/R in RFC 3451, reserved in RFC 5651).
:class:`FluteVersion` selects the layout: V1 = FLUTE RFC 3926 over RFC 3451 (what MBMS, TS 26.346,
uses), V2 = FLUTE RFC 6726 over RFC 5651. A V1 header with T = R = 0 is bit-identical to V2.

Header extensions (RFC 5651 §5.2): HET 0-127 are variable length (HET, HEL in words, content),
HET 128-255 one word (HET, 24-bit content). Known ones decode to typed values, others are kept
opaque (:class:`UnknownExtension`): the default action for unrecognised extensions is to ignore
them (RFC 5651 §5.2.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Final, TypeVar

from broadcast.proto.flute.errors import (
    BadExtension,
    BadHeaderLength,
    BadVersion,
    FluteEncodeError,
    TruncatedPacket,
)

#: LCT version number, the same in RFC 3451 and RFC 5651 (and the ALC version, RFC 5775 §4.1).
LCT_VERSION: Final = 1

#: Header Extension Types.
HET_NOP: Final = 0  # RFC 5651 §5.2.1
HET_AUTH: Final = 1  # RFC 5651 §5.2.1 (content out of scope: kept opaque)
HET_TIME: Final = 2  # RFC 5651 §5.2.2
HET_FTI: Final = 64  # RFC 5775 §4.2, RFC 3926 §5.1
HET_FDT: Final = 192  # RFC 3926 §3.4.1, RFC 6726 §3.4.1
HET_CENC: Final = 193  # RFC 3926 §3.4.3, RFC 6726 §3.4.3

#: Maximum LCT header length: HDR_LEN is 8 bits of 32-bit words (RFC 5651 §5.2.1).
MAX_HEADER_LEN: Final = 255 * 4
#: The FDT Instance ID is 20 bits (RFC 3926 §3.4.1).
FDT_INSTANCE_ID_BITS: Final = 20
FDT_INSTANCE_ID_MOD: Final = 1 << FDT_INSTANCE_ID_BITS

_TSI_WIDTHS: Final = (0, 16, 32, 48)
_TOI_WIDTHS: Final = (0, 16, 32, 48, 64, 80, 96, 112)
_CCI_WIDTHS: Final = (32, 64, 96, 128)

# EXT_TIME "Use" bits (RFC 5651 §5.2.2, figure 4), as a 16-bit value.
_USE_SCT_HIGH: Final = 0x8000
_USE_SCT_LOW: Final = 0x4000
_USE_ERT: Final = 0x2000
_USE_SLC: Final = 0x1000


class FluteVersion(IntEnum):
    """FLUTE version, which fixes the LCT layout and the EXT_FDT version field."""

    #: RFC 3926 over LCT RFC 3451 / ALC RFC 3450: T/R bits, EXT_FDT V = 1. Used by MBMS.
    V1 = 1
    #: RFC 6726 over LCT RFC 5651 / ALC RFC 5775: PSI bits, EXT_FDT V = 2.
    V2 = 2


# --- header extensions ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ExtNop:
    """EXT_NOP (HET 0): content MUST be ignored by receivers (RFC 5651 §5.2.1)."""

    content: bytes = b"\x00\x00"


@dataclass(frozen=True, slots=True)
class ExtTime:
    """EXT_TIME (HET 2, RFC 5651 §5.2.2): SCT-High/Low, ERT, SLC 32-bit time values.

    ``reserved`` (4 LCT-reserved Use bits), ``pi_specific`` (8 bits) and ``extra`` (words beyond
    those the Use bits announce, which receivers ignore) are kept for a byte-exact round trip.
    """

    sct_high: int | None = None
    sct_low: int | None = None
    ert: int | None = None
    slc: int | None = None
    reserved: int = 0
    pi_specific: int = 0
    extra: bytes = b""


@dataclass(frozen=True, slots=True)
class ExtFti:
    """EXT_FTI (HET 64): the encoded FEC Object Transmission Information of the FEC scheme.

    RFC 5775 §4.2 / RFC 3926 §5.1; the content format belongs to the FEC scheme named by the
    Codepoint (:mod:`broadcast.proto.flute.fec`). On encode it is zero-padded to a 32-bit boundary.
    """

    oti: bytes


@dataclass(frozen=True, slots=True)
class ExtFdt:
    """EXT_FDT (HET 192): FLUTE version (4 bits) and FDT Instance ID (20 bits), RFC 3926 §3.4.1."""

    version: int
    instance_id: int


@dataclass(frozen=True, slots=True)
class ExtCenc:
    """EXT_CENC (HET 193): content encoding of the FDT Instance, RFC 3926 §3.4.3 / RFC 6726."""

    cenc: int
    reserved: int = 0


@dataclass(frozen=True, slots=True)
class UnknownExtension:
    """Any other extension, kept opaque. ``content`` excludes HET (and HEL for HET < 128)."""

    het: int
    content: bytes


HeaderExtension = ExtNop | ExtTime | ExtFti | ExtFdt | ExtCenc | UnknownExtension
_E = TypeVar("_E", ExtNop, ExtTime, ExtFti, ExtFdt, ExtCenc, UnknownExtension)


# --- header --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LctHeader:
    """A decoded LCT header.

    ``tsi_bits`` / ``toi_bits`` are the field widths; ``None`` on encode picks the shortest layout
    that holds both values (never a zero-length TSI or TOI, which ALC / FLUTE forbid). ``psi`` is
    FLUTE v2 only (RFC 5651), ``sct`` / ``ert`` (T / R bits) FLUTE v1 only (RFC 3451).
    """

    tsi: int
    toi: int
    codepoint: int = 0
    cci: int = 0
    cci_bits: int = 32
    tsi_bits: int | None = None
    toi_bits: int | None = None
    close_session: bool = False
    close_object: bool = False
    psi: int = 0
    sct: int | None = None
    ert: int | None = None
    extensions: tuple[HeaderExtension, ...] = field(default=())

    def find(self, kind: type[_E]) -> _E | None:
        """The first extension of this type, or ``None``."""
        for ext in self.extensions:
            if isinstance(ext, kind):
                return ext
        return None


def _fits(value: int, bits: int) -> bool:
    return 0 <= value < (1 << bits)


def _choose_widths(header: LctHeader) -> tuple[int, int, int]:
    """Return (S, O, H) for the header's TSI/TOI (RFC 5651 §5.1: TSI 32*S+16*H, TOI 32*O+16*H)."""
    best: tuple[int, int, int, int] | None = None
    for h in (1, 0):
        for s in (0, 1):
            tsi_bits = 32 * s + 16 * h
            if header.tsi_bits is None:
                if tsi_bits == 0 or not _fits(header.tsi, tsi_bits):
                    continue
            elif tsi_bits != header.tsi_bits:
                continue
            for o in range(4):
                toi_bits = 32 * o + 16 * h
                if header.toi_bits is None:
                    if toi_bits == 0 or not _fits(header.toi, toi_bits):
                        continue
                elif toi_bits != header.toi_bits:
                    continue
                total = tsi_bits + toi_bits
                if best is None or total < best[0]:
                    best = (total, s, o, h)
    if best is None:
        raise FluteEncodeError(
            "no LCT layout holds these TSI/TOI values and widths", field="TSI/TOI"
        )
    _, s, o, h = best
    tsi_bits, toi_bits = 32 * s + 16 * h, 32 * o + 16 * h
    if not _fits(header.tsi, tsi_bits):
        raise FluteEncodeError(f"TSI does not fit in {tsi_bits} bits", field="TSI")
    if not _fits(header.toi, toi_bits):
        raise FluteEncodeError(f"TOI does not fit in {toi_bits} bits", field="TOI")
    return s, o, h


def _encode_extension(ext: HeaderExtension) -> bytes:
    if isinstance(ext, ExtFdt):
        if not 0 <= ext.version <= 0xF:
            raise FluteEncodeError("EXT_FDT version is 4 bits", field="EXT_FDT.V")
        if not 0 <= ext.instance_id < FDT_INSTANCE_ID_MOD:
            raise FluteEncodeError("FDT Instance ID is 20 bits", field="EXT_FDT.FDT Instance ID")
        return ((HET_FDT << 24) | (ext.version << 20) | ext.instance_id).to_bytes(4, "big")
    if isinstance(ext, ExtCenc):
        if not _fits(ext.cenc, 8) or not _fits(ext.reserved, 16):
            raise FluteEncodeError("EXT_CENC fields out of range", field="EXT_CENC")
        return bytes((HET_CENC, ext.cenc)) + ext.reserved.to_bytes(2, "big")
    if isinstance(ext, ExtTime):
        return _encode_variable(HET_TIME, _encode_time(ext))
    if isinstance(ext, ExtFti):
        pad = (-(2 + len(ext.oti))) % 4
        return _encode_variable(HET_FTI, ext.oti + bytes(pad))
    if isinstance(ext, ExtNop):
        return _encode_variable(HET_NOP, ext.content)
    if not _fits(ext.het, 8):
        raise FluteEncodeError("HET is 8 bits", field="HET")
    if ext.het >= 128:
        if len(ext.content) != 3:
            raise FluteEncodeError("fixed-length extension content is 24 bits", field="HEC")
        return bytes((ext.het,)) + ext.content
    if ext.het in (HET_NOP, HET_TIME, HET_FTI):
        raise FluteEncodeError("use the typed extension for this HET", field="HET")
    return _encode_variable(ext.het, ext.content)


def _encode_variable(het: int, content: bytes) -> bytes:
    total = 2 + len(content)
    if total % 4:
        raise FluteEncodeError(
            "variable-length extension must be a multiple of 32 bits", field="HEL"
        )
    hel = total // 4
    if hel > 255:
        raise FluteEncodeError("extension longer than 255 words", field="HEL")
    return bytes((het, hel)) + content


def _encode_time(ext: ExtTime) -> bytes:
    if ext.sct_low is not None and ext.sct_high is None:
        raise FluteEncodeError("SCT-Low requires SCT-High (RFC 5651 §5.2.2)", field="EXT_TIME")
    if not _fits(ext.reserved, 4) or not _fits(ext.pi_specific, 8) or len(ext.extra) % 4:
        raise FluteEncodeError("EXT_TIME Use / extra words out of range", field="EXT_TIME")
    use = (ext.reserved << 8) | ext.pi_specific
    values = b""
    for flag, value in (
        (_USE_SCT_HIGH, ext.sct_high),
        (_USE_SCT_LOW, ext.sct_low),
        (_USE_ERT, ext.ert),
        (_USE_SLC, ext.slc),
    ):
        if value is not None:
            if not _fits(value, 32):
                raise FluteEncodeError("EXT_TIME values are 32 bits", field="EXT_TIME")
            use |= flag
            values += value.to_bytes(4, "big")
    return use.to_bytes(2, "big") + values + ext.extra


def encode_header(header: LctHeader, version: FluteVersion = FluteVersion.V1) -> bytes:
    """Encode an LCT header with its extensions (RFC 3451 §5.1 for V1, RFC 5651 §5.1 for V2)."""
    if header.cci_bits not in _CCI_WIDTHS:
        raise FluteEncodeError("CCI is 32, 64, 96 or 128 bits", field="C")
    if not _fits(header.cci, header.cci_bits):
        raise FluteEncodeError("CCI does not fit its width", field="CCI")
    if not _fits(header.codepoint, 8):
        raise FluteEncodeError("Codepoint is 8 bits", field="CP")
    if version is FluteVersion.V1:
        if header.psi:
            raise FluteEncodeError("PSI exists only in RFC 5651 (FLUTE v2)", field="PSI")
    elif header.sct is not None or header.ert is not None:
        raise FluteEncodeError("SCT/ERT header fields exist only in RFC 3451", field="T/R")
    if not _fits(header.psi, 2):
        raise FluteEncodeError("PSI is 2 bits", field="PSI")
    s, o, h = _choose_widths(header)
    tsi_bytes, toi_bytes = (32 * s + 16 * h) // 8, (32 * o + 16 * h) // 8
    c = header.cci_bits // 32 - 1
    body = header.cci.to_bytes(header.cci_bits // 8, "big")
    body += header.tsi.to_bytes(tsi_bytes, "big") + header.toi.to_bytes(toi_bytes, "big")
    t = r = 0
    for value, name in ((header.sct, "SCT"), (header.ert, "ERT")):
        if value is not None:
            if not _fits(value, 32):
                raise FluteEncodeError(f"{name} is 32 bits", field=name)
            body += value.to_bytes(4, "big")
    if header.sct is not None:
        t = 1
    if header.ert is not None:
        r = 1
    body += b"".join(_encode_extension(ext) for ext in header.extensions)
    length = 4 + len(body)
    if length > MAX_HEADER_LEN:
        raise FluteEncodeError("LCT header longer than 255 words", field="HDR_LEN")
    word = (
        (LCT_VERSION << 28)
        | (c << 26)
        | (header.psi << 24)
        | (s << 23)
        | (o << 21)
        | (h << 20)
        | (t << 19)
        | (r << 18)
        | (int(header.close_session) << 17)
        | (int(header.close_object) << 16)
        | ((length // 4) << 8)
        | header.codepoint
    )
    return word.to_bytes(4, "big") + body


def decode_header(
    data: bytes | bytearray | memoryview, version: FluteVersion = FluteVersion.V1
) -> tuple[LctHeader, int]:
    """Decode the LCT header at the start of ``data``; return it and its length in bytes.

    Reserved bits are ignored (RFC 3451 / RFC 5651 §5.1). Raises :class:`LctError` subclasses.
    """
    buf = bytes(data[:MAX_HEADER_LEN])
    if len(buf) < 4:
        raise TruncatedPacket("shorter than the LCT fixed header", field="LCT header", offset=0)
    word = int.from_bytes(buf[:4], "big")
    if word >> 28 != LCT_VERSION:
        raise BadVersion(f"LCT version {word >> 28}, expected 1", field="V", offset=0)
    c = (word >> 26) & 3
    s, o, h = (word >> 23) & 1, (word >> 21) & 3, (word >> 20) & 1
    t, r = (word >> 19) & 1, (word >> 18) & 1
    if version is FluteVersion.V1:
        psi = 0
    else:
        psi, t, r = (word >> 24) & 3, 0, 0
    hdr_len = ((word >> 8) & 0xFF) * 4
    cci_len, tsi_len, toi_len = 4 * (c + 1), 4 * s + 2 * h, 4 * o + 2 * h
    fixed = 4 + cci_len + tsi_len + toi_len + 4 * (t + r)
    if hdr_len < fixed:
        raise BadHeaderLength(
            f"HDR_LEN {hdr_len} bytes is shorter than the {fixed}-byte fixed header",
            field="HDR_LEN",
            offset=2,
        )
    if hdr_len > len(data):
        raise BadHeaderLength(
            f"HDR_LEN {hdr_len} bytes runs past the {len(data)}-byte packet",
            field="HDR_LEN",
            offset=2,
        )
    pos = 4
    cci = int.from_bytes(buf[pos : pos + cci_len], "big")
    pos += cci_len
    tsi = int.from_bytes(buf[pos : pos + tsi_len], "big")
    pos += tsi_len
    toi = int.from_bytes(buf[pos : pos + toi_len], "big")
    pos += toi_len
    sct = ert = None
    if t:
        sct = int.from_bytes(buf[pos : pos + 4], "big")
        pos += 4
    if r:
        ert = int.from_bytes(buf[pos : pos + 4], "big")
        pos += 4
    extensions = _decode_extensions(buf, pos, hdr_len)
    header = LctHeader(
        tsi=tsi,
        toi=toi,
        codepoint=word & 0xFF,
        cci=cci,
        cci_bits=cci_len * 8,
        tsi_bits=tsi_len * 8,
        toi_bits=toi_len * 8,
        close_session=bool((word >> 17) & 1),
        close_object=bool((word >> 16) & 1),
        psi=psi,
        sct=sct,
        ert=ert,
        extensions=extensions,
    )
    return header, hdr_len


def _decode_extensions(buf: bytes, pos: int, end: int) -> tuple[HeaderExtension, ...]:
    out: list[HeaderExtension] = []
    while pos < end:
        het = buf[pos]
        if het >= 128:
            if pos + 4 > end:
                raise BadExtension("extension runs past HDR_LEN", field="HET", offset=pos)
            out.append(_decode_fixed(het, buf[pos + 1 : pos + 4]))
            pos += 4
            continue
        if pos + 2 > end:
            raise BadExtension("extension runs past HDR_LEN", field="HEL", offset=pos)
        hel = buf[pos + 1]
        if hel == 0:
            raise BadExtension("HEL 0 in a variable-length extension", field="HEL", offset=pos + 1)
        if pos + 4 * hel > end:
            raise BadExtension(
                f"extension of {4 * hel} bytes runs past HDR_LEN", field="HEL", offset=pos + 1
            )
        content = buf[pos + 2 : pos + 4 * hel]
        out.append(_decode_variable(het, content, pos))
        pos += 4 * hel
    return tuple(out)


def _decode_fixed(het: int, content: bytes) -> HeaderExtension:
    if het == HET_FDT:
        value = int.from_bytes(content, "big")
        return ExtFdt(version=value >> 20, instance_id=value & (FDT_INSTANCE_ID_MOD - 1))
    if het == HET_CENC:
        return ExtCenc(cenc=content[0], reserved=int.from_bytes(content[1:], "big"))
    return UnknownExtension(het=het, content=content)


def _decode_variable(het: int, content: bytes, pos: int) -> HeaderExtension:
    if het == HET_NOP:
        return ExtNop(content)
    if het == HET_FTI:
        return ExtFti(content)
    if het == HET_TIME:
        return _decode_time(content, pos)
    return UnknownExtension(het=het, content=content)


def _decode_time(content: bytes, pos: int) -> ExtTime:
    use = int.from_bytes(content[:2], "big")
    values: list[int | None] = []
    at = 2
    for flag in (_USE_SCT_HIGH, _USE_SCT_LOW, _USE_ERT, _USE_SLC):
        if use & flag:
            if at + 4 > len(content):
                raise BadExtension(
                    "EXT_TIME shorter than its Use bits announce", field="HEL", offset=pos + 1
                )
            values.append(int.from_bytes(content[at : at + 4], "big"))
            at += 4
        else:
            values.append(None)
    return ExtTime(
        sct_high=values[0],
        sct_low=values[1],
        ert=values[2],
        slc=values[3],
        reserved=(use >> 8) & 0xF,
        pi_specific=use & 0xFF,
        extra=content[at:],
    )


def fdt_instance_id_newer(candidate: int, reference: int) -> bool:
    """Whether FDT Instance ID ``candidate`` is newer than ``reference`` under 20-bit wraparound.

    RFC 3926 §3.4.1: IDs increase by one per new instance and wrap from 2^20-1 to 0, 0 then being
    "higher" than 2^20-1. Serial-number arithmetic (RFC 1982 style) over 20 bits: newer when the
    forward distance is in 1 .. 2^19 - 1.
    """
    distance = (candidate - reference) % FDT_INSTANCE_ID_MOD
    return 0 < distance < FDT_INSTANCE_ID_MOD // 2


def next_fdt_instance_id(current: int) -> int:
    """The FDT Instance ID after ``current``: +1 with wrap 2^20-1 → 0 (RFC 3926 §3.4.1)."""
    if not 0 <= current < FDT_INSTANCE_ID_MOD:
        raise FluteEncodeError("FDT Instance ID is 20 bits", field="FDT Instance ID")
    return (current + 1) % FDT_INSTANCE_ID_MOD


def extension_offsets(header: LctHeader) -> tuple[int, ...]:
    """Byte offset of each of ``header.extensions`` in the encoded (or decoded) header."""
    pos = 4 + (header.cci_bits // 8)
    if header.tsi_bits is not None and header.toi_bits is not None:
        pos += (header.tsi_bits + header.toi_bits) // 8
    else:
        s, o, h = _choose_widths(header)
        pos += (32 * s + 32 * o + 32 * h) // 8
    pos += 4 * ((header.sct is not None) + (header.ert is not None))
    offsets = []
    for ext in header.extensions:
        offsets.append(pos)
        pos += _extension_length(ext)
    return tuple(offsets)


def _extension_length(ext: HeaderExtension) -> int:
    if isinstance(ext, ExtFdt | ExtCenc):
        return 4
    if isinstance(ext, ExtTime):
        count = sum(v is not None for v in (ext.sct_high, ext.sct_low, ext.ert, ext.slc))
        return 4 + 4 * count + len(ext.extra)
    if isinstance(ext, ExtFti):
        return 2 + len(ext.oti) + (-(2 + len(ext.oti))) % 4
    if isinstance(ext, ExtNop):
        return 2 + len(ext.content)
    return 1 + len(ext.content) if ext.het >= 128 else 2 + len(ext.content)
