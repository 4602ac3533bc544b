"""Block-by-block ALC packetizing from a random-access object source (bounded memory).

A carousel sends objects far larger than it should hold in memory. :class:`BlockPacketizer`
splits one object into its RFC 5052 §9.1 source blocks and builds the packets of one block at a
time from the block's bytes alone (LCT header · FEC Payload ID · symbol, RFC 5775 §4.1, one
encoding symbol per packet, the last packet of the object with the closing header). It is the one
packet builder of the project: the carousel scheduler asks it for one block at a time,
:meth:`BlockPacketizer.pass_packets` hands out a whole pass over an object held in memory.

For Compact No-Code (FEC Encoding ID 0, RFC 5445) the packets of a block come from the native
batch builder (``broadcast._native.alc_batch``, required) in one call;
:func:`python_block_packets` is the pure-Python reference that the tests hold it to (identical
bytes).

Raptor (FEC Encoding ID 1, RFC 5053) is block-wise too: each source block is encoded from its own
bytes (:meth:`~broadcast.proto.flute.fec.raptor.RaptorObjectEncoder.for_block`, RFC 5053 §5.3.1.2
blocks), so one block is in memory at a time, and :meth:`BlockPacketizer.chunks` hands its
packets out lazily in slices. A carousel pass ``n`` (RFC 5053 §5.3.2: any ESI >= K is a repair
symbol) sends per block K + R symbols, R = ceil(K·``repair_overhead``):

- pass 0, and every pass when ``source_every_pass``: the K source symbols, then R repair symbols
  — pass ``n``'s repair ESIs move on by R each pass (``block_symbols(sbn, overhead, n)``);
- otherwise passes ``n >= 1`` send K + R *repair* symbols only, fresh ESIs continuing after the
  previous pass's (wrapping within K..65535 once all are used): a receiver that lost packets
  completes the block from any K or so of them, a late joiner from one such pass.

Any other registered FEC scheme is packetized as one unit (its encoder needs the whole object), so
its objects should stay small.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Final

from broadcast import profile
from broadcast._native import alc_batch as _native
from broadcast.proto.flute.alc import object_headers
from broadcast.proto.flute.errors import FluteEncodeError
from broadcast.proto.flute.fec import (
    COMPACT_NO_CODE,
    RAPTOR,
    BlockPartition,
    EncodingSymbol,
    FecScheme,
    Oti,
    get_scheme,
)
from broadcast.proto.flute.fec.raptor import RaptorObjectEncoder, block_byte_range, repair_count
from broadcast.proto.flute.fec.raptor_codec import MAX_ESI
from broadcast.proto.flute.fec.raptor_partition import RaptorOti, RaptorPartition
from broadcast.proto.flute.lct import FluteVersion, HeaderExtension

#: Packets per slice of a Raptor block handed out by :meth:`BlockPacketizer.chunks` (a Raptor
#: block can hold 8192 symbols; a carousel sends it in slices between other objects' packets).
RAPTOR_CHUNK: Final = 64


def python_block_packets(
    header: bytes,
    closing: bytes,
    sbn: int,
    block: bytes | memoryview,
    *,
    symbol_length: int,
    last_block: bool,
) -> list[bytes]:
    """Pure-Python Compact No-Code packets of one block: the reference (test oracle) of the
    native builder ``broadcast._native.alc_batch.build_block``, never used by the packetizer."""
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

    ``steps`` is the number of source blocks a full pass takes; step ``i`` needs the object bytes
    :meth:`byte_range` ``(i)``. ``repair_overhead`` and ``source_every_pass`` apply to Raptor
    objects only (see the module docstring).
    """

    header: bytes
    closing: bytes
    oti: Oti
    partition: BlockPartition
    raptor: RaptorPartition | None = None
    repair_overhead: float = profile.RAPTOR_REPAIR_OVERHEAD
    source_every_pass: bool = True

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
        repair_overhead: float = profile.RAPTOR_REPAIR_OVERHEAD,
        source_every_pass: bool = True,
    ) -> BlockPacketizer:
        """Encode the headers (see :func:`~broadcast.proto.flute.alc.object_headers`) once."""
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
        repair_count(4, repair_overhead)  # a finite share >= 0, else BadOti
        raptor = None
        if oti.fec_encoding_id == RAPTOR:
            raptor = RaptorPartition.compute(RaptorOti.from_oti(oti))  # validated above
            partition = BlockPartition.compute(0, 1, 1)  # unused for Raptor
        else:
            partition = BlockPartition.compute(
                oti.transfer_length, oti.encoding_symbol_length, oti.max_source_block_length
            )
        return cls(
            header, closing, oti, partition, raptor, float(repair_overhead), source_every_pass
        )

    @property
    def blockwise(self) -> bool:
        """Whether packets are built per source block (Compact No-Code or Raptor, non-empty)."""
        if self.raptor is not None:
            return self.raptor.blocks > 0
        return self.oti.fec_encoding_id == COMPACT_NO_CODE and self.partition.blocks > 0

    @property
    def steps(self) -> int:
        if not self.blockwise:
            return 1
        return self.raptor.blocks if self.raptor is not None else self.partition.blocks

    def byte_range(self, step: int) -> tuple[int, int]:
        """(offset, length) of the object bytes that step ``step`` packetizes."""
        if not self.blockwise:
            if step != 0:
                raise FluteEncodeError(f"step {step} of 1", field="SBN")
            return 0, self.oti.transfer_length
        if self.raptor is not None:
            return block_byte_range(self.oti, step)
        return self.partition.block_offset(step), self.partition.block_bytes(step)

    def pass_packets(self, data: bytes | memoryview, *, pass_index: int = 0) -> Iterator[bytes]:
        """Every packet of carousel pass ``pass_index`` over the object ``data`` (all of it, in
        memory), block after block: what the carousel sends of it, without the interleaving with
        other objects. The length is checked when called; the packets are built lazily."""
        if len(data) != self.oti.transfer_length:
            raise FluteEncodeError(
                f"object of {len(data)} bytes, OTI says {self.oti.transfer_length}",
                field="Transfer Length",
            )
        if pass_index < 0:
            raise FluteEncodeError("pass index >= 0", field="pass")
        return self._pass(memoryview(data), pass_index)

    def _pass(self, view: memoryview, pass_index: int) -> Iterator[bytes]:
        for step in range(self.steps):
            offset, size = self.byte_range(step)
            for chunk in self.chunks(step, view[offset : offset + size], pass_index=pass_index):
                yield from chunk

    def packets(self, step: int, data: bytes | memoryview, *, pass_index: int = 0) -> list[bytes]:
        """The packets of step ``step`` built from ``data`` (exactly :meth:`byte_range` bytes),
        for carousel pass ``pass_index`` (which only Raptor repair symbols depend on)."""
        out: list[bytes] = []
        for chunk in self.chunks(step, data, pass_index=pass_index):
            out += chunk
        return out

    def chunks(
        self,
        step: int,
        data: bytes | memoryview,
        *,
        pass_index: int = 0,
        max_packets: int = RAPTOR_CHUNK,
    ) -> Iterator[list[bytes]]:
        """The packets of step ``step`` in slices: one for a Compact No-Code block, lists of at
        most ``max_packets`` for a Raptor block (encoded when the first slice is asked for, its
        repair symbols as the slices are)."""
        length = self.byte_range(step)[1]
        if len(data) != length:
            raise FluteEncodeError(
                f"block of {len(data)} bytes, expected {length}", field="Transfer Length"
            )
        if pass_index < 0 or max_packets < 1:
            raise FluteEncodeError("pass index >= 0 and slices of >= 1 packet", field="pass")
        if self.raptor is not None and self.blockwise:
            return self._raptor_chunks(step, data, pass_index, max_packets)
        return iter((self._whole(step, data),))

    def _whole(self, step: int, data: bytes | memoryview) -> list[bytes]:
        if not self.blockwise:
            scheme = get_scheme(self.oti.fec_encoding_id)
            return list(
                _packets(scheme, self.header, self.closing, scheme.encode(self.oti, bytes(data)))
            )
        last = step == self.partition.blocks - 1
        e = self.oti.encoding_symbol_length
        built: list[bytes] = _native.build_block(self.header, self.closing, step, data, e, last)
        return built

    # --- Raptor ----------------------------------------------------------------------------------
    def raptor_symbols(
        self, encoder: RaptorObjectEncoder, sbn: int, pass_index: int
    ) -> Iterator[EncodingSymbol]:
        """The encoding symbols of block ``sbn`` on pass ``pass_index`` (module docstring)."""
        if pass_index == 0 or self.source_every_pass:
            yield from encoder.block_symbols(sbn, self.repair_overhead, pass_index)
            return
        k = encoder.partition.block_symbols(sbn)
        r = repair_count(k, self.repair_overhead)
        space = MAX_ESI + 1 - k  # repair ESIs K..65535
        count = min(k + r, space)
        start = (r + (pass_index - 1) * count) % space
        first = min(count, space - start)
        yield from encoder.repair_symbols(sbn, first, k + start)
        if count > first:
            yield from encoder.repair_symbols(sbn, count - first, k)

    def _raptor_chunks(
        self, sbn: int, data: bytes | memoryview, pass_index: int, size: int
    ) -> Iterator[list[bytes]]:
        encoder = RaptorObjectEncoder.for_block(self.oti, sbn, data)
        symbols = self.raptor_symbols(encoder, sbn, pass_index)
        last_block = sbn == self.steps - 1
        header = self.header
        held = next(symbols, None)
        while held is not None:
            chunk: list[bytes] = []
            for symbol in islice(symbols, size):
                chunk.append(header + _payload_id(held) + held.data)
                held = symbol
            if len(chunk) < size:  # the iterator ran dry: ``held`` is the block's last symbol
                head = self.closing if last_block else header
                chunk.append(head + _payload_id(held) + held.data)
                held = None
            yield chunk


def _packets(
    scheme: FecScheme, plain: bytes, closing: bytes, symbols: Iterator[EncodingSymbol]
) -> Iterator[bytes]:
    """Header + FEC Payload ID + symbol for each symbol; ``closing`` header on the last one."""
    last: EncodingSymbol | None = None
    for symbol in symbols:
        if last is not None:
            yield plain + scheme.encode_payload_id(last.sbn, last.esi) + last.data
        last = symbol
    if last is not None:
        yield closing + scheme.encode_payload_id(last.sbn, last.esi) + last.data


def _payload_id(symbol: EncodingSymbol) -> bytes:
    """SBN (16) · ESI (16), RFC 5053 §3.1."""
    return symbol.sbn.to_bytes(2, "big") + symbol.esi.to_bytes(2, "big")


__all__ = ["RAPTOR_CHUNK", "BlockPacketizer", "python_block_packets"]
