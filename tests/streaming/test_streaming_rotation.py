"""MSK life cycle under a running stream: MTK ID range exhausted with no NEXT MSK (error status,
the last MTK stays in use), a NEXT MSK appearing (MTKs continue under it), and a rotation by the
BM-SC (the test plays it on the shared store file). The UE decrypts every packet throughout."""

from __future__ import annotations

import asyncio
from pathlib import Path

from streaming_support import (
    DOMAIN,
    SRTP,
    Capture,
    MiniUe,
    make_config,
    mtk_messages,
    run_until,
    srtp_mki,
    store_msks,
)

from broadcast.aio.streaming.service import StreamService
from broadcast.proto.keys import Msk, MskId, MskState
from broadcast.proto.mikey.mbms import envelope
from broadcast.proto.srtp import CryptoPolicy
from broadcast.store.keys import SQLiteKeyStore

HOST = "127.22.4.1"


def test_exhaustion_next_msk_and_rotation(tmp_path: Path) -> None:
    path = tmp_path / "keys.sqlite"
    bmsc = SQLiteKeyStore(path)  # the BM-SC's own store object on the shared file
    bmsc.add_key_domain(DOMAIN)
    bmsc.add_key_group(DOMAIN, 1, streaming=True)
    bmsc.add_msk(
        DOMAIN, MskId(1, 1), Msk(b"\x01" * 16), mtk_id_low=1, mtk_id_high=4, state=MskState.CURRENT
    )
    config = make_config(
        tmp_path,
        HOST,
        overrides={
            "keys": {"standalone": False},
            "mtk": {"period_packets": 20, "lead": 0.01, "interval": 0.005, "retry": 0.01},
        },
    )
    capture = Capture(HOST, config.session.port)
    capture.open()
    service = StreamService(config)
    phase = {"n": 0, "mark": 0}
    errors: list[str] = []

    def bm_sc(s: StreamService) -> None:
        st = s.status()
        if phase["n"] == 0 and st.error:
            errors.append(st.error)
            phase.update(n=1, mark=st.srtp_out)
        elif phase["n"] == 1 and st.srtp_out >= phase["mark"] + 100:
            # Streaming went on under the last MTK; now the BM-SC provides a NEXT MSK.
            assert st.mtk_id == "0004" and st.msk_id == "00010001" and st.error
            bmsc.add_msk(DOMAIN, MskId(1, 2), Msk(b"\x02" * 16), mtk_id_low=50)
            phase["n"] = 2
        elif phase["n"] == 2 and st.msk_id == "00010002" and st.switches >= 7:
            assert st.error is None
            bmsc.add_msk(DOMAIN, MskId(1, 3), Msk(b"\x03" * 16), mtk_id_low=7)
            bmsc.promote(DOMAIN, 1)  # the BM-SC rotates on its own schedule
            phase["n"] = 3

    def done(s: StreamService) -> bool:
        st = s.status()
        return phase["n"] == 3 and st.msk_id == "00010003" and st.mtk_id == "0009"

    try:
        asyncio.run(run_until(service, capture, done, during=bm_sc))
    finally:
        capture.close()
        bmsc.close()
    assert errors and "has no NEXT MSK" in errors[0] and "00010001" in errors[0]

    ids = []
    for data, _copies in sorted(mtk_messages(capture).items(), key=lambda kv: kv[1][0].ts):
        env = envelope(data)
        assert env.mtk_id is not None
        ids.append((env.msk_id.key_number, env.mtk_id.value, env.counter))
    msk1 = [(m, i) for m, i, _ in ids if m == 1]
    assert msk1 == [(1, 1), (1, 2), (1, 3), (1, 4)]
    assert [i for m, i, _ in ids if m == 2][:2] == [50, 51]
    assert [i for m, i, _ in ids if m == 3] == [7, 8, 9]
    for m in (1, 2, 3):
        counters = [c for k, _, c in ids if k == m]
        assert counters == list(range(1, len(counters) + 1))

    ue = MiniUe(store_msks(path), service.srtp_policy)
    ue.feed(capture.ordered())
    assert ue.decrypted == len(ue.results) == service.status().srtp_out
    # Packets kept flowing under MTK 0001/0004 during the error period.
    crypto = CryptoPolicy.from_srtp_policy(service.srtp_policy)
    last_of_msk1 = bytes.fromhex("000100010004")
    assert sum(srtp_mki(crypto, e.data) == last_of_msk1 for e in capture.of(SRTP)) >= 100
