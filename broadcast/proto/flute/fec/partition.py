"""Block partitioning of a transport object into source blocks (RFC 5052 §9.1).

Step 1 (§9.1.1): T = ceil(L/E) source symbols, N = ceil(T/B) source blocks.
Step 2 (§9.1.2): A_large = ceil(T/N), A_small = floor(T/N), I = T - A_small*N; the first I blocks
have A_large symbols, the remaining N-I blocks A_small symbols; every symbol is E bytes except the
last symbol of the last block, which is L - floor((L-1)/E)*E bytes. This is the same partition as
RFC 3926 §5.1.2.3 (there expressed with the fractional part of T/N), mandated for Compact No-Code
by RFC 5445 §3.3 and for Raptor by RFC 5053 §4.2.

Step 2 is the function Partition[I, J] that RFC 5053 §5.3.1.2 names (:func:`partition`). Raptor
uses it twice: for its source blocks, (KL, KS, ZL, ZS) = Partition[Kt, Z], which is this layout
with the number of blocks N = Z taken from the FEC OTI instead of ceil(T/B) (step 1), and for the
sub-blocks of a block, Partition[T/Al, N]. A Raptor object's source blocks are therefore a
:class:`BlockPartition` too (``broadcast.proto.flute.fec.raptor_partition``); the sub-block
structure is Raptor's own.
"""

from __future__ import annotations

from dataclasses import dataclass

from broadcast.proto.flute.errors import BadOti, BadSymbol


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def partition(i: int, j: int) -> tuple[int, int, int, int]:
    """Partition[I, J] = (IL, IS, JL, JS): JL parts of IL = ceil(I/J), then JS = J - JL parts of
    IS = floor(I/J), with JL = I - IS·J (RFC 5052 §9.1.2: A_large, A_small, I, N - I for T
    symbols in N blocks; RFC 5053 §5.3.1.2)."""
    if j <= 0 or i < 0:
        raise ValueError("Partition[I, J] needs I >= 0 and J >= 1")
    il = _ceil_div(i, j)
    is_ = i // j
    jl = i - is_ * j
    return il, is_, jl, j - jl


@dataclass(frozen=True, slots=True)
class BlockPartition:
    """The source block structure of one object. Pure arithmetic: nothing is allocated."""

    transfer_length: int  # L, bytes
    symbol_length: int  # E, bytes
    max_block_length: int  # B, symbols
    source_symbols: int  # T
    blocks: int  # N
    large_blocks: int  # I
    large_length: int  # A_large, symbols
    small_length: int  # A_small, symbols

    @classmethod
    def compute(
        cls, transfer_length: int, symbol_length: int, max_block_length: int
    ) -> BlockPartition:
        """Partition per RFC 5052 §9.1. An empty object has no symbols and no blocks."""
        if transfer_length < 0:
            raise BadOti("negative transfer length", field="Transfer Length")
        if transfer_length == 0:
            return cls(0, symbol_length, max_block_length, 0, 0, 0, 0, 0)
        if symbol_length <= 0:
            raise BadOti(
                "encoding symbol length 0 for a non-empty object", field="Encoding Symbol Length"
            )
        if max_block_length <= 0:
            raise BadOti(
                "maximum source block length 0 for a non-empty object",
                field="Maximum Source Block Length",
            )
        t = _ceil_div(transfer_length, symbol_length)
        n = _ceil_div(t, max_block_length)
        a_large, a_small, i, _ = partition(t, n)
        return cls(transfer_length, symbol_length, max_block_length, t, n, i, a_large, a_small)

    def block_symbols(self, sbn: int) -> int:
        """Number of source symbols in source block ``sbn``."""
        self._check_sbn(sbn)
        return self.large_length if sbn < self.large_blocks else self.small_length

    def block_offset(self, sbn: int) -> int:
        """Byte offset of source block ``sbn`` in the object."""
        self._check_sbn(sbn)
        if sbn < self.large_blocks:
            symbols = sbn * self.large_length
        else:
            symbols = (
                self.large_blocks * self.large_length
                + (sbn - self.large_blocks) * self.small_length
            )
        return symbols * self.symbol_length

    def block_bytes(self, sbn: int) -> int:
        """Length in bytes of source block ``sbn`` (the last one may end with a short symbol)."""
        offset = self.block_offset(sbn)
        return min(self.block_symbols(sbn) * self.symbol_length, self.transfer_length - offset)

    def symbol_size(self, sbn: int, esi: int) -> int:
        """Length in bytes of source symbol ``esi`` of block ``sbn``."""
        count = self.block_symbols(sbn)
        if not 0 <= esi < count:
            raise BadSymbol(f"ESI {esi} outside block {sbn} of {count} symbols", field="ESI")
        start = esi * self.symbol_length
        return min(self.symbol_length, self.block_bytes(sbn) - start)

    def _check_sbn(self, sbn: int) -> None:
        if not 0 <= sbn < self.blocks:
            raise BadSymbol(f"SBN {sbn} outside the object's {self.blocks} blocks", field="SBN")
