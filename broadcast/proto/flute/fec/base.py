"""The pluggable FEC scheme interface (RFC 5052 FEC building block) and its registry.

An FEC scheme (RFC 5052 §7) defines the FEC Payload ID, the FEC Object Transmission Information
(OTI) and its encoding, and the code. FLUTE carries the FEC Encoding ID in the LCT Codepoint
(RFC 3926 §5.1), the OTI in EXT_FTI (RFC 5775 §4.2) and/or in FDT ``FEC-OTI-*`` attributes
(RFC 3926 §5.2). Schemes register by FEC Encoding ID; Compact No-Code (ID 0, RFC 5445) is built in,
Raptor (ID 1, RFC 5053) can be added with :func:`register_scheme`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from broadcast.proto.flute.errors import UnsupportedCodepoint


@dataclass(frozen=True, slots=True)
class Oti:
    """FEC Object Transmission Information of one object (RFC 5052 §6.2).

    Mandatory: the FEC Encoding ID. Common: Transfer-Length (bytes), Encoding-Symbol-Length
    (bytes), Maximum-Source-Block-Length (symbols), FEC Instance ID (under-specified schemes),
    Max-Number-of-Encoding-Symbols. Scheme-specific: opaque bytes.
    """

    fec_encoding_id: int
    transfer_length: int
    encoding_symbol_length: int
    max_source_block_length: int
    fec_instance_id: int = 0
    max_encoding_symbols: int | None = None
    scheme_specific: bytes = b""


@dataclass(frozen=True, slots=True)
class FdtFecAttributes:
    """The ``FEC-OTI-*`` attributes of an FDT ``FDT-Instance`` or ``File`` (RFC 3926 §5.2).

    ``scheme_specific_info`` is the decoded ``FEC-OTI-Scheme-Specific-Info`` (base64 in the XML,
    TS 26.346 FDT schema).
    """

    encoding_id: int | None = None
    instance_id: int | None = None
    max_source_block_length: int | None = None
    encoding_symbol_length: int | None = None
    max_number_of_encoding_symbols: int | None = None
    scheme_specific_info: bytes | None = None

    def over(self, defaults: FdtFecAttributes) -> FdtFecAttributes:
        """These (File) values, falling back to ``defaults`` (FDT-Instance) per RFC 3926 §3.4.2."""
        return FdtFecAttributes(
            encoding_id=self.encoding_id if self.encoding_id is not None else defaults.encoding_id,
            instance_id=self.instance_id if self.instance_id is not None else defaults.instance_id,
            max_source_block_length=(
                self.max_source_block_length
                if self.max_source_block_length is not None
                else defaults.max_source_block_length
            ),
            encoding_symbol_length=(
                self.encoding_symbol_length
                if self.encoding_symbol_length is not None
                else defaults.encoding_symbol_length
            ),
            max_number_of_encoding_symbols=(
                self.max_number_of_encoding_symbols
                if self.max_number_of_encoding_symbols is not None
                else defaults.max_number_of_encoding_symbols
            ),
            scheme_specific_info=(
                self.scheme_specific_info
                if self.scheme_specific_info is not None
                else defaults.scheme_specific_info
            ),
        )


@dataclass(frozen=True, slots=True)
class EncodingSymbol:
    """One encoding symbol with its FEC Payload ID fields."""

    sbn: int
    esi: int
    data: bytes


class ObjectDecoder(ABC):
    """Receive-side assembly of one object from encoding symbols (RFC 5052 §4)."""

    def __init__(self, oti: Oti) -> None:
        self.oti = oti

    @abstractmethod
    def add(self, sbn: int, esi: int, payload: bytes) -> bool:
        """Store the symbol(s) of one packet; True if anything new was stored.

        Raises :class:`~broadcast.proto.flute.errors.FecError` subclasses for symbols that do not
        fit the object's block structure; the decoder state is unchanged in that case.
        """

    @abstractmethod
    def growth(self, sbn: int) -> int:
        """Bytes :meth:`add` would newly allocate for a symbol of block ``sbn`` (0 if invalid)."""

    @property
    @abstractmethod
    def is_complete(self) -> bool:
        """Whether :meth:`decode` can return the object."""

    @property
    @abstractmethod
    def buffered_bytes(self) -> int:
        """Bytes of symbol data held (for the receiver's memory bound)."""

    @abstractmethod
    def decode(self) -> bytes:
        """The object; only valid once :attr:`is_complete`."""


class FecScheme(ABC):
    """One FEC scheme: FEC Payload ID, OTI encodings, encoder and decoder factory (RFC 5052 §7)."""

    #: FEC Encoding ID (0-127 fully specified, 128-255 under-specified; RFC 5052 §6.1).
    encoding_id: ClassVar[int]
    #: Short name for messages.
    name: ClassVar[str]
    #: Length in bytes of the FEC Payload ID.
    payload_id_length: ClassVar[int]

    def make_oti(
        self, transfer_length: int, encoding_symbol_length: int, max_source_block_length: int
    ) -> Oti:
        """A validated OTI for an object of ``transfer_length`` bytes with common parameters."""
        oti = Oti(
            fec_encoding_id=self.encoding_id,
            transfer_length=transfer_length,
            encoding_symbol_length=encoding_symbol_length,
            max_source_block_length=max_source_block_length,
        )
        self.validate(oti)
        return oti

    @abstractmethod
    def encode_payload_id(self, sbn: int, esi: int) -> bytes:
        """The FEC Payload ID for (SBN, ESI)."""

    @abstractmethod
    def decode_payload_id(self, data: bytes, offset: int) -> tuple[int, int]:
        """(SBN, ESI) from the FEC Payload ID bytes ``data``; ``offset`` for errors."""

    @abstractmethod
    def encode_oti(self, oti: Oti) -> bytes:
        """The encoded FEC OTI carried as EXT_FTI content (RFC 5775 §4.2)."""

    @abstractmethod
    def decode_oti(self, content: bytes, offset: int) -> Oti:
        """Decode EXT_FTI content (trailing padding ignored); ``offset`` for errors."""

    @abstractmethod
    def oti_to_fdt(self, oti: Oti) -> FdtFecAttributes:
        """The FDT ``FEC-OTI-*`` attributes carrying this OTI (RFC 3926 §5.2)."""

    @abstractmethod
    def oti_from_fdt(self, attributes: FdtFecAttributes, transfer_length: int) -> Oti:
        """The OTI from FDT attributes and the object's transfer length."""

    @abstractmethod
    def validate(self, oti: Oti, max_object_size: int | None = None) -> None:
        """Raise :class:`~broadcast.proto.flute.errors.FecError` if the OTI is unusable."""

    @abstractmethod
    def encode(self, oti: Oti, data: bytes) -> Iterator[EncodingSymbol]:
        """The encoding symbols to send for ``data`` (source symbols first, block by block)."""

    @abstractmethod
    def decoder(self, oti: Oti) -> ObjectDecoder:
        """A fresh receive-side decoder; call :meth:`validate` first."""


_SCHEMES: dict[int, FecScheme] = {}


def register_scheme(scheme: FecScheme) -> None:
    """Make ``scheme`` available under its FEC Encoding ID (replacing any previous one)."""
    _SCHEMES[scheme.encoding_id] = scheme


def get_scheme(encoding_id: int, *, offset: int | None = None) -> FecScheme:
    """The registered scheme for an FEC Encoding ID (= FLUTE Codepoint, RFC 3926 §5.1)."""
    scheme = _SCHEMES.get(encoding_id)
    if scheme is None:
        raise UnsupportedCodepoint(
            f"no FEC scheme registered for FEC Encoding ID {encoding_id}", field="CP", offset=offset
        )
    return scheme


def registered_encoding_ids() -> tuple[int, ...]:
    """The FEC Encoding IDs with a registered scheme."""
    return tuple(sorted(_SCHEMES))
