"""The MSK request and response bodies (TS 33.246 6.3.2.2.1, 6.3.2.4; profile.md "MSK request
XML" [P]).

Request (``application/mbms-msk+xml``)::

    <mbms-msk xmlns="urn:3gpp:mbms:msk:2005" key-domain-id="00F110">
      <msk-id>00010000</msk-id>     <!-- Key Group || Key Number, hex; Key Number 0 = current -->
    </mbms-msk>

Response (``application/mbms-msk-response+xml``), one status per requested MSK ID::

    <mbms-msk-response xmlns="urn:3gpp:mbms:msk:2005">
      <msk-status msk-id="00010000" code="200"/>
    </mbms-msk-response>

Parsing uses the project's bounded, entity-free expat reader (:mod:`broadcast.proto.safexml`: no
DOCTYPE, no entities, bounded size/elements/depth); every malformed body raises
:class:`MskRequestError` naming the field and byte offset.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final
from xml.sax.saxutils import quoteattr

from broadcast import profile
from broadcast.proto.keys.errors import InvalidIdentifier
from broadcast.proto.keys.ids import KeyDomainId, MskId
from broadcast.proto.msk.errors import MskRequestError
from broadcast.proto.safexml import XmlElement, XmlError, XmlLimits, XmlTooLarge, parse_xml

#: Largest request body accepted, most MSK IDs per request.
MAX_BODY: Final = 16 * 1024
MAX_MSK_IDS: Final = 64
_LIMITS: Final = XmlLimits(
    max_bytes=MAX_BODY, max_elements=MAX_MSK_IDS + 1, max_depth=2, max_attributes=4
)
_RESPONSE_LIMITS: Final = XmlLimits(
    max_bytes=64 * 1024, max_elements=MAX_MSK_IDS + 1, max_depth=2, max_attributes=8
)
NS: Final = profile.MSK_XML_NAMESPACE
#: Distinct request bodies whose parse is remembered: UEs send the same few bodies, and a parse
#: is a pure function of the bytes (a refused body is never remembered).
PARSE_CACHE: Final = 256


@dataclass(frozen=True, slots=True)
class MskRequest:
    """A parsed MSK request: the Key Domain and the MSK IDs in the order listed."""

    key_domain: KeyDomainId
    msk_ids: tuple[MskId, ...]


@dataclass(frozen=True, slots=True)
class MskStatus:
    """The status of one requested MSK ID (profile codes 200/403/404/410)."""

    msk_id: MskId
    code: int


def _parse(data: bytes, limits: XmlLimits, root_name: str) -> XmlElement:
    if not isinstance(data, bytes):
        raise MskRequestError("the body must be bytes", field="body")
    if len(data) > limits.max_bytes:
        raise MskRequestError(
            f"body of {len(data)} bytes exceeds {limits.max_bytes}",
            field="body",
            http_status=413,
        )
    try:
        root = parse_xml(data, limits)
    except XmlError as exc:
        status = 413 if isinstance(exc, XmlTooLarge) else 400
        raise MskRequestError(
            exc.detail, field=exc.field, offset=exc.offset, http_status=status
        ) from None
    if root.name != root_name or root.namespace != NS:
        raise MskRequestError(
            f"root element must be {root_name} in namespace {NS}", field="root", offset=root.offset
        )
    if root.text.strip():
        raise MskRequestError(f"text inside {root_name}", field=root_name, offset=root.offset)
    return root


def _hex_id(text: str, size: int, what: str, offset: int) -> bytes:
    t = text.strip()
    if len(t) != 2 * size or not all(c in "0123456789abcdefABCDEF" for c in t):
        raise MskRequestError(f"{what} must be {2 * size} hex digits", field=what, offset=offset)
    return bytes.fromhex(t)


def parse_msk_request(data: bytes) -> MskRequest:
    """Parse an ``application/mbms-msk+xml`` body; MskRequestError (400, 413) if malformed."""
    if not isinstance(data, bytes):
        raise MskRequestError("the body must be bytes", field="body")
    if len(data) > MAX_BODY:
        _parse(data, _LIMITS, "mbms-msk")  # raises the 413
    return _parse_msk_request_cached(bytes(data))


@functools.lru_cache(maxsize=PARSE_CACHE)
def _parse_msk_request_cached(data: bytes) -> MskRequest:
    root = _parse(data, _LIMITS, "mbms-msk")
    kdid_text = root.attribute("key-domain-id")
    if kdid_text is None:
        raise MskRequestError("key-domain-id missing", field="key-domain-id", offset=root.offset)
    kdid = KeyDomainId(_hex_id(kdid_text, profile.KEY_DOMAIN_ID_LEN, "key-domain-id", root.offset))
    ids: list[MskId] = []
    for child in root.children:
        if child.name != "msk-id" or child.namespace != NS:
            raise MskRequestError(
                f"unexpected element {child.name[:32]!r}", field="msk-id", offset=child.offset
            )
        if child.children or child.attributes:
            raise MskRequestError("msk-id holds text only", field="msk-id", offset=child.offset)
        raw = _hex_id(child.text, profile.MSK_ID_LEN, "msk-id", child.offset)
        try:
            ids.append(MskId.from_bytes(raw))
        except InvalidIdentifier as exc:  # pragma: no cover - 4 bytes always fit
            raise MskRequestError(str(exc), field="msk-id", offset=child.offset) from None
    if not ids:
        raise MskRequestError("no msk-id listed", field="msk-id", offset=root.offset)
    return MskRequest(kdid, tuple(ids))


def build_msk_request(key_domain: KeyDomainId, msk_ids: Sequence[MskId]) -> bytes:
    """The client's request body."""
    if not 0 < len(msk_ids) <= MAX_MSK_IDS:
        raise ValueError(f"1..{MAX_MSK_IDS} MSK IDs per request")
    items = "".join(f"<msk-id>{str(m).upper()}</msk-id>" for m in msk_ids)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<mbms-msk xmlns="{NS}" '
        f'key-domain-id="{key_domain}">{items}</mbms-msk>\n'
    ).encode()


def build_msk_response(statuses: Sequence[MskStatus]) -> bytes:
    """The server's ``application/mbms-msk-response+xml`` body."""
    return _build_msk_response(tuple(statuses))


@functools.lru_cache(maxsize=PARSE_CACHE)
def _build_msk_response(statuses: tuple[MskStatus, ...]) -> bytes:
    items = "".join(
        f'<msk-status msk-id={quoteattr(str(s.msk_id).upper())} code="{int(s.code)}"/>'
        for s in statuses
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<mbms-msk-response xmlns="{NS}">'
        f"{items}</mbms-msk-response>\n"
    ).encode()


def parse_msk_response(data: bytes) -> tuple[MskStatus, ...]:
    """Parse a response body (client side); MskRequestError if malformed."""
    root = _parse(data, _RESPONSE_LIMITS, "mbms-msk-response")
    out: list[MskStatus] = []
    for child in root.children:
        if child.name != "msk-status" or child.namespace != NS:
            raise MskRequestError("unexpected element", field="msk-status", offset=child.offset)
        mid = child.attribute("msk-id")
        code = child.attribute("code")
        if mid is None or code is None or not code.isdigit() or len(code) != 3:
            raise MskRequestError(
                "msk-status needs msk-id and a 3-digit code",
                field="msk-status",
                offset=child.offset,
            )
        raw = _hex_id(mid, profile.MSK_ID_LEN, "msk-id", child.offset)
        out.append(MskStatus(MskId.from_bytes(raw), int(code)))
    return tuple(out)
