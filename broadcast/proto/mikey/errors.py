"""Typed MIKEY errors (RFC 3830). Each names the field and the byte offset where it went wrong.

Messages never contain key material: only field names, offsets, lengths and public identifiers.
"""

from __future__ import annotations

from broadcast.proto.errors import LocatedError


class MikeyError(LocatedError):
    """Base of every MIKEY error: the only exception the codec lets escape on bad input."""


class MikeyDecodeError(MikeyError):
    """Malformed bytes: the message does not follow RFC 3830 / RFC 4563 syntax."""


class TruncatedPayload(MikeyDecodeError):
    """A length or field runs past the end of the message."""


class UnsupportedValue(MikeyDecodeError):
    """A syntactically valid but unknown or unsupported type, version or algorithm."""


class LimitExceeded(MikeyDecodeError):
    """Too many payloads, sub-payloads or crypto sessions (bounded to keep memory bounded)."""


class MikeyEncodeError(MikeyError, ValueError):
    """A value cannot be encoded (out of range for its field)."""


class ProfileViolation(MikeyError):
    """Well-formed MIKEY that is not one of the MBMS messages of the profile (profile.md)."""


class MikeyVerifyError(MikeyError):
    """A well-formed message failed a security check; state was not updated."""


class MacMismatch(MikeyVerifyError):
    """The MAC (KEMAC) or verification data (V) does not verify under the key."""


class ReplayedCounter(MikeyVerifyError):
    """The T COUNTER is not greater than the last one accepted for that MUK / MSK."""


class UnknownKey(MikeyVerifyError):
    """The message is protected by a MUK / MSK the receiver does not hold."""


class MtkIdRejected(MikeyVerifyError):
    """The MTK ID is outside the MSK's validity interval or not newer than the current one."""
