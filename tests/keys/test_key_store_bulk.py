"""Bulk operations of the key store (store.py): ``next_counters_for_muks``, ``put_muks``,
``get_muks`` — same values and guarantees as the single calls, one transaction, all-or-nothing,
and never a value twice across processes or after a SIGKILL (profile.md "T")."""

from __future__ import annotations

import itertools
import multiprocessing
import sqlite3
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from testkit import sigkill_after_lines

from broadcast import profile
from broadcast.proto.keys import CounterExhausted, KeyStoreError, Muk, MukId, MukRecord
from broadcast.store import keys as sqlite_store_module
from broadcast.store.keys import SCHEMA_VERSION, SQLiteKeyStore


def muk_id(n: int) -> MukId:
    return MukId.of("bmsc.example.org", f"b-tid-{n}@bsf.example.org")


@pytest.fixture
def store(memory_key_store: SQLiteKeyStore) -> SQLiteKeyStore:
    return memory_key_store


# --- next_counters_for_muks ----------------------------------------------------------------------
def test_bulk_counters_in_order_with_repeats(store: SQLiteKeyStore) -> None:
    a, b = muk_id(1), muk_id(2)
    assert store.next_counter_for_muk(a) == 1
    assert store.next_counters_for_muks([a, b, a, a, b]) == [2, 1, 3, 4, 2]
    assert store.next_counter_for_muk(a) == 5
    assert store.next_counter_for_muk(b) == 3
    assert store.next_counters_for_muks([]) == []


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.integers(0, 5), max_size=12), max_size=6))
def test_bulk_counters_equal_single_calls(batches: list[list[int]]) -> None:
    with SQLiteKeyStore(":memory:") as bulk, SQLiteKeyStore(":memory:") as single:
        for batch in batches:
            ids = [muk_id(n) for n in batch]
            assert bulk.next_counters_for_muks(ids) == [single.next_counter_for_muk(m) for m in ids]


def test_bulk_counters_across_chunks(
    store: SQLiteKeyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_store_module, "BULK_CHUNK", 7)
    ids = [muk_id(n) for n in range(30)]
    assert store.next_counters_for_muks(ids) == [1] * 30
    assert store.next_counters_for_muks(ids + ids[:3]) == [2] * 30 + [3] * 3


def test_bulk_counters_survive_muk_replacement_and_purge(store: SQLiteKeyStore) -> None:
    m = muk_id(1)
    store.put_muk(m, Muk(b"\x01" * 16), expires_at_unix=10)
    assert store.next_counters_for_muks([m, m]) == [1, 2]
    store.purge_expired_muks(100)
    store.put_muk(m, Muk(b"\x02" * 16), expires_at_unix=1000)
    assert store.next_counters_for_muks([m]) == [3]


def _set_counter(path: Path, m: MukId, last: int) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO muk_entry (idi, idr, last) VALUES (?, ?, ?) "
            "ON CONFLICT (idi, idr) DO UPDATE SET last = excluded.last",
            (m.idi, m.idr, last),
        )


def test_bulk_counters_exhaustion_hands_out_nothing(tmp_path: Path) -> None:
    path = tmp_path / "keys.db"
    full, other = muk_id(1), muk_id(2)
    with SQLiteKeyStore(path):
        pass
    _set_counter(path, full, profile.COUNTER_MAX - 1)
    with SQLiteKeyStore(path) as store:
        with pytest.raises(CounterExhausted, match=r"b-tid-1@bsf\.example\.org") as info:
            store.next_counters_for_muks([other, full, full])
        assert "\\x" not in str(info.value)
        # all-or-nothing: the other MUK ID did not advance, the full one has one value left
        assert store.next_counters_for_muks([other]) == [1]
        assert store.next_counters_for_muks([full]) == [profile.COUNTER_MAX]
        with pytest.raises(CounterExhausted):
            store.next_counters_for_muks([full])
        with pytest.raises(CounterExhausted):
            store.next_counter_for_muk(full)


def test_bulk_refuses_what_is_not_a_muk_id(store: SQLiteKeyStore) -> None:
    with pytest.raises(TypeError):
        store.next_counters_for_muks([b"not-a-muk-id"])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        store.get_muks(["x"])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        store.put_muks([muk_id(1)])  # type: ignore[list-item]
    assert store.next_counter_for_muk(muk_id(1)) == 1  # nothing was allocated by the refusals


def test_bulk_on_a_closed_store() -> None:
    s = SQLiteKeyStore(":memory:")
    s.close()
    with pytest.raises(KeyStoreError):
        s.next_counters_for_muks([muk_id(1)])
    with pytest.raises(KeyStoreError):
        s.get_muks([muk_id(1)])
    with pytest.raises(KeyStoreError):
        s.put_muks([])


# --- put_muks / get_muks -------------------------------------------------------------------------
def test_put_and_get_many_muks(store: SQLiteKeyStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_store_module, "BULK_CHUNK", 4)
    records = [MukRecord(muk_id(n), Muk(bytes([n]) * 16), 100 + n) for n in range(10)]
    assert store.put_muks(records) == 10
    wanted = [muk_id(n) for n in (0, 3, 3, 9, 42, 7)]
    got = store.get_muks(wanted)
    assert set(got) == {muk_id(n) for n in (0, 3, 9, 7)}  # 42 has no MUK: absent
    for n in (0, 3, 9, 7):
        rec = got[muk_id(n)]
        assert rec.key == Muk(bytes([n]) * 16) and rec.expires_at == 100 + n
        assert rec == store.get_muk(muk_id(n))
    # replacing: the new key and expiry win, expired MUKs are still returned
    store.put_muks([MukRecord(muk_id(3), Muk(b"\xaa" * 16), 5)])
    assert store.get_muks([muk_id(3)])[muk_id(3)].key == Muk(b"\xaa" * 16)
    assert store.get_muks([muk_id(3)])[muk_id(3)].is_expired(6)
    assert store.get_muks([]) == {}
    assert "\\xaa" not in repr(store.get_muks([muk_id(3)]))


# --- durability: two processes, SIGKILL ----------------------------------------------------
IDS = [muk_id(n) for n in range(5)]


def _bulk_worker(path: str, rounds: int) -> list[list[int]]:
    with SQLiteKeyStore(path, busy_timeout=60.0) as store:
        return [store.next_counters_for_muks(IDS) for _ in range(rounds)]


def test_two_processes_bulk_never_share_a_value(tmp_path: Path) -> None:
    path = tmp_path / "keys.db"
    with SQLiteKeyStore(path):
        pass
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        pending = pool.starmap_async(_bulk_worker, [(str(path), 60)] * 2)
        results = pending.get(timeout=300)  # a guard against a hang, not a timing assertion
    for i in range(len(IDS)):
        per_worker = [[r[i] for r in rounds] for rounds in results]
        for values in per_worker:
            assert all(a < b for a, b in itertools.pairwise(values))
        merged = sorted(v for values in per_worker for v in values)
        assert merged == list(range(1, 121)), "a value was handed out twice (or skipped)"


_CHILD = """
import sys
from broadcast.proto.keys import MukId
from broadcast.store.keys import SQLiteKeyStore

store = SQLiteKeyStore(sys.argv[1])
ids = [MukId.of("bmsc.example.org", f"b-tid-{n}@bsf.example.org") for n in range(5)]
for _ in range(int(sys.argv[2])):
    print(*store.next_counters_for_muks(ids + ids[:2]), flush=True)
"""


@pytest.mark.parametrize("lines_before_kill", [1, 60])
def test_sigkill_during_bulk_never_causes_reuse(tmp_path: Path, lines_before_kill: int) -> None:
    path = tmp_path / "keys.db"
    with SQLiteKeyStore(path):
        pass
    printed, err = sigkill_after_lines(
        [sys.executable, "-c", _CHILD, str(path), "100000"], lines_before_kill
    )
    highest = [0] * 5
    for line in printed:
        fields = line.split()
        if len(fields) == 7:
            values = [int(f) for f in fields]
            for i, v in enumerate(values):
                highest[i % 5] = max(highest[i % 5], v)
    assert all(highest), err
    with SQLiteKeyStore(path) as store:
        after = store.next_counters_for_muks(IDS)
    assert all(a > h for a, h in zip(after, highest, strict=True))


# --- next_counters_with_muks -----------------------------------------------------------
def test_counters_with_muks(store: SQLiteKeyStore) -> None:
    a, b, c = muk_id(1), muk_id(2), muk_id(3)
    store.put_muks([MukRecord(a, Muk(b"\x01" * 16), 100), MukRecord(b, Muk(b"\x02" * 16), 5)])
    store.next_counter_for_muk(b)
    got = store.next_counters_with_muks([a, b, c, a])
    assert [counter for counter, _ in got] == [1, 2, 1, 2]
    assert got[0][1] == MukRecord(a, Muk(b"\x01" * 16), 100) and got[3][1] == got[0][1]
    assert got[1][1] is not None and got[1][1].is_expired(5)  # expired MUKs are returned
    assert got[2][1] is None  # no MUK stored: the counter is allocated and simply never used
    store.purge_expired_muks(50)
    assert [(n, r is None) for n, r in store.next_counters_with_muks([b, a])] == [
        (3, True),
        (3, False),
    ]
    assert store.next_counters_for_muks([c]) == [2]  # one counter sequence per MUK ID


# --- schema versions 1 and 2 -> 3 (muk_entry) -------------------------------------------------
_V1_TABLES = (
    """CREATE TABLE muk (idi BLOB NOT NULL, idr BLOB NOT NULL, key BLOB NOT NULL,
    expires_at INTEGER NOT NULL, PRIMARY KEY (idi, idr)) WITHOUT ROWID""",
    """CREATE TABLE muk_counter (idi BLOB NOT NULL, idr BLOB NOT NULL,
    last INTEGER NOT NULL CHECK (last BETWEEN 1 AND 4294967295),
    PRIMARY KEY (idi, idr)) WITHOUT ROWID""",
)
_V2_COUNTER = """CREATE TABLE muk_counter (id INTEGER PRIMARY KEY, idi BLOB NOT NULL,
    idr BLOB NOT NULL, last INTEGER NOT NULL, UNIQUE (idi, idr))"""


@pytest.mark.parametrize("version", [1, 2])
def test_old_muk_tables_are_migrated_and_counters_continue(tmp_path: Path, version: int) -> None:
    path = tmp_path / f"v{version}.db"
    raw = sqlite3.connect(path)
    raw.execute(_V1_TABLES[0])
    raw.execute(_V1_TABLES[1] if version == 1 else _V2_COUNTER)
    with_key, counter_only, key_only = muk_id(1), muk_id(2), muk_id(3)
    raw.execute("INSERT INTO muk VALUES (?, ?, ?, 77)", (with_key.idi, with_key.idr, b"\x05" * 16))
    raw.execute("INSERT INTO muk VALUES (?, ?, ?, 88)", (key_only.idi, key_only.idr, b"\x06" * 16))
    raw.execute(
        "INSERT INTO muk_counter (idi, idr, last) VALUES (?, ?, 41)", (with_key.idi, with_key.idr)
    )
    raw.execute(
        "INSERT INTO muk_counter (idi, idr, last) VALUES (?, ?, 9)",
        (counter_only.idi, counter_only.idr),
    )
    raw.execute(f"PRAGMA user_version = {version}")
    raw.commit()
    raw.close()
    with SQLiteKeyStore(path) as store:
        assert store.get_muk(with_key) == MukRecord(with_key, Muk(b"\x05" * 16), 77)
        assert store.get_muk(key_only).expires_at == 88
        assert store.next_counters_for_muks([with_key, counter_only, key_only]) == [42, 10, 1]
    check = sqlite3.connect(path)
    try:
        assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        tables = {r[0] for r in check.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert "muk" not in tables and "muk_counter" not in tables and "muk_entry" in tables
    finally:
        check.close()
    with SQLiteKeyStore(path) as store:  # reopening a current store changes nothing
        assert store.next_counter_for_muk(with_key) == 43
