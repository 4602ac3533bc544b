"""The ``application/mbms-protection-description+xml`` fragment: writer and safe parser.

TS 33.246 clause 6.3.2.2.2 lists what the UE receives through User Service Discovery /
Announcement: the FQDN of the key management server (the BM-SC), confidentiality protection
on/off, integrity protection on/off, UICC key management required yes/no, the identifiers of the
MSKs the User Service needs (Key Number 0x0: "the current MSK"; the Key Group is what identifies
them) and how the MSKs map onto the User Service Sessions. The XML itself belongs to TS 26.346,
which was not available: the project's document (profile.md "Announcement", [P]) is shaped like
its MSK request XML::

    <mbms-protection-description xmlns="urn:3gpp:mbms:protection:2005" key-domain-id="00F110">
      <key-management-server fqdn="bmsc.example.org"
                             uri="https://bmsc.example.org/keymanagement"/>
      <confidentiality-protection>on</confidentiality-protection>
      <integrity-protection>on</integrity-protection>
      <uicc-key-management-required>no</uicc-key-management-required>
      <msk-id>00010000</msk-id>
      <session session-description="stream.sdp" msk-id="00010000"/>
    </mbms-protection-description>

- ``key-domain-id``: 6 hex digits (MCC || MNC, profile.md "Identifiers"); required unless both
  protections are off.
- ``key-management-server``: required unless both protections are off; ``fqdn`` is the seed's
  "FQDN of the key management server" (the BM-SC's NAF name, which the MUK is bound to), ``uri``
  the HTTP(S) URI the MSK requests go to (its host may be an address, e.g. in a test network).
- the three switches hold the seed's words: ``on``/``off`` and ``yes``/``no``.
- ``msk-id``: 8 hex digits, Key Number 0000, one element per Key Group, at most 64.
- ``session``: the session description URI (as the User Service Description's deliveryMethod
  names it) and the MSK ID (one of the listed ``msk-id``) that protects it; each session once.

Elements and attributes of other names are ignored (forward compatibility); each known element
at most once (``msk-id`` and ``session`` excepted). The parser is
:mod:`broadcast.proto.safexml`: no DOCTYPE or entity of any kind, bounded size, element count,
attributes and depth; every problem is a :class:`ProtectionDescriptionError` with the offset.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit
from xml.sax.saxutils import escape, quoteattr

from broadcast import profile
from broadcast.proto.announce.errors import (
    ProtectionDescriptionError,
    ProtectionForbiddenConstruct,
    ProtectionLimitExceeded,
    excerpt,
)
from broadcast.proto.keys.errors import InvalidIdentifier
from broadcast.proto.keys.ids import KeyDomainId, MskId
from broadcast.proto.safexml import (
    XmlElement,
    XmlError,
    XmlForbiddenConstruct,
    XmlLimitExceeded,
    XmlLimits,
    parse_xml,
)

NAMESPACE: Final = profile.PROTECTION_DESCRIPTION_NAMESPACE
ROOT: Final = profile.PROTECTION_DESCRIPTION_ROOT
CONTENT_TYPE: Final = profile.PROTECTION_DESCRIPTION_CONTENT_TYPE

#: Bounds on what one protection description may list [P].
MAX_MSK_IDS: Final = 64
MAX_SESSIONS: Final = 64
MAX_URI_LEN: Final = 1024
MAX_FQDN_LEN: Final = 253

#: Parser bounds: a valid document has at most 6 + 64 + 64 elements at depth 2.
LIMITS: Final = XmlLimits(
    max_bytes=64 * 1024,
    max_elements=512,
    max_depth=4,
    max_attributes=16,
    per_name={"msk-id": MAX_MSK_IDS, "session": MAX_SESSIONS},
)

_KEY_MANAGEMENT: Final = "key-management-server"
_CONFIDENTIALITY: Final = "confidentiality-protection"
_INTEGRITY: Final = "integrity-protection"
_UICC: Final = "uicc-key-management-required"
_MSK_ID: Final = "msk-id"
_SESSION: Final = "session"
_SINGLE: Final = (_KEY_MANAGEMENT, _CONFIDENTIALITY, _INTEGRITY, _UICC)
_SESSION_REF: Final = profile.PROTECTION_SESSION_REFERENCE

_HEX6 = re.compile(r"[0-9A-Fa-f]{6}")
_HEX8 = re.compile(r"[0-9A-Fa-f]{8}")
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_URI_CHARS = re.compile(r"[!#$%&'()*+,\-./0-9:;=?@A-Z\[\]_a-z~]+")


def _fail(message: str, field: str, offset: int | None = None) -> ProtectionDescriptionError:
    return ProtectionDescriptionError(message, field=field, offset=offset)


def check_fqdn(fqdn: str) -> str:
    """A DNS host name: LDH labels of 1..63 characters, at most 253 in all (RFC 1123 §2.1)."""
    name = fqdn[:-1] if fqdn.endswith(".") else fqdn
    if not (
        isinstance(fqdn, str)
        and 0 < len(name) <= MAX_FQDN_LEN
        and all(_LABEL.fullmatch(label) for label in name.split("."))
    ):
        raise _fail(f"not a host name: {excerpt(str(fqdn))}", _KEY_MANAGEMENT + "/@fqdn")
    return fqdn


def check_uri(uri: str, field: str) -> str:
    """A bounded URI of RFC 3986 characters (no spaces or controls)."""
    if not isinstance(uri, str) or not 0 < len(uri) <= MAX_URI_LEN or not _URI_CHARS.fullmatch(uri):
        raise _fail(f"not a URI of 1..{MAX_URI_LEN} characters: {excerpt(str(uri))}", field)
    return uri


@dataclass(frozen=True, slots=True)
class KeyManagementServer:
    """The BM-SC named by ``fqdn`` and the ``uri`` MSK requests go to (TS 33.246 6.3.2.2.1)."""

    fqdn: str
    uri: str

    def __post_init__(self) -> None:
        check_fqdn(self.fqdn)
        check_uri(self.uri, _KEY_MANAGEMENT + "/@uri")
        try:
            parts = urlsplit(self.uri)
            host = parts.hostname
        except ValueError:
            host, parts = None, None
        if parts is None or parts.scheme not in ("http", "https") or not host:
            raise _fail(
                "the key management URI must be an http(s) URI with a host",
                _KEY_MANAGEMENT + "/@uri",
            )

    @classmethod
    def of(
        cls, fqdn: str, path: str = profile.KEY_MANAGEMENT_PATH, scheme: str = "https"
    ) -> KeyManagementServer:
        return cls(fqdn, f"{scheme}://{fqdn}{path}")


@dataclass(frozen=True, slots=True)
class ProtectedSession:
    """A User Service Session (named by its session description URI) and the MSK protecting it."""

    session_description: str
    msk_id: MskId

    def __post_init__(self) -> None:
        check_uri(self.session_description, f"{_SESSION}/@{_SESSION_REF}")


@dataclass(frozen=True, slots=True)
class ProtectionDescription:
    """What the UE learns about a User Service's protection (TS 33.246 6.3.2.2.2)."""

    confidentiality: bool
    integrity: bool
    uicc_key_management_required: bool
    key_management: KeyManagementServer | None = None
    key_domain_id: KeyDomainId | None = None
    msk_ids: tuple[MskId, ...] = ()
    sessions: tuple[ProtectedSession, ...] = ()

    def __post_init__(self) -> None:
        if self.protected:
            if self.key_management is None:
                raise _fail("a protected service needs a key management server", _KEY_MANAGEMENT)
            if self.key_domain_id is None:
                raise _fail("a protected service needs a Key Domain ID", "@key-domain-id")
            if not self.msk_ids:
                raise _fail("a protected service lists at least one MSK ID", _MSK_ID)
        if len(self.msk_ids) > MAX_MSK_IDS:
            raise ProtectionLimitExceeded(f"more than {MAX_MSK_IDS} MSK IDs", field=_MSK_ID)
        if len(self.sessions) > MAX_SESSIONS:
            raise ProtectionLimitExceeded(f"more than {MAX_SESSIONS} sessions", field=_SESSION)
        groups = set()
        for msk_id in self.msk_ids:
            if not msk_id.is_current_alias:
                raise _fail(
                    f"MSK ID {msk_id}: the announcement names Key Number 0 (6.3.2.2.2)", _MSK_ID
                )
            if msk_id.key_group in groups:
                raise _fail(f"MSK ID {msk_id} listed twice", _MSK_ID)
            groups.add(msk_id.key_group)
        seen = set()
        for s in self.sessions:
            if s.msk_id not in self.msk_ids:
                raise _fail(f"session MSK ID {s.msk_id} is not among the listed MSK IDs", _SESSION)
            if s.session_description in seen:
                raise _fail(f"session {excerpt(s.session_description)} mapped twice", _SESSION)
            seen.add(s.session_description)

    @property
    def protected(self) -> bool:
        """False when both confidentiality and integrity are off: then the UE does not initiate
        key management (6.3.2.2.2)."""
        return self.confidentiality or self.integrity

    @property
    def key_groups(self) -> tuple[int, ...]:
        return tuple(m.key_group for m in self.msk_ids)

    def msk_for(self, session_description: str) -> MskId | None:
        """The MSK ID (Key Number 0) protecting the session named ``session_description``."""
        for s in self.sessions:
            if s.session_description == session_description:
                return s.msk_id
        return None

    # -- writer ---------------------------------------------------------------------------------
    def to_xml(self) -> bytes:
        """The document, UTF-8, in the element order of the module docstring."""

        def switch(on: bool) -> str:
            return profile.PROTECTION_ON if on else profile.PROTECTION_OFF

        root_attrs = f" xmlns={quoteattr(NAMESPACE)}"
        if self.key_domain_id is not None:
            root_attrs += f' key-domain-id="{self.key_domain_id!s}"'
        lines = ['<?xml version="1.0" encoding="UTF-8"?>', f"<{ROOT}{root_attrs}>"]
        if self.key_management is not None:
            km = self.key_management
            lines.append(
                f"  <{_KEY_MANAGEMENT} fqdn={quoteattr(km.fqdn)} uri={quoteattr(km.uri)}/>"
            )
        uicc = (
            profile.UICC_REQUIRED_YES
            if self.uicc_key_management_required
            else (profile.UICC_REQUIRED_NO)
        )
        lines += [
            f"  <{_CONFIDENTIALITY}>{switch(self.confidentiality)}</{_CONFIDENTIALITY}>",
            f"  <{_INTEGRITY}>{switch(self.integrity)}</{_INTEGRITY}>",
            f"  <{_UICC}>{uicc}</{_UICC}>",
        ]
        lines += [f"  <{_MSK_ID}>{escape(str(m))}</{_MSK_ID}>" for m in self.msk_ids]
        lines += [
            f'  <{_SESSION} {_SESSION_REF}={quoteattr(s.session_description)} msk-id="{s.msk_id}"/>'
            for s in self.sessions
        ]
        lines.append(f"</{ROOT}>")
        return ("\n".join(lines) + "\n").encode("utf-8")


def protection_description(
    *,
    bmsc_fqdn: str | None,
    key_domain_id: KeyDomainId | None,
    sessions: Iterable[tuple[str, int]],
    confidentiality: bool = True,
    integrity: bool = True,
    uicc_key_management_required: bool = False,
    key_management_uri: str | None = None,
) -> ProtectionDescription:
    """Build a description from ``(session description URI, Key Group)`` pairs: every Key Group
    becomes one ``msk-id`` with Key Number 0."""
    pairs = list(sessions)
    groups: list[int] = []
    for _, group in pairs:
        if group not in groups:
            groups.append(group)
    km = None
    if bmsc_fqdn is not None:
        km = (
            KeyManagementServer(bmsc_fqdn, key_management_uri)
            if key_management_uri is not None
            else KeyManagementServer.of(bmsc_fqdn)
        )
    return ProtectionDescription(
        confidentiality=confidentiality,
        integrity=integrity,
        uicc_key_management_required=uicc_key_management_required,
        key_management=km,
        key_domain_id=key_domain_id,
        msk_ids=tuple(MskId.current(g) for g in groups),
        sessions=tuple(ProtectedSession(uri, MskId.current(g)) for uri, g in pairs),
    )


# --- parser -------------------------------------------------------------------------------------


def _text(el: XmlElement) -> str:
    if el.children:
        raise _fail(f"<{el.name}> holds elements, expected text", el.name, el.offset)
    return el.text.strip()


def _switch(el: XmlElement, on: str, off: str) -> bool:
    value = _text(el)
    if value == on:
        return True
    if value == off:
        return False
    raise _fail(f"<{el.name}> must be {on!r} or {off!r}, got {excerpt(value)}", el.name, el.offset)


def _attr(el: XmlElement, name: str) -> str:
    value = el.attribute(name)
    if value is None:
        raise _fail(f"<{el.name}> needs the {name} attribute", f"{el.name}/@{name}", el.offset)
    return value


def _msk_id(text: str, field: str, offset: int) -> MskId:
    if not _HEX8.fullmatch(text):
        raise _fail(f"MSK ID must be 8 hex digits, got {excerpt(text)}", field, offset)
    return MskId.from_hex(text)


def _located(exc: ProtectionDescriptionError, el: XmlElement) -> ProtectionDescriptionError:
    if exc.offset is not None:
        return exc
    return type(exc)(exc.detail, field=exc.field, offset=el.offset)


def parse_protection_description(data: bytes) -> ProtectionDescription:
    """Parse and validate a protection description; raise :class:`ProtectionDescriptionError`."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise _fail("the document must be bytes", "document")
    try:
        root = parse_xml(bytes(data), LIMITS)
    except XmlForbiddenConstruct as exc:
        raise ProtectionForbiddenConstruct(exc.detail, field=exc.field, offset=exc.offset) from None
    except XmlLimitExceeded as exc:  # XmlTooLarge included
        raise ProtectionLimitExceeded(exc.detail, field=exc.field, offset=exc.offset) from None
    except XmlError as exc:
        raise ProtectionDescriptionError(exc.detail, field=exc.field, offset=exc.offset) from None
    if root.namespace != NAMESPACE or root.name != ROOT:
        raise _fail(
            f"root element must be {ROOT} in namespace {NAMESPACE}, got "
            f"{excerpt(root.name)} in {excerpt(root.namespace)}",
            "root",
            root.offset,
        )
    single: dict[str, XmlElement] = {}
    msk_ids: list[MskId] = []
    sessions: list[ProtectedSession] = []
    try:
        for el in root.children:
            if el.namespace != NAMESPACE:
                continue
            if el.name in _SINGLE:
                if el.name in single:
                    raise _fail(f"<{el.name}> appears twice", el.name, el.offset)
                single[el.name] = el
            elif el.name == _MSK_ID:
                msk_ids.append(_msk_id(_text(el), _MSK_ID, el.offset))
            elif el.name == _SESSION:
                uri = _attr(el, _SESSION_REF)
                msk_id = _msk_id(_attr(el, "msk-id"), f"{_SESSION}/@msk-id", el.offset)
                try:
                    sessions.append(ProtectedSession(uri, msk_id))
                except ProtectionDescriptionError as exc:
                    raise _located(exc, el) from None
        for name in (_CONFIDENTIALITY, _INTEGRITY, _UICC):
            if name not in single:
                raise _fail(f"<{name}> is missing", name, root.offset)
        confidentiality = _switch(
            single[_CONFIDENTIALITY], profile.PROTECTION_ON, profile.PROTECTION_OFF
        )
        integrity = _switch(single[_INTEGRITY], profile.PROTECTION_ON, profile.PROTECTION_OFF)
        uicc = _switch(single[_UICC], profile.UICC_REQUIRED_YES, profile.UICC_REQUIRED_NO)
        km = None
        km_el = single.get(_KEY_MANAGEMENT)
        if km_el is not None:
            try:
                km = KeyManagementServer(_attr(km_el, "fqdn"), _attr(km_el, "uri"))
            except ProtectionDescriptionError as exc:
                raise _located(exc, km_el) from None
        kdid = None
        kdid_text = root.attribute("key-domain-id")
        if kdid_text is not None:
            if not _HEX6.fullmatch(kdid_text):
                raise _fail(
                    f"key-domain-id must be 6 hex digits, got {excerpt(kdid_text)}",
                    "@key-domain-id",
                    root.offset,
                )
            kdid = KeyDomainId.from_hex(kdid_text)
        try:
            return ProtectionDescription(
                confidentiality=confidentiality,
                integrity=integrity,
                uicc_key_management_required=uicc,
                key_management=km,
                key_domain_id=kdid,
                msk_ids=tuple(msk_ids),
                sessions=tuple(sessions),
            )
        except ProtectionDescriptionError as exc:
            raise _located(exc, root) from None
    except InvalidIdentifier as exc:  # unreachable after the regex checks; kept typed
        raise _fail(str(exc), "identifier", root.offset) from None
