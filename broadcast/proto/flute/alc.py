"""ALC packets for FLUTE: LCT header · FEC Payload ID · encoding symbol(s) (RFC 5775 §4.1).

In FLUTE the LCT Codepoint carries the FEC Encoding ID (RFC 3926 §5.1, RFC 6726 §5.1), which
selects the FEC scheme and so the FEC Payload ID format (SBN16 ‖ ESI16 for Compact No-Code,
RFC 5445 §3.2.1). EXT_FTI carries the FEC OTI (RFC 5775 §4.2); FDT Instances travel with TOI 0 and
EXT_FDT (RFC 3926 §3.3). A packet may end right after the LCT header: such data-less packets carry
no FEC Payload ID (RFC 5775 §4.1), e.g. to signal session close.

:func:`object_headers` encodes the LCT headers of one object's packets once; the packets themselves
are built by :class:`broadcast.proto.flute.blocks.BlockPacketizer`. :func:`parse_packet` turns
bytes into an :class:`AlcPacket` or raises a
:class:`~broadcast.proto.flute.errors.FluteError` subclass naming the field and offset; nothing is
allocated in proportion to a length field (transfer lengths above ``max_object_size`` are refused).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Final

from broadcast.proto.flute.errors import (
    AlcError,
    FluteEncodeError,
    FluteError,
    MissingIdentifier,
    TruncatedPacket,
)
from broadcast.proto.flute.fec import Oti, get_scheme
from broadcast.proto.flute.lct import (
    ExtCenc,
    ExtFdt,
    ExtFti,
    FluteVersion,
    HeaderExtension,
    LctHeader,
    decode_header,
    encode_header,
    extension_offsets,
)

#: Default ceiling on the transfer length of one object (FDT OTI or EXT_FTI) [P].
DEFAULT_MAX_OBJECT_SIZE: Final = 64 * 1024 * 1024
#: TOI reserved for FDT Instances (RFC 3926 §3.3).
FDT_TOI: Final = 0
#: EXT_FDT version values a receiver accepts: 1 (RFC 3926) and 2 (RFC 6726 §3.4.1).
FDT_VERSIONS: Final = frozenset({1, 2})


@dataclass(frozen=True, slots=True)
class AlcPacket:
    """A parsed ALC/FLUTE packet. ``sbn``/``esi`` are ``None`` for a data-less packet."""

    header: LctHeader
    sbn: int | None
    esi: int | None
    payload: bytes = field(repr=False)
    oti: Oti | None = None

    @property
    def tsi(self) -> int:
        """Transport Session Identifier."""
        return self.header.tsi

    @property
    def toi(self) -> int:
        """Transport Object Identifier (0 = FDT Instance)."""
        return self.header.toi

    @property
    def fec_encoding_id(self) -> int:
        """The FEC Encoding ID, carried in the Codepoint (RFC 3926 §5.1)."""
        return self.header.codepoint

    @property
    def fdt(self) -> ExtFdt | None:
        """EXT_FDT, present on FDT Instance packets."""
        return self.header.find(ExtFdt)

    @property
    def cenc(self) -> ExtCenc | None:
        """EXT_CENC, present when the FDT Instance is content encoded."""
        return self.header.find(ExtCenc)


def parse_packet(
    data: bytes | bytearray | memoryview,
    *,
    version: FluteVersion = FluteVersion.V1,
    max_object_size: int = DEFAULT_MAX_OBJECT_SIZE,
) -> AlcPacket:
    """Parse one ALC packet (UDP payload). Raises only :class:`FluteError` subclasses."""
    raw = bytes(data)
    header, hdr_len = decode_header(raw, version)
    if not header.tsi_bits:
        raise MissingIdentifier("ALC requires a TSI (S = H = 0)", field="S/H", offset=1)
    if not header.toi_bits:
        raise MissingIdentifier("FLUTE requires a TOI (O = H = 0)", field="O/H", offset=1)
    scheme = get_scheme(header.codepoint, offset=3)
    offsets = extension_offsets(header)
    oti: Oti | None = None
    for ext, offset in zip(header.extensions, offsets, strict=True):
        if isinstance(ext, ExtFti):
            if oti is not None:
                raise AlcError("more than one EXT_FTI", field="EXT_FTI", offset=offset)
            try:
                oti = scheme.decode_oti(ext.oti, offset + 2)
                scheme.validate(oti, max_object_size)
            except FluteError as err:
                raise err.at(offset + 2) from None
        elif isinstance(ext, ExtFdt) and header.toi == FDT_TOI and ext.version not in FDT_VERSIONS:
            raise AlcError(
                f"EXT_FDT FLUTE version {ext.version}", field="EXT_FDT.V", offset=offset + 1
            )
    if len(raw) == hdr_len:
        return AlcPacket(header=header, sbn=None, esi=None, payload=b"", oti=oti)
    pid_len = scheme.payload_id_length
    if len(raw) < hdr_len + pid_len:
        raise TruncatedPacket(
            f"{len(raw) - hdr_len} bytes after the LCT header, FEC Payload ID needs {pid_len}",
            field="FEC Payload ID",
            offset=hdr_len,
        )
    sbn, esi = scheme.decode_payload_id(raw[hdr_len : hdr_len + pid_len], hdr_len)
    return AlcPacket(header=header, sbn=sbn, esi=esi, payload=raw[hdr_len + pid_len :], oti=oti)


def build_packet(
    header: LctHeader,
    sbn: int,
    esi: int,
    payload: bytes,
    *,
    version: FluteVersion = FluteVersion.V1,
) -> bytes:
    """Encode one ALC packet; the FEC scheme is the one named by ``header.codepoint``."""
    scheme = get_scheme(header.codepoint)
    return encode_header(header, version) + scheme.encode_payload_id(sbn, esi) + payload


def object_headers(
    toi: int,
    *,
    tsi: int,
    oti: Oti,
    version: FluteVersion = FluteVersion.V1,
    fdt_instance_id: int | None = None,
    cenc: int | None = None,
    with_fti: bool = True,
    cci: int = 0,
    tsi_bits: int | None = None,
    toi_bits: int | None = None,
    close_object: bool = False,
    extensions: Sequence[HeaderExtension] = (),
) -> tuple[bytes, bytes]:
    """The encoded LCT headers of one object's packets: (every packet, the last packet).

    TOI 0 is an FDT Instance: ``fdt_instance_id`` is then required and the header carries
    EXT_FDT with the version of ``version`` (1 for RFC 3926, 2 for RFC 6726), EXT_CENC if
    ``cenc`` is given, and EXT_FTI (RFC 3926 §3.4, §5.1). For other TOIs EXT_FTI is added when
    ``with_fti``. The last packet's header has B set when ``close_object`` (RFC 5651 §5.1), else
    it is the same bytes. The OTI is validated.
    """
    if toi < 0 or tsi < 0:
        raise FluteEncodeError("TSI and TOI are non-negative", field="TSI/TOI")
    scheme = get_scheme(oti.fec_encoding_id)
    ext: list[HeaderExtension] = []
    if toi == FDT_TOI:
        if fdt_instance_id is None:
            raise FluteEncodeError(
                "TOI 0 is an FDT Instance: EXT_FDT needs the instance ID", field="FDT Instance ID"
            )
        ext.append(ExtFdt(version=int(version), instance_id=fdt_instance_id))
        if cenc is not None:
            ext.append(ExtCenc(cenc=cenc))
        with_fti = True
    elif fdt_instance_id is not None or cenc is not None:
        raise FluteEncodeError("EXT_FDT / EXT_CENC belong to TOI 0 only", field="TOI")
    if with_fti:
        ext.append(ExtFti(scheme.encode_oti(oti)))
    ext.extend(extensions)
    header = LctHeader(
        tsi=tsi,
        toi=toi,
        codepoint=oti.fec_encoding_id,
        cci=cci,
        tsi_bits=tsi_bits,
        toi_bits=toi_bits,
        extensions=tuple(ext),
    )
    scheme.validate(oti)
    plain = encode_header(header, version)
    closing = encode_header(replace(header, close_object=True), version) if close_object else plain
    return plain, closing
