"""One durable SQLite connection: the style shared by the key store and the BM-SC's tables.

Durability rule (profile.md "T": the counter is made durable BEFORE the message leaves): the
database runs in WAL journal mode with ``synchronous=FULL`` (checked after it is set), so a COMMIT
has reached stable storage when it returns. Every write is one ``BEGIN IMMEDIATE`` transaction
(:meth:`DurableSqlite.write`): it takes the database's write lock before it reads, so two
processes (or two connections) on the same file never hand out the same value, and a value is
committed before the caller can use it.

Threads: one connection per object, guarded by a re-entrant lock (``check_same_thread=False``).
Every :class:`sqlite3.Error` is translated into the caller's ``error`` type, its text starting with
the caller's ``label`` (e.g. ``"key store failure: ..."``); no parameter value ever appears in it.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Final

#: Seconds to wait for another connection's write lock before failing.
DEFAULT_BUSY_TIMEOUT_S: Final = 30.0

_SYNCHRONOUS_FULL: Final = 2


class DurableSqlite:
    """A guarded SQLite connection in WAL mode with ``synchronous=FULL``.

    ``error`` builds the exception raised on every database failure; ``label`` names the store in
    its text. ``cache_kib``: SQLite page cache of this connection in KiB (0: SQLite's default).
    ``foreign_keys``: turn on (and check) foreign key enforcement.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        error: Callable[[str], Exception],
        label: str = "store",
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT_S,
        cache_kib: int = 0,
        foreign_keys: bool = False,
    ) -> None:
        self._error = error
        self._label = label
        self._lock = threading.RLock()
        self.path = os.fspath(path)
        try:
            conn = sqlite3.connect(
                self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise error(f"cannot open {label} {self.path!r}: {exc}") from exc
        self._conn: sqlite3.Connection | None = conn
        try:
            self._configure(conn, cache_kib, foreign_keys)
        except BaseException:
            self.close()
            raise

    def _configure(self, conn: sqlite3.Connection, cache_kib: int, foreign_keys: bool) -> None:
        try:
            if cache_kib > 0:
                conn.execute(f"PRAGMA cache_size = -{int(cache_kib):d}")
            conn.execute("PRAGMA journal_mode=WAL").fetchone()
            conn.execute("PRAGMA synchronous=FULL")
            if foreign_keys:
                conn.execute("PRAGMA foreign_keys=ON")
            (sync,) = conn.execute("PRAGMA synchronous").fetchone()
            (fks,) = conn.execute("PRAGMA foreign_keys").fetchone()
        except sqlite3.Error as exc:
            raise self._error(f"cannot configure {self._label} {self.path!r}: {exc}") from exc
        if foreign_keys:
            if sync != _SYNCHRONOUS_FULL or fks != 1:
                raise self._error(f"{self._label} needs synchronous=FULL and foreign_keys=ON")
        elif sync != _SYNCHRONOUS_FULL:
            raise self._error(f"the {self._label} needs synchronous=FULL")

    def connection(self) -> sqlite3.Connection:
        """The open connection (for a schema migration inside :meth:`write`)."""
        if self._conn is None:
            raise self._error(f"{self._label} is closed")
        return self._conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction, committed durably on normal exit (rolled back on
        any exception, which propagates; a :class:`sqlite3.Error` becomes ``error``)."""
        with self._lock:
            conn = self.connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    with suppress(sqlite3.Error):  # the original error is the one to report
                        conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise self._error(f"{self._label} failure: {exc}") from exc
                raise

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: a consistent snapshot for multi-statement reads."""
        with self._lock:
            conn = self.connection()
            try:
                conn.execute("BEGIN")
                yield conn
            except sqlite3.Error as exc:
                raise self._error(f"{self._label} failure: {exc}") from exc
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")

    def one(self, sql: str, args: tuple[object, ...] = ()) -> tuple[object, ...] | None:
        """One single-statement read (atomic on its own in autocommit mode): the first row."""
        with self._lock:
            conn = self.connection()
            try:
                row: tuple[object, ...] | None = conn.execute(sql, args).fetchone()
            except sqlite3.Error as exc:
                raise self._error(f"{self._label} failure: {exc}") from exc
            return row

    def close(self) -> None:
        """Close the connection (idempotent); later calls raise ``error`` ("... is closed")."""
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()
