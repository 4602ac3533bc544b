"""broadcast.store.durable: WAL + synchronous=FULL, BEGIN IMMEDIATE writes, error translation."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from broadcast.store.durable import DurableSqlite


class StoreFailure(Exception):
    pass


def open_db(tmp_path: Path, *, cache_kib: int = 0, foreign_keys: bool = False) -> DurableSqlite:
    return DurableSqlite(
        tmp_path / "d.sqlite",
        error=StoreFailure,
        label="test store",
        cache_kib=cache_kib,
        foreign_keys=foreign_keys,
    )


def test_pragmas_are_durable(tmp_path: Path) -> None:
    db = open_db(tmp_path, cache_kib=512, foreign_keys=True)
    conn = db.connection()
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert conn.execute("PRAGMA synchronous").fetchone() == (2,)
    assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
    assert conn.execute("PRAGMA cache_size").fetchone() == (-512,)
    db.close()
    plain = open_db(tmp_path)
    assert plain.connection().execute("PRAGMA foreign_keys").fetchone() == (0,)
    plain.close()


def test_write_commits_and_other_connection_sees_it(tmp_path: Path) -> None:
    db = open_db(tmp_path)
    with db.write() as c:
        c.execute("CREATE TABLE t (v INTEGER)")
        c.execute("INSERT INTO t VALUES (7)")
    other = open_db(tmp_path)
    assert other.one("SELECT v FROM t") == (7,)
    with other.read() as c:
        assert c.execute("SELECT count(*) FROM t").fetchone() == (1,)
    assert not other.connection().in_transaction
    other.close()
    db.close()


def test_write_rolls_back_on_any_exception(tmp_path: Path) -> None:
    db = open_db(tmp_path)
    with db.write() as c:
        c.execute("CREATE TABLE t (v INTEGER CHECK (v > 0))")
    with pytest.raises(ValueError, match="boom"), db.write() as c:
        c.execute("INSERT INTO t VALUES (1)")
        raise ValueError("boom")
    with pytest.raises(StoreFailure, match=r"^test store failure: CHECK") as info, db.write() as c:
        c.execute("INSERT INTO t VALUES (2)")
        c.execute("INSERT INTO t VALUES (-1)")
    assert isinstance(info.value.__cause__, sqlite3.IntegrityError)
    assert db.one("SELECT count(*) FROM t") == (0,)
    assert not db.connection().in_transaction
    db.close()


def test_read_and_one_translate_errors(tmp_path: Path) -> None:
    db = open_db(tmp_path)
    with pytest.raises(StoreFailure, match=r"^test store failure: no such table"):
        db.one("SELECT * FROM missing")
    with pytest.raises(StoreFailure, match=r"^test store failure: no such table"), db.read() as c:
        c.execute("SELECT * FROM missing")
    assert not db.connection().in_transaction
    db.close()


def test_closed_store_refuses_every_call(tmp_path: Path) -> None:
    db = open_db(tmp_path)
    db.close()
    db.close()  # idempotent
    for call in (db.connection, lambda: db.one("SELECT 1")):
        with pytest.raises(StoreFailure, match=r"^test store is closed$"):
            call()
    with pytest.raises(StoreFailure, match="closed"), db.write():
        pass
    with pytest.raises(StoreFailure, match="closed"), db.read():
        pass


def test_unopenable_path(tmp_path: Path) -> None:
    with pytest.raises(StoreFailure, match=r"^cannot (open|configure) test store "):
        DurableSqlite(tmp_path / "no" / "dir.sqlite", error=StoreFailure, label="test store")
