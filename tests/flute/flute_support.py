"""A sans-IO FLUTE sender for the receiver tests, on the carousel's packet code.

Every packet comes from :class:`broadcast.proto.flute.blocks.BlockPacketizer` — the builder the
carousel sends with — and an FDT Instance is written as
:class:`~broadcast.engine.download.session.CarouselSession` writes it (``FdtInstance.to_xml`` in
the session's namespace, then the FDT content encoding). What this adds is only what receiver
tests need and the carousel decides for itself: any FDT Instance with any ID, objects without
EXT_FTI, one pass of packets in FDT order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from broadcast import profile
from broadcast.proto.flute.alc import FDT_TOI
from broadcast.proto.flute.blocks import BlockPacketizer
from broadcast.proto.flute.cenc import ContentEncoding, encode_content
from broadcast.proto.flute.fdt import FDT_NAMESPACE, FdtFile, FdtInstance, describe_object
from broadcast.proto.flute.fec import COMPACT_NO_CODE, Oti, get_scheme
from broadcast.proto.flute.lct import FluteVersion


def packetize(toi: int, data: bytes, **headers: Any) -> list[bytes]:
    """Every packet of one pass over one object: ``BlockPacketizer.for_object(toi, **headers)``
    (``tsi``, ``oti``, ``version``, ``fdt_instance_id``, ``cenc``, ``with_fti``, ...), then
    :meth:`~broadcast.proto.flute.blocks.BlockPacketizer.pass_packets`."""
    return list(BlockPacketizer.for_object(toi, **headers).pass_packets(data))


@dataclass(frozen=True, slots=True)
class SenderConfig:
    """The FLUTE parameters of one test session (defaults: the carousel's)."""

    tsi: int
    version: FluteVersion = FluteVersion.V1
    fec_encoding_id: int = COMPACT_NO_CODE
    encoding_symbol_length: int = profile.DOWNLOAD_SYMBOL_LENGTH
    max_source_block_length: int = profile.DOWNLOAD_MAX_SOURCE_BLOCK_LENGTH
    #: EXT_FTI in the packets of files too (always present in FDT packets).
    fti_in_file_packets: bool = True
    fdt_content_encoding: ContentEncoding | None = None
    fdt_namespace: str = FDT_NAMESPACE
    close_object: bool = False


class Sender:
    """Packets of FDT Instances and objects for one test session; no clock, no schedule."""

    def __init__(self, config: SenderConfig) -> None:
        self.config = config

    def oti(self, length: int) -> Oti:
        cfg = self.config
        return get_scheme(cfg.fec_encoding_id).make_oti(
            length, cfg.encoding_symbol_length, cfg.max_source_block_length
        )

    def describe(self, toi: int, data: bytes, location: str, **kw: str) -> FdtFile:
        """A ``File`` entry for ``data`` with lengths, Content-MD5 and the FEC-OTI attributes."""
        return describe_object(toi, data, location, oti=self.oti(len(data)), **kw)

    def fdt_packets(self, instance: FdtInstance, instance_id: int) -> list[bytes]:
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
            close_object=cfg.close_object,
        )

    def object_packets(self, toi: int, data: bytes) -> list[bytes]:
        cfg = self.config
        return packetize(
            toi,
            data,
            tsi=cfg.tsi,
            oti=self.oti(len(data)),
            version=cfg.version,
            with_fti=cfg.fti_in_file_packets,
            close_object=cfg.close_object,
        )

    def pass_packets(
        self, instance: FdtInstance, instance_id: int, objects: Mapping[int, bytes]
    ) -> list[bytes]:
        """The FDT Instance, then every object it describes, in FDT order."""
        packets = self.fdt_packets(instance, instance_id)
        for entry in instance.files:
            packets += self.object_packets(entry.toi, objects[entry.toi])
        return packets
