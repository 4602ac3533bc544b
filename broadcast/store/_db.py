"""One SQLite connection with the key store's durability style (WAL, ``synchronous=FULL``).

Shared by the BM-SC's own tables (GBA simulator, subscriptions, registrations, deliveries). They
may live in the key store's file (own tables, own connection): every write is one
``BEGIN IMMEDIATE`` transaction that is on stable storage when :meth:`Database.write` exits
(:mod:`broadcast.store.durable`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Final

from broadcast.proto.msk.errors import BmscStoreError
from broadcast.store.durable import DurableSqlite

_BUSY_TIMEOUT_S: Final = 30.0


class Database(DurableSqlite):
    """A guarded SQLite connection; ``error`` is the exception type raised on database errors."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        schema: Iterable[str],
        *,
        error: type[Exception] = BmscStoreError,
        busy_timeout: float = _BUSY_TIMEOUT_S,
        cache_kib: int = 0,
    ) -> None:
        """Open ``path`` and run ``schema`` in one write transaction. ``cache_kib``: SQLite page
        cache of this connection in KiB (0: SQLite's default)."""
        super().__init__(path, error=error, busy_timeout=busy_timeout, cache_kib=cache_kib)
        try:
            with self.write() as c:
                for statement in schema:
                    c.execute(statement)
        except BaseException:
            self.close()
            raise
