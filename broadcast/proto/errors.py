"""The base of the parsers' typed errors: a message located by field name and byte offset.

DEVELOPERS.md "Bad input": every parser rejects malformed or hostile input with a typed error and
a clear message. Messages carry only public facts (field names, offsets, lengths, identifiers),
never key material or object contents.
"""

from __future__ import annotations


class LocatedError(Exception):
    """An error that names the field and the byte offset where decoding went wrong."""

    def __init__(self, message: str, *, field: str | None = None, offset: int | None = None):
        self.detail = message
        self.field = field
        self.offset = offset
        where = []
        if field is not None:
            where.append(f"field {field}")
        if offset is not None:
            where.append(f"offset {offset}")
        super().__init__(f"{message} ({', '.join(where)})" if where else message)
