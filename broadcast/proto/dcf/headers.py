"""The DCF header boxes: ``odhe`` (Discrete Media Headers) and ``ohdr`` (Common Headers),
OMA-TS-DRM-DCF-V2_0 §5.2.

``odhe`` (FullBox v0): ContentTypeLength u8 · ContentType · child boxes (exactly one ``ohdr``).
``ohdr`` (FullBox v0): EncryptionMethod u8 · PaddingScheme u8 · PlaintextLength u64 ·
ContentIDLength u16 · RightsIssuerURLLength u16 · TextualHeadersLength u16 · ContentID ·
RightsIssuerURL · TextualHeaders · extended-header boxes (skipped when well-formed).
TextualHeaders is a run of ``Name:Value`` strings, each terminated by a NUL byte (as Bento4
``mp4dcf`` writes them).

Text rules (the writer enforces them and the reader checks them, so both agree):
ContentType, ContentID and RightsIssuerURL are printable ASCII (a MIME type and two URIs);
header names are RFC 9110 tokens; header values are UTF-8 without control characters (TAB
allowed); header names are unique, compared case-insensitively.
"""

from __future__ import annotations

import string
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from broadcast import profile
from broadcast.proto.dcf import constants as c
from broadcast.proto.dcf._source import BytesSource, Source
from broadcast.proto.dcf.boxes import (
    BoxCounter,
    BoxHeader,
    full_box_header,
    read_box_header,
    read_full_box,
)
from broadcast.proto.dcf.errors import (
    DcfBoxError,
    DcfHeaderError,
    DcfLimitError,
    DcfUnsupportedError,
    DcfWriteError,
)
from broadcast.proto.dcf.keyid import MbmsKeyId
from broadcast.proto.dcf.limits import DEFAULT_LIMITS, DcfLimits

_TOKEN = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~")


@dataclass(frozen=True)
class DcfHeaders:
    """What the ``odhe``/``ohdr`` boxes say about the content, besides the lengths.

    ``textual_headers`` keeps the order of the DCF (or of the mapping given) and is read-only.
    ``encryption_method`` / ``padding_scheme`` default to the profile's
    (``profile.DCF_ENCRYPTION_METHOD`` / ``DCF_PADDING_SCHEME``, read when made).
    """

    content_type: str
    content_id: str
    rights_issuer_url: str
    textual_headers: Mapping[str, str] = field(default_factory=dict)
    encryption_method: int = field(default_factory=lambda: profile.DCF_ENCRYPTION_METHOD)
    padding_scheme: int = field(default_factory=lambda: profile.DCF_PADDING_SCHEME)

    def __post_init__(self) -> None:
        object.__setattr__(self, "textual_headers", MappingProxyType(dict(self.textual_headers)))

    def header(self, name: str) -> str | None:
        """The value of textual header ``name`` (case-insensitive), or None."""
        folded = name.casefold()
        for key, value in self.textual_headers.items():
            if key.casefold() == folded:
                return value
        return None

    @property
    def mbms_key_id(self) -> MbmsKeyId | None:
        """The parsed ``MBMS-Key-ID`` header, or None when absent.

        Raises :class:`~broadcast.proto.keys.InvalidIdentifier` when present but malformed (a parsed
        DCF has already been checked, so there it never raises).
        """
        value = self.header(profile.DCF_MBMS_KEY_ID_HEADER)
        return None if value is None else MbmsKeyId.parse(value)


# --- text rules -------------------------------------------------------------------------------


def _printable_ascii_problem(text: str) -> str | None:
    for i, ch in enumerate(text):
        if not 0x20 <= ord(ch) < 0x7F:
            return f"character {ch!r} at index {i} is not printable ASCII"
    return None


def _value_problem(text: str) -> str | None:
    for i, ch in enumerate(text):
        o = ord(ch)
        if (o < 0x20 and ch != "\t") or o == 0x7F or 0xD800 <= o <= 0xDFFF:
            return f"character {ch!r} at index {i} is not allowed in a header value"
    return None


def _name_problem(name: str) -> str | None:
    if not name:
        return "empty header name"
    if not _TOKEN.issuperset(name):
        return f"header name {name[:40]!r} is not a token"
    return None


# --- writer side ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EncodedHeaders:
    """The header strings as bytes, checked against the limits, and the encryption fields
    (writer side)."""

    content_type: bytes
    content_id: bytes
    rights_issuer_url: bytes
    textual_headers: bytes
    encryption_method: int = c.ENCRYPTION_AES_128_CBC
    padding_scheme: int = c.PADDING_RFC_2630


def profile_encryption() -> tuple[int, int]:
    """The profile's (EncryptionMethod, PaddingScheme), read now (``profile.DCF_ENCRYPTION_METHOD``,
    ``DCF_PADDING_SCHEME``)."""
    return profile.DCF_ENCRYPTION_METHOD, profile.DCF_PADDING_SCHEME


def _not_implemented(pair: tuple[int, int]) -> str | None:
    """Why the profile's pair cannot be used, or None when this package implements it."""
    if pair in c.IMPLEMENTED_ENCRYPTION:
        return None
    return (
        f"the profile's EncryptionMethod {pair[0]} with PaddingScheme {pair[1]} is not "
        "implemented (AES_128_CBC = 1 with RFC 2630 = 1 is)"
    )


def _ascii_field(value: str, name: str, max_len: int) -> bytes:
    if not isinstance(value, str):
        raise DcfWriteError(f"{name} must be a str")
    problem = _printable_ascii_problem(value)
    if problem:
        raise DcfWriteError(f"{name}: {problem}")
    raw = value.encode("ascii")
    if len(raw) > max_len:
        raise DcfWriteError(f"{name} is {len(raw)} bytes, at most {max_len} allowed")
    return raw


def encode_textual_headers(headers: Mapping[str, str]) -> bytes:
    """``Name:Value\\0`` for each header, in order (raises :class:`DcfWriteError`)."""
    out = bytearray()
    seen: set[str] = set()
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise DcfWriteError("textual header names and values must be str")
        problem = _name_problem(name) or _value_problem(value)
        if problem:
            raise DcfWriteError(f"textual header {name[:40]!r}: {problem}")
        if name.casefold() in seen:
            raise DcfWriteError(f"textual header {name!r} given twice (names are case-insensitive)")
        seen.add(name.casefold())
        out += name.encode("ascii") + b":" + value.encode("utf-8") + b"\0"
    return bytes(out)


def encode_headers(headers: DcfHeaders, limits: DcfLimits = DEFAULT_LIMITS) -> EncodedHeaders:
    """Validate ``headers`` for writing and encode the strings (raises :class:`DcfWriteError`).

    EncryptionMethod and PaddingScheme must be the profile's (``profile.DCF_ENCRYPTION_METHOD``,
    ``DCF_PADDING_SCHEME``).
    """
    method, padding = profile_encryption()
    problem = _not_implemented((method, padding))
    if problem:
        raise DcfWriteError(problem)
    if headers.encryption_method != method:
        raise DcfWriteError(f"only EncryptionMethod {method} (the profile's) is supported")
    if headers.padding_scheme != padding:
        raise DcfWriteError(f"only PaddingScheme {padding} (the profile's) is supported")
    content_type = _ascii_field(headers.content_type, "ContentType", 0xFF)
    content_id = _ascii_field(headers.content_id, "ContentID", limits.max_content_id)
    if not content_id:
        raise DcfWriteError("ContentID must not be empty")
    riu = _ascii_field(headers.rights_issuer_url, "RightsIssuerURL", limits.max_rights_issuer_url)
    textual = encode_textual_headers(headers.textual_headers)
    if len(textual) > limits.max_textual_headers:
        raise DcfWriteError(
            f"TextualHeaders are {len(textual)} bytes, at most {limits.max_textual_headers} allowed"
        )
    return EncodedHeaders(content_type, content_id, riu, textual, method, padding)


def ohdr_box(enc: EncodedHeaders, plaintext_length: int) -> bytes:
    """The ``ohdr`` box (32-bit size: it is bounded by the limits, far below 4 GiB)."""
    fields = struct.pack(
        ">BBQHHH",
        enc.encryption_method,
        enc.padding_scheme,
        plaintext_length,
        len(enc.content_id),
        len(enc.rights_issuer_url),
        len(enc.textual_headers),
    )
    body = fields + enc.content_id + enc.rights_issuer_url + enc.textual_headers
    return full_box_header(c.OHDR, c.BOX_HEADER + c.FULL_BOX_EXTRA + len(body)) + body


def odhe_box(enc: EncodedHeaders, plaintext_length: int) -> bytes:
    """The ``odhe`` box: ContentTypeLength · ContentType · ``ohdr`` (32-bit size)."""
    body = bytes((len(enc.content_type),)) + enc.content_type + ohdr_box(enc, plaintext_length)
    return full_box_header(c.ODHE, c.BOX_HEADER + c.FULL_BOX_EXTRA + len(body)) + body


#: Offset of PlaintextLength inside the ``odhe`` box: odhe FullBox header · ContentTypeLength ·
#: ContentType · ohdr FullBox header · EncryptionMethod · PaddingScheme.
def plaintext_length_offset_in_odhe(content_type_len: int) -> int:
    full = c.BOX_HEADER + c.FULL_BOX_EXTRA
    return full + 1 + content_type_len + full + 2


# --- reader side ------------------------------------------------------------------------------


def _decode_ascii(raw: bytes, name: str, box: str, offset: int) -> str:
    text = raw.decode("latin-1")
    problem = _printable_ascii_problem(text)
    if problem:
        raise DcfHeaderError(f"{name}: {problem}", box=box, offset=offset)
    return text


def parse_textual_headers(raw: bytes, box: str, offset: int) -> dict[str, str]:
    """Parse TextualHeaders: NUL-terminated ``Name:Value`` strings (``offset`` = field start)."""
    headers: dict[str, str] = {}
    if not raw:
        return headers
    if not raw.endswith(b"\0"):
        raise DcfHeaderError("TextualHeaders do not end with a NUL", box=box, offset=offset)
    pos = offset
    seen: set[str] = set()
    for item in raw[:-1].split(b"\0"):
        name_raw, colon, value_raw = item.partition(b":")
        if not colon:
            raise DcfHeaderError("textual header without ':'", box=box, offset=pos)
        name = name_raw.decode("latin-1")
        try:
            value = value_raw.decode("utf-8")
        except UnicodeDecodeError:
            raise DcfHeaderError(
                f"textual header {name[:40]!r}: value is not UTF-8", box=box, offset=pos
            ) from None
        problem = _name_problem(name) or _value_problem(value)
        if problem:
            raise DcfHeaderError(f"textual header: {problem}", box=box, offset=pos)
        if name.casefold() in seen:
            raise DcfHeaderError(f"textual header {name!r} appears twice", box=box, offset=pos)
        seen.add(name.casefold())
        headers[name] = value
        pos += len(item) + 1
    return headers


@dataclass(frozen=True, slots=True)
class ParsedOdhe:
    headers: DcfHeaders
    plaintext_length: int
    mbms_key_id: MbmsKeyId | None


def _skip_children(
    src: Source, start: int, end: int, parent: str, counter: BoxCounter
) -> list[BoxHeader]:
    """Walk the child boxes in ``start .. end``; they must tile the range exactly."""
    children = []
    pos = start
    while pos < end:
        child = read_box_header(src, pos, end, parent)
        counter.visit(child.path, pos)
        children.append(child)
        pos = child.end
    return children


def parse_odhe(data: bytes, odhe: BoxHeader, limits: DcfLimits, counter: BoxCounter) -> ParsedOdhe:
    """Parse the ``odhe`` box whose header is ``odhe``; ``data`` = all of its bytes."""
    src = BytesSource(data, base=odhe.offset)
    read_full_box(src, odhe)
    pos = odhe.payload_offset + c.FULL_BOX_EXTRA
    if pos + 1 > odhe.end:
        raise DcfBoxError("no room for ContentTypeLength", box=odhe.path, offset=odhe.offset)
    ct_len = src.read_at(pos, 1, odhe.path)[0]
    if pos + 1 + ct_len > odhe.end:
        raise DcfBoxError(f"ContentTypeLength {ct_len} overruns the box", box=odhe.path, offset=pos)
    content_type = _decode_ascii(
        src.read_at(pos + 1, ct_len, odhe.path), "ContentType", odhe.path, pos + 1
    )
    ohdrs = [
        ch
        for ch in _skip_children(src, pos + 1 + ct_len, odhe.end, odhe.path, counter)
        if ch.type == c.OHDR
    ]
    if len(ohdrs) != 1:
        what = "no ohdr box" if not ohdrs else f"{len(ohdrs)} ohdr boxes"
        raise DcfBoxError(f"{what} (exactly one required)", box=odhe.path, offset=odhe.offset)
    headers, plaintext_length = _parse_ohdr(src, ohdrs[0], content_type, limits, counter)
    try:
        key_id = headers.mbms_key_id
    except ValueError as exc:
        raise DcfHeaderError(
            f"{profile.DCF_MBMS_KEY_ID_HEADER}: {exc}", box=ohdrs[0].path, offset=ohdrs[0].offset
        ) from None
    return ParsedOdhe(headers, plaintext_length, key_id)


def _parse_ohdr(
    src: Source, ohdr: BoxHeader, content_type: str, limits: DcfLimits, counter: BoxCounter
) -> tuple[DcfHeaders, int]:
    read_full_box(src, ohdr)
    pos = ohdr.payload_offset + c.FULL_BOX_EXTRA
    if pos + c.OHDR_FIXED > ohdr.end:
        raise DcfBoxError(
            f"{ohdr.size}-byte box has no room for the {c.OHDR_FIXED} bytes of fixed fields",
            box=ohdr.path,
            offset=ohdr.offset,
        )
    method, padding, plaintext_length, cid_len, riu_len, th_len = struct.unpack(
        ">BBQHHH", src.read_at(pos, c.OHDR_FIXED, ohdr.path)
    )
    want_method, want_padding = profile_encryption()
    problem = _not_implemented((want_method, want_padding))
    if problem:
        raise DcfUnsupportedError(problem, box=ohdr.path, offset=pos)
    if method != want_method:
        raise DcfUnsupportedError(
            f"EncryptionMethod {method} (only {want_method}, the profile's, is supported)",
            box=ohdr.path,
            offset=pos,
        )
    if padding != want_padding:
        raise DcfUnsupportedError(
            f"PaddingScheme {padding} (only {want_padding}, the profile's, is supported)",
            box=ohdr.path,
            offset=pos + 1,
        )
    for name, length, limit in (
        ("ContentIDLength", cid_len, limits.max_content_id),
        ("RightsIssuerURLLength", riu_len, limits.max_rights_issuer_url),
        ("TextualHeadersLength", th_len, limits.max_textual_headers),
    ):
        if length > limit:
            raise DcfLimitError(f"{name} {length} exceeds {limit}", box=ohdr.path, offset=pos)
    pos += c.OHDR_FIXED
    if pos + cid_len + riu_len + th_len > ohdr.end:
        raise DcfBoxError(
            f"ContentID/RightsIssuerURL/TextualHeaders lengths ({cid_len}+{riu_len}+{th_len}) "
            "overrun the box",
            box=ohdr.path,
            offset=pos,
        )
    content_id = _decode_ascii(src.read_at(pos, cid_len, ohdr.path), "ContentID", ohdr.path, pos)
    pos += cid_len
    riu = _decode_ascii(src.read_at(pos, riu_len, ohdr.path), "RightsIssuerURL", ohdr.path, pos)
    pos += riu_len
    textual = parse_textual_headers(src.read_at(pos, th_len, ohdr.path), ohdr.path, pos)
    pos += th_len
    _skip_children(src, pos, ohdr.end, ohdr.path, counter)  # extended headers
    headers = DcfHeaders(content_type, content_id, riu, textual, method, padding)
    return headers, plaintext_length
