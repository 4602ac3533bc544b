"""MtkIssuer of a streaming Key Group and its standalone set-up (``ensure``) over a real SQLite
key store (no sockets); the download kind is in tests/download/test_download_keys_config.py."""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from broadcast.engine.keys.issuing import MtkUnavailable
from broadcast.engine.keys.mtk import MtkIssuer, cs_id_map
from broadcast.proto.keys import KeyDomainId, Msk, MskId, MskRecord, MskState, MtkId
from broadcast.proto.mikey.mbms import envelope, open_mtk_message
from broadcast.proto.mikey.payloads import SrtpCs
from broadcast.store.keys import SQLiteKeyStore

DOMAIN = KeyDomainId.from_plmn("001", "01")
MSK1 = Msk(bytes(range(16)))
MSK2 = Msk(bytes(range(16, 32)))


def make_rand() -> Callable[[int], bytes]:
    c = itertools.count(1)
    return lambda n: bytes([next(c) % 256]) * n


@pytest.fixture
def store(file_key_store: SQLiteKeyStore) -> SQLiteKeyStore:
    file_key_store.add_key_domain(DOMAIN)
    file_key_store.add_key_group(DOMAIN, 7, streaming=True)
    return file_key_store


def test_issue_builds_a_streaming_mtk_message(store: SQLiteKeyStore) -> None:
    store.add_msk(DOMAIN, MskId(7, 1), MSK1, mtk_id_low=5, mtk_id_high=9, state=MskState.CURRENT)
    issuer = MtkIssuer(store, DOMAIN, 7, streaming=True, rand=make_rand())
    a = issuer.issue([(0xAAAA, 0), (0xBBBB, 3)])
    b = issuer.issue([])
    assert (a.msk_id, a.mtk_id, a.counter) == (MskId(7, 1), MtkId(5), 1)
    assert (b.mtk_id, b.counter) == (MtkId(6), 2)
    assert a.mki == bytes.fromhex("00070001") + bytes.fromhex("0005")
    assert a.mtk != b.mtk and a.salt != b.salt  # fresh key and salt per MTK
    d = open_mtk_message(envelope(a.message), MSK1)
    assert d.mtk == a.mtk and d.salt == a.salt and d.mki == a.mki
    assert d.srtp_sessions == (SrtpCs(0, 0xAAAA, 0), SrtpCs(0, 0xBBBB, 3))
    assert open_mtk_message(envelope(b.message), MSK1).srtp_sessions == (SrtpCs(0, 0, 0),)
    # Durable: another store object on the file sees the allocations.
    with SQLiteKeyStore(store_path(store)) as other:
        assert other.current_mtk_id(DOMAIN, MskId(7, 1)) == MtkId(6)
        assert other.next_counter_for_msk(DOMAIN, MskId(7, 1)) == 3


def standalone(
    store: SQLiteKeyStore, key_group: int, rand: Callable[[int], bytes] = os.urandom
) -> MskRecord:
    """What ``mbms stream`` does without a BM-SC: the streaming issuer's ``ensure``."""
    return MtkIssuer(store, DOMAIN, key_group, streaming=True, rand=rand).ensure()


def store_path(store: SQLiteKeyStore) -> str:
    conn = store._connection()
    (row,) = [r for r in conn.execute("PRAGMA database_list") if r[1] == "main"]
    return str(row[2])


def test_repr_shows_no_key_material(store: SQLiteKeyStore) -> None:
    store.add_msk(DOMAIN, MskId(7, 1), MSK1, state=MskState.CURRENT)
    m = MtkIssuer(store, DOMAIN, 7, streaming=True).issue()
    text = repr(m) + str(m)
    assert m.mtk.secret.hex() not in text and m.salt.secret.hex() not in text
    assert "redacted" in text and m.message.hex() not in text


def test_follows_the_stores_current_msk(store: SQLiteKeyStore) -> None:
    store.add_msk(DOMAIN, MskId(7, 1), MSK1, state=MskState.CURRENT)
    issuer = MtkIssuer(store, DOMAIN, 7, streaming=True)
    assert issuer.issue().msk_id == MskId(7, 1)
    store.add_msk(DOMAIN, MskId(7, 2), MSK2, mtk_id_low=100)  # the BM-SC rotates
    assert issuer.issue().msk_id == MskId(7, 1)
    store.promote(DOMAIN, 7)
    m = issuer.issue()
    assert (m.msk_id, m.mtk_id, m.counter) == (MskId(7, 2), MtkId(100), 1)
    assert open_mtk_message(envelope(m.message), MSK2).mtk == m.mtk


def test_exhausted_range_promotes_next(
    store: SQLiteKeyStore, caplog: pytest.LogCaptureFixture
) -> None:
    store.add_msk(DOMAIN, MskId(7, 1), MSK1, mtk_id_low=1, mtk_id_high=2, state=MskState.CURRENT)
    store.add_msk(DOMAIN, MskId(7, 2), MSK2, mtk_id_low=3, mtk_id_high=3)
    issuer = MtkIssuer(store, DOMAIN, 7, streaming=True)
    ids = [(m.msk_id.key_number, m.mtk_id.value) for m in (issuer.issue() for _ in range(3))]
    assert ids == [(1, 1), (1, 2), (2, 3)]
    assert store.get_msk(DOMAIN, MskId(7, 1)).state is MskState.RETIRED
    assert "promoted NEXT MSK 00070002" in caplog.text
    with pytest.raises(MtkUnavailable, match="has no NEXT MSK") as err:
        issuer.issue()
    assert MSK2.secret.hex() not in str(err.value)
    # The BM-SC adds a NEXT MSK: MTKs continue under it.
    store.add_msk(DOMAIN, MskId(7, 3), MSK1)
    assert issuer.issue().msk_id == MskId(7, 3)


def test_no_current_msk(store: SQLiteKeyStore) -> None:
    with pytest.raises(MtkUnavailable, match="no CURRENT MSK"):
        MtkIssuer(store, DOMAIN, 7, streaming=True).issue()
    with pytest.raises(MtkUnavailable, match=r"Key Group 9 .* no CURRENT MSK"):
        MtkIssuer(store, DOMAIN, 9, streaming=True).issue()  # an unknown group has none either


def test_cs_id_map_defaults_to_ssrc_zero() -> None:
    assert cs_id_map([]) == (SrtpCs(0, 0, 0),)
    assert cs_id_map([(1, 2)]) == (SrtpCs(0, 1, 2),)


def test_standalone_creates_what_is_missing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "broadcast.engine.keys.issuing")
    with SQLiteKeyStore(tmp_path / "k.sqlite") as store:
        rec = standalone(store, 3, rand=lambda n: b"\x5a" * n)
        assert rec.msk_id == MskId(3, 1) and rec.state is MskState.CURRENT
        assert store.get_key_group(DOMAIN, 3).streaming
        assert standalone(store, 3).msk_id == MskId(3, 1)  # idempotent
        store.retire(DOMAIN, MskId(3, 1))
        store.add_msk(DOMAIN, MskId(3, 2), MSK2)  # only a NEXT one: promoted
        assert standalone(store, 3).msk_id == MskId(3, 2)
        store.retire(DOMAIN, MskId(3, 2))
        assert standalone(store, 3).msk_id == MskId(3, 3)
    assert "00030001" in caplog.text
    assert "5a5a5a5a" not in caplog.text.lower()


def test_standalone_refuses_a_download_group(store: SQLiteKeyStore) -> None:
    store.add_key_group(DOMAIN, 8, streaming=False)
    with pytest.raises(MtkUnavailable, match="not a streaming group"):
        standalone(store, 8)
