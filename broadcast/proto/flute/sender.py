"""Sans-IO FLUTE sender helper: an FDT Instance plus its objects → the ALC packets of one pass.

Carousel scheduling (how often, in what interleaving, at what rate) is the caller's business; this
module only builds packets. A pass sends the FDT Instance first (RFC 3926 §3.3 recommends the FDT
Instance before the files it describes), then each object in FDT order. FDT packets carry TOI 0,
EXT_FDT (V = 1 for FLUTE v1 / RFC 3926, V = 2 for FLUTE v2 / RFC 6726), EXT_FTI and — when
the FDT is content encoded — EXT_CENC. File packets carry EXT_FTI unless configured otherwise;
the ``File`` entries made by :meth:`FluteSender.describe` also carry the ``FEC-OTI-*`` attributes,
so a receiver gets the OTI either way (RFC 3926 §5).

For a FLUTE v2 peer (RFC 6726), use ``version=FluteVersion.V2`` and, if it wants it, the RFC 6726
FDT namespace (``fdt_namespace=FDT_NAMESPACE_RFC6726``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Final

from broadcast import profile
from broadcast.proto.flute.alc import FDT_TOI, packetize
from broadcast.proto.flute.cenc import ContentEncoding, encode_content
from broadcast.proto.flute.errors import FluteEncodeError
from broadcast.proto.flute.fdt import (
    FDT_NAMESPACE,
    CacheControl,
    FdtFile,
    FdtInstance,
    describe_object,
    file_oti,
)
from broadcast.proto.flute.fec import COMPACT_NO_CODE, Oti, get_scheme
from broadcast.proto.flute.lct import FluteVersion

#: Default encoding symbol length: one symbol per packet within a 1500-byte Ethernet MTU with
#: IPv4/UDP and an LCT header carrying EXT_FTI; the value of the worked example and of
#: 5G-MAG libflute [P: profile "Download defaults"].
DEFAULT_SYMBOL_LENGTH: Final = profile.DOWNLOAD_SYMBOL_LENGTH
#: Default maximum source block length in symbols [P: profile "Download defaults"].
DEFAULT_MAX_BLOCK_LENGTH: Final = profile.DOWNLOAD_MAX_SOURCE_BLOCK_LENGTH


@dataclass(frozen=True, slots=True)
class SenderConfig:
    """Parameters of one FLUTE session's sender."""

    tsi: int
    version: FluteVersion = FluteVersion.V1
    fec_encoding_id: int = COMPACT_NO_CODE
    encoding_symbol_length: int = DEFAULT_SYMBOL_LENGTH
    max_source_block_length: int = DEFAULT_MAX_BLOCK_LENGTH
    cci: int = 0
    #: EXT_FTI in the packets of files too (always present in FDT packets).
    fti_in_file_packets: bool = True
    #: Content encoding of FDT Instances (EXT_CENC), ``None`` = not encoded.
    fdt_content_encoding: ContentEncoding | None = None
    fdt_namespace: str = FDT_NAMESPACE
    #: Set the close-object flag B on the last packet of each object.
    close_object: bool = False


class FluteSender:
    """Builds the packets of a FLUTE session; holds no clock, socket or schedule."""

    def __init__(self, config: SenderConfig) -> None:
        self.config = config
        self._scheme = get_scheme(config.fec_encoding_id)

    def oti(self, length: int) -> Oti:
        """The FEC OTI for an object of ``length`` bytes with this session's parameters."""
        cfg = self.config
        return self._scheme.make_oti(
            length, cfg.encoding_symbol_length, cfg.max_source_block_length
        )

    def describe(
        self,
        toi: int,
        data: bytes,
        content_location: str,
        *,
        content_type: str | None = None,
        cache_control: CacheControl | None = None,
    ) -> FdtFile:
        """A ``File`` entry for ``data``: lengths, Content-MD5 and the FEC-OTI attributes."""
        return describe_object(
            toi,
            data,
            content_location,
            content_type=content_type,
            oti=self.oti(len(data)),
            cache_control=cache_control,
        )

    def fdt_packets(self, instance: FdtInstance, instance_id: int) -> Iterator[bytes]:
        """The packets of one FDT Instance (TOI 0, EXT_FDT, EXT_FTI, optional EXT_CENC)."""
        cfg = self.config
        document = instance.to_xml(namespace=cfg.fdt_namespace)
        cenc = cfg.fdt_content_encoding
        if cenc is not None:
            document = encode_content(document, cenc)
        return packetize(
            FDT_TOI,
            document,
            tsi=cfg.tsi,
            oti=self.oti(len(document)),
            version=cfg.version,
            fdt_instance_id=instance_id,
            cenc=None if cenc is None else int(cenc),
            cci=cfg.cci,
            close_object=cfg.close_object,
        )

    def object_packets(self, toi: int, data: bytes) -> Iterator[bytes]:
        """The packets of one file object."""
        if toi == FDT_TOI:
            raise FluteEncodeError("TOI 0 is reserved for FDT Instances", field="TOI")
        cfg = self.config
        return packetize(
            toi,
            data,
            tsi=cfg.tsi,
            oti=self.oti(len(data)),
            version=cfg.version,
            with_fti=cfg.fti_in_file_packets,
            cci=cfg.cci,
            close_object=cfg.close_object,
        )

    def pass_packets(
        self, instance: FdtInstance, instance_id: int, objects: Mapping[int, bytes]
    ) -> Iterator[bytes]:
        """One carousel pass: the FDT Instance, then every object it describes, in FDT order.

        ``objects`` maps TOI → object bytes (as transported, i.e. after any content encoding).
        Every described TOI must be supplied and no other; lengths and FEC-OTI must match the
        FDT. Everything is checked when called; the packets are produced lazily.
        """
        described = {entry.toi for entry in instance.files}
        if set(objects) != described:
            raise FluteEncodeError("objects and FDT File entries differ", field="TOI")
        for entry in instance.files:
            resolved = instance.resolve(entry)
            length = resolved.object_length
            data = objects[entry.toi]
            if length is not None and length != len(data):
                raise FluteEncodeError(
                    f"TOI {entry.toi}: {len(data)} bytes, FDT says {length}",
                    field="Content-Length",
                )
            announced = file_oti(resolved)
            if announced is not None and announced != self.oti(len(data)):
                raise FluteEncodeError(
                    f"TOI {entry.toi}: FDT FEC-OTI differs from the sender's", field="FEC-OTI"
                )
        first = self.fdt_packets(instance, instance_id)
        rest = [self.object_packets(entry.toi, objects[entry.toi]) for entry in instance.files]
        return itertools.chain(first, *rest)
