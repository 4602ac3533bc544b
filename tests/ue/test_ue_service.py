"""The reference UE as a service: starting decisions (TS 33.246 6.3.2.2.2), a run over loopback
with the key log, the missed-update hook, the report (addresses 127.27.2.x)."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import stat
from pathlib import Path

import pytest
from testkit import async_wait_until
from ue_support import (
    KDID,
    MSK2_BYTES,
    MSK2_ID,
    MSK_BYTES,
    MSK_ID,
    StreamSender,
    counter_rand,
    msk_entry,
    udp_rx_queue,
    write_announcement,
)

from broadcast.aio.ue.service import ReferenceUe, default_srtp_policy
from broadcast.config.ue import UeConfig
from broadcast.engine.ue.errors import UiccKeyManagementRequired
from broadcast.proto.announce.protection import parse_protection_description
from broadcast.proto.keys import MskId
from broadcast.proto.mikey.constants import SrtpAuthAlg, SrtpEncrAlg
from broadcast.proto.mikey.srtp_policy import SrtpPolicy


def config(tmp_path: Path, host: str, **kw: object) -> UeConfig:
    xml, sdp = write_announcement(tmp_path, host, **kw)  # type: ignore[arg-type]
    return UeConfig(xml, (sdp,), msks=(msk_entry(),), keylog=tmp_path / "keys.log")


def test_refuses_when_uicc_key_management_is_required(tmp_path: Path) -> None:
    ue = ReferenceUe(config(tmp_path, "127.27.2.1", uicc=True))
    with pytest.raises(UiccKeyManagementRequired, match="ME-based"):
        asyncio.run(ue.start())
    assert ue.status == "refused"
    assert udp_rx_queue("127.27.2.1", 2269) is None  # nothing was bound
    assert not (tmp_path / "keys.log").exists()
    assert ue.report().to_json()["status"] == "refused"


def test_does_nothing_when_both_protections_are_off(tmp_path: Path) -> None:
    ue = ReferenceUe(config(tmp_path, "127.27.2.2", confidentiality=False, integrity=False))
    asyncio.run(ue.start())
    assert ue.status == "not-protected"
    assert "nothing to do" in ue.message
    assert ue.streaming == [] and len(ue.msks) == 0
    assert udp_rx_queue("127.27.2.2", 2269) is None
    assert not (tmp_path / "keys.log").exists()
    report = ue.report()
    assert report.to_json()["status"] == "not-protected"
    assert "nothing to do" in report.to_text()


@pytest.mark.parametrize(
    ("confidentiality", "integrity", "encr", "auth"),
    [(False, True, SrtpEncrAlg.NULL, SrtpAuthAlg.RCCM2), (True, False, SrtpEncrAlg.AES_CM, 0)],
)
def test_one_protection_off_picks_the_matching_default_policy(
    tmp_path: Path, confidentiality: bool, integrity: bool, encr: int, auth: int
) -> None:
    xml, _ = write_announcement(
        tmp_path, "127.27.2.3", confidentiality=confidentiality, integrity=integrity
    )
    policy = default_srtp_policy(parse_protection_description(xml.read_bytes()), None)
    assert isinstance(policy, SrtpPolicy)
    assert (policy.encr_alg, policy.srtp_auth_alg) == (encr, auth)


async def _run(tmp_path: Path, host: str) -> tuple[ReferenceUe, StreamSender]:
    cfg = config(tmp_path, host)
    ue = ReferenceUe(cfg, rand=counter_rand())
    ue.msk_client_counters = lambda: {"requests": 1}
    missed: list[tuple[object, MskId]] = []
    ue.on_missed_msk(lambda kd, m: missed.append((kd, m)))
    tx = StreamSender()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    async with ue:
        ((_, client),) = ue.streaming
        stats = client.stats
        k1 = tx.new_mtk()
        sock.sendto(tx.mtk_message(k1), (host, 2269))
        assert await async_wait_until(lambda: stats.mtk_accepted == 1)
        for _ in range(10):
            sock.sendto(tx.packet(k1), (host, 5004))
        k2 = tx.new_mtk()
        sock.sendto(tx.mtk_message(k2), (host, 2269))
        assert await async_wait_until(lambda: stats.mtk_accepted == 2)
        for _ in range(10):
            sock.sendto(tx.packet(k2), (host, 5004))
        # An MTK under an MSK this UE never got: the missed key update is signalled.
        k3 = tx.new_mtk(MSK2_ID)
        sock.sendto(tx.mtk_message(k3), (host, 2269))
        assert await async_wait_until(lambda: stats.srtp_decrypted == 20 and len(missed) == 1)
    sock.close()
    assert missed == [(KDID, MSK2_ID)]
    return ue, tx


def test_run_writes_the_keylog_and_reports(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ue, tx = asyncio.run(asyncio.wait_for(_run(tmp_path, "127.27.2.4"), 30))
    log_path = tmp_path / "keys.log"
    assert stat.S_IMODE(log_path.stat().st_mode) == 0o600
    k1, k2, _ = tx.keys
    assert log_path.read_text().splitlines() == [
        f"MSK 00f110 {bytes(MSK_ID).hex()} {MSK_BYTES.hex()}",
        f"MTK 00f110 {bytes(MSK_ID).hex()} 0001 {k1.mtk.secret.hex()} {k1.salt.secret.hex()}",
        f"MTK 00f110 {bytes(MSK_ID).hex()} 0002 {k2.mtk.secret.hex()} {k2.salt.secret.hex()}",
    ]
    report = ue.report()
    data = report.to_json()
    assert data["status"] == "ran"
    (session,) = data["streaming"]  # type: ignore[misc]
    counters = session["counters"]
    assert counters["srtp_decrypted"] == 20
    assert counters["mtk_accepted"] == 2
    assert counters["mtk_rejected"] == {"unknown_msk": 1}
    assert counters["missed_msk_signals"] == 1
    assert data["missed_msk_updates"] == [f"{KDID}/{MSK2_ID}"]
    assert data["msk"] == {
        "known": 1,
        "added": {"config": 1},
        "ids": [f"{KDID}/{MSK_ID}"],
        "client": {"requests": 1},
    }
    json.dumps(data)  # serialisable
    text = report.to_text()
    assert "SRTP packets decrypted" in text and "stream.sdp" in text
    # The only place key bytes go is the key log: not the logs, not the report.
    everything = (caplog.text + text + json.dumps(data) + repr(ue.msks)).lower()
    for secret in (MSK_BYTES, MSK2_BYTES, k1.mtk.secret, k1.salt.secret, k2.mtk.secret):
        assert secret.hex() not in everything
