"""FEC schemes for FLUTE (RFC 5052 building block): registry, Compact No-Code, block partitioning.

Compact No-Code (FEC Encoding ID 0, RFC 5445) is registered on import. Another scheme (e.g.
Raptor, ID 1, RFC 5053) plugs in by subclassing :class:`FecScheme` and calling
:func:`register_scheme`.
"""

from broadcast.proto.flute.fec.base import (
    EncodingSymbol,
    FdtFecAttributes,
    FecScheme,
    ObjectDecoder,
    Oti,
    get_scheme,
    register_scheme,
    registered_encoding_ids,
)
from broadcast.proto.flute.fec.nocode import COMPACT_NO_CODE, CompactNoCode, CompactNoCodeDecoder
from broadcast.proto.flute.fec.partition import BlockPartition

# --- Raptor (FEC Encoding ID 1, RFC 5053) ---
from broadcast.proto.flute.fec.raptor import (
    RAPTOR,
    RaptorObjectDecoder,
    RaptorObjectEncoder,
    RaptorScheme,
    encode_object,
    raptor_parameters,
)

register_scheme(CompactNoCode())
register_scheme(RaptorScheme())  # Raptor, FEC Encoding ID 1

__all__ = [
    "COMPACT_NO_CODE",
    "RAPTOR",
    "BlockPartition",
    "CompactNoCode",
    "CompactNoCodeDecoder",
    "EncodingSymbol",
    "FdtFecAttributes",
    "FecScheme",
    "ObjectDecoder",
    "Oti",
    "RaptorObjectDecoder",
    "RaptorObjectEncoder",
    "RaptorScheme",
    "encode_object",
    "get_scheme",
    "raptor_parameters",
    "register_scheme",
    "registered_encoding_ids",
]
