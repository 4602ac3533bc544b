"""broadcast.engine.keys.issuing: the MTK ID / counter allocation and standalone key set-up shared
by the streaming and the download MTK issuers (over a real SQLite key store, no sockets)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from broadcast.engine.keys.issuing import (
    CountersUsedUp,
    KeyGroupKindError,
    MskUsedUp,
    MtkAllocator,
    MtkIdsUsedUp,
    MtkUnavailable,
    draw,
    ensure_key_group,
)
from broadcast.proto.keys import (
    CounterExhausted,
    KeyDomainId,
    KeyModelError,
    KeyStateError,
    Msk,
    MskId,
    MskState,
    MtkId,
    MtkIdExhausted,
)
from broadcast.store.keys import SQLiteKeyStore

KD = KeyDomainId.from_plmn("001", "01")
MSK_A = Msk(bytes(range(16)))
MSK_B = Msk(bytes(range(16, 32)))


@pytest.fixture
def store(file_key_store: SQLiteKeyStore) -> SQLiteKeyStore:
    file_key_store.add_key_domain(KD)
    file_key_store.add_key_group(KD, 4, streaming=False)
    return file_key_store


@pytest.mark.parametrize("streaming", [True, False])
def test_ensure_creates_what_is_missing_for_either_kind(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, streaming: bool
) -> None:
    log = logging.getLogger("test.issuing")
    caplog.set_level(logging.INFO, "test.issuing")
    with SQLiteKeyStore(tmp_path / "k.sqlite") as store:
        rec = ensure_key_group(
            store, KD, 9, streaming=streaming, rand=lambda n: b"\x5a" * n, log=log
        )
        assert rec.msk_id == MskId(9, 1) and rec.state is MskState.CURRENT
        assert rec.key.secret == b"\x5a" * 16
        assert store.get_key_group(KD, 9).streaming is streaming
        again = ensure_key_group(store, KD, 9, streaming=streaming, log=log)
        assert again.msk_id == MskId(9, 1)  # idempotent: no second MSK
        assert len(store.list_msks(KD, 9)) == 1
    kind = "streaming" if streaming else "download"
    assert f"created {kind} Key Group 9" in caplog.text and "00090001" in caplog.text
    assert "5a5a5a5a" not in caplog.text.lower()  # the MSK ID is logged, never the key


def test_ensure_promotes_next_then_numbers_above_the_highest(store: SQLiteKeyStore) -> None:
    store.add_msk(KD, MskId(4, 3), MSK_A, state=MskState.CURRENT)
    store.retire(KD, MskId(4, 3))
    store.add_msk(KD, MskId(4, 5), MSK_B)  # only a NEXT one: promoted, not replaced
    assert ensure_key_group(store, KD, 4, streaming=False).msk_id == MskId(4, 5)
    assert store.get_msk(KD, MskId(4, 5)).state is MskState.CURRENT
    store.retire(KD, MskId(4, 5))
    # No CURRENT, no NEXT: a new MSK above the highest Key Number used (never 1 again).
    assert ensure_key_group(store, KD, 4, streaming=False).msk_id == MskId(4, 6)


def test_ensure_refuses_a_group_of_the_other_kind(store: SQLiteKeyStore) -> None:
    store.add_key_group(KD, 5, streaming=True)
    with pytest.raises(KeyGroupKindError, match="not a streaming group"):
        ensure_key_group(store, KD, 4, streaming=True)
    with pytest.raises(KeyGroupKindError, match="a streaming group, not a download group"):
        ensure_key_group(store, KD, 5, streaming=False)
    assert store.list_msks(KD, 4) == [] and store.list_msks(KD, 5) == []


def test_allocate_follows_current_and_promotes_next_when_used_up(
    store: SQLiteKeyStore, caplog: pytest.LogCaptureFixture
) -> None:
    store.add_msk(KD, MskId(4, 1), MSK_A, mtk_id_low=7, mtk_id_high=8, state=MskState.CURRENT)
    store.add_msk(KD, MskId(4, 2), MSK_B, mtk_id_low=20, mtk_id_high=20)
    alloc = MtkAllocator(store, KD, 4, streaming=False)
    got = [alloc.allocate() for _ in range(3)]
    assert [(a.msk_id, a.mtk_id, a.counter) for a in got] == [
        (MskId(4, 1), MtkId(7), 1),
        (MskId(4, 1), MtkId(8), 2),
        (MskId(4, 2), MtkId(20), 1),
    ]
    assert got[2].msk.key == MSK_B and got[2].key_domain == KD
    assert store.get_msk(KD, MskId(4, 1)).state is MskState.RETIRED
    assert "promoted NEXT MSK 00040002" in caplog.text
    # Used up with no NEXT MSK: one error that is both "no MTK now" and "MTK IDs exhausted".
    with pytest.raises(MtkIdsUsedUp, match="has no NEXT MSK") as err:
        alloc.allocate()
    assert isinstance(err.value, MskUsedUp) and isinstance(err.value, MtkIdExhausted)
    assert MSK_B.secret.hex() not in str(err.value)
    # The store remembers the last MTK ID handed out under the promoted MSK.
    assert store.current_mtk_id(KD, MskId(4, 2)) == MtkId(20)


def test_no_current_msk_and_store_failures_are_mtk_unavailable(store: SQLiteKeyStore) -> None:
    with pytest.raises(MtkUnavailable, match=r"Key Group 4 .* no CURRENT MSK"):
        MtkAllocator(store, KD, 4, streaming=False).allocate()
    store.add_msk(KD, MskId(4, 1), MSK_A, state=MskState.CURRENT)
    alloc = MtkAllocator(store, KD, 4, streaming=False)
    store.close()
    with pytest.raises(MtkUnavailable, match=r"key store: .*closed") as err:
        alloc.allocate()
    assert isinstance(err.value, KeyModelError)


class _RotatingStore(SQLiteKeyStore):
    """Promotes the NEXT MSK right before the first MTK ID allocation: the MSK just read is
    retired under the allocator, as when the BM-SC rotates concurrently."""

    rotate = True

    def allocate_mtk_id(self, key_domain: KeyDomainId, msk_id: MskId) -> MtkId:
        if self.rotate:
            self.rotate = False
            self.promote(key_domain, msk_id.key_group)
        return super().allocate_mtk_id(key_domain, msk_id)


def test_msk_retired_mid_allocation_is_read_again(tmp_path: Path) -> None:
    with _RotatingStore(tmp_path / "k.sqlite") as store:
        store.add_key_domain(KD)
        store.add_key_group(KD, 4)
        store.add_msk(KD, MskId(4, 1), MSK_A, state=MskState.CURRENT)
        store.add_msk(KD, MskId(4, 2), MSK_B, mtk_id_low=50)
        with pytest.raises(KeyStateError):  # what the allocator sees underneath
            store.allocate_mtk_id(KD, MskId(4, 1))
        store.rotate = True
        store.add_msk(KD, MskId(4, 3), MSK_A, mtk_id_low=90)
        a = MtkAllocator(store, KD, 4, streaming=False).allocate()
        assert (a.msk_id, a.mtk_id, a.counter) == (MskId(4, 3), MtkId(90), 1)


class _CounterExhaustedStore(SQLiteKeyStore):
    def next_counter_for_msk(self, key_domain: KeyDomainId, msk_id: MskId) -> int:
        if msk_id.key_number == 1:
            raise CounterExhausted(f"the TS counter of MSK {msk_id} is exhausted")
        return super().next_counter_for_msk(key_domain, msk_id)


def test_used_up_counters_promote_next_or_raise(tmp_path: Path) -> None:
    with _CounterExhaustedStore(tmp_path / "k.sqlite") as store:
        store.add_key_domain(KD)
        store.add_key_group(KD, 4, streaming=True)
        store.add_msk(KD, MskId(4, 1), MSK_A, state=MskState.CURRENT)
        alloc = MtkAllocator(store, KD, 4, streaming=True)
        with pytest.raises(CountersUsedUp, match="TS counters") as err:
            alloc.allocate()
        assert isinstance(err.value, CounterExhausted) and isinstance(err.value, MtkUnavailable)
        store.add_msk(KD, MskId(4, 2), MSK_B)
        a = alloc.allocate()
        assert (a.msk_id, a.counter) == (MskId(4, 2), 1)


def test_draw_checks_the_random_source() -> None:
    assert draw(lambda n: b"\x01" * n, 3) == b"\x01\x01\x01"
    with pytest.raises(ValueError, match=r"rand\(16\) did not return 16 bytes"):
        draw(lambda n: b"\x01" * (n - 1), 16)
    with pytest.raises(ValueError, match="did not return"):
        draw(bytearray, 4)  # a bytearray is not bytes
