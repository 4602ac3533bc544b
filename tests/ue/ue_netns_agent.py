"""Runs inside a test's network namespace (see test_ue_multicast.py): two reference UEs join the
multicast group of one streaming session; an in-process sender (the sans-IO core) sends the MTK
messages to the group's port 2269 and SRTP to the RTP port. Prints a JSON report on stdout."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import tempfile
from pathlib import Path

# ue_support beside this file, testkit one level up (what pytest adds in the test process)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from testkit import async_wait_until
from ue_support import StreamSender, counter_rand, msk_entry, write_announcement

from broadcast.aio.ue.service import ReferenceUe
from broadcast.config.ue import UeConfig

GROUP = "239.27.0.1"
PACKETS = 60


async def main(directory: Path) -> dict[str, object]:
    xml, sdp = write_announcement(directory, GROUP)
    config = UeConfig(xml, (sdp,), msks=(msk_entry(),))
    ues = [ReferenceUe(config, rand=counter_rand(i)) for i in (1, 2)]
    tx = StreamSender()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    for ue in ues:
        await ue.start()
    stats = [ue.streaming[0][1].stats for ue in ues]
    try:
        key = tx.new_mtk()
        for i in range(PACKETS):
            if i % 20 == 0:
                if i:
                    key = tx.new_mtk()
                sock.sendto(tx.mtk_message(key), (GROUP, 2269))
                accepted = i // 20 + 1
                ok = await async_wait_until(
                    lambda n=accepted: all(s.mtk_accepted == n for s in stats), 10
                )
                if not ok:
                    break
            sock.sendto(tx.packet(key), (GROUP, 5004))
        await async_wait_until(
            lambda: all(s.srtp_decrypted + s.srtp_undecryptable_total == PACKETS for s in stats),
            10,
        )
    finally:
        for ue in ues:
            await ue.stop()
        sock.close()
    return {
        "listening": [ue.report().to_json()["streaming"][0]["listening"] for ue in ues],  # type: ignore[index]
        "counters": [s.as_dict() for s in stats],
        "sent": PACKETS,
    }


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(asyncio.run(asyncio.wait_for(main(Path(tmp)), 60))))
