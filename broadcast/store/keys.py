"""SQLite implementation of :class:`~broadcast.proto.keys.store.KeyStore` (stdlib ``sqlite3``).

Durability (profile.md "T": the counter is durable BEFORE the message leaves): the database runs in
WAL journal mode with ``synchronous=FULL``, so a COMMIT has reached stable storage when it returns.
Every write is one ``BEGIN IMMEDIATE`` transaction: it takes the database's write lock before it
reads the last value, so two processes (or two store objects) on the same file can never allocate
the same counter or MTK ID, and an allocated value is committed before it is returned.

Threads: one connection per store object, guarded by a lock; a store object may be shared between
the threads of one process. Processes: open one store object per process (never share one across
``fork``); the file lock of SQLite serialises them, waiting up to ``busy_timeout`` seconds.

Keys are stored as BLOBs. No key byte ever appears in an exception message or a log line.
"""

from __future__ import annotations

import functools
import os
import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Final, Self

from broadcast import profile
from broadcast.proto.keys.errors import (
    CounterExhausted,
    DuplicateKey,
    KeyStateError,
    KeyStoreError,
    MtkIdExhausted,
    UnknownKey,
)
from broadcast.proto.keys.ids import KeyDomainId, MskId, MtkId, MukId
from broadcast.proto.keys.material import Msk, Muk
from broadcast.proto.keys.store import (
    KeyGroupRecord,
    KeyStore,
    MskRecord,
    MskState,
    MukRecord,
    check_key_group,
    check_stored_msk_id,
)
from broadcast.proto.srtp.settings import SrtpConfig
from broadcast.store.durable import DurableSqlite
from broadcast.time import UnixS

#: ``PRAGMA user_version`` of the schema below; bump it with a migration step.
#: 3: one ``muk_entry`` row per MUK ID holds its TS counter and, while one is stored, its MUK
#: (versions 1-2: tables ``muk`` and ``muk_counter`` keyed by (idi, idr)): a push round takes each
#: UE's new counter and its MUK with ONE index lookup, and updates the rows in creation order.
#: 4: a streaming Key Group keeps its SRTP policy (columns ``srtp_*`` of ``key_group``, NULL for a
#: download group); the streaming groups of an older store get the profile's policy, which
#: ``mbms serve`` then replaces with its configured one.
SCHEMA_VERSION: Final = 4

#: The SRTP policy columns of ``key_group`` (:class:`SrtpConfig`; tag in bits, NULL = "null").
_SRTP_COLUMNS: Final = (
    ("srtp_cipher", "TEXT CHECK (srtp_cipher IN ('aes-cm-128', 'null'))"),
    ("srtp_auth_tag", "INTEGER CHECK (srtp_auth_tag IN (80, 32))"),
    ("srtp_rcc", "TEXT CHECK (srtp_rcc IN ('RCCm1', 'RCCm2', 'RCCm3', 'off'))"),
    ("srtp_roc_rate", "INTEGER CHECK (srtp_roc_rate BETWEEN 1 AND 65535)"),
)
_GROUP_COLUMNS: Final = "key_group, streaming, " + ", ".join(n for n, _ in _SRTP_COLUMNS)

_MUK_ENTRY_TABLE: Final = """CREATE TABLE IF NOT EXISTS muk_entry (
        id INTEGER PRIMARY KEY,
        idi BLOB NOT NULL,
        idr BLOB NOT NULL,
        last INTEGER NOT NULL DEFAULT 0 CHECK (last BETWEEN 0 AND 4294967295),
        key BLOB CHECK (key IS NULL OR length(key) = 16),
        expires_at INTEGER,
        UNIQUE (idi, idr),
        CHECK ((key IS NULL) = (expires_at IS NULL))
    )"""

_SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS key_domain (
        domain_id BLOB PRIMARY KEY CHECK (length(domain_id) = 3)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS key_group (
        domain_id BLOB NOT NULL REFERENCES key_domain (domain_id),
        key_group INTEGER NOT NULL CHECK (key_group BETWEEN 0 AND 65535),
        streaming INTEGER NOT NULL CHECK (streaming IN (0, 1)),
        """
    + "".join(f"{name} {decl},\n        " for name, decl in _SRTP_COLUMNS)
    + """PRIMARY KEY (domain_id, key_group)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS msk (
        domain_id BLOB NOT NULL,
        key_group INTEGER NOT NULL,
        key_number INTEGER NOT NULL CHECK (key_number BETWEEN 1 AND 65535),
        key BLOB NOT NULL CHECK (length(key) = 16),
        mtk_id_low INTEGER NOT NULL,
        mtk_id_high INTEGER NOT NULL,
        last_mtk_id INTEGER,
        ts_counter INTEGER NOT NULL DEFAULT 0 CHECK (ts_counter BETWEEN 0 AND 4294967295),
        state TEXT NOT NULL CHECK (state IN ('current', 'next', 'retired')),
        PRIMARY KEY (domain_id, key_group, key_number),
        FOREIGN KEY (domain_id, key_group) REFERENCES key_group (domain_id, key_group),
        CHECK (1 <= mtk_id_low AND mtk_id_low <= mtk_id_high AND mtk_id_high <= 65535),
        CHECK (last_mtk_id IS NULL OR last_mtk_id BETWEEN mtk_id_low AND mtk_id_high)
    ) WITHOUT ROWID""",
    # At most one CURRENT and one NEXT MSK per Key Group, enforced by the database too.
    """CREATE UNIQUE INDEX IF NOT EXISTS msk_one_current
        ON msk (domain_id, key_group) WHERE state = 'current'""",
    """CREATE UNIQUE INDEX IF NOT EXISTS msk_one_next
        ON msk (domain_id, key_group) WHERE state = 'next'""",
    # The counter (``last``, 0 = none handed out yet) outlives the MUK (replace, purge: key and
    # expires_at become NULL), so that a re-stored MUK ID can never restart at 1 [replay
    # protection at the UE].
    _MUK_ENTRY_TABLE,
)

_MSK_COLUMNS: Final = "key_group, key_number, key, mtk_id_low, mtk_id_high, state"
_Row = tuple[object, ...]

_PUT_MUK: Final = (
    "INSERT INTO muk_entry (idi, idr, key, expires_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (idi, idr) DO UPDATE SET key = excluded.key, expires_at = excluded.expires_at"
)
#: SQLite page cache of a store connection, KiB: the MUK and counter tables of a million UEs
#: (random keys) stay in memory during a push round.
DEFAULT_CACHE_KIB: Final = 128 * 1024
#: MUK IDs per bulk statement (3 SQL variables each: far below SQLite's 32766-variable limit).
BULK_CHUNK: Final = 2000


@functools.cache
def _bulk_counter_sql(n: int) -> str:
    """Add ``n`` to the counters of ``n`` distinct MUK IDs in one statement, returning the new
    last values: an UPSERT over a VALUES list (SQLite >= 3.35 for RETURNING)."""
    values = ",".join(["(?,?,?)"] * n)
    return (
        "INSERT INTO muk_entry (idi, idr, last) "  # noqa: S608 - placeholders only
        f"WITH want(idi, idr, n) AS (VALUES {values}) SELECT idi, idr, n FROM want WHERE true "
        "ON CONFLICT (idi, idr) DO UPDATE SET last = last + excluded.last "
        "RETURNING idi, idr, last, key, expires_at"
    )


@functools.cache
def _bulk_muk_sql(n: int) -> str:
    """Look up ``n`` MUK IDs in one statement (a join on the primary key, not a scan)."""
    values = ",".join(["(?,?)"] * n)
    return (
        f"WITH want(idi, idr) AS (VALUES {values}) "  # noqa: S608 - placeholders only
        "SELECT m.idi, m.idr, m.key, m.expires_at FROM want CROSS JOIN muk_entry m "
        "ON m.idi = want.idi AND m.idr = want.idr WHERE m.key IS NOT NULL"
    )


def _muk_ids(muk_ids: Iterable[MukId]) -> list[MukId]:
    out = list(muk_ids)
    for m in out:
        if not isinstance(m, MukId):
            raise TypeError(f"expected MukId, got {type(m).__name__}")
    return out


def _srtp_row(srtp: SrtpConfig | None) -> tuple[object, ...]:
    """The ``srtp_*`` column values of a policy (all NULL: none, a download group)."""
    if srtp is None:
        return (None, None, None, None)
    return (srtp.cipher, srtp.auth_tag, srtp.rcc, srtp.roc_rate)


def _group_record(key_domain: KeyDomainId, row: _Row) -> KeyGroupRecord:
    key_group, streaming, cipher, auth_tag, rcc, roc_rate = row
    assert isinstance(key_group, int)
    srtp = None
    if streaming and cipher is not None:
        assert isinstance(cipher, str) and isinstance(rcc, str) and isinstance(roc_rate, int)
        assert auth_tag is None or isinstance(auth_tag, int)
        srtp = SrtpConfig(cipher=cipher, auth_tag=auth_tag, rcc=rcc, roc_rate=roc_rate)
    return KeyGroupRecord(key_domain, key_group, bool(streaming), srtp)


class SQLiteKeyStore(KeyStore):
    """A :class:`KeyStore` in one SQLite file (or ``":memory:"`` for tests)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 30.0,
        cache_kib: int = DEFAULT_CACHE_KIB,
    ) -> None:
        """Open (creating if needed) the store at ``path``.

        ``busy_timeout``: seconds to wait for another process's write lock before failing with
        :class:`KeyStoreError`. ``cache_kib``: SQLite page cache of this connection (KiB; pages
        are allocated only as used).
        """
        self._db = DurableSqlite(
            path,
            error=KeyStoreError,
            label="key store",
            busy_timeout=busy_timeout,
            cache_kib=cache_kib,
            foreign_keys=True,
        )
        try:
            self._migrate()
        except BaseException:
            self.close()
            raise

    # --- schema migration (PRAGMA user_version) -------------------------------------------------
    def _migrate(self) -> None:
        with self._write() as conn:
            (version,) = conn.execute("PRAGMA user_version").fetchone()
            if version > SCHEMA_VERSION:
                raise KeyStoreError(
                    f"key store schema version {version} is newer than {SCHEMA_VERSION}"
                )
            for statement in _SCHEMA:
                conn.execute(statement)
            if 0 < version < 3:
                self._migrate_muks_v2(conn)
            if 0 < version < 4:
                self._migrate_srtp_v3(conn)
            if version < SCHEMA_VERSION:
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")

    @staticmethod
    def _migrate_muks_v2(conn: sqlite3.Connection) -> None:
        """Versions 1-2 -> 3: move ``muk_counter`` and ``muk`` into ``muk_entry`` (same values,
        inside the migration transaction: a crash leaves the old version intact)."""
        tables = {
            str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        if "muk_counter" in tables:
            conn.execute(
                "INSERT INTO muk_entry (idi, idr, last) SELECT idi, idr, last FROM muk_counter "
                "WHERE true ON CONFLICT (idi, idr) DO UPDATE SET last = max(last, excluded.last)"
            )
            conn.execute("DROP TABLE muk_counter")
        if "muk" in tables:
            conn.execute(
                "INSERT INTO muk_entry (idi, idr, key, expires_at) "
                "SELECT idi, idr, key, expires_at FROM muk WHERE true ON CONFLICT (idi, idr) "
                "DO UPDATE SET key = excluded.key, expires_at = excluded.expires_at"
            )
            conn.execute("DROP TABLE muk")

    @staticmethod
    def _migrate_srtp_v3(conn: sqlite3.Connection) -> None:
        """Versions 1-3 -> 4: the SRTP policy columns of ``key_group``; a streaming group gets the
        profile's policy (what its MSK messages carried when none was configured)."""
        have = {str(r[1]) for r in conn.execute("PRAGMA table_info(key_group)")}
        for name, decl in _SRTP_COLUMNS:
            if name not in have:
                conn.execute(f"ALTER TABLE key_group ADD COLUMN {name} {decl}")
        default = SrtpConfig()
        conn.execute(
            "UPDATE key_group SET srtp_cipher = ?, srtp_auth_tag = ?, srtp_rcc = ?, "
            "srtp_roc_rate = ? WHERE streaming = 1 AND srtp_cipher IS NULL",
            _srtp_row(default),
        )

    # --- connection and transactions (broadcast.store.durable) ---------------------------------
    def _connection(self) -> sqlite3.Connection:
        return self._db.connection()

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction, committed (durably) on normal exit."""
        return self._db.write()

    def _read(self) -> AbstractContextManager[sqlite3.Connection]:
        """A read-only transaction: a consistent snapshot for multi-statement reads."""
        return self._db.read()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- helpers -----------------------------------------------------------------------------
    @staticmethod
    def _require_group(conn: sqlite3.Connection, domain: KeyDomainId, key_group: int) -> None:
        row = conn.execute(
            "SELECT 1 FROM key_group WHERE domain_id = ? AND key_group = ?",
            (domain.value, key_group),
        ).fetchone()
        if row is None:
            raise UnknownKey(f"no Key Group {key_group} in Key Domain {domain}")

    @staticmethod
    def _msk_record(domain: KeyDomainId, row: _Row) -> MskRecord:
        key_group, key_number, key, low, high, state = row
        assert isinstance(key_group, int) and isinstance(key_number, int)
        assert isinstance(key, bytes) and isinstance(low, int) and isinstance(high, int)
        assert isinstance(state, str)
        return MskRecord(domain, MskId(key_group, key_number), Msk(key), low, high, MskState(state))

    def _select_msk(
        self, conn: sqlite3.Connection, domain: KeyDomainId, msk_id: MskId
    ) -> MskRecord:
        if msk_id.is_current_alias:
            row = conn.execute(
                f"SELECT {_MSK_COLUMNS} FROM msk "  # noqa: S608 - constant column list
                "WHERE domain_id = ? AND key_group = ? AND state = 'current'",
                (domain.value, msk_id.key_group),
            ).fetchone()
            if row is None:
                raise UnknownKey(
                    f"Key Group {msk_id.key_group} of Key Domain {domain} has no current MSK"
                )
        else:
            row = conn.execute(
                f"SELECT {_MSK_COLUMNS} FROM msk "  # noqa: S608 - constant column list
                "WHERE domain_id = ? AND key_group = ? AND key_number = ?",
                (domain.value, msk_id.key_group, msk_id.key_number),
            ).fetchone()
            if row is None:
                raise UnknownKey(f"no MSK {msk_id} in Key Domain {domain}")
        return self._msk_record(domain, row)

    def _active_msk(
        self, conn: sqlite3.Connection, domain: KeyDomainId, msk_id: MskId
    ) -> MskRecord:
        """The MSK named by a real MSK ID, refusing a RETIRED one (no new MTK under it)."""
        record = self._select_msk(conn, domain, check_stored_msk_id(msk_id))
        if record.state is MskState.RETIRED:
            raise KeyStateError(f"MSK {msk_id} of Key Domain {domain} is retired")
        return record

    # --- Key Domains and Key Groups ------------------------------------------------------------
    def add_key_domain(self, key_domain: KeyDomainId) -> None:
        with self._write() as conn:
            if conn.execute(
                "SELECT 1 FROM key_domain WHERE domain_id = ?", (key_domain.value,)
            ).fetchone():
                raise DuplicateKey(f"Key Domain {key_domain} already exists")
            conn.execute("INSERT INTO key_domain (domain_id) VALUES (?)", (key_domain.value,))

    def list_key_domains(self) -> list[KeyDomainId]:
        with self._read() as conn:
            rows = conn.execute("SELECT domain_id FROM key_domain ORDER BY domain_id").fetchall()
        return [KeyDomainId(bytes(value)) for (value,) in rows]

    def add_key_group(
        self,
        key_domain: KeyDomainId,
        key_group: int,
        *,
        streaming: bool = False,
        srtp: SrtpConfig | None = None,
    ) -> KeyGroupRecord:
        record = KeyGroupRecord(key_domain, check_key_group(key_group), bool(streaming), srtp)
        with self._write() as conn:
            if not conn.execute(
                "SELECT 1 FROM key_domain WHERE domain_id = ?", (key_domain.value,)
            ).fetchone():
                raise UnknownKey(f"no Key Domain {key_domain}")
            if conn.execute(
                "SELECT 1 FROM key_group WHERE domain_id = ? AND key_group = ?",
                (key_domain.value, key_group),
            ).fetchone():
                raise DuplicateKey(f"Key Group {key_group} of Key Domain {key_domain} exists")
            conn.execute(
                f"INSERT INTO key_group (domain_id, {_GROUP_COLUMNS}) "  # noqa: S608 - constant
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key_domain.value, key_group, int(record.streaming), *_srtp_row(record.srtp)),
            )
        return record

    def set_key_group_srtp(
        self, key_domain: KeyDomainId, key_group: int, srtp: SrtpConfig
    ) -> KeyGroupRecord:
        check_key_group(key_group)
        with self._write() as conn:
            record = self._group(conn, key_domain, key_group)
            if not record.streaming:
                raise KeyStateError(
                    f"Key Group {key_group} of Key Domain {key_domain} is a download group: "
                    "it has no SRTP policy"
                )
            conn.execute(
                "UPDATE key_group SET srtp_cipher = ?, srtp_auth_tag = ?, srtp_rcc = ?, "
                "srtp_roc_rate = ? WHERE domain_id = ? AND key_group = ?",
                (*_srtp_row(srtp), key_domain.value, key_group),
            )
        return KeyGroupRecord(key_domain, key_group, True, srtp)

    @staticmethod
    def _group(conn: sqlite3.Connection, key_domain: KeyDomainId, key_group: int) -> KeyGroupRecord:
        row = conn.execute(
            f"SELECT {_GROUP_COLUMNS} FROM key_group "  # noqa: S608 - constant column list
            "WHERE domain_id = ? AND key_group = ?",
            (key_domain.value, key_group),
        ).fetchone()
        if row is None:
            raise UnknownKey(f"no Key Group {key_group} in Key Domain {key_domain}")
        return _group_record(key_domain, row)

    def get_key_group(self, key_domain: KeyDomainId, key_group: int) -> KeyGroupRecord:
        check_key_group(key_group)
        with self._read() as conn:
            return self._group(conn, key_domain, key_group)

    def list_key_groups(self, key_domain: KeyDomainId) -> list[KeyGroupRecord]:
        with self._read() as conn:
            if not conn.execute(
                "SELECT 1 FROM key_domain WHERE domain_id = ?", (key_domain.value,)
            ).fetchone():
                raise UnknownKey(f"no Key Domain {key_domain}")
            rows = conn.execute(
                f"SELECT {_GROUP_COLUMNS} FROM key_group "  # noqa: S608 - constant column list
                "WHERE domain_id = ? ORDER BY key_group",
                (key_domain.value,),
            ).fetchall()
        return [_group_record(key_domain, row) for row in rows]

    # --- MSKs --------------------------------------------------------------------------------
    def add_msk(
        self,
        key_domain: KeyDomainId,
        msk_id: MskId,
        key: Msk,
        *,
        mtk_id_low: int = profile.MTK_ID_MIN,
        mtk_id_high: int = profile.MTK_ID_MAX,
        state: MskState = MskState.NEXT,
    ) -> MskRecord:
        record = MskRecord(key_domain, msk_id, key, mtk_id_low, mtk_id_high, MskState(state))
        with self._write() as conn:
            self._require_group(conn, key_domain, msk_id.key_group)
            if conn.execute(
                "SELECT 1 FROM msk WHERE domain_id = ? AND key_group = ? AND key_number = ?",
                (key_domain.value, msk_id.key_group, msk_id.key_number),
            ).fetchone():
                raise DuplicateKey(f"MSK {msk_id} of Key Domain {key_domain} already exists")
            if (
                record.state is not MskState.RETIRED
                and conn.execute(
                    "SELECT 1 FROM msk WHERE domain_id = ? AND key_group = ? AND state = ?",
                    (key_domain.value, msk_id.key_group, record.state.value),
                ).fetchone()
            ):
                raise KeyStateError(
                    f"Key Group {msk_id.key_group} of Key Domain {key_domain} already has a "
                    f"{record.state.value} MSK"
                )
            conn.execute(
                "INSERT INTO msk (domain_id, key_group, key_number, key, mtk_id_low, "
                "mtk_id_high, state) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    key_domain.value,
                    msk_id.key_group,
                    msk_id.key_number,
                    key.secret,
                    mtk_id_low,
                    mtk_id_high,
                    record.state.value,
                ),
            )
        return record

    def get_msk(self, key_domain: KeyDomainId, msk_id: MskId) -> MskRecord:
        with self._read() as conn:
            return self._select_msk(conn, key_domain, msk_id)

    def list_msks(self, key_domain: KeyDomainId, key_group: int) -> list[MskRecord]:
        check_key_group(key_group)
        with self._read() as conn:
            self._require_group(conn, key_domain, key_group)
            rows = conn.execute(
                f"SELECT {_MSK_COLUMNS} FROM msk "  # noqa: S608 - constant column list
                "WHERE domain_id = ? AND key_group = ? ORDER BY key_number",
                (key_domain.value, key_group),
            ).fetchall()
        return [self._msk_record(key_domain, row) for row in rows]

    def promote(self, key_domain: KeyDomainId, key_group: int) -> MskRecord:
        check_key_group(key_group)
        with self._write() as conn:
            self._require_group(conn, key_domain, key_group)
            row = conn.execute(
                "SELECT key_number FROM msk WHERE domain_id = ? AND key_group = ? "
                "AND state = 'next'",
                (key_domain.value, key_group),
            ).fetchone()
            if row is None:
                raise KeyStateError(
                    f"Key Group {key_group} of Key Domain {key_domain} has no next MSK"
                )
            conn.execute(
                "UPDATE msk SET state = 'retired' WHERE domain_id = ? AND key_group = ? "
                "AND state = 'current'",
                (key_domain.value, key_group),
            )
            conn.execute(
                "UPDATE msk SET state = 'current' WHERE domain_id = ? AND key_group = ? "
                "AND key_number = ?",
                (key_domain.value, key_group, row[0]),
            )
            return self._select_msk(conn, key_domain, MskId(key_group, row[0]))

    def retire(self, key_domain: KeyDomainId, msk_id: MskId) -> MskRecord:
        check_stored_msk_id(msk_id)
        with self._write() as conn:
            record = self._select_msk(conn, key_domain, msk_id)
            if record.state is MskState.RETIRED:
                return record
            conn.execute(
                "UPDATE msk SET state = 'retired' WHERE domain_id = ? AND key_group = ? "
                "AND key_number = ?",
                (key_domain.value, msk_id.key_group, msk_id.key_number),
            )
            return self._select_msk(conn, key_domain, msk_id)

    # --- MTK IDs -----------------------------------------------------------------------------
    def allocate_mtk_id(self, key_domain: KeyDomainId, msk_id: MskId) -> MtkId:
        with self._write() as conn:
            record = self._active_msk(conn, key_domain, msk_id)
            last = self._last_mtk_id(conn, key_domain, msk_id)
            value = record.mtk_id_low if last is None else last + 1
            if value > record.mtk_id_high:
                raise MtkIdExhausted(
                    f"MSK {msk_id} of Key Domain {key_domain} has used its MTK IDs "
                    f"{record.mtk_id_low}..{record.mtk_id_high}: rotate the MSK"
                )
            conn.execute(
                "UPDATE msk SET last_mtk_id = ? WHERE domain_id = ? AND key_group = ? "
                "AND key_number = ?",
                (value, key_domain.value, msk_id.key_group, msk_id.key_number),
            )
        # The COMMIT above returned: the value is durable before it leaves the store.
        return MtkId(value)

    @staticmethod
    def _last_mtk_id(conn: sqlite3.Connection, domain: KeyDomainId, msk_id: MskId) -> int | None:
        (last,) = conn.execute(
            "SELECT last_mtk_id FROM msk WHERE domain_id = ? AND key_group = ? AND key_number = ?",
            (domain.value, msk_id.key_group, msk_id.key_number),
        ).fetchone()
        assert last is None or isinstance(last, int)
        return last

    def current_mtk_id(self, key_domain: KeyDomainId, msk_id: MskId) -> MtkId | None:
        check_stored_msk_id(msk_id)
        with self._read() as conn:
            self._select_msk(conn, key_domain, msk_id)
            last = self._last_mtk_id(conn, key_domain, msk_id)
        return None if last is None else MtkId(last)

    # --- MIKEY TS counters -------------------------------------------------------------------
    @staticmethod
    def _next_counter(last: int, what: str) -> int:
        if last >= profile.COUNTER_MAX:
            raise CounterExhausted(f"the TS counter of {what} is exhausted: replace the key")
        return last + 1

    def next_counter_for_muk(self, muk_id: MukId) -> int:
        with self._write() as conn:
            row = conn.execute(
                "SELECT last FROM muk_entry WHERE idi = ? AND idr = ?",
                (muk_id.idi, muk_id.idr),
            ).fetchone()
            value = self._next_counter(0 if row is None else row[0], f"MUK {muk_id}")
            conn.execute(
                "INSERT INTO muk_entry (idi, idr, last) VALUES (?, ?, ?) "
                "ON CONFLICT (idi, idr) DO UPDATE SET last = excluded.last",
                (muk_id.idi, muk_id.idr, value),
            )
        return value

    def next_counters_for_muks(self, muk_ids: Sequence[MukId]) -> list[int]:
        return [counter for counter, _ in self._bulk_counters(muk_ids, with_muks=False)]

    def next_counters_with_muks(
        self, muk_ids: Sequence[MukId]
    ) -> list[tuple[int, MukRecord | None]]:
        return self._bulk_counters(muk_ids, with_muks=True)

    def _bulk_counters(
        self, muk_ids: Sequence[MukId], *, with_muks: bool
    ) -> list[tuple[int, MukRecord | None]]:
        """One UPSERT ... RETURNING per BULK_CHUNK distinct MUK IDs, all in one transaction."""
        ids = _muk_ids(muk_ids)
        pos: dict[tuple[bytes, bytes], int] = {}  # distinct MUK ID -> its index below
        distinct: list[tuple[bytes, bytes, int]] = []  # (IDi, IDr, values wanted)
        for m in ids:
            k = (m.idi, m.idr)
            j = pos.get(k)
            if j is None:
                pos[k] = len(distinct)
                distinct.append((m.idi, m.idr, 1))
            else:
                idi, idr, n = distinct[j]
                distinct[j] = (idi, idr, n + 1)
        if not distinct:
            return []
        got: list[tuple[int, bytes | None, int | None] | None] = [None] * len(distinct)
        try:
            with self._write() as conn:
                for start in range(0, len(distinct), BULK_CHUNK):
                    part = distinct[start : start + BULK_CHUNK]
                    args = [v for row in part for v in row]
                    sql = _bulk_counter_sql(len(part))
                    for idi, idr, value, secret, expires_at in conn.execute(sql, args):
                        if value > profile.COUNTER_MAX:  # the schema's CHECK refuses it first
                            raise CounterExhausted(
                                f"the TS counter of MUK {MukId(idi, idr)} is exhausted: "
                                "replace the key"
                            )
                        got[pos[(idi, idr)]] = (value, secret, expires_at)
                if any(g is None for g in got):
                    raise KeyStoreError("bulk counter allocation returned the wrong rows")
        except KeyStoreError as exc:
            # Rolled back: no value was handed out. Name the exhausted MUK if that was the cause.
            if isinstance(exc.__cause__, sqlite3.IntegrityError):
                self._raise_exhausted({(i, r): n for i, r, n in distinct})
            raise
        # The COMMIT returned: every value below is durable before it leaves the store.
        out: list[tuple[int, MukRecord | None]] = []
        if len(distinct) == len(ids):  # every MUK ID once: the common case
            for m, g in zip(ids, got, strict=True):
                assert g is not None
                value, secret, expires_at = g
                rec = None
                if with_muks and secret is not None and expires_at is not None:
                    rec = MukRecord(m, Muk(secret), UnixS(expires_at))
                out.append((value, rec))
            return out
        nxt = [g[0] - d[2] for g, d in zip(got, distinct, strict=True) if g is not None]
        records: dict[int, MukRecord | None] = {}
        for m in ids:
            j = pos[(m.idi, m.idr)]
            nxt[j] += 1
            rec = None
            if with_muks:
                if j not in records:
                    g = got[j]
                    assert g is not None
                    _, secret, expires_at = g
                    if secret is not None and expires_at is not None:
                        records[j] = MukRecord(m, Muk(secret), UnixS(expires_at))
                    else:
                        records[j] = None
                rec = records[j]
            out.append((nxt[j], rec))
        return out

    def _raise_exhausted(self, wanted: dict[tuple[bytes, bytes], int]) -> None:
        """After a refused bulk allocation: CounterExhausted for the first MUK ID that has fewer
        than the wanted values left (the transaction was rolled back)."""
        with self._read() as conn:
            for (idi, idr), n in wanted.items():
                row = conn.execute(
                    "SELECT last FROM muk_entry WHERE idi = ? AND idr = ?", (idi, idr)
                ).fetchone()
                if row is not None and row[0] + n > profile.COUNTER_MAX:
                    raise CounterExhausted(
                        f"the TS counter of MUK {MukId(idi, idr)} is exhausted: replace the key"
                    )

    def next_counter_for_msk(self, key_domain: KeyDomainId, msk_id: MskId) -> int:
        with self._write() as conn:
            self._active_msk(conn, key_domain, msk_id)
            (last,) = conn.execute(
                "SELECT ts_counter FROM msk WHERE domain_id = ? AND key_group = ? "
                "AND key_number = ?",
                (key_domain.value, msk_id.key_group, msk_id.key_number),
            ).fetchone()
            value = self._next_counter(last, f"MSK {msk_id} of Key Domain {key_domain}")
            conn.execute(
                "UPDATE msk SET ts_counter = ? WHERE domain_id = ? AND key_group = ? "
                "AND key_number = ?",
                (value, key_domain.value, msk_id.key_group, msk_id.key_number),
            )
        return value

    # --- MUKs --------------------------------------------------------------------------------
    def put_muk(self, muk_id: MukId, key: Muk, *, expires_at_unix: UnixS) -> MukRecord:
        record = MukRecord(muk_id, key, expires_at_unix)
        with self._write() as conn:
            conn.execute(_PUT_MUK, (muk_id.idi, muk_id.idr, key.secret, expires_at_unix))
        return record

    def get_muk(self, muk_id: MukId) -> MukRecord:
        with self._read() as conn:
            row = conn.execute(
                "SELECT key, expires_at FROM muk_entry WHERE idi = ? AND idr = ? "
                "AND key IS NOT NULL",
                (muk_id.idi, muk_id.idr),
            ).fetchone()
        if row is None:
            raise UnknownKey(f"no MUK for MUK ID {muk_id}")
        return MukRecord(muk_id, Muk(row[0]), row[1])

    def put_muks(self, records: Iterable[MukRecord]) -> int:
        rows: list[tuple[bytes, bytes, bytes, UnixS]] = []
        for r in records:
            if not isinstance(r, MukRecord):
                raise TypeError(f"expected MukRecord, got {type(r).__name__}")
            rows.append((r.muk_id.idi, r.muk_id.idr, r.key.secret, r.expires_at))
        with self._write() as conn:
            conn.executemany(_PUT_MUK, rows)
        return len(rows)

    def get_muks(self, muk_ids: Iterable[MukId]) -> dict[MukId, MukRecord]:
        wanted = {(m.idi, m.idr): m for m in _muk_ids(muk_ids)}
        keys = list(wanted)
        out: dict[MukId, MukRecord] = {}
        with self._read() as conn:
            for start in range(0, len(keys), BULK_CHUNK):
                part = keys[start : start + BULK_CHUNK]
                args = [v for pair in part for v in pair]
                for idi, idr, key, expires_at in conn.execute(_bulk_muk_sql(len(part)), args):
                    muk_id = wanted[(idi, idr)]
                    out[muk_id] = MukRecord(muk_id, Muk(key), expires_at)
        return out

    def purge_expired_muks(self, now_unix: UnixS) -> int:
        with self._write() as conn:
            cursor = conn.execute(  # the counter stays (module docstring)
                "UPDATE muk_entry SET key = NULL, expires_at = NULL WHERE expires_at <= ?",
                (now_unix,),
            )
            return cursor.rowcount
