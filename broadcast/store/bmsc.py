"""The BM-SC's own durable tables (TS 33.246 6.3.2.2-6.3.2.3): subscriptions, UE registrations
per Key Group, MSK push / solicited-pull deliveries with their ACK state, rotation schedule.

Keys, MSKs, MUKs and MIKEY counters stay in :mod:`broadcast.proto.keys` (the key store); this store
keeps only identifiers (Key Domain ID, Key Group, Key Number, MUK ID = IDi/IDr) and the protected
MIKEY messages as sent (so that a retransmission repeats the same bytes, profile.md "T").
It may share the key store's file (own tables, own connection; WAL, synchronous=FULL).

* ``subscription`` — which subscriber (IMPI) may receive which Key Group (authorization of the
  MSK request), with an optional delivery address/port overriding the request's source.
* ``registration`` — the UEs for which key management was initiated (TS 33.246 6.3.2.2.2: the
  first MSK request for a Key Group): latest MUK ID (IDi, IDr = B-TID) and delivery address.
* ``delivery`` — one row per MIKEY message to a UE: ``pending`` (to send, or sent and waiting for
  the ACK / the UE's request after a pull), then ``acked`` / ``sent`` (no ACK asked) /
  ``answered`` (pull followed by a request) / ``failed`` (gave up) / ``superseded`` (a newer
  message for the same MSK and UE replaced it).
* ``group_schedule`` — when the CURRENT MSK of a group became current and when the NEXT one is
  to be promoted.

Delivery indexes are built for a million-UE push round: a row carries the id of the registration
it goes to (``reg_id``: registration order, so a round appends to that index) and ``muk_tag``, a
64-bit hash of the IDr (B-TID) that keys the per-MUK lookups (one message at a time per MUK; the
MIKEY ACK) with a small integer instead of the identifiers; the index of due rows and the per-MUK
index hold pending rows only, so a message that leaves is dropped from them instead of moved (a
repeated ACK of a finished delivery is found through the UE's registrations).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Final

from broadcast.proto.keys.ids import KeyDomainId, MukId
from broadcast.proto.msk.errors import BmscStoreError, UnknownSubscriber
from broadcast.proto.msk.store import (
    Delivery,
    DeliveryKind,
    DeliveryState,
    DueDelivery,
    NewDelivery,
    Registration,
    RegistrationRow,
    Subscription,
    UeGroupState,
    muk_tag,
)
from broadcast.store._db import Database
from broadcast.time import UnixS

_SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS bmsc_subscription (
        impi TEXT NOT NULL,
        domain_id BLOB NOT NULL CHECK (length(domain_id) = 3),
        key_group INTEGER NOT NULL CHECK (key_group BETWEEN 0 AND 65535),
        delivery_host TEXT,
        delivery_port INTEGER CHECK (delivery_port IS NULL OR delivery_port BETWEEN 1 AND 65535),
        PRIMARY KEY (impi, domain_id, key_group)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS bmsc_registration (
        id INTEGER PRIMARY KEY,
        domain_id BLOB NOT NULL,
        key_group INTEGER NOT NULL,
        impi TEXT NOT NULL,
        idi BLOB NOT NULL,
        idr BLOB NOT NULL,
        host TEXT NOT NULL,
        port INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
        registered_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        UNIQUE (domain_id, key_group, impi)
    )""",
    "CREATE INDEX IF NOT EXISTS bmsc_registration_muk ON bmsc_registration (idi, idr)",
    # a group's registrations in id order, chunk by chunk (without it: a sort per chunk)
    """CREATE INDEX IF NOT EXISTS bmsc_registration_group
        ON bmsc_registration (domain_id, key_group, id)""",
    """CREATE TABLE IF NOT EXISTS bmsc_delivery (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('msk', 'pull')),
        domain_id BLOB NOT NULL,
        key_group INTEGER NOT NULL,
        key_number INTEGER NOT NULL,
        impi TEXT NOT NULL,
        idi BLOB NOT NULL,
        idr BLOB NOT NULL,
        host TEXT NOT NULL,
        port INTEGER NOT NULL,
        csb_id INTEGER NOT NULL,
        counter INTEGER NOT NULL,
        ack_required INTEGER NOT NULL CHECK (ack_required IN (0, 1)),
        message BLOB NOT NULL,
        state TEXT NOT NULL CHECK (state IN
            ('pending', 'acked', 'sent', 'answered', 'failed', 'superseded')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_at REAL NOT NULL,
        created_at REAL NOT NULL,
        done_at REAL,
        reg_id INTEGER,
        muk_tag INTEGER NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE IF NOT EXISTS bmsc_group_schedule (
        domain_id BLOB NOT NULL,
        key_group INTEGER NOT NULL,
        current_since REAL,
        promote_at REAL,
        PRIMARY KEY (domain_id, key_group)
    ) WITHOUT ROWID""",
)


#: After the tables (and the migration of an older ``bmsc_delivery``): the indexes.
_INDEXES: Final = (
    # version 1 indexes, replaced by the ones below
    "DROP INDEX IF EXISTS bmsc_delivery_due",
    "DROP INDEX IF EXISTS bmsc_delivery_muk",
    "DROP INDEX IF EXISTS bmsc_delivery_ue",
    "DROP INDEX IF EXISTS bmsc_delivery_ack",
    """CREATE INDEX IF NOT EXISTS bmsc_delivery_pending_due ON bmsc_delivery (next_at)
        WHERE state = 'pending'""",
    """CREATE INDEX IF NOT EXISTS bmsc_delivery_pending_muk ON bmsc_delivery (muk_tag, counter)
        WHERE state = 'pending'""",
    "CREATE INDEX IF NOT EXISTS bmsc_delivery_reg ON bmsc_delivery (reg_id, state)",
)
#: Pages of SQLite cache of the store's connection (negative: KiB): the delivery indexes of a
#: million-UE round stay in memory.
CACHE_KIB: Final = 128 * 1024


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring a version 1 ``bmsc_delivery`` (no ``reg_id``/``muk_tag``) up to date, then the
    indexes. Runs in the schema transaction of every open (idempotent)."""
    cols = {str(r[1]) for r in conn.execute("PRAGMA table_info(bmsc_delivery)")}
    if "reg_id" not in cols:
        conn.execute("ALTER TABLE bmsc_delivery ADD COLUMN reg_id INTEGER")
        conn.execute(
            "UPDATE bmsc_delivery SET reg_id = (SELECT r.id FROM bmsc_registration r "
            "WHERE r.domain_id = bmsc_delivery.domain_id AND r.key_group = bmsc_delivery.key_group "
            "AND r.impi = bmsc_delivery.impi)"
        )
    if "muk_tag" not in cols:
        conn.execute("ALTER TABLE bmsc_delivery ADD COLUMN muk_tag INTEGER NOT NULL DEFAULT 0")
        rows = conn.execute("SELECT id, idr FROM bmsc_delivery").fetchall()
        conn.executemany(
            "UPDATE bmsc_delivery SET muk_tag = ? WHERE id = ?",
            [(muk_tag(bytes(idr)), i) for i, idr in rows],
        )
    for statement in _INDEXES:
        conn.execute(statement)


_DELIVERY_COLUMNS: Final = (
    "id, kind, domain_id, key_group, key_number, impi, idi, idr, host, port, csb_id, counter, "
    "ack_required, message, state, attempts, next_at, created_at, done_at"
)
_REG_COLUMNS: Final = (
    "domain_id, key_group, impi, idi, idr, host, port, registered_at, updated_at, id"
)
_INSERT_DELIVERY: Final = (
    "INSERT INTO bmsc_delivery (kind, domain_id, key_group, key_number, impi, idi, idr, host, "
    "port, csb_id, counter, ack_required, message, state, attempts, next_at, created_at, reg_id, "
    "muk_tag) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 'pending', 0, ?14, "
    "?15, coalesce(?16, (SELECT r.id FROM bmsc_registration r WHERE r.domain_id = ?2 "
    "AND r.key_group = ?3 AND r.impi = ?5)), ?17)"
)
#: Older pending messages of the same kind and MSK to the same registration are superseded.
_SUPERSEDE: Final = (
    "UPDATE bmsc_delivery SET state = 'superseded', done_at = ?1 WHERE state = 'pending' "
    "AND reg_id = coalesce(?2, (SELECT r.id FROM bmsc_registration r WHERE r.domain_id = ?3 "
    "AND r.key_group = ?4 AND r.impi = ?5)) AND key_number = ?6 AND kind = ?7"
)
#: A due row waits while an earlier message (lower COUNTER) to the same MUK is pending.
_NOT_BLOCKED: Final = (
    "NOT EXISTS (SELECT 1 FROM bmsc_delivery e WHERE e.muk_tag = d.muk_tag "
    "AND e.state = 'pending' AND e.counter < d.counter AND e.idr = d.idr AND e.idi = d.idi)"
)


def _delivery(row: Sequence[object]) -> Delivery:
    i, kind, dom, grp, num, impi, idi, idr, host, port, csb, ctr, ack, msg, st, att, nxt, cr, dn = (
        row
    )
    assert isinstance(dom, bytes) and isinstance(idi, bytes) and isinstance(idr, bytes)
    assert isinstance(msg, bytes) and isinstance(kind, str) and isinstance(st, str)
    return Delivery(
        int(i),  # type: ignore[call-overload]
        DeliveryKind(kind),
        KeyDomainId(dom),
        int(grp),  # type: ignore[call-overload]
        int(num),  # type: ignore[call-overload]
        str(impi),
        MukId(idi, idr),
        str(host),
        int(port),  # type: ignore[call-overload]
        int(csb),  # type: ignore[call-overload]
        int(ctr),  # type: ignore[call-overload]
        bool(ack),
        msg,
        DeliveryState(st),
        int(att),  # type: ignore[call-overload]
        UnixS(float(nxt)),  # type: ignore[arg-type]
        UnixS(float(cr)),  # type: ignore[arg-type]
        None if dn is None else UnixS(float(dn)),  # type: ignore[arg-type]
    )


def _registration(row: Sequence[object]) -> Registration:
    dom, grp, impi, idi, idr, host, port, reg, upd, rid = row
    assert isinstance(dom, bytes) and isinstance(idi, bytes) and isinstance(idr, bytes)
    return Registration(
        KeyDomainId(dom),
        int(grp),  # type: ignore[call-overload]
        str(impi),
        MukId(idi, idr),
        str(host),
        int(port),  # type: ignore[call-overload]
        UnixS(float(reg)),  # type: ignore[arg-type]
        UnixS(float(upd)),  # type: ignore[arg-type]
        int(rid),  # type: ignore[call-overload]
    )


class SQLiteBmscStore:
    """SQLite store of the BM-SC tables (module docstring), a
    :class:`~broadcast.proto.msk.store.BmscStore`. Thread-safe (one guarded connection)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._db = Database(path, _SCHEMA, error=BmscStoreError, cache_kib=CACHE_KIB)
        try:
            with self._db.write() as conn:
                _migrate(conn)
        except BaseException:
            self._db.close()
            raise

    def close(self) -> None:
        self._db.close()

    # --- subscriptions (authorization) ------------------------------------------------------
    def add_subscription(self, sub: Subscription) -> None:
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO bmsc_subscription (impi, domain_id, key_group, delivery_host, "
                "delivery_port) VALUES (?, ?, ?, ?, ?) ON CONFLICT (impi, domain_id, key_group) "
                "DO UPDATE SET delivery_host = excluded.delivery_host, "
                "delivery_port = excluded.delivery_port",
                (
                    sub.impi,
                    sub.key_domain.value,
                    sub.key_group,
                    sub.delivery_host,
                    sub.delivery_port,
                ),
            )

    def remove_subscription(self, impi: str, key_domain: KeyDomainId, key_group: int) -> bool:
        with self._db.write() as conn:
            return (
                conn.execute(
                    "DELETE FROM bmsc_subscription WHERE impi = ? AND domain_id = ? "
                    "AND key_group = ?",
                    (impi, key_domain.value, key_group),
                ).rowcount
                > 0
            )

    def ue_group_state(self, impi: str, key_domain: KeyDomainId, key_group: int) -> UeGroupState:
        """Subscription, registration and pending-pull flag of a UE for a group: ONE statement
        (the per-request read of the MSK request path)."""
        row = self._db.one(
            "SELECT s.delivery_host, s.delivery_port, r.idi, r.idr, r.host, r.port, "
            "r.registered_at, r.updated_at, r.id, EXISTS (SELECT 1 FROM bmsc_delivery d "
            "WHERE d.reg_id = r.id AND d.state = 'pending' AND d.kind = 'pull') "
            "FROM bmsc_subscription s LEFT JOIN bmsc_registration r "
            "ON r.domain_id = s.domain_id AND r.key_group = s.key_group AND r.impi = s.impi "
            "WHERE s.impi = ? AND s.domain_id = ? AND s.key_group = ?",
            (impi, key_domain.value, key_group),
        )
        if row is None:
            return UeGroupState(None, None, False)
        d_host, d_port, idi, idr, host, port, reg_at, upd_at, rid, pull = row
        sub = Subscription(
            impi,
            key_domain,
            key_group,
            None if d_host is None else str(d_host),
            None if d_port is None else int(d_port),  # type: ignore[call-overload]
        )
        reg = None
        if idi is not None:
            reg = _registration(
                (key_domain.value, key_group, impi, idi, idr, host, port, reg_at, upd_at, rid)
            )
        return UeGroupState(sub, reg, bool(pull))

    def list_subscriptions(self, impi: str | None = None) -> list[Subscription]:
        sql = (
            "SELECT impi, domain_id, key_group, delivery_host, delivery_port FROM bmsc_subscription"
        )
        args: tuple[object, ...] = ()
        if impi is not None:
            sql += " WHERE impi = ?"
            args = (impi,)
        with self._db.read() as conn:
            rows = conn.execute(sql + " ORDER BY impi, domain_id, key_group", args).fetchall()
        return [Subscription(r[0], KeyDomainId(bytes(r[1])), r[2], r[3], r[4]) for r in rows]

    # --- registrations (initiation of key management, 6.3.2.2.2) ----------------------------
    def register(
        self,
        key_domain: KeyDomainId,
        key_group: int,
        impi: str,
        *,
        muk_id: MukId,
        host: str,
        port: int,
        now_unix: UnixS,
    ) -> tuple[Registration, bool]:
        """Register (or update) a UE for a Key Group; returns (registration, newly initiated).

        Writes only when something changed (the common repeated request costs one read).
        """
        current = self.registration(key_domain, key_group, impi)
        if current is not None and (current.muk_id, current.host, current.port) == (
            muk_id,
            host,
            port,
        ):
            return current, False
        self.register_many(key_domain, key_group, [(impi, muk_id, host, port)], now_unix)
        reg = self.registration(key_domain, key_group, impi)
        assert reg is not None
        return reg, current is None

    def register_many(
        self,
        key_domain: KeyDomainId,
        key_group: int,
        ues: Iterable[tuple[str, MukId, str, int]],
        now_unix: UnixS,
    ) -> int:
        """Register many (IMPI, MUK ID, host, port) in ONE transaction; returns how many."""
        rows = [
            (key_domain.value, key_group, impi, m.idi, m.idr, host, port, now_unix, now_unix)
            for impi, m, host, port in ues
        ]
        with self._db.write() as conn:
            conn.executemany(
                "INSERT INTO bmsc_registration (domain_id, key_group, impi, idi, idr, host, port, "
                "registered_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (domain_id, key_group, impi) DO UPDATE SET idi = excluded.idi, "
                "idr = excluded.idr, host = excluded.host, port = excluded.port, "
                "updated_at = excluded.updated_at",
                rows,
            )
        return len(rows)

    def registration(
        self, key_domain: KeyDomainId, key_group: int, impi: str
    ) -> Registration | None:
        row = self._db.one(
            f"SELECT {_REG_COLUMNS} FROM bmsc_registration "  # noqa: S608 - constant
            "WHERE domain_id = ? AND key_group = ? AND impi = ?",
            (key_domain.value, key_group, impi),
        )
        return None if row is None else _registration(row)

    def iter_registration_rows(
        self, key_domain: KeyDomainId, key_group: int, *, chunk: int = 10_000
    ) -> Iterator[list[RegistrationRow]]:
        """The group's registrations as light rows in id order, ``chunk`` at a time (bounded
        memory for a million UEs; each chunk is one consistent read)."""
        last = 0
        while True:
            with self._db.read() as conn:
                rows = conn.execute(
                    "SELECT id, impi, idi, idr, host, port FROM bmsc_registration "
                    "WHERE domain_id = ? AND key_group = ? AND id > ? ORDER BY id LIMIT ?",
                    (key_domain.value, key_group, last, chunk),
                ).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield list(map(RegistrationRow._make, rows))

    def count_registrations(self, key_domain: KeyDomainId, key_group: int) -> int:
        with self._db.read() as conn:
            (n,) = conn.execute(
                "SELECT count(*) FROM bmsc_registration WHERE domain_id = ? AND key_group = ?",
                (key_domain.value, key_group),
            ).fetchone()
        return int(n)

    # --- deliveries --------------------------------------------------------------------------
    @staticmethod
    def _delivery_row(d: NewDelivery, now_unix: UnixS) -> tuple[object, ...]:
        return (
            d.kind.value,
            d.key_domain.value,
            d.key_group,
            d.key_number,
            d.impi,
            d.muk_id.idi,
            d.muk_id.idr,
            d.host,
            d.port,
            d.csb_id,
            d.counter,
            int(d.ack_required),
            d.message,
            d.next_at,
            now_unix,
            d.reg_id or None,
            muk_tag(d.muk_id.idr),
        )

    @staticmethod
    def _supersede_row(d: NewDelivery, now_unix: UnixS) -> tuple[object, ...]:
        return (
            now_unix,
            d.reg_id or None,
            d.key_domain.value,
            d.key_group,
            d.impi,
            d.key_number,
            d.kind.value,
        )

    def add_deliveries(self, items: Sequence[NewDelivery], now_unix: UnixS) -> list[int]:
        """Record messages (one transaction); older pending rows for the same UE (IMPI) and
        the same MSK / pull are superseded. Returns the new row ids in order."""
        ids: list[int] = []
        with self._db.write() as conn:
            for d in items:
                conn.execute(_SUPERSEDE, self._supersede_row(d, now_unix))
                cur = conn.execute(_INSERT_DELIVERY, self._delivery_row(d, now_unix))
                assert cur.lastrowid is not None
                ids.append(cur.lastrowid)
        return ids

    def add_deliveries_bulk(
        self, items: Sequence[NewDelivery], now_unix: UnixS, *, supersede: bool = True
    ) -> None:
        """Record many messages in one transaction. With ``supersede``, older pending rows for
        the same UE and MSK are superseded first (a re-pushed NEXT MSK)."""
        rows = [self._delivery_row(d, now_unix) for d in items]
        with self._db.write() as conn:
            if supersede:
                conn.executemany(_SUPERSEDE, [self._supersede_row(d, now_unix) for d in items])
            conn.executemany(_INSERT_DELIVERY, rows)

    def add_push_round(
        self,
        *,
        kind: DeliveryKind,
        key_domain: KeyDomainId,
        key_group: int,
        key_number: int,
        ack_required: bool,
        next_at_unix: UnixS,
        now_unix: UnixS,
        rows: Sequence[tuple[RegistrationRow, int, int, bytes]],
        supersede: bool,
    ) -> None:
        """Record one message per UE of a push round in ONE transaction (the lean path of a
        rotation): ``rows`` = (registration, CSB ID, COUNTER, message)."""
        dom = key_domain.value
        k = kind.value
        ack = int(ack_required)
        with self._db.write() as conn:
            if supersede:
                conn.executemany(
                    _SUPERSEDE,
                    [
                        (now_unix, r.id, dom, key_group, r.impi, key_number, k)
                        for r, _, _, _ in rows
                    ],
                )
            conn.executemany(
                _INSERT_DELIVERY,
                [
                    (
                        k,
                        dom,
                        key_group,
                        key_number,
                        r.impi,
                        r.idi,
                        r.idr,
                        r.host,
                        r.port,
                        csb_id,
                        counter,
                        ack,
                        message,
                        next_at_unix,
                        now_unix,
                        r.id,
                        muk_tag(r.idr),
                    )
                    for r, csb_id, counter, message in rows
                ],
            )

    def due_for_send(self, now_unix: UnixS, limit: int) -> list[DueDelivery]:
        """Pending rows due at ``now_unix``, oldest first, as light rows (what a send needs),
        skipping a row while an earlier message (lower COUNTER) to the same MUK is still pending:
        the UE accepts MUK counters only in increasing order, so messages to one MUK go one at a
        time."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT id, kind, host, port, ack_required, attempts, message "  # noqa: S608
                f"FROM bmsc_delivery d WHERE state = 'pending' AND next_at <= ? AND {_NOT_BLOCKED} "
                "ORDER BY next_at LIMIT ?",
                (now_unix, limit),
            ).fetchall()
        return list(map(DueDelivery._make, rows))

    def next_due_at(self) -> UnixS | None:
        """When the next pending row that is not waiting behind another one is due."""
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT next_at FROM bmsc_delivery d "  # noqa: S608 - constant
                f"WHERE state = 'pending' AND {_NOT_BLOCKED} ORDER BY next_at LIMIT 1"
            ).fetchone()
        return None if row is None else UnixS(float(row[0]))

    def record_attempts(
        self,
        sent: Sequence[tuple[int, int, UnixS]],
        finished: Sequence[tuple[int, DeliveryState]],
        now_unix: UnixS,
    ) -> None:
        """One transaction: ``sent`` = (id, attempts, next_at); ``finished`` = (id, final state)
        for rows still pending (an ACK that raced with the retransmission wins)."""
        done = {i: st.value for i, st in finished}
        sent_and_done: list[tuple[object, ...]] = []
        sent_only: list[tuple[object, ...]] = []
        for i, attempts, next_at in sent:
            st = done.pop(i, None)
            if st is None:
                sent_only.append((attempts, next_at, i))
            else:
                sent_and_done.append((attempts, next_at, st, now_unix, i))
        with self._db.write() as conn:  # one UPDATE per row
            conn.executemany(
                "UPDATE bmsc_delivery SET attempts = ?, next_at = ? WHERE id = ? "
                "AND state = 'pending'",
                sent_only,
            )
            conn.executemany(
                "UPDATE bmsc_delivery SET attempts = ?, next_at = ?, state = ?, done_at = ? "
                "WHERE id = ? AND state = 'pending'",
                sent_and_done,
            )
            conn.executemany(
                "UPDATE bmsc_delivery SET state = ?, done_at = ? WHERE id = ? "
                "AND state = 'pending'",
                [(st, now_unix, i) for i, st in done.items()],
            )

    def pending_for_ack(
        self, idr: bytes, counter: int, csb_id: int, *, idi: bytes | None = None
    ) -> Delivery | None:
        """The MSK delivery a MIKEY ACK (IDr, COUNTER, CSB ID) may answer: the pending one, else
        (an ACK repeated after its delivery was done) the latest one of the UE's registrations
        under the MUK ID ``idi`` || ``idr`` (looked for only when ``idi`` is given)."""
        with self._db.read() as conn:
            row = conn.execute(
                f"SELECT {_DELIVERY_COLUMNS} FROM bmsc_delivery "  # noqa: S608 - constant
                "WHERE muk_tag = ? AND state = 'pending' AND counter = ? AND kind = 'msk' "
                "AND ack_required = 1 AND idr = ? AND csb_id = ? ORDER BY id DESC LIMIT 1",
                (muk_tag(idr), counter, idr, csb_id),
            ).fetchone()
            if row is None and idi is not None:
                row = conn.execute(
                    f"SELECT {_DELIVERY_COLUMNS} FROM bmsc_delivery "  # noqa: S608 - constant
                    "WHERE reg_id IN (SELECT id FROM bmsc_registration WHERE idi = ? AND idr = ?) "
                    "AND counter = ? AND kind = 'msk' AND ack_required = 1 AND idr = ? "
                    "AND csb_id = ? ORDER BY id DESC LIMIT 1",
                    (idi, idr, counter, idr, csb_id),
                ).fetchone()
        return None if row is None else _delivery(row)

    def mark_acked(self, ids: Sequence[int], now_unix: UnixS) -> int:
        with self._db.write() as conn:
            cur = conn.executemany(
                "UPDATE bmsc_delivery SET state = 'acked', done_at = ? WHERE id = ? "
                "AND state = 'pending'",
                [(now_unix, i) for i in ids],
            )
            return cur.rowcount

    def mark_pulls_answered(
        self, key_domain: KeyDomainId, key_group: int, impi: str, now_unix: UnixS
    ) -> int:
        reg = (
            "(SELECT id FROM bmsc_registration WHERE domain_id = ? AND key_group = ? AND impi = ?)"
        )
        args = (key_domain.value, key_group, impi)
        if not self._db.one(  # the common case: nothing to answer, no write
            f"SELECT 1 FROM bmsc_delivery WHERE reg_id = {reg} "  # noqa: S608 - constant
            "AND state = 'pending' AND kind = 'pull' LIMIT 1",
            args,
        ):
            return 0
        with self._db.write() as conn:
            return conn.execute(
                "UPDATE bmsc_delivery SET state = 'answered', done_at = ? "  # noqa: S608
                f"WHERE reg_id = {reg} AND state = 'pending' AND kind = 'pull'",
                (now_unix, *args),
            ).rowcount

    def delivery(self, delivery_id: int) -> Delivery:
        with self._db.read() as conn:
            row = conn.execute(
                f"SELECT {_DELIVERY_COLUMNS} FROM bmsc_delivery WHERE id = ?",  # noqa: S608
                (delivery_id,),
            ).fetchone()
        if row is None:
            raise UnknownSubscriber(f"no delivery {delivery_id}")
        return _delivery(row)

    def deliveries(
        self, *, impi: str | None = None, state: DeliveryState | None = None, limit: int = 1000
    ) -> list[Delivery]:
        where: list[str] = []
        args: list[object] = []
        if impi is not None:
            where.append("impi = ?")
            args.append(impi)
        if state is not None:
            where.append("state = ?")
            args.append(state.value)
        sql = f"SELECT {_DELIVERY_COLUMNS} FROM bmsc_delivery"  # noqa: S608 - constant
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._db.read() as conn:
            rows = conn.execute(sql + " ORDER BY id LIMIT ?", (*args, limit)).fetchall()
        return [_delivery(r) for r in rows]

    def delivery_counts(self) -> dict[str, int]:
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT state, count(*) FROM bmsc_delivery GROUP BY state"
            ).fetchall()
        return {str(s): int(n) for s, n in rows}

    def purge_deliveries(self, before_unix: UnixS) -> int:
        """Drop finished rows completed before ``before_unix`` (housekeeping)."""
        with self._db.write() as conn:
            return conn.execute(
                "DELETE FROM bmsc_delivery WHERE state != 'pending' AND done_at < ?",
                (before_unix,),
            ).rowcount

    # --- rotation schedule -------------------------------------------------------------------
    def schedule(
        self, key_domain: KeyDomainId, key_group: int
    ) -> tuple[UnixS | None, UnixS | None]:
        """(current_since, promote_at) of a group; (None, None) if never recorded."""
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT current_since, promote_at FROM bmsc_group_schedule WHERE domain_id = ? "
                "AND key_group = ?",
                (key_domain.value, key_group),
            ).fetchone()
        return (None, None) if row is None else (row[0], row[1])

    def set_schedule(
        self,
        key_domain: KeyDomainId,
        key_group: int,
        *,
        current_since_unix: UnixS | None,
        promote_at_unix: UnixS | None,
    ) -> None:
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO bmsc_group_schedule (domain_id, key_group, current_since, promote_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (domain_id, key_group) DO UPDATE SET "
                "current_since = excluded.current_since, promote_at = excluded.promote_at",
                (key_domain.value, key_group, current_since_unix, promote_at_unix),
            )
