"""Raptor FEC scheme, FEC Encoding ID 1 — the MBMS FEC (RFC 5053; TS 26.346 download delivery).

- FEC Payload ID (§3.1): Source Block Number (16) · Encoding Symbol ID (16); ESI < K are the
  source symbols of the block, ESI >= K repair symbols.
- FEC OTI (§3.2): the 14 octets F (48) · Reserved (16) · T (16) · Z (16) · N (8) · Al (8) as
  EXT_FTI content (HEL = 4); in the FDT ``Transfer-Length``, ``FEC-OTI-FEC-Encoding-ID="1"``,
  ``FEC-OTI-Encoding-Symbol-Length`` (T), ``FEC-OTI-Maximum-Source-Block-Length`` (KL, derived,
  informative; ignored on receipt [P]) and ``FEC-OTI-Scheme-Specific-Info`` = base64(Z ‖ N ‖ Al).
  The generic :class:`~broadcast.proto.flute.fec.base.Oti` carries Z ‖ N ‖ Al as ``scheme_specific``
  and KL as ``max_source_block_length``, so the OTI read from EXT_FTI and from the FDT compare
  equal.
- Blocks and sub-blocks (§5.3.1.2, :mod:`~broadcast.proto.flute.fec.raptor_partition`); each
  block is encoded on whole T-byte symbols (:mod:`~broadcast.proto.flute.fec.raptor_codec`),
  sub-blocking being the byte permutation done natively by ``block_to_symbols`` /
  ``symbols_to_block``.
- Packets (§5.3.2): one symbol per packet from this sender; a packet may carry several
  consecutive symbols on receipt. The zero padding at the end of the object's last source symbols
  is left out when sending and put back on receipt.

:func:`encode_object` (or :class:`RaptorObjectEncoder` for one block at a time) yields
(SBN, ESI, symbol) for the source symbols and any number of repair symbols;
:class:`RaptorScheme` plugs the code into the FLUTE FEC interface (packetizer, sender, FDT,
:class:`~broadcast.proto.flute.receiver.SessionReceiver`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import ClassVar, Final

from broadcast import profile
from broadcast._native import raptor as _native
from broadcast.proto.flute.errors import BadOti, BadSymbol, ObjectTooLarge
from broadcast.proto.flute.fec.base import (
    EncodingSymbol,
    FdtFecAttributes,
    FecScheme,
    ObjectDecoder,
    Oti,
)
from broadcast.proto.flute.fec.raptor_codec import (
    MAX_ESI,
    SYMBOL_OVERHEAD,
    BlockDecoder,
    BlockEncoder,
    Bytes,
)
from broadcast.proto.flute.fec.raptor_partition import (
    RAPTOR,
    RaptorOti,
    RaptorPartition,
    raptor_parameters,
)

__all__ = [
    "RAPTOR",
    "RaptorObjectDecoder",
    "RaptorObjectEncoder",
    "RaptorScheme",
    "block_byte_range",
    "encode_object",
    "raptor_parameters",
    "repair_count",
]

_PAYLOAD_ID_LENGTH: Final = 4


def repair_count(k: int, overhead: float, first_esi: int | None = None) -> int:
    """ceil(K·overhead) repair symbols, capped so that the ESIs stay 16-bit."""
    if not (overhead >= 0 and math.isfinite(overhead)):
        raise BadOti(f"repair overhead {overhead} must be a finite share >= 0", field="overhead")
    first = k if first_esi is None else first_esi
    return max(0, min(math.ceil(k * overhead), MAX_ESI + 1 - first))


def _partition(oti: Oti) -> RaptorPartition:
    part = RaptorPartition.compute(RaptorOti.from_oti(oti))
    if oti.max_source_block_length != part.large_length:
        raise BadOti(
            f"maximum source block length {oti.max_source_block_length}, "
            f"the Raptor partition gives {part.large_length}",
            field="Maximum Source Block Length",
        )
    if oti.fec_instance_id != 0 or oti.max_encoding_symbols is not None:
        raise BadOti("Raptor has no FEC Instance ID or symbol limit", field="FEC OTI")
    return part


class RaptorObjectEncoder:
    """The encoding symbols of one object, block by block (RFC 5053 §5.3.2, §5.4).

    ``data`` is kept as a view; each block is encoded when first asked for (the last one is
    cached), so memory stays at about one block's worth beyond the object.
    """

    def __init__(self, oti: Oti, data: Bytes) -> None:
        self.oti = oti
        self.partition = _partition(oti)
        self._data = memoryview(data).cast("B")
        self._only: int | None = None  # set by for_block: ``data`` is that block's bytes only
        if len(self._data) != oti.transfer_length:
            raise BadOti(
                f"object of {len(self._data)} bytes, OTI says {oti.transfer_length}",
                field="Transfer Length",
            )
        self._cached: tuple[int, BlockEncoder] | None = None

    @classmethod
    def for_block(cls, oti: Oti, sbn: int, block_data: Bytes) -> RaptorObjectEncoder:
        """An encoder of source block ``sbn`` alone, from its bytes only (see
        :func:`block_byte_range`) — a carousel can encode a large object block by block."""
        self = cls.__new__(cls)
        self.oti = oti
        self.partition = _partition(oti)
        self._data = memoryview(block_data).cast("B")
        self._only = sbn
        self._cached = None
        length = self.partition.block_data_length(sbn)  # validates the SBN
        if len(self._data) != length:
            raise BadOti(
                f"block {sbn} of {len(self._data)} bytes, expected {length}",
                field="Transfer Length",
            )
        return self

    def block(self, sbn: int) -> BlockEncoder:
        """The encoder of source block ``sbn`` (its symbols in §5.3.1.2 sub-block order)."""
        if self._cached is not None and self._cached[0] == sbn:
            return self._cached[1]
        part = self.partition
        k, t = part.block_symbols(sbn), part.symbol_length
        if self._only is not None and sbn != self._only:
            raise BadSymbol(f"this encoder holds block {self._only} only", field="SBN")
        start = 0 if self._only is not None else part.block_offset(sbn)
        block = bytearray(k * t)
        length = part.block_data_length(sbn)
        block[:length] = self._data[start : start + length]
        encoder = BlockEncoder(k, t, _to_symbols(part, k, block))
        self._cached = (sbn, encoder)
        return encoder

    def source_symbols(self, sbn: int) -> Iterator[EncodingSymbol]:
        """ESIs 0..K-1 of block ``sbn``, trailing zero padding left out (§5.3.2)."""
        encoder = self.block(sbn)
        part = self.partition
        t = part.symbol_length
        for esi in range(encoder.k):
            data = encoder.symbol(esi)
            pad = part.symbol_padding(sbn, esi)
            yield EncodingSymbol(sbn, esi, data[: t - pad] if pad else data)

    def repair_symbols(
        self, sbn: int, count: int, first_esi: int | None = None
    ) -> Iterator[EncodingSymbol]:
        """``count`` repair symbols of block ``sbn`` with ESIs ``first_esi`` (default K) onwards.

        A carousel can send fresh repair symbols on every pass by moving ``first_esi`` on.
        """
        encoder = self.block(sbn)
        first = encoder.k if first_esi is None else first_esi
        if not encoder.k <= first or first + count - 1 > MAX_ESI or count < 0:
            raise BadSymbol(
                f"repair ESIs {first}..{first + count - 1} outside K..65535", field="ESI"
            )
        t = encoder.t
        chunk = 256
        for at in range(first, first + count, chunk):
            esis = range(at, min(at + chunk, first + count))
            data = encoder.symbols(esis)
            for j, esi in enumerate(esis):
                yield EncodingSymbol(sbn, esi, data[j * t : (j + 1) * t])

    def symbols(self, repair_overhead: float, pass_index: int = 0) -> Iterator[EncodingSymbol]:
        """Every block in order: its K source symbols, then R = ceil(K·overhead) repair symbols.

        Carousel pass ``pass_index`` sends the repair ESIs K + pass_index·R, ... (wrapping within
        K..65535), so that every pass brings a receiver new repair symbols.
        """
        part = self.partition
        if part.blocks == 0:
            yield EncodingSymbol(0, 0, b"")
            return
        for sbn in range(part.blocks) if self._only is None else (self._only,):
            yield from self.block_symbols(sbn, repair_overhead, pass_index)

    def block_symbols(
        self, sbn: int, repair_overhead: float, pass_index: int = 0
    ) -> Iterator[EncodingSymbol]:
        """Block ``sbn``'s K source symbols, then its repair symbols for pass ``pass_index``."""
        yield from self.source_symbols(sbn)
        k = self.partition.block_symbols(sbn)
        count = repair_count(k, repair_overhead)
        room = MAX_ESI + 1 - k - count  # repair windows start at K .. K + room
        first = k + (pass_index * count) % (room + 1) if count else k
        yield from self.repair_symbols(sbn, count, first)


def encode_object(
    oti: Oti,
    data: Bytes,
    repair_overhead: float = profile.RAPTOR_REPAIR_OVERHEAD,
    pass_index: int = 0,
) -> Iterator[EncodingSymbol]:
    """(SBN, ESI, symbol) for ``data``: per block the source symbols then ceil(K·overhead) repair
    symbols (ESIs K, K+1, ... on pass 0; see :meth:`RaptorObjectEncoder.symbols`). Parameters
    are checked when called; symbols come lazily."""
    repair_count(4, repair_overhead)  # validate now
    if pass_index < 0:
        raise BadSymbol("carousel pass index must be >= 0", field="pass")
    return RaptorObjectEncoder(oti, data).symbols(repair_overhead, pass_index)


def block_byte_range(oti: Oti, sbn: int) -> tuple[int, int]:
    """(offset, length) of source block ``sbn``'s bytes in the object (§5.3.1.2)."""
    part = _partition(oti)
    return part.block_offset(sbn), part.block_data_length(sbn)


def _to_symbols(part: RaptorPartition, k: int, block: bytearray) -> bytearray:
    if part.large_sub_blocks + part.small_sub_blocks <= 1:
        return block
    out = bytearray(len(block))
    _native.block_to_symbols(block, out, k, part.symbol_length, *_sub_args(part))
    return out


def _to_block(part: RaptorPartition, k: int, symbols: bytearray) -> bytearray:
    if part.large_sub_blocks + part.small_sub_blocks <= 1:
        return symbols
    out = bytearray(len(symbols))
    _native.symbols_to_block(symbols, out, k, part.symbol_length, *_sub_args(part))
    return out


def _sub_args(part: RaptorPartition) -> tuple[int, int, int, int]:
    return (
        part.large_sub_symbol,
        part.large_sub_blocks,
        part.small_sub_symbol,
        part.small_sub_blocks,
    )


class RaptorObjectDecoder(ObjectDecoder):
    """Receive side of one Raptor object: a :class:`BlockDecoder` per source block.

    Any sufficient set of source and repair symbols of a block decodes it (RFC 5053 §5.5); a
    block holds at most K + 64 symbols until decoded and K·T bytes afterwards, and
    :attr:`buffered_bytes` reports that.
    """

    def __init__(self, oti: Oti, partition: RaptorPartition) -> None:
        super().__init__(oti)
        self._part = partition
        self._blocks: dict[int, BlockDecoder] = {}
        self._decoded = 0

    def add(self, sbn: int, esi: int, payload: bytes) -> bool:
        part = self._part
        if part.blocks == 0:
            if payload:
                raise BadSymbol("symbol data for an empty object", field="payload")
            return False
        if not payload:
            raise BadSymbol("empty encoding symbol", field="payload")
        k = part.block_symbols(sbn)  # validates the SBN
        t = part.symbol_length
        whole, rest = divmod(len(payload), t)
        count = whole + (1 if rest else 0)
        if esi + count - 1 > MAX_ESI:
            raise BadSymbol(f"ESIs {esi}..{esi + count - 1} exceed 16 bits", field="ESI")
        if rest:
            last = esi + whole
            if last >= k or t - rest > part.symbol_padding(sbn, last):
                raise BadSymbol(
                    f"symbol of {rest} bytes, expected {t} (only padding may be left out)",
                    field="encoding symbol",
                )
        pieces = [(esi + j, payload[j * t : (j + 1) * t].ljust(t, b"\x00")) for j in range(count)]
        block = self._blocks.get(sbn) or BlockDecoder(k, t)
        for x, symbol in pieces:
            block.check(x, symbol)  # raises before anything is stored
        decoded = block.result is not None
        new = False
        for x, symbol in pieces:
            if block.add(x, symbol):
                new = True
        if new:
            self._blocks[sbn] = block
            if block.result is not None and not decoded:
                self._decoded += 1
        return new

    def growth(self, sbn: int) -> int:
        part = self._part
        if not 0 <= sbn < part.blocks:
            return 0
        block = self._blocks.get(sbn)
        if block is not None and block.full:
            return 0
        return part.symbol_length + SYMBOL_OVERHEAD

    @property
    def is_complete(self) -> bool:
        return self._decoded == self._part.blocks

    @property
    def buffered_bytes(self) -> int:
        return sum(block.held for block in self._blocks.values())

    def decode(self) -> bytes:
        if not self.is_complete:
            raise BadSymbol("object not complete", field="object")
        part = self._part
        out = bytearray()
        for sbn in range(part.blocks):
            result = self._blocks[sbn].result
            assert result is not None
            block = _to_block(part, part.block_symbols(sbn), result)
            out += memoryview(block)[: part.block_data_length(sbn)]
        return bytes(out)


class RaptorScheme(FecScheme):
    """FEC Encoding ID 1: Raptor (RFC 5053), systematic, with ``repair_overhead`` repair."""

    encoding_id: ClassVar[int] = RAPTOR
    name: ClassVar[str] = "Raptor"
    payload_id_length: ClassVar[int] = _PAYLOAD_ID_LENGTH

    def __init__(self, repair_overhead: float = profile.RAPTOR_REPAIR_OVERHEAD) -> None:
        repair_count(4, repair_overhead)
        #: Repair symbols per block sent by :meth:`encode`, as a share of K.
        self.repair_overhead = repair_overhead

    def make_oti(
        self, transfer_length: int, encoding_symbol_length: int, max_source_block_length: int
    ) -> Oti:
        """:func:`raptor_parameters` (T shrunk for objects of fewer than 4 symbols, N = 1)."""
        oti = raptor_parameters(
            transfer_length,
            encoding_symbol_length,
            max_source_block_length=max_source_block_length,
            alignment=profile.RAPTOR_ALIGNMENT,
        )
        self.validate(oti)
        return oti

    def encode_payload_id(self, sbn: int, esi: int) -> bytes:
        if not (0 <= sbn <= 0xFFFF and 0 <= esi <= MAX_ESI):
            raise BadSymbol("SBN and ESI are 16 bits", field="FEC Payload ID")
        return sbn.to_bytes(2, "big") + esi.to_bytes(2, "big")

    def decode_payload_id(self, data: bytes, offset: int) -> tuple[int, int]:
        if len(data) < _PAYLOAD_ID_LENGTH:
            raise BadSymbol("FEC Payload ID truncated", field="FEC Payload ID", offset=offset)
        return int.from_bytes(data[0:2], "big"), int.from_bytes(data[2:4], "big")

    def encode_oti(self, oti: Oti) -> bytes:
        self.validate(oti)
        return RaptorOti.from_oti(oti).encode()

    def decode_oti(self, content: bytes, offset: int) -> Oti:
        return RaptorOti.decode(content, offset).to_oti()

    def oti_to_fdt(self, oti: Oti) -> FdtFecAttributes:
        self.validate(oti)
        return FdtFecAttributes(
            encoding_id=RAPTOR,
            max_source_block_length=oti.max_source_block_length,
            encoding_symbol_length=oti.encoding_symbol_length,
            scheme_specific_info=oti.scheme_specific,
        )

    def oti_from_fdt(self, attributes: FdtFecAttributes, transfer_length: int) -> Oti:
        if attributes.encoding_id != RAPTOR:
            raise BadOti("FEC Encoding ID is not 1", field="FEC-OTI-FEC-Encoding-ID")
        if attributes.encoding_symbol_length is None:
            raise BadOti("missing", field="FEC-OTI-Encoding-Symbol-Length")
        if attributes.scheme_specific_info is None:
            raise BadOti("missing", field="FEC-OTI-Scheme-Specific-Info")
        oti = RaptorOti.from_fields(
            transfer_length, attributes.encoding_symbol_length, attributes.scheme_specific_info
        ).to_oti()
        self.validate(oti)
        return oti

    def validate(self, oti: Oti, max_object_size: int | None = None) -> None:
        if oti.fec_encoding_id != RAPTOR:
            raise BadOti("not a Raptor OTI", field="FEC Encoding ID")
        if max_object_size is not None and oti.transfer_length > max_object_size:
            raise ObjectTooLarge(
                f"transfer length {oti.transfer_length} exceeds the {max_object_size}-byte limit",
                field="Transfer Length",
            )
        _partition(oti)

    def encode(self, oti: Oti, data: bytes) -> Iterator[EncodingSymbol]:
        return encode_object(oti, data, self.repair_overhead)

    def decoder(self, oti: Oti) -> ObjectDecoder:
        return RaptorObjectDecoder(oti, _partition(oti))
