"""The bases of the typed errors: a decoding error located by field name and byte offset, and the
one configuration error located by file, table and key.

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


class ConfigError(ValueError):
    """A configuration that cannot be used, located by file, table and key.

    The one configuration error of the package: the TOML reader (:mod:`broadcast.config.reader`)
    raises it for every bad file, table or key, and so do the settings checks of every layer (a
    low layer leaves ``file`` unset; the loader that read the file fills it in with
    :meth:`located`). The text reads ``FILE: [TABLE] KEY: MESSAGE``, e.g. ``stream.toml: [srtp]
    auth_tag: must be 80, 32 or "null" (got 64)``; parts that are not known are left out, and a
    message that begins with ``=`` continues the key (``[srtp] rcc = "off" but ...``). ``item``
    is the 1-based position of the table in an array of tables (``[[key_group]] #2``). Messages
    carry public facts only: a value that is (meant to be) a key is never echoed.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        table: str | None = None,
        key: str | None = None,
        item: int | None = None,
    ) -> None:
        super().__init__(message)
        self.detail = message
        self.file = file
        self.table = table
        self.key = key
        self.item = item

    def located(
        self, *, file: str | None = None, table: str | None = None, item: int | None = None
    ) -> ConfigError:
        """Fill in the parts of the location that are not known yet; returns ``self``."""
        if self.file is None:
            self.file = file
        if self.table is None and table is not None:
            self.table, self.item = table, item
        return self

    def __str__(self) -> str:
        where = []
        if self.file is not None:
            where.append(f"{self.file}:")
        if self.table is not None:
            where.append(f"[{self.table}]" + (f" #{self.item}" if self.item is not None else ""))
        if self.key is not None:
            sep = " " if self.detail.startswith("=") else ": "
            return " ".join([*where, f"{self.key}{sep}{self.detail}"])
        return " ".join([*where, self.detail])
