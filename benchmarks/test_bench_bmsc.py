"""pytest-benchmark of the BM-SC MSK procedures' hot paths (run with --benchmark-disable in CI:
each runs once as a test). Full figures: ``benchmarks/compare_bmsc.py``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from broadcast.engine.bmsc.keymgmt import KeyManagement
from broadcast.engine.bmsc.settings import BmscConfig, KeyGroupConfig, PushConfig
from broadcast.proto.keys.ids import KeyDomainId, MskId
from broadcast.proto.keys.material import Muk
from broadcast.proto.keys.store import MukRecord
from broadcast.proto.msk.digest import DigestServer, NonceManager, build_authorization
from broadcast.proto.msk.gba import muk_id_for
from broadcast.proto.msk.msk_xml import build_msk_request, parse_msk_request
from broadcast.store.bmsc import SQLiteBmscStore
from broadcast.store.gba_sim import SQLiteGbaStore
from broadcast.store.keys import SQLiteKeyStore

KDID = KeyDomainId.from_plmn("001", "01")
FQDN = "bmsc.example.org"


def test_bench_digest_verify(benchmark: Any) -> None:
    server = DigestServer("realm", NonceManager(secret=b"k" * 32, max_tracked=10**6))
    nonce = server.nonces.issue(100.0)
    headers = iter(
        build_authorization(
            algorithm="SHA-256",
            username="btid@bsf",
            realm="realm",
            password="cGFzcw==",
            method="POST",
            uri="/keymanagement",
            nonce=nonce,
            nc=i,
            cnonce="c",
            opaque=server.nonces.opaque(),
        )
        for i in range(1, 10**6)
    )

    def verify() -> None:
        server.verify(
            next(headers),
            method="POST",
            uri="/keymanagement",
            now_unix=101.0,
            password_of=lambda u: "cGFzcw==",
        )

    benchmark(verify)


def test_bench_parse_msk_request(benchmark: Any) -> None:
    body = build_msk_request(KDID, [MskId.current(1), MskId(2, 5)])
    req = benchmark(parse_msk_request, body)
    assert req.msk_ids == (MskId.current(1), MskId(2, 5))


def test_bench_rotation_push_500_ues(benchmark: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "b.db")
    cfg = BmscConfig(
        fqdn=FQDN,
        store=path,
        key_domain=KDID,
        key_groups=(KeyGroupConfig(1),),
        push=PushConfig(ack_required=False),
    )
    keys, store, gba = SQLiteKeyStore(path), SQLiteBmscStore(path), SQLiteGbaStore(path)
    km = KeyManagement(cfg, keys, store, gba)
    km.ensure_groups(time.time())
    records = [
        MukRecord(muk_id_for(FQDN, f"b{i}@bsf"), Muk(i.to_bytes(16, "big")), 2**40)
        for i in range(500)
    ]
    keys.put_muks(records)
    store.register_many(
        KDID,
        1,
        [(f"u{i}", r.muk_id, "127.29.9.9", 2269) for i, r in enumerate(records)],
        time.time(),
    )
    msk = km.group_view(1, time.time(), refresh=True).current
    assert msk is not None
    report = benchmark(km.push_to_group, 1, msk, time.time())
    assert report.pushed == 500
    keys.close()
    store.close()
    gba.close()


def test_bench_counters_with_muks_2000(benchmark: Any, tmp_path: Path) -> None:
    keys = SQLiteKeyStore(str(tmp_path / "k.db"))
    records = [
        MukRecord(muk_id_for(FQDN, f"b{i}@bsf"), Muk(i.to_bytes(16, "big")), 2**40)
        for i in range(2000)
    ]
    keys.put_muks(records)
    ids = [r.muk_id for r in records]
    got = benchmark(keys.next_counters_with_muks, ids)
    assert len(got) == 2000 and all(rec is not None for _, rec in got)
    keys.close()
