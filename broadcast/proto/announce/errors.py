"""Typed errors of the service announcement readers and writers (SDP, protection description).

Every error names the field (an SDP line type such as ``c``, an XML element or attribute) and,
when there is one, the byte offset in the document. Messages carry only public facts (line
numbers, lengths, names); an announcement holds no secret, but the text of hostile input is never
echoed in full (at most a short, sanitised excerpt).
"""

from __future__ import annotations

from typing import ClassVar

from broadcast.proto.errors import LocatedError


class AnnouncementError(LocatedError):
    """Base of every announcement error: the only exception the parsers let escape."""

    reason: ClassVar[str] = "announcement"


class SdpError(AnnouncementError):
    """The bytes are not a session description this parser accepts (RFC 8866 / RFC 4566)."""

    reason = "sdp_malformed"


class SdpLimitExceeded(SdpError):
    """Too large, too many lines, media or attributes, or a line too long."""

    reason = "sdp_limit"


class SdpEncodeError(SdpError, ValueError):
    """A value cannot be written into an SDP line (out of range, forbidden characters)."""

    reason = "sdp_encode"


class ProtectionDescriptionError(AnnouncementError):
    """An ``application/mbms-protection-description+xml`` document is malformed or invalid."""

    reason = "protection_malformed"


class ProtectionForbiddenConstruct(ProtectionDescriptionError):
    """DOCTYPE, entity declarations or references: refused before any expansion."""

    reason = "protection_forbidden"


class ProtectionLimitExceeded(ProtectionDescriptionError):
    """Too large, too many elements or sessions, too deep nesting."""

    reason = "protection_limit"


class AnnouncementMismatch(AnnouncementError):
    """The protection description and the session descriptions do not fit together."""

    reason = "announcement_mismatch"


def excerpt(text: str, limit: int = 40) -> str:
    """A short, printable excerpt of untrusted text for an error message."""
    cut = text[:limit]
    safe = "".join(c if c.isprintable() else "?" for c in cut)
    return repr(safe + ("..." if len(text) > limit else ""))
