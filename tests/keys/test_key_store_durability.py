"""Durability of allocations across processes and crashes (store.py "Durability contract").

profile.md "T": a counter is made durable BEFORE the message leaves. So: two processes on one
file never get the same value, and a process killed at any moment never makes the store hand out
again a value it had already returned.
"""

from __future__ import annotations

import itertools
import multiprocessing
import sys
from pathlib import Path

import pytest
from testkit import sigkill_after_lines

from broadcast.proto.keys import KeyDomainId, Msk, MskId, MskState, MukId
from broadcast.store.keys import SQLiteKeyStore

DOMAIN_HEX = "00F110"
DOMAIN = KeyDomainId.from_hex(DOMAIN_HEX)
MSK_ID = MskId(1, 1)
MUK_ID = MukId.of("bmsc.example.org", "b-tid@bsf.example.org")


def _prepare(path: Path) -> None:
    with SQLiteKeyStore(path) as store:
        store.add_key_domain(DOMAIN)
        store.add_key_group(DOMAIN, MSK_ID.key_group, streaming=True)
        store.add_msk(DOMAIN, MSK_ID, Msk(b"\x11" * 16), state=MskState.CURRENT)


def _allocate_many(path: str, count: int) -> tuple[list[int], list[int], list[int]]:
    """Worker: ``count`` allocations of each kind, in its own store object."""
    muk_counters: list[int] = []
    msk_counters: list[int] = []
    mtk_ids: list[int] = []
    with SQLiteKeyStore(path, busy_timeout=60.0) as store:
        for _ in range(count):
            muk_counters.append(store.next_counter_for_muk(MUK_ID))
            mtk_ids.append(int(store.allocate_mtk_id(DOMAIN, MSK_ID)))
            msk_counters.append(store.next_counter_for_msk(DOMAIN, MSK_ID))
    return muk_counters, msk_counters, mtk_ids


def test_two_processes_never_share_a_value(tmp_path: Path) -> None:
    path = tmp_path / "keys.db"
    _prepare(path)
    workers, count = 2, 200
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(workers) as pool:
        pending = pool.starmap_async(_allocate_many, [(str(path), count)] * workers)
        results = pending.get(timeout=300)  # a guard against a hang, not a timing assertion
    for kind in range(3):
        per_worker = [result[kind] for result in results]
        for values in per_worker:
            assert len(values) == count
            assert all(a < b for a, b in itertools.pairwise(values))
        merged = [v for values in per_worker for v in values]
        assert len(set(merged)) == len(merged), "a value was handed out twice"
        assert sorted(merged) == list(range(1, workers * count + 1))


_CHILD = """
import sys
from broadcast.proto.keys import KeyDomainId, MskId, MukId
from broadcast.store.keys import SQLiteKeyStore

store = SQLiteKeyStore(sys.argv[1])
domain = KeyDomainId.from_hex(sys.argv[2])
msk_id = MskId(1, 1)
muk_id = MukId.of("bmsc.example.org", "b-tid@bsf.example.org")
for _ in range(int(sys.argv[3])):
    c_muk = store.next_counter_for_muk(muk_id)
    mtk = int(store.allocate_mtk_id(domain, msk_id))
    c_msk = store.next_counter_for_msk(domain, msk_id)
    print(c_muk, mtk, c_msk, flush=True)
"""


@pytest.mark.parametrize("lines_before_kill", [1, 50, 400])
def test_sigkill_never_causes_reuse(tmp_path: Path, lines_before_kill: int) -> None:
    path = tmp_path / "keys.db"
    _prepare(path)
    # 60000 iterations stays below the 65535 MTK IDs and far beyond what runs before the kill.
    lines, err = sigkill_after_lines(
        [sys.executable, "-c", _CHILD, str(path), DOMAIN_HEX, "60000"], lines_before_kill
    )
    printed: list[tuple[int, int, int]] = []
    for line in lines:
        fields = line.split()
        if len(fields) == 3:
            printed.append((int(fields[0]), int(fields[1]), int(fields[2])))
    assert printed, err
    with SQLiteKeyStore(path) as store:
        assert store.next_counter_for_muk(MUK_ID) > max(p[0] for p in printed)
        assert int(store.allocate_mtk_id(DOMAIN, MSK_ID)) > max(p[1] for p in printed)
        assert store.next_counter_for_msk(DOMAIN, MSK_ID) > max(p[2] for p in printed)
        current = store.current_mtk_id(DOMAIN, MSK_ID)
        assert current is not None and int(current) > max(p[1] for p in printed)
