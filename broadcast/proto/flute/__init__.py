"""Sans-IO FLUTE (RFC 3926 / RFC 6726) for MBMS download delivery (TS 26.346): bytes in, bytes out.

Layers, bottom up:

- :mod:`~broadcast.proto.flute.lct` — LCT header (RFC 3451 for FLUTE v1, RFC 5651 for v2) and the
  EXT_NOP / EXT_TIME / EXT_FTI / EXT_FDT / EXT_CENC header extensions.
- :mod:`~broadcast.proto.flute.fec` — pluggable FEC schemes (RFC 5052): Compact No-Code (ID 0,
  RFC 5445) and the RFC 5052 §9.1 block partitioning.
- :mod:`~broadcast.proto.flute.alc` — ALC packets (RFC 5775): parse, build one, the LCT headers of
  an object.
- :mod:`~broadcast.proto.flute.blocks` — the packets of an object, one source block at a time from
  a random-access source (bounded memory; native batch builder for Compact No-Code), or a whole
  pass over an object in memory.
- :mod:`~broadcast.proto.flute.fdt` — FDT Instances: model, 3GPP-schema-valid writer, safe reader,
  the MIKEY (download MTK) ``File`` entry.
- :mod:`~broadcast.proto.flute.receiver` — session receiver (any order, duplicates, losses,
bounded).

No sockets, clocks or threads: time is passed in as NTP seconds (:mod:`~broadcast.proto.flute.ntp`).
"""

from broadcast.proto.flute.alc import (
    DEFAULT_MAX_OBJECT_SIZE,
    FDT_TOI,
    AlcPacket,
    build_packet,
    object_headers,
    parse_packet,
)
from broadcast.proto.flute.blocks import BlockPacketizer
from broadcast.proto.flute.cenc import ContentEncoding, decode_content, encode_content
from broadcast.proto.flute.errors import (
    AlcError,
    BadExtension,
    BadHeaderLength,
    BadOti,
    BadSymbol,
    BadVersion,
    ConflictingOti,
    ConflictingSymbol,
    ContentEncodingError,
    ExpiredFdt,
    FdtEncodeError,
    FdtError,
    FdtForbiddenConstruct,
    FdtLimitExceeded,
    FdtTooLarge,
    FecError,
    FluteEncodeError,
    FluteError,
    IntegrityError,
    LctError,
    MissingExtFdt,
    MissingIdentifier,
    ObjectTooLarge,
    ReceiverError,
    ResourceLimit,
    TruncatedPacket,
    UnsupportedCodepoint,
    WrongSession,
)
from broadcast.proto.flute.fdt import (
    FDT_NAMESPACE,
    FDT_NAMESPACE_RFC6726,
    CacheControl,
    CacheDirective,
    FdtFile,
    FdtInstance,
    describe_object,
    file_oti,
    instance_id_newer,
    mikey_file,
    next_instance_id,
    parse_fdt,
    write_fdt,
)
from broadcast.proto.flute.fec import (
    COMPACT_NO_CODE,
    BlockPartition,
    CompactNoCode,
    FdtFecAttributes,
    FecScheme,
    Oti,
    get_scheme,
    register_scheme,
)
from broadcast.proto.flute.lct import (
    ExtCenc,
    ExtFdt,
    ExtFti,
    ExtNop,
    ExtTime,
    FluteVersion,
    LctHeader,
    UnknownExtension,
    decode_header,
    encode_header,
)
from broadcast.proto.flute.ntp import ntp_seconds
from broadcast.proto.flute.receiver import (
    ReceivedFdt,
    ReceivedObject,
    ReceiverConfig,
    ReceiverStats,
    SessionReceiver,
)

__all__ = [
    "COMPACT_NO_CODE",
    "DEFAULT_MAX_OBJECT_SIZE",
    "FDT_NAMESPACE",
    "FDT_NAMESPACE_RFC6726",
    "FDT_TOI",
    "AlcError",
    "AlcPacket",
    "BadExtension",
    "BadHeaderLength",
    "BadOti",
    "BadSymbol",
    "BadVersion",
    "BlockPacketizer",
    "BlockPartition",
    "CacheControl",
    "CacheDirective",
    "CompactNoCode",
    "ConflictingOti",
    "ConflictingSymbol",
    "ContentEncoding",
    "ContentEncodingError",
    "ExpiredFdt",
    "ExtCenc",
    "ExtFdt",
    "ExtFti",
    "ExtNop",
    "ExtTime",
    "FdtEncodeError",
    "FdtError",
    "FdtFecAttributes",
    "FdtFile",
    "FdtForbiddenConstruct",
    "FdtInstance",
    "FdtLimitExceeded",
    "FdtTooLarge",
    "FecError",
    "FecScheme",
    "FluteEncodeError",
    "FluteError",
    "FluteVersion",
    "IntegrityError",
    "LctError",
    "LctHeader",
    "MissingExtFdt",
    "MissingIdentifier",
    "ObjectTooLarge",
    "Oti",
    "ReceivedFdt",
    "ReceivedObject",
    "ReceiverConfig",
    "ReceiverError",
    "ReceiverStats",
    "ResourceLimit",
    "SessionReceiver",
    "TruncatedPacket",
    "UnknownExtension",
    "UnsupportedCodepoint",
    "WrongSession",
    "build_packet",
    "decode_content",
    "decode_header",
    "describe_object",
    "encode_content",
    "encode_header",
    "file_oti",
    "get_scheme",
    "instance_id_newer",
    "mikey_file",
    "next_instance_id",
    "ntp_seconds",
    "object_headers",
    "parse_fdt",
    "parse_packet",
    "register_scheme",
    "write_fdt",
]
