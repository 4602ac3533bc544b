"""The UE's streaming client over loopback sockets: MTK messages on UDP 2269 at the RTP
destination, SRTP on the RTP port, SRTCP on the next one (addresses 127.27.1.x)."""

from __future__ import annotations

import asyncio
import socket

import pytest
from testkit import async_wait_until
from ue_support import KDID, KEY_GROUP, POLICY, StreamSender, msk_entry

from broadcast.aio.ue.streaming import StreamingClient, StreamingConfig
from broadcast.engine.ue.mtk_gate import MtkGate
from broadcast.engine.ue.service_keys import MskStore
from broadcast.engine.ue.stream_receiver import StreamReceiver
from broadcast.proto.announce.sdp import RtpMap, srtp_streams, streaming_sdp

HOST = "127.27.1.1"
RTP_PORT = 5004


def client_for(host: str, listen: str | None = None) -> tuple[StreamingClient, list[bytes]]:
    sdp = streaming_sdp(address=host, media=[("video", RTP_PORT, RtpMap(96, "VP8", 90000))])
    store = MskStore()
    store.add(msk_entry())
    out: list[bytes] = []
    rx = StreamReceiver(
        keys=store,
        policy=POLICY,
        key_domain_id=KDID,
        key_groups=frozenset({KEY_GROUP}),
        gate=MtkGate(),
        consumer=out.append,
    )
    config = StreamingConfig(srtp_streams(sdp), listen_address=listen)
    return StreamingClient(config, rx), out


async def _switches(host: str) -> None:
    client, out = client_for(host)
    tx = StreamSender()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.27.1.200", 0))
    stats = client.stats

    async def send(data: bytes, port: int) -> None:
        sock.sendto(data, (host, port))
        await asyncio.sleep(0)

    async with client:
        assert sorted(p for _, p, _ in client.listening) == [2269, RTP_PORT, RTP_PORT + 1]
        key = tx.new_mtk()
        await send(tx.mtk_message(key), 2269)
        assert await async_wait_until(lambda: stats.mtk_accepted == 1)
        sent = 0
        for switch in range(3):
            for i in range(30):
                if i == 20:  # lead time: the next MTK before the switch
                    nxt = tx.new_mtk()
                    await send(tx.mtk_message(nxt), 2269)
                    assert await async_wait_until(lambda s=switch: stats.mtk_accepted == s + 2)
                await send(tx.packet(key), RTP_PORT)
                sent += 1
            await send(tx.rtcp(key), RTP_PORT + 1)
            key = nxt
        assert await async_wait_until(
            lambda: (
                stats.srtp_decrypted + stats.srtp_undecryptable_total == sent
                and stats.srtcp_decrypted == 3
            )
        )
    assert client.listening == []
    assert stats.srtp_decrypted == sent == 90
    assert stats.srtp_undecryptable_total == 0 and stats.late_mtks == 0
    assert len(out) == 90
    sock.close()


def test_streaming_client_decrypts_everything_over_switches_on_loopback() -> None:
    asyncio.run(asyncio.wait_for(_switches(HOST), 30))


async def _bind_conflict() -> None:
    blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    blocker.bind(("127.27.1.2", 2269))
    client, _ = client_for("127.27.1.2")
    try:
        with pytest.raises(OSError):
            await client.start()
        assert client.listening == []
        # Nothing stays bound: the RTP port can be taken by someone else now.
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind(("127.27.1.2", RTP_PORT))
        probe.close()
    finally:
        blocker.close()


def test_a_port_in_use_fails_start_and_releases_every_socket() -> None:
    asyncio.run(asyncio.wait_for(_bind_conflict(), 30))


async def _listen_override() -> None:
    # The SDP names a nominal destination; this UE gets its copy on its own address.
    client, out = client_for("127.27.1.10", listen="127.27.1.11")
    tx = StreamSender()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    async with client:
        assert {h for h, _, _ in client.listening} == {"127.27.1.11"}
        key = tx.new_mtk()
        sock.sendto(tx.mtk_message(key), ("127.27.1.11", 2269))
        assert await async_wait_until(lambda: client.stats.mtk_accepted == 1)
        sock.sendto(tx.packet(key), ("127.27.1.11", RTP_PORT))
        assert await async_wait_until(lambda: len(out) == 1)
    sock.close()


def test_listen_address_overrides_a_unicast_destination() -> None:
    asyncio.run(asyncio.wait_for(_listen_override(), 30))
