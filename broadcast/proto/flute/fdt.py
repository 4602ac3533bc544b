"""FDT Instances: data model, XML writer and safe XML reader (RFC 3926 §3.2-3.4, TS 26.346 §7.2.10).

An FDT Instance is an XML ``FDT-Instance`` root with a required ``Expires`` (32-bit NTP seconds as
decimal, RFC 3926 §3.3), optional ``Complete``, attributes common to all files, and one ``File``
per transport object with at least ``TOI`` (> 0) and ``Content-Location`` (RFC 3926 §3.4.2).
``File`` attributes override ``FDT-Instance`` ones. FEC OTI travels in ``FEC-OTI-*`` attributes
(RFC 3926 §5.2).

MBMS (TS 26.346 §7.2.10) puts the root in ``urn:IETF:metadata:2005:FLUTE:FDT`` and adds the 3GPP
extension namespaces (mbms2005 … mbms2015) and the schema-versioning elements ``sv:schemaVersion``
and ``sv:delimiter``, which the 3GPP FDT schema requires. The writer's output validates against
``FLUTE-FDT-3GPP-Main.xsd``. The reader (:func:`parse_fdt`) accepts the 3GPP namespace, its Rel-17
alternative and RFC 6726's ``urn:ietf:params:xml:ns:fdt``; it ignores unknown elements and
attributes, and it is safe on hostile input: no DOCTYPE/entities, bounded size, File count,
elements and depth (:mod:`broadcast.proto.flute._safexml`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final, SupportsBytes
from xml.sax.saxutils import quoteattr

from broadcast import profile
from broadcast.proto.flute._safexml import XmlElement, XmlLimits, parse_xml
from broadcast.proto.flute.errors import BadOti, FdtEncodeError, FdtError
from broadcast.proto.flute.fec import COMPACT_NO_CODE, FdtFecAttributes, Oti, get_scheme
from broadcast.proto.flute.lct import (
    FDT_INSTANCE_ID_MOD,
    fdt_instance_id_newer,
    next_fdt_instance_id,
)
from broadcast.time import NtpS

#: FDT namespace used by MBMS (TS 26.346 §7.2.10.1).
FDT_NAMESPACE: Final = "urn:IETF:metadata:2005:FLUTE:FDT"
#: Rel-17+ alternative FDT namespace (TS 26.346 L.6.1), accepted on receipt.
FDT_NAMESPACE_3GPP_2022: Final = "urn:3GPP:metadata:2022:FLUTE:FDT"
#: FLUTE v2 FDT namespace (RFC 6726 §3.4.2), accepted on receipt and selectable for writing.
FDT_NAMESPACE_RFC6726: Final = "urn:ietf:params:xml:ns:fdt"
ACCEPTED_NAMESPACES: Final = frozenset(
    {FDT_NAMESPACE, FDT_NAMESPACE_3GPP_2022, FDT_NAMESPACE_RFC6726}
)

MBMS2005_NAMESPACE: Final = "urn:3GPP:metadata:2005:MBMS:FLUTE:FDT"
MBMS2007_NAMESPACE: Final = "urn:3GPP:metadata:2007:MBMS:FLUTE:FDT"
MBMS2008_NAMESPACE: Final = "urn:3GPP:metadata:2008:MBMS:FLUTE:FDT_ext"
MBMS2009_NAMESPACE: Final = "urn:3GPP:metadata:2009:MBMS:FLUTE:FDT_ext"
MBMS2012_NAMESPACE: Final = "urn:3GPP:metadata:2012:MBMS:FLUTE:FDT"
MBMS2015_NAMESPACE: Final = "urn:3GPP:metadata:2015:MBMS:FLUTE:FDT"
SV_NAMESPACE: Final = "urn:3gpp:metadata:2009:MBMS:schemaVersion"

#: ``sv:schemaVersion`` written by default: the ``version`` attribute of the FLUTE-FDT-3GPP-Main
#: schema this writer targets [P: TS 26.346 text not available; value follows the schema;
#: profile "Download defaults"].
FDT_SCHEMA_VERSION: Final = profile.DOWNLOAD_FDT_SCHEMA_VERSION

#: Default bounds on a received FDT Instance [P].
DEFAULT_MAX_FDT_BYTES: Final = 1024 * 1024
DEFAULT_MAX_FILES: Final = 4096

_MAX_UINT32: Final = (1 << 32) - 1
_MAX_UINT64: Final = (1 << 64) - 1
_MAX_TOI: Final = (1 << 112) - 1  # TOI is at most 112 bits (RFC 5651 §5.1)
_MD5_LEN: Final = 16
_ILLEGAL_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_BOOL_TRUE: Final = frozenset({"true", "1"})
_BOOL_FALSE: Final = frozenset({"false", "0"})
_UINT = re.compile(r"\+?[0-9]{1,40}")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


class CacheDirective(StrEnum):
    """The choice inside ``mbms2007:Cache-Control`` (TS 26.346, 2007 FDT extensions)."""

    NO_CACHE = "no-cache"
    MAX_STALE = "max-stale"
    EXPIRES = "Expires"


@dataclass(frozen=True, slots=True)
class CacheControl:
    """``mbms2007:Cache-Control``: no-cache, max-stale, or Expires (NTP seconds)."""

    directive: CacheDirective
    expires: NtpS | None = None


@dataclass(frozen=True, slots=True)
class FdtFile:
    """One ``File`` entry (RFC 3926 §3.4.2; TS 26.346 extensions)."""

    toi: int
    content_location: str
    content_length: int | None = None
    transfer_length: int | None = None
    content_type: str | None = None
    content_encoding: str | None = None
    content_md5: bytes | None = None
    fec: FdtFecAttributes = field(default_factory=FdtFecAttributes)
    cache_control: CacheControl | None = None
    decryption_key_uri: str | None = None  # mbms2009
    file_etag: str | None = None  # mbms2012

    @property
    def object_length(self) -> int | None:
        """Transfer length of the transport object: ``Transfer-Length``, else ``Content-Length``
        when the file is not content encoded (RFC 3926 §3.4.2)."""
        if self.transfer_length is not None:
            return self.transfer_length
        if self.content_encoding is None:
            return self.content_length
        return None


@dataclass(frozen=True, slots=True)
class FdtInstance:
    """One FDT Instance. ``expires`` is 32-bit NTP seconds (RFC 3926 §3.3)."""

    expires: NtpS
    files: tuple[FdtFile, ...]
    complete: bool | None = None
    full_fdt: bool | None = None  # mbms2008:FullFDT
    content_type: str | None = None
    content_encoding: str | None = None
    fec: FdtFecAttributes = field(default_factory=FdtFecAttributes)
    schema_version: int = FDT_SCHEMA_VERSION

    def file(self, toi: int) -> FdtFile | None:
        """The entry for ``toi`` as written (no inheritance), or ``None``."""
        for entry in self.files:
            if entry.toi == toi:
                return entry
        return None

    def resolve(self, entry: FdtFile) -> FdtFile:
        """``entry`` with the FDT-Instance-level defaults filled in (RFC 3926 §3.4.2)."""
        return FdtFile(
            toi=entry.toi,
            content_location=entry.content_location,
            content_length=entry.content_length,
            transfer_length=entry.transfer_length,
            content_type=entry.content_type
            if entry.content_type is not None
            else self.content_type,
            content_encoding=entry.content_encoding
            if entry.content_encoding is not None
            else self.content_encoding,
            content_md5=entry.content_md5,
            fec=entry.fec.over(self.fec),
            cache_control=entry.cache_control,
            decryption_key_uri=entry.decryption_key_uri,
            file_etag=entry.file_etag,
        )

    def to_xml(self, *, namespace: str = FDT_NAMESPACE) -> bytes:
        """The FDT Instance document (UTF-8); see :func:`write_fdt`."""
        return write_fdt(self, namespace=namespace)


def file_oti(entry: FdtFile) -> Oti | None:
    """The FEC OTI of a resolved ``File`` entry, or ``None`` if the FDT does not give it all.

    The FEC Encoding ID defaults to 0 (Compact No-Code), FLUTE's default (RFC 3926 §3.3).
    Raises :class:`~broadcast.proto.flute.errors.FecError` for an unsupported or inconsistent OTI.
    """
    length = entry.object_length
    if length is None:
        return None
    attrs = entry.fec
    encoding_id = COMPACT_NO_CODE if attrs.encoding_id is None else attrs.encoding_id
    scheme = get_scheme(encoding_id)
    try:
        return scheme.oti_from_fdt(attrs, length)
    except BadOti:
        if attrs.encoding_symbol_length is None or attrs.max_source_block_length is None:
            return None
        raise


# --- identifiers and the MIKEY entry -------------------------------------------------------------
def next_instance_id(current: int) -> int:
    """The next FDT Instance ID: +1 with the 20-bit wrap 2^20-1 → 0 (RFC 3926 §3.4.1)."""
    return next_fdt_instance_id(current)


def instance_id_newer(candidate: int, reference: int) -> bool:
    """Whether ``candidate`` is a newer FDT Instance ID than ``reference`` (20-bit wrap)."""
    return fdt_instance_id_newer(candidate, reference)


def content_md5(data: bytes) -> bytes:
    """The MD5 digest for ``Content-MD5`` (RFC 1864; not used for security)."""
    return hashlib.md5(data, usedforsecurity=False).digest()


def describe_object(
    toi: int,
    data: bytes,
    content_location: str,
    *,
    content_type: str | None = None,
    oti: Oti | None = None,
    cache_control: CacheControl | None = None,
    with_md5: bool = True,
) -> FdtFile:
    """A ``File`` entry for ``data`` sent unencoded: Content-Length, Content-MD5, FEC-OTI-*."""
    fec = FdtFecAttributes()
    if oti is not None:
        if oti.transfer_length != len(data):
            raise FdtEncodeError("OTI transfer length differs from the object", field="OTI")
        fec = get_scheme(oti.fec_encoding_id).oti_to_fdt(oti)
    return FdtFile(
        toi=toi,
        content_location=content_location,
        content_length=len(data),
        content_type=content_type,
        content_md5=content_md5(data) if with_md5 else None,
        fec=fec,
        cache_control=cache_control,
    )


def mikey_file(
    toi: int,
    msk_id: bytes | SupportsBytes,
    mtk_id: bytes | SupportsBytes,
    message: bytes,
    *,
    oti: Oti | None = None,
    cache_control: CacheControl | None = None,
) -> FdtFile:
    """The ``File`` entry of a download MTK message (TS 33.246 §6.3.3.2.1, profile.md Transport).

    ``Content-Type`` = ``application/mikey`` (RFC 3830 §10.1) and ``Content-Location`` =
    :func:`broadcast.profile.mikey_content_location` (``mikey/<MSK ID>-<MTK ID>.mikey``) [P].
    """
    msk, mtk = bytes(msk_id), bytes(mtk_id)
    if len(msk) != profile.MSK_ID_LEN or len(mtk) != profile.MTK_ID_LEN:
        raise FdtEncodeError("MSK ID is 4 bytes and MTK ID 2 bytes", field="Content-Location")
    return describe_object(
        toi,
        message,
        profile.mikey_content_location(msk, mtk),
        content_type=profile.MIKEY_CONTENT_TYPE,
        oti=oti,
        cache_control=cache_control,
    )


# --- writer --------------------------------------------------------------------------------------
_NS_DECLS: Final = (
    ("mbms2007", MBMS2007_NAMESPACE),
    ("mbms2008", MBMS2008_NAMESPACE),
    ("mbms2009", MBMS2009_NAMESPACE),
    ("mbms2012", MBMS2012_NAMESPACE),
    ("sv", SV_NAMESPACE),
)


def _text(value: str, name: str) -> str:
    if _ILLEGAL_XML.search(value):
        raise FdtEncodeError("character not allowed in XML 1.0", field=name)
    return value


def _uri(value: str, name: str) -> str:
    """A URI reference for an ``xs:anyURI`` attribute: basic RFC 3986 §4.1 checks."""
    _text(value, name)
    if not value.strip():
        raise FdtEncodeError("empty URI", field=name)
    head = re.split(r"[/?#]", value, maxsplit=1)[0]
    if ":" in head and not _SCHEME.fullmatch(head.split(":", 1)[0]):
        raise FdtEncodeError("not a URI reference (bad scheme)", field=name)
    if _BAD_PERCENT.search(value):
        raise FdtEncodeError("not a URI reference (bad percent-encoding)", field=name)
    return value


def _uint(value: int, name: str, maximum: int = _MAX_UINT64, minimum: int = 0) -> str:
    if not minimum <= value <= maximum:
        raise FdtEncodeError(f"out of range {minimum}..{maximum}", field=name)
    return str(value)


def _fec_attrs(fec: FdtFecAttributes) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name, value in (
        ("FEC-OTI-FEC-Encoding-ID", fec.encoding_id),
        ("FEC-OTI-FEC-Instance-ID", fec.instance_id),
        ("FEC-OTI-Maximum-Source-Block-Length", fec.max_source_block_length),
        ("FEC-OTI-Encoding-Symbol-Length", fec.encoding_symbol_length),
        ("FEC-OTI-Max-Number-of-Encoding-Symbols", fec.max_number_of_encoding_symbols),
    ):
        if value is not None:
            out.append((name, _uint(value, name)))
    if fec.scheme_specific_info is not None:
        out.append(
            ("FEC-OTI-Scheme-Specific-Info", base64.b64encode(fec.scheme_specific_info).decode())
        )
    return out


def _start_tag(tag: str, attrs: Iterable[tuple[str, str]], indent: str) -> str:
    rendered = "".join(f" {name}={quoteattr(value)}" for name, value in attrs)
    return f"{indent}<{tag}{rendered}>"


def _file_xml(entry: FdtFile) -> list[str]:
    attrs: list[tuple[str, str]] = [
        ("Content-Location", _uri(entry.content_location, "Content-Location")),
        ("TOI", _uint(entry.toi, "TOI", _MAX_TOI, 1)),
    ]
    if entry.content_length is not None:
        attrs.append(("Content-Length", _uint(entry.content_length, "Content-Length")))
    if entry.transfer_length is not None:
        attrs.append(("Transfer-Length", _uint(entry.transfer_length, "Transfer-Length")))
    if entry.content_type is not None:
        attrs.append(("Content-Type", _text(entry.content_type, "Content-Type")))
    if entry.content_encoding is not None:
        attrs.append(("Content-Encoding", _text(entry.content_encoding, "Content-Encoding")))
    if entry.content_md5 is not None:
        if len(entry.content_md5) != _MD5_LEN:
            raise FdtEncodeError("Content-MD5 is a 16-byte MD5 digest", field="Content-MD5")
        attrs.append(("Content-MD5", base64.b64encode(entry.content_md5).decode()))
    attrs += _fec_attrs(entry.fec)
    if entry.decryption_key_uri is not None:
        attrs.append(
            ("mbms2009:Decryption-KEY-URI", _uri(entry.decryption_key_uri, "Decryption-KEY-URI"))
        )
    if entry.file_etag is not None:
        attrs.append(("mbms2012:File-ETag", _text(entry.file_etag, "File-ETag")))
    lines = [_start_tag("File", attrs, "  ")]
    if entry.cache_control is not None:
        lines.append(_cache_control_xml(entry.cache_control))
    lines += ["    <sv:delimiter>0</sv:delimiter>", "    <sv:delimiter>0</sv:delimiter>"]
    lines.append("  </File>")
    return lines


def _cache_control_xml(cc: CacheControl) -> str:
    if cc.directive is CacheDirective.EXPIRES:
        if cc.expires is None:
            raise FdtEncodeError("Cache-Control Expires needs a time", field="Cache-Control")
        inner = f"<mbms2007:Expires>{_uint(cc.expires, 'Expires', _MAX_UINT32)}</mbms2007:Expires>"
    else:
        if cc.expires is not None:
            raise FdtEncodeError("only Expires carries a time", field="Cache-Control")
        tag = f"mbms2007:{cc.directive.value}"
        inner = f"<{tag}>true</{tag}>"
    return f"    <mbms2007:Cache-Control>{inner}</mbms2007:Cache-Control>"


def write_fdt(instance: FdtInstance, *, namespace: str = FDT_NAMESPACE) -> bytes:
    """Serialise an FDT Instance as UTF-8 XML valid against FLUTE-FDT-3GPP-Main.xsd.

    ``namespace`` selects the FDT namespace (default: MBMS's ``urn:IETF:metadata:2005:FLUTE:FDT``;
    :data:`FDT_NAMESPACE_RFC6726` for a FLUTE v2 peer). Raises :class:`FdtEncodeError`.
    """
    if not instance.files:
        raise FdtEncodeError("an FDT Instance has at least one File (RFC 3926 §3.2)", field="File")
    tois = [entry.toi for entry in instance.files]
    if len(set(tois)) != len(tois):
        raise FdtEncodeError("TOI described twice in one FDT Instance", field="TOI")
    attrs: list[tuple[str, str]] = [("xmlns", _text(namespace, "xmlns"))]
    attrs += [(f"xmlns:{prefix}", uri) for prefix, uri in _NS_DECLS]
    attrs.append(("Expires", _uint(instance.expires, "Expires", _MAX_UINT32)))
    if instance.complete is not None:
        attrs.append(("Complete", "true" if instance.complete else "false"))
    if instance.content_type is not None:
        attrs.append(("Content-Type", _text(instance.content_type, "Content-Type")))
    if instance.content_encoding is not None:
        attrs.append(("Content-Encoding", _text(instance.content_encoding, "Content-Encoding")))
    attrs += _fec_attrs(instance.fec)
    if instance.full_fdt is not None:
        attrs.append(("mbms2008:FullFDT", "true" if instance.full_fdt else "false"))
    version = _uint(instance.schema_version, "schemaVersion", _MAX_UINT32)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', _start_tag("FDT-Instance", attrs, "")]
    for entry in instance.files:
        lines += _file_xml(entry)
    lines += [
        f"  <sv:schemaVersion>{version}</sv:schemaVersion>",
        "  <sv:delimiter>0</sv:delimiter>",
        "</FDT-Instance>",
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


# --- reader --------------------------------------------------------------------------------------
def _p_uint(el: XmlElement, value: str, name: str, maximum: int = _MAX_UINT64) -> int:
    text = value.strip()
    if not _UINT.fullmatch(text):
        raise FdtError(f"not an unsigned integer: {text[:20]!r}", field=name, offset=el.offset)
    number = int(text)
    if number > maximum:
        raise FdtError(f"out of range (max {maximum})", field=name, offset=el.offset)
    return number


def _p_bool(el: XmlElement, value: str, name: str) -> bool:
    text = value.strip()
    if text in _BOOL_TRUE:
        return True
    if text in _BOOL_FALSE:
        return False
    raise FdtError(f"not a boolean: {text[:20]!r}", field=name, offset=el.offset)


def _p_base64(el: XmlElement, value: str, name: str) -> bytes:
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise FdtError("not base64", field=name, offset=el.offset) from None


def _opt(el: XmlElement, name: str, namespace: str = "") -> str | None:
    value = el.attribute(name, namespace)
    if value is None and namespace:
        value = el.attribute(name)  # some senders leave extension attributes unprefixed
    return value


def _p_fec(el: XmlElement) -> FdtFecAttributes:
    def num(name: str) -> int | None:
        value = _opt(el, name)
        return None if value is None else _p_uint(el, value, name)

    ssi = _opt(el, "FEC-OTI-Scheme-Specific-Info")
    return FdtFecAttributes(
        encoding_id=num("FEC-OTI-FEC-Encoding-ID"),
        instance_id=num("FEC-OTI-FEC-Instance-ID"),
        max_source_block_length=num("FEC-OTI-Maximum-Source-Block-Length"),
        encoding_symbol_length=num("FEC-OTI-Encoding-Symbol-Length"),
        max_number_of_encoding_symbols=num("FEC-OTI-Max-Number-of-Encoding-Symbols"),
        scheme_specific_info=None
        if ssi is None
        else _p_base64(el, ssi, "FEC-OTI-Scheme-Specific-Info"),
    )


def _p_cache_control(el: XmlElement) -> CacheControl | None:
    for child in el.children:
        if child.namespace != MBMS2007_NAMESPACE:
            continue
        if child.name == CacheDirective.EXPIRES.value:
            expires = NtpS(_p_uint(child, child.text, "Cache-Control/Expires", _MAX_UINT32))
            return CacheControl(CacheDirective.EXPIRES, expires)
        for directive in (CacheDirective.NO_CACHE, CacheDirective.MAX_STALE):
            if child.name == directive.value:
                return CacheControl(directive)
    raise FdtError("Cache-Control without a directive", field="Cache-Control", offset=el.offset)


def _p_file(el: XmlElement) -> FdtFile:
    location = el.attribute("Content-Location")
    toi_text = el.attribute("TOI")
    if location is None or not location.strip():
        raise FdtError("File without Content-Location", field="Content-Location", offset=el.offset)
    if toi_text is None:
        raise FdtError("File without TOI", field="TOI", offset=el.offset)
    toi = _p_uint(el, toi_text, "TOI", _MAX_TOI)
    if toi == 0:
        raise FdtError("TOI 0 is reserved for FDT Instances", field="TOI", offset=el.offset)
    md5_text = el.attribute("Content-MD5")
    md5 = None if md5_text is None else _p_base64(el, md5_text, "Content-MD5")
    if md5 is not None and len(md5) != _MD5_LEN:
        raise FdtError("Content-MD5 is not a 16-byte digest", field="Content-MD5", offset=el.offset)
    cache_control = None
    for child in el.children:
        if child.namespace == MBMS2007_NAMESPACE and child.name == "Cache-Control":
            cache_control = _p_cache_control(child)
            break

    def num(name: str) -> int | None:
        value = el.attribute(name)
        return None if value is None else _p_uint(el, value, name)

    return FdtFile(
        toi=toi,
        content_location=location,
        content_length=num("Content-Length"),
        transfer_length=num("Transfer-Length"),
        content_type=el.attribute("Content-Type"),
        content_encoding=el.attribute("Content-Encoding"),
        content_md5=md5,
        fec=_p_fec(el),
        cache_control=cache_control,
        decryption_key_uri=_opt(el, "Decryption-KEY-URI", MBMS2009_NAMESPACE),
        file_etag=_opt(el, "File-ETag", MBMS2012_NAMESPACE),
    )


def parse_fdt(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_FDT_BYTES,
    max_files: int = DEFAULT_MAX_FILES,
    namespaces: frozenset[str] = ACCEPTED_NAMESPACES,
) -> FdtInstance:
    """Parse an FDT Instance document safely; raise :class:`FdtError` subclasses on bad input."""
    limits = XmlLimits(
        max_bytes=max_bytes,
        max_elements=8 * max_files + 64,
        per_name={"File": max_files},
    )
    root = parse_xml(data, limits)
    if root.name != "FDT-Instance" or root.namespace not in namespaces:
        raise FdtError(
            f"root element {root.name!r} in namespace {root.namespace!r} is not an FDT-Instance",
            field="FDT-Instance",
            offset=root.offset,
        )
    expires_text = root.attribute("Expires")
    if expires_text is None:
        raise FdtError("FDT-Instance without Expires", field="Expires", offset=root.offset)
    files: list[FdtFile] = []
    seen: set[int] = set()
    schema_version = FDT_SCHEMA_VERSION
    for child in root.children:
        if child.namespace == root.namespace and child.name == "File":
            entry = _p_file(child)
            if entry.toi in seen:
                raise FdtError(f"TOI {entry.toi} described twice", field="TOI", offset=child.offset)
            seen.add(entry.toi)
            files.append(entry)
        elif child.namespace == SV_NAMESPACE and child.name == "schemaVersion":
            schema_version = _p_uint(child, child.text, "schemaVersion", _MAX_UINT32)
    if not files:
        raise FdtError("FDT-Instance without File", field="File", offset=root.offset)
    complete = root.attribute("Complete")
    full_fdt = _opt(root, "FullFDT", MBMS2008_NAMESPACE)
    return FdtInstance(
        expires=NtpS(_p_uint(root, expires_text, "Expires", _MAX_UINT32)),
        files=tuple(files),
        complete=None if complete is None else _p_bool(root, complete, "Complete"),
        full_fdt=None if full_fdt is None else _p_bool(root, full_fdt, "FullFDT"),
        content_type=root.attribute("Content-Type"),
        content_encoding=root.attribute("Content-Encoding"),
        fec=_p_fec(root),
        schema_version=schema_version,
    )


__all__ = [
    "ACCEPTED_NAMESPACES",
    "DEFAULT_MAX_FDT_BYTES",
    "DEFAULT_MAX_FILES",
    "FDT_INSTANCE_ID_MOD",
    "FDT_NAMESPACE",
    "FDT_NAMESPACE_3GPP_2022",
    "FDT_NAMESPACE_RFC6726",
    "FDT_SCHEMA_VERSION",
    "CacheControl",
    "CacheDirective",
    "FdtFile",
    "FdtInstance",
    "content_md5",
    "describe_object",
    "file_oti",
    "instance_id_newer",
    "mikey_file",
    "next_instance_id",
    "parse_fdt",
    "write_fdt",
]
