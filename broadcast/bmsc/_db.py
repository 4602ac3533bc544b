"""One SQLite connection with the key store's durability style (WAL, ``synchronous=FULL``).

Shared by the BM-SC's own tables (GBA simulator, subscriptions, registrations, deliveries). They
may live in the key store's file (own tables, own connection): every write is one
``BEGIN IMMEDIATE`` transaction that is on stable storage when :meth:`Database.write` exits.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import Final

from broadcast.bmsc.errors import BmscStoreError

_BUSY_TIMEOUT_S: Final = 30.0


class Database:
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
        self._error = error
        self._lock = threading.RLock()
        self.path = os.fspath(path)
        try:
            conn = sqlite3.connect(
                self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise error(f"cannot open store {self.path!r}: {exc}") from exc
        self._conn: sqlite3.Connection | None = conn
        try:
            conn.execute("PRAGMA journal_mode=WAL").fetchone()
            conn.execute("PRAGMA synchronous=FULL")
            if cache_kib > 0:
                conn.execute(f"PRAGMA cache_size = -{int(cache_kib):d}")
            (sync,) = conn.execute("PRAGMA synchronous").fetchone()
            if sync != 2:  # 2 = FULL
                raise error("the store needs synchronous=FULL")
            with self.write() as c:
                for statement in schema:
                    c.execute(statement)
        except sqlite3.Error as exc:
            self.close()
            raise error(f"cannot configure store {self.path!r}: {exc}") from exc
        except BaseException:
            self.close()
            raise

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise self._error("store is closed")
        return self._conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction, committed durably on normal exit."""
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    with suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise self._error(f"store failure: {exc}") from exc
                raise

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction (consistent snapshot)."""
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN")
                yield conn
            except sqlite3.Error as exc:
                raise self._error(f"store failure: {exc}") from exc
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")

    def one(self, sql: str, args: tuple[object, ...] = ()) -> tuple[object, ...] | None:
        """One single-statement read (atomic on its own in autocommit mode): the first row."""
        with self._lock:
            conn = self._connection()
            try:
                row: tuple[object, ...] | None = conn.execute(sql, args).fetchone()
            except sqlite3.Error as exc:
                raise self._error(f"store failure: {exc}") from exc
            return row

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()
