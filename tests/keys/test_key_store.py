"""The key store: every operation of SQLiteKeyStore (store.py, sqlite_store.py)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broadcast import profile
from broadcast.proto.keys import (
    CounterExhausted,
    DuplicateKey,
    InvalidIdentifier,
    KeyDomainId,
    KeyGroupRecord,
    KeyStateError,
    KeyStore,
    KeyStoreError,
    Msk,
    MskId,
    MskRecord,
    MskState,
    MtkId,
    MtkIdExhausted,
    Muk,
    MukId,
    MukRecord,
    UnknownKey,
)
from broadcast.store.keys import SCHEMA_VERSION, SQLiteKeyStore

DOMAIN = KeyDomainId.from_plmn("001", "01")
OTHER_DOMAIN = KeyDomainId.from_plmn("310", "410")
GROUP = 1
MUK_ID = MukId.of("bmsc.example.org", "b-tid@bsf.example.org")


def key(n: int) -> Msk:
    return Msk(bytes([n]) * 16)


@pytest.fixture
def store(memory_key_store: SQLiteKeyStore) -> SQLiteKeyStore:
    memory_key_store.add_key_domain(DOMAIN)
    memory_key_store.add_key_group(DOMAIN, GROUP, streaming=True)
    return memory_key_store


# --- records -----------------------------------------------------------------------------------
def test_sqlite_store_is_a_key_store() -> None:
    with SQLiteKeyStore(":memory:") as s:
        store_: KeyStore = s
        assert store_.list_key_domains() == []


def test_msk_record_validation() -> None:
    with pytest.raises(InvalidIdentifier):
        MskRecord(DOMAIN, MskId(1, 0), key(1), 1, 10, MskState.NEXT)
    with pytest.raises(InvalidIdentifier):
        MskRecord(DOMAIN, MskId(1, 1), key(1), 0, 10, MskState.NEXT)
    with pytest.raises(InvalidIdentifier):
        MskRecord(DOMAIN, MskId(1, 1), key(1), 10, 9, MskState.NEXT)
    with pytest.raises(InvalidIdentifier):
        MskRecord(DOMAIN, MskId(1, 1), key(1), 1, 0x10000, MskState.NEXT)
    with pytest.raises(TypeError):
        MskRecord(DOMAIN, MskId(1, 1), b"\x00" * 16, 1, 2, MskState.NEXT)  # type: ignore[arg-type]


@given(st.binary(min_size=16, max_size=16))
def test_record_reprs_hide_keys(raw: bytes) -> None:
    msk = MskRecord(DOMAIN, MskId(1, 1), Msk(raw), 1, 2, MskState.CURRENT)
    muk = MukRecord(MUK_ID, Muk(raw), 100)
    for text in (repr(msk), str(msk), repr(muk), str(muk)):
        assert raw.hex() not in text.lower()


def test_muk_record_expiry() -> None:
    rec = MukRecord(MUK_ID, Muk(b"\x01" * 16), 1000)
    assert not rec.is_expired(999)
    assert rec.is_expired(1000)
    with pytest.raises(TypeError):
        MukRecord(MUK_ID, Muk(b"\x01" * 16), 1.5)  # type: ignore[arg-type]


# --- Key Domains and Key Groups ----------------------------------------------------------------
def test_key_domains(store: SQLiteKeyStore) -> None:
    store.add_key_domain(OTHER_DOMAIN)
    assert store.list_key_domains() == sorted([DOMAIN, OTHER_DOMAIN], key=bytes)
    with pytest.raises(DuplicateKey):
        store.add_key_domain(DOMAIN)


def test_key_groups(store: SQLiteKeyStore) -> None:
    assert store.add_key_group(DOMAIN, 0) == KeyGroupRecord(DOMAIN, 0, streaming=False)
    store.add_key_group(DOMAIN, 0xFFFF, streaming=False)
    assert store.get_key_group(DOMAIN, GROUP) == KeyGroupRecord(DOMAIN, GROUP, streaming=True)
    assert [g.key_group for g in store.list_key_groups(DOMAIN)] == [0, GROUP, 0xFFFF]
    assert not store.get_key_group(DOMAIN, 0).streaming
    with pytest.raises(DuplicateKey):
        store.add_key_group(DOMAIN, GROUP)
    with pytest.raises(UnknownKey):
        store.add_key_group(OTHER_DOMAIN, GROUP)
    with pytest.raises(UnknownKey):
        store.get_key_group(DOMAIN, 2)
    with pytest.raises(UnknownKey):
        store.list_key_groups(OTHER_DOMAIN)
    for bad in (-1, 0x10000):
        with pytest.raises(InvalidIdentifier):
            store.add_key_group(DOMAIN, bad)


def test_same_group_number_in_two_domains_is_independent(store: SQLiteKeyStore) -> None:
    store.add_key_domain(OTHER_DOMAIN)
    store.add_key_group(OTHER_DOMAIN, GROUP)
    store.add_msk(DOMAIN, MskId(GROUP, 1), key(1), state=MskState.CURRENT)
    store.add_msk(OTHER_DOMAIN, MskId(GROUP, 1), key(2), state=MskState.CURRENT)
    assert store.get_msk(DOMAIN, MskId(GROUP, 0)).key == key(1)
    assert store.get_msk(OTHER_DOMAIN, MskId(GROUP, 0)).key == key(2)
    assert store.allocate_mtk_id(DOMAIN, MskId(GROUP, 1)) == MtkId(1)
    assert store.allocate_mtk_id(OTHER_DOMAIN, MskId(GROUP, 1)) == MtkId(1)


# --- MSKs -----------------------------------------------------------------------------------------
def test_add_and_get_msk(store: SQLiteKeyStore) -> None:
    rec = store.add_msk(
        DOMAIN, MskId(GROUP, 5), key(5), mtk_id_low=10, mtk_id_high=20, state=MskState.CURRENT
    )
    assert rec == MskRecord(DOMAIN, MskId(GROUP, 5), key(5), 10, 20, MskState.CURRENT)
    assert rec.key_group == GROUP
    assert store.get_msk(DOMAIN, MskId(GROUP, 5)) == rec
    assert store.get_msk(DOMAIN, MskId(GROUP, 5)).key.secret == bytes([5]) * 16


def test_add_msk_defaults(store: SQLiteKeyStore) -> None:
    rec = store.add_msk(DOMAIN, MskId(GROUP, 1), key(1))
    assert (rec.mtk_id_low, rec.mtk_id_high) == (profile.MTK_ID_MIN, profile.MTK_ID_MAX)
    assert rec.state is MskState.NEXT


def test_add_msk_with_key_number_zero_refused(store: SQLiteKeyStore) -> None:
    with pytest.raises(InvalidIdentifier):
        store.add_msk(DOMAIN, MskId.current(GROUP), key(1), state=MskState.CURRENT)
    assert store.list_msks(DOMAIN, GROUP) == []


def test_add_msk_errors(store: SQLiteKeyStore) -> None:
    store.add_msk(DOMAIN, MskId(GROUP, 1), key(1), state=MskState.CURRENT)
    with pytest.raises(DuplicateKey):  # Key Numbers are unique in a group, whatever the state
        store.add_msk(DOMAIN, MskId(GROUP, 1), key(9), state=MskState.NEXT)
    with pytest.raises(UnknownKey):
        store.add_msk(DOMAIN, MskId(2, 1), key(1))
    with pytest.raises(UnknownKey):
        store.add_msk(OTHER_DOMAIN, MskId(GROUP, 1), key(1))
    with pytest.raises(InvalidIdentifier):
        store.add_msk(DOMAIN, MskId(GROUP, 2), key(2), mtk_id_low=0)
    with pytest.raises(InvalidIdentifier):
        store.add_msk(DOMAIN, MskId(GROUP, 2), key(2), mtk_id_low=5, mtk_id_high=4)
    assert [m.msk_id for m in store.list_msks(DOMAIN, GROUP)] == [MskId(GROUP, 1)]


def test_only_one_current_and_one_next(store: SQLiteKeyStore) -> None:
    store.add_msk(DOMAIN, MskId(GROUP, 1), key(1), state=MskState.CURRENT)
    with pytest.raises(KeyStateError):
        store.add_msk(DOMAIN, MskId(GROUP, 2), key(2), state=MskState.CURRENT)
    store.add_msk(DOMAIN, MskId(GROUP, 2), key(2), state=MskState.NEXT)
    with pytest.raises(KeyStateError):
        store.add_msk(DOMAIN, MskId(GROUP, 3), key(3), state=MskState.NEXT)
    store.add_msk(DOMAIN, MskId(GROUP, 3), key(3), state=MskState.RETIRED)
    store.add_msk(DOMAIN, MskId(GROUP, 4), key(4), state=MskState.RETIRED)
    states = [(m.msk_id.key_number, m.state) for m in store.list_msks(DOMAIN, GROUP)]
    assert states == [
        (1, MskState.CURRENT),
        (2, MskState.NEXT),
        (3, MskState.RETIRED),
        (4, MskState.RETIRED),
    ]


def test_key_number_zero_resolves_to_current(store: SQLiteKeyStore) -> None:
    alias = MskId.current(GROUP)
    with pytest.raises(UnknownKey):
        store.get_msk(DOMAIN, alias)
    store.add_msk(DOMAIN, MskId(GROUP, 7), key(7), state=MskState.NEXT)
    with pytest.raises(UnknownKey):  # a NEXT MSK is not the current one
        store.get_msk(DOMAIN, alias)
    store.add_msk(DOMAIN, MskId(GROUP, 3), key(3), state=MskState.CURRENT)
    assert store.get_msk(DOMAIN, alias).msk_id == MskId(GROUP, 3)
    store.promote(DOMAIN, GROUP)
    assert store.get_msk(DOMAIN, alias).msk_id == MskId(GROUP, 7)
    assert store.get_msk(DOMAIN, alias).key == key(7)


def test_get_msk_unknown(store: SQLiteKeyStore) -> None:
    with pytest.raises(UnknownKey):
        store.get_msk(DOMAIN, MskId(GROUP, 1))
    with pytest.raises(UnknownKey):
        store.get_msk(OTHER_DOMAIN, MskId(GROUP, 1))
    with pytest.raises(UnknownKey):
        store.list_msks(DOMAIN, 99)


def test_promote(store: SQLiteKeyStore) -> None:
    with pytest.raises(KeyStateError):
        store.promote(DOMAIN, GROUP)
    store.add_msk(DOMAIN, MskId(GROUP, 1), key(1), state=MskState.NEXT)
    # no current yet: promoting makes the next one current
    assert store.promote(DOMAIN, GROUP).msk_id == MskId(GROUP, 1)
    with pytest.raises(KeyStateError):  # no next any more
        store.promote(DOMAIN, GROUP)
    store.add_msk(DOMAIN, MskId(GROUP, 2), key(2), state=MskState.NEXT)
    new = store.promote(DOMAIN, GROUP)
    assert (new.msk_id, new.state) == (MskId(GROUP, 2), MskState.CURRENT)
    assert store.get_msk(DOMAIN, MskId(GROUP, 1)).state is MskState.RETIRED
    # after promotion there is room for a new NEXT
    store.add_msk(DOMAIN, MskId(GROUP, 3), key(3), state=MskState.NEXT)
    with pytest.raises(UnknownKey):
        store.promote(DOMAIN, 42)


def test_retire(store: SQLiteKeyStore) -> None:
    store.add_msk(DOMAIN, MskId(GROUP, 1), key(1), state=MskState.CURRENT)
    store.add_msk(DOMAIN, MskId(GROUP, 2), key(2), state=MskState.NEXT)
    assert store.retire(DOMAIN, MskId(GROUP, 2)).state is MskState.RETIRED
    assert store.retire(DOMAIN, MskId(GROUP, 2)).state is MskState.RETIRED  # idempotent
    assert store.retire(DOMAIN, MskId(GROUP, 1)).state is MskState.RETIRED
    with pytest.raises(UnknownKey):  # no current MSK any more
        store.get_msk(DOMAIN, MskId.current(GROUP))
    with pytest.raises(KeyStateError):  # retired is terminal
        store.promote(DOMAIN, GROUP)
    with pytest.raises(InvalidIdentifier):
        store.retire(DOMAIN, MskId.current(GROUP))
    with pytest.raises(UnknownKey):
        store.retire(DOMAIN, MskId(GROUP, 9))
    # a new current can be added once the old one is retired
    store.add_msk(DOMAIN, MskId(GROUP, 3), key(3), state=MskState.CURRENT)


# --- MTK IDs --------------------------------------------------------------------------------------
def test_mtk_ids_strictly_increasing_then_exhausted(store: SQLiteKeyStore) -> None:
    msk_id = MskId(GROUP, 1)
    store.add_msk(DOMAIN, msk_id, key(1), mtk_id_low=100, mtk_id_high=149, state=MskState.CURRENT)
    assert store.current_mtk_id(DOMAIN, msk_id) is None
    got = [store.allocate_mtk_id(DOMAIN, msk_id) for _ in range(50)]
    assert got == [MtkId(v) for v in range(100, 150)]
    assert store.current_mtk_id(DOMAIN, msk_id) == MtkId(149)
    for _ in range(3):
        with pytest.raises(MtkIdExhausted):
            store.allocate_mtk_id(DOMAIN, msk_id)
    assert store.current_mtk_id(DOMAIN, msk_id) == MtkId(149)


def test_mtk_id_full_range_ends_at_65535(store: SQLiteKeyStore) -> None:
    msk_id = MskId(GROUP, 1)
    store.add_msk(DOMAIN, msk_id, key(1), mtk_id_low=0xFFFE, state=MskState.CURRENT)
    assert store.allocate_mtk_id(DOMAIN, msk_id) == MtkId(0xFFFE)
    assert store.allocate_mtk_id(DOMAIN, msk_id) == MtkId(0xFFFF)
    with pytest.raises(MtkIdExhausted):
        store.allocate_mtk_id(DOMAIN, msk_id)


def test_mtk_ids_are_per_msk(store: SQLiteKeyStore) -> None:
    store.add_msk(DOMAIN, MskId(GROUP, 1), key(1), state=MskState.CURRENT)
    store.add_msk(DOMAIN, MskId(GROUP, 2), key(2), mtk_id_low=7, state=MskState.NEXT)
    assert store.allocate_mtk_id(DOMAIN, MskId(GROUP, 1)) == MtkId(1)
    # the NEXT MSK may already get MTKs (sent ahead of the switch)
    assert store.allocate_mtk_id(DOMAIN, MskId(GROUP, 2)) == MtkId(7)
    assert store.allocate_mtk_id(DOMAIN, MskId(GROUP, 1)) == MtkId(2)
    assert store.current_mtk_id(DOMAIN, MskId(GROUP, 2)) == MtkId(7)


def test_mtk_id_allocation_refusals(store: SQLiteKeyStore) -> None:
    store.add_msk(DOMAIN, MskId(GROUP, 1), key(1), state=MskState.RETIRED)
    with pytest.raises(KeyStateError):
        store.allocate_mtk_id(DOMAIN, MskId(GROUP, 1))
    with pytest.raises(InvalidIdentifier):
        store.allocate_mtk_id(DOMAIN, MskId.current(GROUP))
    with pytest.raises(InvalidIdentifier):
        store.current_mtk_id(DOMAIN, MskId.current(GROUP))
    with pytest.raises(UnknownKey):
        store.allocate_mtk_id(DOMAIN, MskId(GROUP, 2))
    with pytest.raises(UnknownKey):
        store.current_mtk_id(DOMAIN, MskId(GROUP, 2))


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 0xFFFF), st.integers(0, 40), st.integers(1, 60))
def test_mtk_id_allocation_property(low: int, span: int, calls: int) -> None:
    high = min(low + span, profile.MTK_ID_MAX)
    msk_id = MskId(GROUP, 1)
    with SQLiteKeyStore(":memory:") as s:
        s.add_key_domain(DOMAIN)
        s.add_key_group(DOMAIN, GROUP)
        s.add_msk(DOMAIN, msk_id, key(1), mtk_id_low=low, mtk_id_high=high, state=MskState.NEXT)
        got: list[int] = []
        for _ in range(calls):
            try:
                got.append(int(s.allocate_mtk_id(DOMAIN, msk_id)))
            except MtkIdExhausted:
                break
        assert got == list(range(low, min(high, low + calls - 1) + 1))


# --- MIKEY TS counters -------------------------------------------------------------------------
def test_muk_counter_starts_at_one_and_increases(store: SQLiteKeyStore) -> None:
    assert [store.next_counter_for_muk(MUK_ID) for _ in range(100)] == list(range(1, 101))
    other = MukId.of("bmsc.example.org", "other@bsf.example.org")
    assert store.next_counter_for_muk(other) == 1
    # IDi || IDr is not split ambiguously: ("ab", "c") and ("a", "bc") are different MUK IDs
    assert store.next_counter_for_muk(MukId(b"ab", b"c")) == 1
    assert store.next_counter_for_muk(MukId(b"a", b"bc")) == 1


def test_muk_counter_survives_muk_replacement_and_purge(store: SQLiteKeyStore) -> None:
    store.put_muk(MUK_ID, Muk(b"\x01" * 16), expires_at_unix=10)
    assert store.next_counter_for_muk(MUK_ID) == 1
    store.put_muk(MUK_ID, Muk(b"\x02" * 16), expires_at_unix=20)
    assert store.next_counter_for_muk(MUK_ID) == 2
    assert store.purge_expired_muks(now_unix=100) == 1
    assert store.next_counter_for_muk(MUK_ID) == 3


def test_msk_counter(store: SQLiteKeyStore) -> None:
    store.add_msk(DOMAIN, MskId(GROUP, 1), key(1), state=MskState.CURRENT)
    store.add_msk(DOMAIN, MskId(GROUP, 2), key(2), state=MskState.NEXT)
    assert [store.next_counter_for_msk(DOMAIN, MskId(GROUP, 1)) for _ in range(50)] == list(
        range(1, 51)
    )
    assert store.next_counter_for_msk(DOMAIN, MskId(GROUP, 2)) == 1
    # independent of the MTK ID and of the MUK counters
    assert store.allocate_mtk_id(DOMAIN, MskId(GROUP, 1)) == MtkId(1)
    assert store.next_counter_for_muk(MUK_ID) == 1
    assert store.next_counter_for_msk(DOMAIN, MskId(GROUP, 1)) == 51
    with pytest.raises(InvalidIdentifier):
        store.next_counter_for_msk(DOMAIN, MskId.current(GROUP))
    with pytest.raises(UnknownKey):
        store.next_counter_for_msk(DOMAIN, MskId(GROUP, 3))
    store.retire(DOMAIN, MskId(GROUP, 2))
    with pytest.raises(KeyStateError):
        store.next_counter_for_msk(DOMAIN, MskId(GROUP, 2))


def test_counters_exhaust_at_32_bits(tmp_path: Path) -> None:
    path = tmp_path / "keys.db"
    msk_id = MskId(GROUP, 1)
    with SQLiteKeyStore(path) as s:
        s.add_key_domain(DOMAIN)
        s.add_key_group(DOMAIN, GROUP)
        s.add_msk(DOMAIN, msk_id, key(1), state=MskState.CURRENT)
        s.next_counter_for_muk(MUK_ID)
    # Jump to just below the limit (the store has no public setter, on purpose).
    raw = sqlite3.connect(path)
    with raw:
        raw.execute("UPDATE muk_entry SET last = ?", (profile.COUNTER_MAX - 2,))
        raw.execute("UPDATE msk SET ts_counter = ?", (profile.COUNTER_MAX - 2,))
    raw.close()
    with SQLiteKeyStore(path) as s:
        assert s.next_counter_for_muk(MUK_ID) == 0xFFFF_FFFE
        assert s.next_counter_for_muk(MUK_ID) == 0xFFFF_FFFF
        assert s.next_counter_for_msk(DOMAIN, msk_id) == 0xFFFF_FFFE
        assert s.next_counter_for_msk(DOMAIN, msk_id) == 0xFFFF_FFFF
        for _ in range(2):
            with pytest.raises(CounterExhausted):
                s.next_counter_for_muk(MUK_ID)
            with pytest.raises(CounterExhausted):
                s.next_counter_for_msk(DOMAIN, msk_id)


# --- MUKs ----------------------------------------------------------------------------------------
def test_muks(store: SQLiteKeyStore) -> None:
    with pytest.raises(UnknownKey):
        store.get_muk(MUK_ID)
    rec = store.put_muk(MUK_ID, Muk(b"\x01" * 16), expires_at_unix=1_000)
    assert store.get_muk(MUK_ID) == rec
    replaced = store.put_muk(MUK_ID, Muk(b"\x02" * 16), expires_at_unix=2_000)
    assert store.get_muk(MUK_ID) == replaced
    assert store.get_muk(MUK_ID).key.secret == b"\x02" * 16
    other = MukId.of("bmsc.example.org", "other@bsf.example.org")
    store.put_muk(other, Muk(b"\x03" * 16), expires_at_unix=3_000)
    assert store.purge_expired_muks(now_unix=1_999) == 0
    assert store.purge_expired_muks(now_unix=2_000) == 1
    with pytest.raises(UnknownKey):
        store.get_muk(MUK_ID)
    assert store.get_muk(other).expires_at == 3_000


# --- errors, life cycle, threads ----------------------------------------------------------------
def test_errors_never_contain_key_bytes(store: SQLiteKeyStore) -> None:
    secret = bytes(range(0x40, 0x50))
    store.add_msk(DOMAIN, MskId(GROUP, 1), Msk(secret), mtk_id_high=1, state=MskState.CURRENT)
    store.allocate_mtk_id(DOMAIN, MskId(GROUP, 1))
    errors: list[Exception] = []
    for action in (
        lambda: store.add_msk(DOMAIN, MskId(GROUP, 1), Msk(secret)),
        lambda: store.add_msk(DOMAIN, MskId(GROUP, 2), Msk(secret), state=MskState.CURRENT),
        lambda: store.allocate_mtk_id(DOMAIN, MskId(GROUP, 1)),
    ):
        with pytest.raises((DuplicateKey, KeyStateError, MtkIdExhausted)) as info:
            action()
        errors.append(info.value)
    for err in errors:
        text = f"{err!s} {err!r}"
        assert secret.hex() not in text.lower()
        assert repr(secret) not in text


def test_close_and_context_manager(tmp_path: Path) -> None:
    s = SQLiteKeyStore(tmp_path / "k.db")
    with s as entered:
        assert entered is s
    with pytest.raises(KeyStoreError):
        s.list_key_domains()
    with pytest.raises(KeyStoreError):
        s.next_counter_for_muk(MUK_ID)
    s.close()  # idempotent


def test_file_pragmas_and_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    SQLiteKeyStore(path).close()
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        raw.commit()
    finally:
        raw.close()
    with pytest.raises(KeyStoreError):
        SQLiteKeyStore(path)


def test_reopen_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    with SQLiteKeyStore(str(path)) as s:
        s.add_key_domain(DOMAIN)
        s.add_key_group(DOMAIN, GROUP, streaming=True)
        s.add_msk(DOMAIN, MskId(GROUP, 1), key(1), mtk_id_low=5, state=MskState.CURRENT)
        s.put_muk(MUK_ID, Muk(b"\x07" * 16), expires_at_unix=99)
        mtk = s.allocate_mtk_id(DOMAIN, MskId(GROUP, 1))
        c_muk = s.next_counter_for_muk(MUK_ID)
        c_msk = s.next_counter_for_msk(DOMAIN, MskId(GROUP, 1))
    with SQLiteKeyStore(path) as s:
        assert s.list_key_domains() == [DOMAIN]
        assert s.get_key_group(DOMAIN, GROUP).streaming
        assert s.get_msk(DOMAIN, MskId.current(GROUP)).key == key(1)
        assert s.get_muk(MUK_ID).key == Muk(b"\x07" * 16)
        assert s.current_mtk_id(DOMAIN, MskId(GROUP, 1)) == mtk
        assert s.allocate_mtk_id(DOMAIN, MskId(GROUP, 1)) > mtk
        assert s.next_counter_for_muk(MUK_ID) > c_muk
        assert s.next_counter_for_msk(DOMAIN, MskId(GROUP, 1)) > c_msk


def test_threads_share_one_store(tmp_path: Path) -> None:
    with SQLiteKeyStore(tmp_path / "k.db") as s:
        results: list[list[int]] = [[] for _ in range(4)]

        def work(out: list[int]) -> None:
            for _ in range(50):
                out.append(s.next_counter_for_muk(MUK_ID))

        threads = [threading.Thread(target=work, args=(out,)) for out in results]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        values = [v for out in results for v in out]
        assert sorted(values) == list(range(1, 201))
        for out in results:
            assert out == sorted(out)
