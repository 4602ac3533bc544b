"""Block-by-block ALC packetizing from a random-access object source (bounded memory).

A carousel sends objects far larger than it should hold in memory. :class:`BlockPacketizer`
splits one object into its RFC 5052 §9.1 source blocks and builds the packets of one block at a
time from the block's bytes alone — the same bytes as :func:`broadcast.flute.alc.packetize`
(LCT header · FEC Payload ID · symbol, RFC 5775 §4.1), the last packet of the object with the
closing header. For Compact No-Code (FEC Encoding ID 0, RFC 5445) the packets of a block come from
the native batch builder (``broadcast._native.alc_batch``) in one call, with a pure-Python
fallback that produces identical bytes. Any other registered FEC scheme is packetized as one unit
(its encoder needs the whole object), so its objects should stay small.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Final

from broadcast.flute.alc import _packets, object_headers
from broadcast.flute.errors import FluteEncodeError
from broadcast.flute.fec import COMPACT_NO_CODE, BlockPartition, Oti, get_scheme
from broadcast.flute.lct import FluteVersion, HeaderExtension

_native: ModuleType | None
try:
    from broadcast._native import alc_batch as _native
except ImportError:  # pragma: no cover - the native module is part of the build
    _native = None

#: Whether the native batch builder is in use.
NATIVE: Final = _native is not None


def python_block_packets(
    header: bytes,
    closing: bytes,
    sbn: int,
    block: bytes | memoryview,
    *,
    symbol_length: int,
    last_block: bool,
) -> list[bytes]:
    """Pure-Python Compact No-Code packets of one block (reference for the native builder)."""
    out: list[bytes] = []
    view = memoryview(block)
    count = -(-len(view) // symbol_length)
    prefix = sbn.to_bytes(2, "big")
    for esi in range(count):
        head = closing if last_block and esi == count - 1 else header
        start = esi * symbol_length
        out.append(
            head + prefix + esi.to_bytes(2, "big") + bytes(view[start : start + symbol_length])
        )
    return out


@dataclass(frozen=True, slots=True)
class BlockPacketizer:
    """The packets of one object, one source block at a time.

    ``steps`` is the number of :meth:`packets` calls a full pass takes; step ``i`` needs the
    object bytes :meth:`byte_range` ``(i)``.
    """

    header: bytes
    closing: bytes
    oti: Oti
    partition: BlockPartition

    @classmethod
    def for_object(
        cls,
        toi: int,
        *,
        tsi: int,
        oti: Oti,
        version: FluteVersion = FluteVersion.V1,
        fdt_instance_id: int | None = None,
        cenc: int | None = None,
        with_fti: bool = True,
        cci: int = 0,
        close_object: bool = False,
        extensions: Sequence[HeaderExtension] = (),
    ) -> BlockPacketizer:
        """Encode the headers (see :func:`~broadcast.flute.alc.object_headers`) once."""
        header, closing = object_headers(
            toi,
            tsi=tsi,
            oti=oti,
            version=version,
            fdt_instance_id=fdt_instance_id,
            cenc=cenc,
            with_fti=with_fti,
            cci=cci,
            close_object=close_object,
            extensions=extensions,
        )
        partition = BlockPartition.compute(
            oti.transfer_length, oti.encoding_symbol_length, oti.max_source_block_length
        )
        return cls(header, closing, oti, partition)

    @property
    def blockwise(self) -> bool:
        """Whether packets are built per source block (Compact No-Code, non-empty object)."""
        return self.oti.fec_encoding_id == COMPACT_NO_CODE and self.partition.blocks > 0

    @property
    def steps(self) -> int:
        return self.partition.blocks if self.blockwise else 1

    @property
    def packet_count(self) -> int:
        """Packets in one pass (source symbols; 1 for an empty object)."""
        if self.oti.fec_encoding_id != COMPACT_NO_CODE:
            return -1
        return max(1, self.partition.source_symbols)

    def byte_range(self, step: int) -> tuple[int, int]:
        """(offset, length) of the object bytes that step ``step`` packetizes."""
        if not self.blockwise:
            if step != 0:
                raise FluteEncodeError(f"step {step} of 1", field="SBN")
            return 0, self.oti.transfer_length
        return self.partition.block_offset(step), self.partition.block_bytes(step)

    def packets(self, step: int, data: bytes | memoryview) -> list[bytes]:
        """The packets of step ``step`` built from ``data`` (exactly :meth:`byte_range` bytes)."""
        length = self.byte_range(step)[1]
        if len(data) != length:
            raise FluteEncodeError(
                f"block of {len(data)} bytes, expected {length}", field="Transfer Length"
            )
        if not self.blockwise:
            scheme = get_scheme(self.oti.fec_encoding_id)
            return list(
                _packets(scheme, self.header, self.closing, scheme.encode(self.oti, bytes(data)))
            )
        last = step == self.partition.blocks - 1
        e = self.oti.encoding_symbol_length
        if _native is not None:
            built: list[bytes] = _native.build_block(self.header, self.closing, step, data, e, last)
            return built
        return python_block_packets(
            self.header, self.closing, step, data, symbol_length=e, last_block=last
        )


__all__ = ["NATIVE", "BlockPacketizer", "python_block_packets"]
