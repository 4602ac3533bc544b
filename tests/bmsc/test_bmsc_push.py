"""The full loop on real sockets (loopback 127.24.x.x): MSK request -> 200 -> MSK push -> verified
by the UE -> MIKEY ACK -> delivery done; no ACK -> same bytes re-sent, then given up; solicited
pull -> UE request -> push; rotation reaches every registered UE; missed key update."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from pathlib import Path

from bmsc_support import TIMEOUT, add_subscriber, config, run, ue
from testkit import async_wait_until

from broadcast.aio.bmsc.service import BmscService
from broadcast.aio.ue.msk_client import MskClient, MskEvent
from broadcast.engine.bmsc.settings import KeyGroupConfig
from broadcast.proto.keys.ids import MskId
from broadcast.proto.mikey.mbms import Kind, envelope
from broadcast.proto.msk.store import Delivery, DeliveryState, Subscription
from broadcast.store.bmsc import SQLiteBmscStore


async def _next(client: MskClient, kind: str) -> MskEvent:
    while True:
        ev = await asyncio.wait_for(client.events.get(), TIMEOUT)
        if ev.kind == kind:
            return ev


def _states(svc: BmscService) -> dict[str, int]:
    return svc.km.store.delivery_counts()


def test_request_push_verify_ack_done(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    key = add_subscriber(cfg, "ue1@ims.example", (1, 2))

    async def main() -> None:
        async with BmscService(cfg) as svc, ue(svc, key, "127.24.1.1", 2269) as client:
            ans = await client.request([MskId.current(1), MskId.current(2)])
            assert [s.code for s in ans.statuses] == [200, 200]
            got = {(await _next(client, "msk")).key_group for _ in range(2)}
            assert got == {1, 2}
            d2 = client.verifier.msk(cfg.key_domain, MskId(2, 1))
            assert d2 is not None and d2.srtp_policy is not None  # streaming group: SP payload
            d1 = client.verifier.msk(cfg.key_domain, MskId(1, 1))
            assert d1 is not None and d1.srtp_policy is None
            assert d1.envelope.ack_requested
            current = svc.km.keys.get_msk(cfg.key_domain, MskId.current(1))
            assert d1.msk == current.key
            assert await async_wait_until(lambda: _states(svc).get("acked") == 2)
            assert client.stats["ack_sent"] == 2 and svc.push.stats["ack_ok"] == 2
            reg = svc.km.store.registration(cfg.key_domain, 1, "ue1@ims.example")
            assert reg is not None and (reg.host, reg.port) == ("127.24.1.1", 2269)
            # missed key update: asking again gives a new message with a new counter
            first = svc.km.store.deliveries(impi="ue1@ims.example")
            await client.request([MskId.current(1)])
            await _next(client, "msk")
            assert await async_wait_until(lambda: _states(svc).get("acked") == 3)
            later = svc.km.store.deliveries(impi="ue1@ims.example")[-1]
            assert later.counter > max(d.counter for d in first)
            assert later.message not in {d.message for d in first}

    run(main)


def test_no_ack_retransmits_same_bytes_then_gives_up(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    key = add_subscriber(cfg, "ue2@ims.example", (1,))
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.24.1.2", 0))
    sink.settimeout(TIMEOUT)
    store = SQLiteBmscStore(cfg.store)
    store.add_subscription(
        Subscription("ue2@ims.example", cfg.key_domain, 1, "127.24.1.2", sink.getsockname()[1])
    )
    store.close()
    failed: list[Delivery] = []

    async def main() -> None:
        async with (
            BmscService(cfg, on_failed=failed.append) as svc,
            ue(svc, key, "127.24.1.3") as client,
        ):
            await client.request([MskId.current(1)])
            assert await async_wait_until(lambda: _states(svc).get("failed") == 1)
            assert svc.push.stats["msk_sent"] == 1 and svc.push.stats["msk_resent"] == 2

    try:
        run(main)
        received = [sink.recv(2048) for _ in range(cfg.push.max_attempts)]
    finally:
        sink.close()
    assert len(set(received)) == 1  # the same bytes every time
    assert envelope(received[0]).kind is Kind.MSK
    assert len(failed) == 1 and failed[0].attempts == cfg.push.max_attempts


def test_lost_ack_is_answered_again_on_the_retransmission(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    key = add_subscriber(cfg, "ue3@ims.example", (1,))

    async def main() -> None:
        async with BmscService(cfg) as svc, ue(svc, key, "127.24.1.4", 2269) as client:
            real_send = client._send
            dropped: list[bytes] = []

            def lossy(data: bytes, addr: tuple[object, ...]) -> None:
                if not dropped:
                    dropped.append(data)  # the first ACK is lost
                    return
                real_send(data, addr)

            client._send = lossy  # type: ignore[method-assign]
            await client.request([MskId.current(1)])
            assert await async_wait_until(lambda: _states(svc).get("acked") == 1)
            assert client.stats["duplicates"] >= 1 and client.stats["ack_resent"] >= 1
            assert svc.push.stats["msk_resent"] >= 1

    run(main)


def test_solicited_pull_leads_to_request_and_push(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    key = add_subscriber(cfg, "ue4@ims.example", (1,))

    async def main() -> None:
        async with BmscService(cfg) as svc, ue(svc, key, "127.24.1.5", 2269) as client:
            await client.request([MskId.current(1)])
            await _next(client, "msk")
            assert await async_wait_until(lambda: _states(svc).get("acked") == 1)
            # the MUK's GBA lifetime is over: the pull still uses it (6.3.2.2.4 NOTE 1)
            reg = svc.km.store.registration(cfg.key_domain, 1, "ue4@ims.example")
            assert reg is not None
            muk = svc.km.keys.get_muk(reg.muk_id)
            svc.km.keys.put_muk(reg.muk_id, muk.key, expires_at_unix=1)
            did = await svc.solicited_pull("ue4@ims.example", 1)
            pull = await _next(client, "pull")
            assert pull.key_group == 1
            assert pull.accepted.pull is not None
            assert pull.accepted.pull.envelope.msk_id.is_current_alias
            await _next(client, "msk")  # the UE asked again and got the current MSK
            assert await async_wait_until(
                lambda: svc.km.store.delivery(did).state is DeliveryState.ANSWERED
            )
            assert client.stats["pull_answered"] == 1

    run(main)


def test_rotation_reaches_twenty_registered_ues(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    keys = [add_subscriber(cfg, f"ue{i}@ims.example", (2,)) for i in range(20)]

    async def main() -> None:
        async with BmscService(cfg) as svc:
            clients = [ue(svc, k, f"127.24.2.{i + 1}", 2269) for i, k in enumerate(keys)]
            for c in clients:
                await c.start()
            try:
                await asyncio.gather(*(c.request([MskId.current(2)]) for c in clients))
                for c in clients:
                    await _next(c, "msk")
                assert await async_wait_until(lambda: _states(svc).get("acked") == 20)
                report = await svc.rotate(2, promote_after=3600)
                assert report.pushed == 20 and report.msk_id == MskId(2, 2)
                for c in clients:
                    ev = await _next(c, "msk")
                    assert ev.delivery is not None
                    assert ev.delivery.envelope.msk_id == MskId(2, 2)
                    assert ev.delivery.srtp_policy is not None
                assert await async_wait_until(lambda: _states(svc).get("acked") == 40)
                nxt = svc.km.keys.get_msk(cfg.key_domain, MskId(2, 2))
                assert all(
                    c.verifier.msk(cfg.key_domain, MskId(2, 2)).msk == nxt.key  # type: ignore[union-attr]
                    for c in clients
                )
                rec = await svc.promote(2)
                assert rec.msk_id == MskId(2, 2)
            finally:
                for c in clients:
                    await c.stop()

    run(main, timeout=60)


def test_scheduled_rotation_promotes_and_expired_muk_gets_a_pull(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    cfg = dataclasses.replace(
        cfg, key_groups=(KeyGroupConfig(1, rotation_period=2.0, rotation_lead=1.0),)
    )
    key = add_subscriber(cfg, "ue5@ims.example", (1,))

    async def main() -> None:
        async with BmscService(cfg) as svc, ue(svc, key, "127.24.1.6", 2269) as client:
            await client.request([MskId.current(1)])
            await _next(client, "msk")
            ev = await _next(client, "msk")  # the scheduled NEXT MSK, pushed ahead
            assert ev.delivery is not None and ev.delivery.envelope.msk_id == MskId(1, 2)
            assert await async_wait_until(
                lambda: svc.km.keys.get_msk(cfg.key_domain, MskId.current(1)).msk_id == MskId(1, 2)
            )
            # now the MUK expires: the next scheduled push becomes a solicited pull
            reg = svc.km.store.registration(cfg.key_domain, 1, "ue5@ims.example")
            assert reg is not None
            muk = svc.km.keys.get_muk(reg.muk_id)
            svc.km.keys.put_muk(reg.muk_id, muk.key, expires_at_unix=1)
            pull = await _next(client, "pull")
            assert pull.key_group == 1

    run(main, timeout=60)
