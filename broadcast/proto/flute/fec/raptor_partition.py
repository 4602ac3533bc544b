"""Raptor (RFC 5053) FEC OTI and the source block / sub-block partition (§3.2, §4.2, §5.3.1.2).

FEC OTI (§3.2): Common — Transfer Length F (48 bits, F < 2^45) · Reserved (16, sent as 0,
ignored on receipt [P]) · Encoding Symbol Length T (16); Scheme-Specific — number of source blocks
Z (16) · number of sub-blocks N (8) · symbol alignment Al (8). The encoded OTI is the 14 octets
Common ‖ Scheme-Specific (§3.2.3), carried as EXT_FTI content; in the FDT, F is the
``Transfer-Length``, T the ``FEC-OTI-Encoding-Symbol-Length`` and Z ‖ N ‖ Al the base64
``FEC-OTI-Scheme-Specific-Info``.

Partition (§5.3.1.2): Kt = ceil(F/T); (KL, KS, ZL, ZS) = Partition[Kt, Z];
(TL, TS, NL, NS) = Partition[T/Al, N] where Partition[I, J] = (ceil(I/J), floor(I/J), JL, J - JL)
with JL = I - floor(I/J)·J — the RFC 5052 §9.1.2 partition (:func:`partition` and
:class:`~broadcast.proto.flute.fec.partition.BlockPartition` of ``partition.py``, with the number of
blocks Z from the OTI instead of ceil(Kt/B)). The object, zero-padded to Kt·T bytes, is cut into
ZL blocks of KL symbols then ZS blocks of KS symbols; each block into NL sub-blocks of
sub-symbols TL·Al bytes then NS of TS·Al bytes; symbol m is sub-symbol m of every sub-block in
order.

Receiver sanity checks [P, RFC 5053 digest §1.3]: Al >= 1 and T % Al == 0; 1 <= N <= T/Al;
Z >= 1 when F > 0; every block has 4 <= K <= 8192 (J(K) is defined only there — the RFC leaves
K < 4 open; this project refuses such objects, :func:`raptor_parameters` shrinks T so that a
small object still has K >= 4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from broadcast.proto.flute.errors import BadOti
from broadcast.proto.flute.fec import raptor_tables as tables
from broadcast.proto.flute.fec.base import Oti
from broadcast.proto.flute.fec.partition import BlockPartition, partition

#: FEC Encoding ID of Raptor, "MBMS FEC" (RFC 5053 §3.2.1).
RAPTOR: Final = 1
#: Encoded FEC OTI: Common (10) ‖ Scheme-Specific (4) (§3.2.3).
OTI_LENGTH: Final = 14
SCHEME_SPECIFIC_LENGTH: Final = 4
#: F < 2^45 (§3.2.2).
MAX_TRANSFER_LENGTH: Final = (1 << 45) - 1
MAX_SYMBOL_LENGTH: Final = 0xFFFF
MAX_SOURCE_BLOCKS: Final = 0xFFFF
MAX_SUB_BLOCKS: Final = 0xFF
MAX_ALIGNMENT: Final = 0xFF
#: Symbol alignment Al recommended by §4.2.
RECOMMENDED_ALIGNMENT: Final = 4


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


@dataclass(frozen=True, slots=True)
class RaptorOti:
    """The Raptor FEC OTI of one object: F, T (Common) and Z, N, Al (Scheme-Specific)."""

    transfer_length: int  # F, bytes
    symbol_length: int  # T, bytes
    source_blocks: int  # Z
    sub_blocks: int  # N
    alignment: int  # Al, bytes

    # --- wire forms ------------------------------------------------------------------------------
    def scheme_specific(self) -> bytes:
        """Z (16) · N (8) · Al (8), network order (§3.2.3, Figure 3)."""
        self._check_fields()
        return self.source_blocks.to_bytes(2, "big") + bytes((self.sub_blocks, self.alignment))

    def encode(self) -> bytes:
        """The 14-octet encoded FEC OTI (§3.2.3): F (48) · 0 (16) · T (16) · Z (16) · N · Al."""
        self._check_fields()
        return (
            self.transfer_length.to_bytes(6, "big")
            + bytes(2)
            + self.symbol_length.to_bytes(2, "big")
            + self.scheme_specific()
        )

    @classmethod
    def decode(cls, content: bytes, offset: int | None = None) -> RaptorOti:
        """Parse the encoded OTI (trailing EXT_FTI padding ignored; Reserved ignored [P])."""
        if len(content) < OTI_LENGTH:
            raise BadOti(
                f"Raptor FEC OTI is {OTI_LENGTH} bytes, got {len(content)}",
                field="EXT_FTI",
                offset=offset,
            )
        return cls.from_fields(
            int.from_bytes(content[0:6], "big"),
            int.from_bytes(content[8:10], "big"),
            content[10:14],
        )

    @classmethod
    def from_fields(
        cls, transfer_length: int, symbol_length: int, scheme_specific: bytes
    ) -> RaptorOti:
        """From F, T and the 4 scheme-specific octets Z ‖ N ‖ Al."""
        if len(scheme_specific) != SCHEME_SPECIFIC_LENGTH:
            raise BadOti(
                f"Raptor scheme-specific FEC OTI is {SCHEME_SPECIFIC_LENGTH} bytes, "
                f"got {len(scheme_specific)}",
                field="FEC-OTI-Scheme-Specific-Info",
            )
        return cls(
            transfer_length=transfer_length,
            symbol_length=symbol_length,
            source_blocks=int.from_bytes(scheme_specific[0:2], "big"),
            sub_blocks=scheme_specific[2],
            alignment=scheme_specific[3],
        )

    @classmethod
    def from_oti(cls, oti: Oti) -> RaptorOti:
        """The Raptor parameters of a generic :class:`Oti` (its scheme-specific bytes)."""
        if oti.fec_encoding_id != RAPTOR:
            raise BadOti("not a Raptor OTI", field="FEC Encoding ID")
        return cls.from_fields(oti.transfer_length, oti.encoding_symbol_length, oti.scheme_specific)

    def to_oti(self) -> Oti:
        """The generic :class:`Oti`; its Maximum-Source-Block-Length is KL (derived, §5.3.1.2)."""
        part = RaptorPartition.compute(self)
        return Oti(
            fec_encoding_id=RAPTOR,
            transfer_length=self.transfer_length,
            encoding_symbol_length=self.symbol_length,
            max_source_block_length=part.large_length,
            scheme_specific=self.scheme_specific(),
        )

    def _check_fields(self) -> None:
        if not 0 <= self.transfer_length <= MAX_TRANSFER_LENGTH:
            raise BadOti("Raptor transfer length must be below 2^45", field="Transfer Length")
        if not 0 <= self.symbol_length <= MAX_SYMBOL_LENGTH:
            raise BadOti("encoding symbol length is 16 bits", field="Encoding Symbol Length")
        if not 0 <= self.source_blocks <= MAX_SOURCE_BLOCKS:
            raise BadOti("number of source blocks Z is 16 bits", field="Z")
        if not 0 <= self.sub_blocks <= MAX_SUB_BLOCKS:
            raise BadOti("number of sub-blocks N is 8 bits", field="N")
        if not 0 <= self.alignment <= MAX_ALIGNMENT:
            raise BadOti("symbol alignment Al is 8 bits", field="Al")


@dataclass(frozen=True, slots=True)
class RaptorPartition:
    """Source blocks and sub-blocks of one object (§5.3.1.2). Pure arithmetic, validated."""

    oti: RaptorOti
    #: The source blocks: Partition[Kt, Z] of F bytes in T-byte symbols (the RFC 5052 §9.1.2
    #: layout with N = Z; its ``max_block_length`` is KL).
    source: BlockPartition
    large_sub_symbol: int  # TL·Al, bytes
    small_sub_symbol: int  # TS·Al, bytes
    large_sub_blocks: int  # NL
    small_sub_blocks: int  # NS

    @classmethod
    def compute(cls, oti: RaptorOti) -> RaptorPartition:
        """Validate ``oti`` and partition the object; :class:`BadOti` names the bad field."""
        oti._check_fields()
        f, t, z, n, al = (
            oti.transfer_length,
            oti.symbol_length,
            oti.source_blocks,
            oti.sub_blocks,
            oti.alignment,
        )
        if al == 0:
            raise BadOti("symbol alignment Al is 0", field="Al")
        if t % al:
            raise BadOti(f"T = {t} is not a multiple of Al = {al}", field="Encoding Symbol Length")
        if f == 0:
            return cls(oti, BlockPartition.compute(0, t, 0), 0, 0, 0, 0)
        if t == 0:
            raise BadOti("encoding symbol length 0 for a non-empty object", field="T")
        if z == 0:
            raise BadOti("Z = 0 source blocks for a non-empty object", field="Z")
        if n == 0:
            raise BadOti("N = 0 sub-blocks", field="N")
        if n > t // al:
            raise BadOti(f"N = {n} sub-blocks exceed T/Al = {t // al}", field="N")
        kt = _ceil_div(f, t)
        kl, ks, zl, zs = partition(kt, z)
        if kl > tables.K_MAX:
            raise BadOti(f"{kl} source symbols per block exceed Kmax = {tables.K_MAX}", field="Z")
        smallest = ks if zs else kl
        if smallest < tables.K_MIN:
            raise BadOti(
                f"a source block of {smallest} symbols: Raptor needs K >= {tables.K_MIN}",
                field="Z",
            )
        tl, ts, nl, ns = partition(t // al, n)
        source = BlockPartition(f, t, kl, kt, z, zl, kl, ks)
        return cls(oti, source, tl * al, ts * al, nl, ns)

    @property
    def source_symbols(self) -> int:
        """Kt."""
        return self.source.source_symbols

    @property
    def large_length(self) -> int:
        """KL."""
        return self.source.large_length

    @property
    def small_length(self) -> int:
        """KS."""
        return self.source.small_length

    @property
    def large_blocks(self) -> int:
        """ZL."""
        return self.source.large_blocks

    @property
    def small_blocks(self) -> int:
        """ZS."""
        return self.source.blocks - self.source.large_blocks

    @property
    def blocks(self) -> int:
        """Z, or 0 for an empty object."""
        return self.source.blocks

    @property
    def symbol_length(self) -> int:
        """T."""
        return self.oti.symbol_length

    @property
    def transfer_length(self) -> int:
        """F."""
        return self.oti.transfer_length

    def block_symbols(self, sbn: int) -> int:
        """K of source block ``sbn``."""
        return self.source.block_symbols(sbn)

    def block_offset(self, sbn: int) -> int:
        """Byte offset of source block ``sbn`` in the object."""
        return self.source.block_offset(sbn)

    def block_data_length(self, sbn: int) -> int:
        """Object bytes in block ``sbn`` (K·T minus the padding of the last block)."""
        return self.source.block_bytes(sbn)

    def symbol_padding(self, sbn: int, esi: int) -> int:
        """Trailing padding bytes of source symbol ``esi`` of block ``sbn`` (§5.3.2).

        Padding is the zero tail of the last block. With N > 1 a symbol ends with its sub-symbol of
        the last sub-block, so its padding is the part of its trailing sub-symbols that lies in
        that tail.
        """
        k = self.block_symbols(sbn)
        if not 0 <= esi < k:
            return 0
        data = self.block_data_length(sbn)
        t = self.symbol_length
        if data == k * t:
            return 0
        pad = 0
        end = k * t  # block coordinates: sub-blocks laid out one after the other
        for n in range(self.large_sub_blocks + self.small_sub_blocks - 1, -1, -1):
            sub = self.large_sub_symbol if n < self.large_sub_blocks else self.small_sub_symbol
            start_of_sub_block = end - k * sub
            lo = start_of_sub_block + esi * sub
            hi = lo + sub
            if lo >= data:
                pad += sub
            else:
                pad += max(0, hi - data)
                break
            end = start_of_sub_block
        return pad


def raptor_parameters(
    transfer_length: int,
    symbol_length: int,
    *,
    max_source_block_length: int = tables.K_MAX,
    sub_block_size: int | None = None,
    alignment: int = RECOMMENDED_ALIGNMENT,
) -> Oti:
    """A valid Raptor OTI for an object of ``transfer_length`` bytes sent in ``symbol_length``-byte
    symbols.

    - Al = ``alignment`` if it divides the symbol length, else 1.
    - T = the symbol length, shrunk (to a multiple of Al, or with Al = 1) just enough that the
      object has Kt >= 4 symbols: RFC 5053 defines the code only for K >= 4 [P]. Objects of fewer
      than 4 bytes cannot be sent with Raptor (:class:`BadOti`; use Compact No-Code).
    - Z = ceil(Kt / min(``max_source_block_length``, 8192)) (§5.3.1.2: KL <= Kmax), raised if a
      small last block would have K < 4.
    - N = 1, or with ``sub_block_size`` W the §4.2 recommendation min(ceil(KL·T/W), T/Al).

    An empty object gets Z = 0 (no blocks).
    """
    f, t = transfer_length, symbol_length
    if not 0 <= f <= MAX_TRANSFER_LENGTH:
        raise BadOti("Raptor transfer length must be below 2^45", field="Transfer Length")
    if not 1 <= t <= MAX_SYMBOL_LENGTH:
        raise BadOti("encoding symbol length must be 1..65535", field="Encoding Symbol Length")
    if not 1 <= alignment <= MAX_ALIGNMENT:
        raise BadOti("symbol alignment must be 1..255", field="Al")
    if max_source_block_length < tables.K_MIN:
        raise BadOti(
            f"maximum source block length below K = {tables.K_MIN}",
            field="Maximum Source Block Length",
        )
    if sub_block_size is not None and sub_block_size <= 0:
        raise BadOti("sub-block size must be positive", field="W")
    al = alignment if t % alignment == 0 else 1
    if f == 0:
        return RaptorOti(0, t, 0, 1, al).to_oti()
    if f < tables.K_MIN:
        raise BadOti(
            f"an object of {f} bytes has fewer than {tables.K_MIN} symbols: "
            "send it with Compact No-Code",
            field="Transfer Length",
        )
    most = (f - 1) // (tables.K_MIN - 1)  # T <= (F-1)/3  <=>  ceil(F/T) >= 4
    if t > most:
        t = most // al * al
        if t == 0:
            al, t = 1, most
    kt = _ceil_div(f, t)
    kmax = min(max_source_block_length, tables.K_MAX)
    z = _ceil_div(kt, kmax)
    while z > 1 and kt // z < tables.K_MIN:
        z -= 1  # a tiny maximum block length (< 7) can leave K < 4: use fewer, larger blocks
    if z > MAX_SOURCE_BLOCKS:
        raise BadOti(
            f"{z} source blocks exceed the 16-bit SBN; use larger symbols",
            field="Transfer Length",
        )
    n = 1
    if sub_block_size is not None:
        n = min(_ceil_div(_ceil_div(kt, z) * t, sub_block_size), t // al, MAX_SUB_BLOCKS)
    return RaptorOti(f, t, z, n, al).to_oti()
