"""Typed errors of the BM-SC MSK procedures. Messages never contain key material or passwords."""

from __future__ import annotations

from broadcast.proto.errors import LocatedError


class BmscError(Exception):
    """Base of every BM-SC error."""


class GbaError(BmscError):
    """The GBA credential source failed (store error, bad identifier)."""


class BmscStoreError(BmscError):
    """The BM-SC store (subscriptions, registrations, deliveries) failed."""


class UnknownSubscriber(BmscError, LookupError):
    """No such IMPI / B-TID / registration."""


class MskRequestError(LocatedError):
    """A malformed MSK request body (``application/mbms-msk+xml``); maps to HTTP 400.

    ``http_status`` is 413 when the body exceeds the size limit.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        offset: int | None = None,
        http_status: int = 400,
    ) -> None:
        super().__init__(message, field=field, offset=offset)
        self.http_status = http_status


class DigestError(LocatedError):
    """A malformed or unacceptable Digest header (RFC 7616).

    ``http_status`` is 400 for a syntactically broken header or a ``uri`` that does not match
    the request, 401 for everything that a fresh challenge can cure; ``stale`` asks the client
    to retry with the new nonce without asking the user again (RFC 7616 §3.3).
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        offset: int | None = None,
        http_status: int = 401,
        stale: bool = False,
    ) -> None:
        super().__init__(message, field=field, offset=offset)
        self.http_status = http_status
        self.stale = stale
