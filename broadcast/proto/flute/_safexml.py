"""The FLUTE view of :mod:`broadcast.proto.safexml`: the same reader, its refusals as FDT errors.

:func:`parse_xml` raises :class:`~broadcast.proto.flute.errors.FdtError` subclasses (the receiver's
rejection counters key on their ``reason``) instead of :class:`~broadcast.proto.safexml.XmlError`.
"""

from __future__ import annotations

from broadcast.proto import safexml
from broadcast.proto.flute.errors import (
    FdtError,
    FdtForbiddenConstruct,
    FdtLimitExceeded,
    FdtTooLarge,
)
from broadcast.proto.safexml import XmlElement, XmlLimits

__all__ = ["XmlElement", "XmlLimits", "parse_xml"]


def parse_xml(data: bytes, limits: XmlLimits) -> XmlElement:
    """:func:`broadcast.proto.safexml.parse_xml` raising :class:`FdtError` subclasses."""
    try:
        return safexml.parse_xml(data, limits)
    except safexml.XmlError as exc:
        kind: type[FdtError]
        if isinstance(exc, safexml.XmlTooLarge):
            kind = FdtTooLarge
        elif isinstance(exc, safexml.XmlLimitExceeded):
            kind = FdtLimitExceeded
        elif isinstance(exc, safexml.XmlForbiddenConstruct):
            kind = FdtForbiddenConstruct
        else:
            kind = FdtError
        raise kind(exc.detail, field=exc.field, offset=exc.offset) from None
