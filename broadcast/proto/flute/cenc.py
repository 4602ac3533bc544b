"""Content encoding of FDT Instances, signalled by EXT_CENC (RFC 3926 §3.4.3, RFC 6726 §3.4.3).

CENC values (RFC 6726 §3.4.3 / IANA "FLUTE Content Encoding Algorithms"): 0 null, 1 ZLIB
(RFC 1950), 2 DEFLATE (RFC 1951), 3 GZIP (RFC 1952). Decoding is bounded: a small compressed FDT
cannot expand past the caller's limit ("zip bomb"), and the work stops as soon as it would.
"""

from __future__ import annotations

import zlib
from enum import IntEnum
from typing import Final

from broadcast.proto.flute.errors import ContentEncodingError, FdtTooLarge


class ContentEncoding(IntEnum):
    """EXT_CENC values."""

    NULL = 0
    ZLIB = 1
    DEFLATE = 2
    GZIP = 3


_WBITS: Final = {ContentEncoding.ZLIB: 15, ContentEncoding.DEFLATE: -15, ContentEncoding.GZIP: 31}


#: HTTP content-coding tokens of the FDT ``Content-Encoding`` attribute (RFC 3926 §3.4.2 uses the
#: HTTP/1.1 values; RFC 9110 §8.4.1) mapped to the EXT_CENC algorithms: ``deflate`` is the zlib
#: format (RFC 1950) in HTTP; ``identity`` means not encoded.
CONTENT_CODINGS: Final = {
    "identity": ContentEncoding.NULL,
    "gzip": ContentEncoding.GZIP,
    "x-gzip": ContentEncoding.GZIP,
    "deflate": ContentEncoding.ZLIB,
}


def content_coding(name: str) -> ContentEncoding:
    """The algorithm of an FDT ``Content-Encoding`` value (case-insensitive)."""
    kind = CONTENT_CODINGS.get(name.strip().lower())
    if kind is None:
        raise ContentEncodingError(
            f"unsupported Content-Encoding {name[:32]!r}", field="Content-Encoding"
        )
    return kind


def encode_content(data: bytes, cenc: ContentEncoding) -> bytes:
    """Content-encode ``data`` for an FDT Instance object."""
    if cenc is ContentEncoding.NULL:
        return data
    compressor = zlib.compressobj(9, zlib.DEFLATED, _WBITS[cenc])
    return compressor.compress(data) + compressor.flush()


def decode_content(data: bytes, cenc: int, max_size: int) -> bytes:
    """Undo the EXT_CENC content encoding; at most ``max_size`` bytes come out."""
    try:
        kind = ContentEncoding(cenc)
    except ValueError:
        raise ContentEncodingError(f"unknown content encoding {cenc}", field="CENC") from None
    if kind is ContentEncoding.NULL:
        return data
    decompressor = zlib.decompressobj(_WBITS[kind])
    try:
        out = decompressor.decompress(data, max_size + 1)
    except zlib.error:
        raise ContentEncodingError(f"corrupt {kind.name} data", field="CENC") from None
    if len(out) > max_size or decompressor.unconsumed_tail:
        raise FdtTooLarge(
            f"decoded FDT exceeds the {max_size}-byte limit", field="CENC", offset=max_size
        )
    if not decompressor.eof:
        raise ContentEncodingError(f"truncated {kind.name} data", field="CENC")
    return out
