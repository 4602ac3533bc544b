"""A bounded, entity-free XML reader on the stdlib expat parser, shared by every XML parser of
the project (FLUTE FDT Instances, the MSK request/response bodies, protection descriptions).

``xml.etree`` on untrusted input is open to entity expansion ("billion laughs") and external
entities. This reader refuses every DOCTYPE before its internal subset is read — so no entity can
be declared, let alone expanded — and refuses entity and notation declarations, external entity
references and parameter entities as a second line of defence. It bounds the document size, the
number of elements (in total and per local name), the attributes per element and the nesting
depth, and stops at the first violation, so memory stays proportional to the limits, not to the
input. Every refusal is an :class:`XmlError` (a :class:`~broadcast.proto.errors.LocatedError`) with
the byte offset: :class:`XmlForbiddenConstruct`, :class:`XmlLimitExceeded`, :class:`XmlTooLarge`;
callers translate it into their own typed error where they need one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, NoReturn
from xml.parsers import expat

from broadcast.proto.errors import LocatedError

__all__ = [
    "XmlElement",
    "XmlError",
    "XmlForbiddenConstruct",
    "XmlLimitExceeded",
    "XmlLimits",
    "XmlTooLarge",
    "parse_xml",
]


class XmlError(LocatedError):
    """The bytes are not a well-formed XML document this reader accepts."""

    reason: ClassVar[str] = "xml_malformed"


class XmlForbiddenConstruct(XmlError):
    """DOCTYPE, entity or notation declarations, entity references: refused before expansion."""

    reason = "xml_forbidden"


class XmlLimitExceeded(XmlError):
    """Too many elements (in total or of one name), attributes, or too deep nesting."""

    reason = "xml_limit"


class XmlTooLarge(XmlLimitExceeded):
    """The document is larger than ``max_bytes``."""

    reason = "xml_too_large"


#: Separator between namespace URI and local name in expat's namespace mode.
_SEP = " "


@dataclass(frozen=True, slots=True)
class XmlLimits:
    """Bounds on one document. ``per_name`` caps elements by local name (e.g. ``File``)."""

    max_bytes: int = 1024 * 1024
    max_elements: int = 32768
    max_depth: int = 16
    max_attributes: int = 64
    per_name: Mapping[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class XmlElement:
    """One element: namespace URI ('' if none), local name, attributes keyed (namespace, name)."""

    namespace: str
    name: str
    attributes: dict[tuple[str, str], str]
    offset: int
    children: list[XmlElement] = field(default_factory=list)
    text_parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """Character data directly inside this element."""
        return "".join(self.text_parts)

    def attribute(self, name: str, namespace: str = "") -> str | None:
        """The attribute value, or ``None``."""
        return self.attributes.get((namespace, name))


def _split(name: str) -> tuple[str, str]:
    uri, sep, local = name.rpartition(_SEP)
    return (uri, local) if sep else ("", name)


class _Reader:
    def __init__(self, limits: XmlLimits) -> None:
        self.limits = limits
        self.parser = expat.ParserCreate(namespace_separator=_SEP)
        self.stack: list[XmlElement] = []
        self.root: XmlElement | None = None
        self.elements = 0
        self.per_name: dict[str, int] = {}
        p = self.parser
        p.buffer_text = True
        p.ordered_attributes = False
        p.specified_attributes = True
        p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        p.StartDoctypeDeclHandler = self._doctype
        p.EntityDeclHandler = self._entity
        p.UnparsedEntityDeclHandler = self._entity
        p.NotationDeclHandler = self._entity
        p.ExternalEntityRefHandler = self._external
        p.SkippedEntityHandler = self._skipped
        p.StartElementHandler = self._start
        p.EndElementHandler = self._end
        p.CharacterDataHandler = self._text

    def _where(self) -> int:
        return int(self.parser.CurrentByteIndex)

    def _forbid(self, what: str) -> NoReturn:
        raise XmlForbiddenConstruct(f"{what} is not allowed", field=what, offset=self._where())

    def _doctype(self, *_: object) -> None:
        self._forbid("DOCTYPE")

    def _entity(self, *_: object) -> None:
        self._forbid("entity or notation declaration")

    def _external(self, *_: object) -> int:
        self._forbid("external entity reference")

    def _skipped(self, *_: object) -> None:
        self._forbid("entity reference")

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        limits = self.limits
        self.elements += 1
        if self.elements > limits.max_elements:
            raise XmlLimitExceeded(
                f"more than {limits.max_elements} elements", field="elements", offset=self._where()
            )
        if len(self.stack) >= limits.max_depth:
            raise XmlLimitExceeded(
                f"nesting deeper than {limits.max_depth}", field="depth", offset=self._where()
            )
        if len(attrs) > limits.max_attributes:
            raise XmlLimitExceeded(
                f"more than {limits.max_attributes} attributes",
                field="attributes",
                offset=self._where(),
            )
        namespace, local = _split(name)
        cap = limits.per_name.get(local)
        if cap is not None:
            seen = self.per_name.get(local, 0) + 1
            self.per_name[local] = seen
            if seen > cap:
                raise XmlLimitExceeded(
                    f"more than {cap} {local} elements", field=local, offset=self._where()
                )
        element = XmlElement(
            namespace=namespace,
            name=local,
            attributes={_split(key): value for key, value in attrs.items()},
            offset=self._where(),
        )
        if self.stack:
            self.stack[-1].children.append(element)
        else:
            self.root = element
        self.stack.append(element)

    def _end(self, _name: str) -> None:
        self.stack.pop()

    def _text(self, data: str) -> None:
        if self.stack:
            self.stack[-1].text_parts.append(data)


def parse_xml(data: bytes, limits: XmlLimits) -> XmlElement:
    """Parse ``data`` into an element tree within ``limits``; raise :class:`XmlError` subclasses."""
    if len(data) > limits.max_bytes:
        raise XmlTooLarge(
            f"document of {len(data)} bytes exceeds the {limits.max_bytes}-byte limit",
            field="document",
            offset=limits.max_bytes,
        )
    reader = _Reader(limits)
    try:
        reader.parser.Parse(data, True)
    except expat.ExpatError as err:
        raise XmlError(
            f"not well-formed XML: {expat.ErrorString(err.code)}",
            field="document",
            offset=int(reader.parser.ErrorByteIndex),
        ) from None
    except (UnicodeError, ValueError, LookupError) as err:
        # LookupError: the XML declaration names an encoding Python does not know.
        raise XmlError(f"undecodable document: {type(err).__name__}", field="document") from None
    except RecursionError:
        raise XmlLimitExceeded("document nests too deeply", field="depth") from None
    if reader.root is None:
        raise XmlError("no root element", field="document", offset=0)
    return reader.root
