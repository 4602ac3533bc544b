"""Compact No-Code FEC scheme, FEC Encoding ID 0 (RFC 5445 §3; RFC 3926 §5.1.2.1).

- FEC Payload ID (RFC 5445 §3.2.1): Source Block Number (16) · Encoding Symbol ID (16).
- Encoded Common OTI (RFC 5445 §3.2.2.2, figure 2), the EXT_FTI content:
  Transfer Length (48) · Reserved (16, = 0, ignored on receipt) · Encoding Symbol Length (16) ·
  Maximum Source Block Length (32). With HET and HEL that is EXT_FTI = ``40 04 …`` (16 bytes),
  bit-identical to RFC 3926's EXT_FTI for FEC Encoding ID 0 (where the 16 bits are the FEC
  Instance ID, 0 for IDs 0-127).
- Blocks by RFC 5052 §9.1 (RFC 5445 §3.3); symbol Y of a block is bytes E*Y .. E*(Y+1)-1, the last
  symbol of the object may be short (RFC 5445 §3.4.1) and, if a sender pads it, the padding is
  dropped on receipt.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar, Final

from broadcast.proto.flute.errors import BadOti, BadSymbol, ConflictingSymbol, ObjectTooLarge
from broadcast.proto.flute.fec.base import (
    EncodingSymbol,
    FdtFecAttributes,
    FecScheme,
    ObjectDecoder,
    Oti,
)
from broadcast.proto.flute.fec.partition import BlockPartition

COMPACT_NO_CODE: Final = 0
_OTI_LEN: Final = 14
_MAX_TRANSFER_LENGTH: Final = (1 << 48) - 1
_MAX_SYMBOL_LENGTH: Final = 0xFFFF
_MAX_BLOCK_LENGTH: Final = 0xFFFF_FFFF
#: SBN and ESI are 16 bits: at most 2^16 blocks of at most 2^16 symbols (unique SBN mode).
_MAX_BLOCKS: Final = 1 << 16
_MAX_BLOCK_SYMBOLS: Final = 1 << 16


class CompactNoCodeDecoder(ObjectDecoder):
    """Writes symbols into per-block buffers allocated on a block's first symbol.

    Memory is the byte length of the blocks touched plus one flag byte per symbol of those blocks
    — never more than the object's transfer length plus its symbol count, whatever the symbol
    length — and :attr:`buffered_bytes` reports exactly that.
    """

    def __init__(self, oti: Oti, partition: BlockPartition) -> None:
        super().__init__(oti)
        self._partition = partition
        self._blocks: dict[int, bytearray] = {}
        self._have: dict[int, bytearray] = {}
        self._received = 0
        self._allocated = 0

    def add(self, sbn: int, esi: int, payload: bytes) -> bool:
        part = self._partition
        if part.transfer_length == 0:
            if payload:
                raise BadSymbol("symbol data for an empty object", field="payload")
            return False
        if not payload:
            raise BadSymbol("empty encoding symbol", field="payload")
        count = part.block_symbols(sbn)  # validates the SBN
        e = part.symbol_length
        pieces: list[tuple[int, int, int]] = []  # (esi, start in payload, size)
        pos = 0
        while pos < len(payload):
            if esi >= count:
                raise BadSymbol(f"ESI {esi} outside block {sbn} of {count} symbols", field="ESI")
            size = part.symbol_size(sbn, esi)
            remaining = len(payload) - pos
            if remaining < size:
                raise BadSymbol(
                    f"symbol of {remaining} bytes, expected {size}", field="encoding symbol"
                )
            pieces.append((esi, pos, size))
            pos += size
            if size < e and remaining == e:
                pos = len(payload)  # a zero-padded last symbol: drop the padding (RFC 5445 §3.4.1)
            esi += 1
        block, have = self._blocks.get(sbn), self._have.get(sbn)
        if block is not None and have is not None:
            for index, start, size in pieces:
                at = index * e
                if have[index] and block[at : at + size] != payload[start : start + size]:
                    raise ConflictingSymbol(
                        f"symbol SBN {sbn} ESI {index} differs from the one received",
                        field="encoding symbol",
                    )
        else:
            block = self._blocks[sbn] = bytearray(part.block_bytes(sbn))
            have = self._have[sbn] = bytearray(count)
            self._allocated += len(block) + count
        new = False
        for index, start, size in pieces:
            if not have[index]:
                at = index * e
                block[at : at + size] = payload[start : start + size]
                have[index] = 1
                self._received += 1
                new = True
        return new

    def growth(self, sbn: int) -> int:
        part = self._partition
        if sbn in self._blocks or not 0 <= sbn < part.blocks:
            return 0
        return part.block_bytes(sbn) + part.block_symbols(sbn)

    @property
    def is_complete(self) -> bool:
        return self._received == self._partition.source_symbols

    @property
    def buffered_bytes(self) -> int:
        return self._allocated

    def decode(self) -> bytes:
        if not self.is_complete:
            raise BadSymbol("object not complete", field="object")
        return b"".join(self._blocks[sbn] for sbn in range(self._partition.blocks))


class CompactNoCode(FecScheme):
    """FEC Encoding ID 0: no coding, symbols are consecutive slices of the object (RFC 5445 §3)."""

    encoding_id: ClassVar[int] = COMPACT_NO_CODE
    name: ClassVar[str] = "Compact No-Code"
    payload_id_length: ClassVar[int] = 4

    def encode_payload_id(self, sbn: int, esi: int) -> bytes:
        if not (0 <= sbn <= 0xFFFF and 0 <= esi <= 0xFFFF):
            raise BadSymbol("SBN and ESI are 16 bits", field="FEC Payload ID")
        return sbn.to_bytes(2, "big") + esi.to_bytes(2, "big")

    def decode_payload_id(self, data: bytes, offset: int) -> tuple[int, int]:
        if len(data) < 4:
            raise BadSymbol("FEC Payload ID truncated", field="FEC Payload ID", offset=offset)
        return int.from_bytes(data[0:2], "big"), int.from_bytes(data[2:4], "big")

    def encode_oti(self, oti: Oti) -> bytes:
        self.validate(oti)
        return (
            oti.transfer_length.to_bytes(6, "big")
            + bytes(2)
            + oti.encoding_symbol_length.to_bytes(2, "big")
            + oti.max_source_block_length.to_bytes(4, "big")
        )

    def decode_oti(self, content: bytes, offset: int) -> Oti:
        if len(content) < _OTI_LEN:
            raise BadOti(
                f"Compact No-Code OTI is {_OTI_LEN} bytes, got {len(content)}",
                field="EXT_FTI",
                offset=offset,
            )
        return Oti(
            fec_encoding_id=COMPACT_NO_CODE,
            transfer_length=int.from_bytes(content[0:6], "big"),
            encoding_symbol_length=int.from_bytes(content[8:10], "big"),
            max_source_block_length=int.from_bytes(content[10:14], "big"),
        )

    def oti_to_fdt(self, oti: Oti) -> FdtFecAttributes:
        self.validate(oti)
        return FdtFecAttributes(
            encoding_id=COMPACT_NO_CODE,
            max_source_block_length=oti.max_source_block_length,
            encoding_symbol_length=oti.encoding_symbol_length,
        )

    def oti_from_fdt(self, attributes: FdtFecAttributes, transfer_length: int) -> Oti:
        if attributes.encoding_id not in (None, COMPACT_NO_CODE):
            raise BadOti("FEC Encoding ID is not 0", field="FEC-OTI-FEC-Encoding-ID")
        if attributes.encoding_symbol_length is None:
            raise BadOti("missing", field="FEC-OTI-Encoding-Symbol-Length")
        if attributes.max_source_block_length is None:
            raise BadOti("missing", field="FEC-OTI-Maximum-Source-Block-Length")
        oti = Oti(
            fec_encoding_id=COMPACT_NO_CODE,
            transfer_length=transfer_length,
            encoding_symbol_length=attributes.encoding_symbol_length,
            max_source_block_length=attributes.max_source_block_length,
        )
        self.validate(oti)
        return oti

    def validate(self, oti: Oti, max_object_size: int | None = None) -> None:
        if oti.fec_encoding_id != COMPACT_NO_CODE:
            raise BadOti("not a Compact No-Code OTI", field="FEC Encoding ID")
        if not 0 <= oti.transfer_length <= _MAX_TRANSFER_LENGTH:
            raise BadOti("transfer length is 48 bits", field="Transfer Length")
        if max_object_size is not None and oti.transfer_length > max_object_size:
            raise ObjectTooLarge(
                f"transfer length {oti.transfer_length} exceeds the {max_object_size}-byte limit",
                field="Transfer Length",
            )
        if not 0 <= oti.encoding_symbol_length <= _MAX_SYMBOL_LENGTH:
            raise BadOti("encoding symbol length is 16 bits", field="Encoding Symbol Length")
        if not 0 <= oti.max_source_block_length <= _MAX_BLOCK_LENGTH:
            raise BadOti(
                "maximum source block length is 32 bits", field="Maximum Source Block Length"
            )
        part = BlockPartition.compute(
            oti.transfer_length, oti.encoding_symbol_length, oti.max_source_block_length
        )
        if part.blocks > _MAX_BLOCKS:
            raise BadOti(f"{part.blocks} source blocks exceed the 16-bit SBN", field="SBN")
        if part.large_length > _MAX_BLOCK_SYMBOLS:
            raise BadOti(
                f"{part.large_length} symbols per block exceed the 16-bit ESI", field="ESI"
            )

    def partition(self, oti: Oti) -> BlockPartition:
        """The block structure of the object described by ``oti``."""
        self.validate(oti)
        return BlockPartition.compute(
            oti.transfer_length, oti.encoding_symbol_length, oti.max_source_block_length
        )

    def encode(self, oti: Oti, data: bytes) -> Iterator[EncodingSymbol]:
        if len(data) != oti.transfer_length:
            raise BadOti(
                f"object of {len(data)} bytes, OTI says {oti.transfer_length}",
                field="Transfer Length",
            )
        part = self.partition(oti)
        if part.blocks == 0:
            yield EncodingSymbol(0, 0, b"")
            return
        e = part.symbol_length
        for sbn in range(part.blocks):
            base = part.block_offset(sbn)
            end = base + part.block_bytes(sbn)
            for esi in range(part.block_symbols(sbn)):
                start = base + esi * e
                yield EncodingSymbol(sbn, esi, data[start : min(start + e, end)])

    def decoder(self, oti: Oti) -> ObjectDecoder:
        return CompactNoCodeDecoder(oti, self.partition(oti))
