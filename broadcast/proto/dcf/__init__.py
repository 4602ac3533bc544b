"""OMA DRM v2 DCF (OMA-TS-DRM-DCF-V2_0) for MBMS download protection — sans-IO, streaming.

profile.md "Protection of the content" → Download: ``ftyp`` (brand ``odcf``) ·
``odrm``{``odhe``{content type, ``ohdr``}, ``odda``}; AES_128_CBC with RFC 2630 padding, a random
16-byte IV prepended to the ciphertext, key = the MTK; ContentID ``cid:<uuid>@<BM-SC FQDN>``,
RightsIssuerURL = the key management URI, textual header ``MBMS-Key-ID:<Key Domain ID ‖ MSK ID ‖
MTK ID in hex>``.

- :func:`protect_bytes`, :func:`protect_stream` — the MBMS profile in one call
- :class:`DcfWriter` — any :class:`DcfHeaders`, streams chunks from a file or an iterable
- :func:`parse_dcf` / :class:`DcfReader` — verify, read headers, ``decrypt`` / ``iter_decrypt``
- :class:`MbmsKeyId` — the ``MBMS-Key-ID`` value; :func:`mbms_headers` — the profile's headers
- :class:`DcfError` and subclasses — everything the reader raises on bad input
"""

from broadcast.proto.dcf.constants import (
    DEFAULT_CHUNK_SIZE,
    ENCRYPTION_AES_128_CBC,
    MBMS_KEY_ID_HEADER,
    PADDING_RFC_2630,
)
from broadcast.proto.dcf.errors import (
    DcfBoxError,
    DcfError,
    DcfFormatError,
    DcfHeaderError,
    DcfKeyError,
    DcfLengthError,
    DcfLimitError,
    DcfTruncatedError,
    DcfUnsupportedError,
    DcfWriteError,
)
from broadcast.proto.dcf.headers import DcfHeaders
from broadcast.proto.dcf.keyid import MbmsKeyId
from broadcast.proto.dcf.limits import DEFAULT_LIMITS, DcfLimits
from broadcast.proto.dcf.mbms import content_id, mbms_headers, new_content_id
from broadcast.proto.dcf.reader import DcfReader, parse_dcf
from broadcast.proto.dcf.writer import DcfWriter, protect_bytes, protect_stream

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_LIMITS",
    "ENCRYPTION_AES_128_CBC",
    "MBMS_KEY_ID_HEADER",
    "PADDING_RFC_2630",
    "DcfBoxError",
    "DcfError",
    "DcfFormatError",
    "DcfHeaderError",
    "DcfHeaders",
    "DcfKeyError",
    "DcfLengthError",
    "DcfLimitError",
    "DcfLimits",
    "DcfReader",
    "DcfTruncatedError",
    "DcfUnsupportedError",
    "DcfWriteError",
    "DcfWriter",
    "MbmsKeyId",
    "content_id",
    "mbms_headers",
    "new_content_id",
    "parse_dcf",
    "protect_bytes",
    "protect_stream",
]
