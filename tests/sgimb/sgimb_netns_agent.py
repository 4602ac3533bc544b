"""Runs INSIDE a network namespace made by tests/sgimb/test_sgimb_netns.py (never elsewhere):
sets up the devices of one scenario, sends with DatagramOutput, prints a JSON report.

    ip netns exec <ns> .venv/bin/python tests/sgimb/sgimb_netns_agent.py <scenario> <ns>

Scenarios (addresses from 198.18.0.0/15, the benchmarking range, only inside the namespace):

* ``tun``: a TUN device named ``sgi_mb`` stands in for the srsRAN MBMS-GW (it reads SGi-mb
  traffic from its ``sgi_mb`` TUN device); we read the raw IPv4 packets from the TUN fd.
* ``recv``: a veth; a receiver joined on it gets the looped-back copy with IP_RECVTTL and
  IP_PKTINFO ancillary data (TTL, arrival interface) and the source address.
* ``slow``: veths shaped by a tbf qdisc fill the socket send buffer: the asyncio send waits
  for writability, the blocking send gives up after ``send_timeout``.
"""

from __future__ import annotations

import asyncio
import base64
import fcntl
import json
import os
import select
import socket
import struct
import subprocess
import sys
import time
from typing import Any

from sgimb_support import equal_size, video_mix

from broadcast.aio.sgimb.output import DatagramOutput
from broadcast.config.output import OutputConfig

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
IP_PKTINFO = 8
IP_TTL = 2
IP_RECVTTL = 12
SO_RCVBUFFORCE = 33


def sh(*commands: str) -> None:
    for command in commands:
        subprocess.run(command.split(), check=True, timeout=10)


def stats(out: DatagramOutput) -> dict[str, Any]:
    return dict(vars(out.stats))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def read_tun(fd: int, want: int, idle: float = 0.5, limit: float = 10.0) -> list[bytes]:
    """IPv4 UDP packets read from the TUN fd until ``want`` arrived or it stays idle."""
    packets: list[bytes] = []
    deadline = time.monotonic() + limit
    while len(packets) < want and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], idle)
        if not ready:
            break
        packet = os.read(fd, 70000)
        if packet[0] >> 4 == 4 and packet[9] == 17:
            packets.append(packet)
    return packets


def scenario_tun() -> dict[str, Any]:
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", b"sgi_mb", IFF_TUN | IFF_NO_PI))
    sh(
        "ip link set sgi_mb up",
        "ip addr add 198.18.21.1/24 dev sgi_mb",
        "ip route add 239.255.1.0/24 dev sgi_mb",
    )
    routed = equal_size(130) + video_mix(150)
    forced = video_mix(20, seed=3)
    report: dict[str, Any] = {}
    # srsRAN style: the group is routed into sgi_mb; the source and TTL come from the config.
    cfg = OutputConfig(ttl=7, source="198.18.21.1", source_port=40000, multicast_loop=False)
    with DatagramOutput(cfg) as out:
        report["routed_sent"] = out.send_batch(routed, ("239.255.1.1", 5004))
        report["routed_stats"] = stats(out)
    # No route for 239.255.9.0/24: only the configured interface takes it out.
    with DatagramOutput(OutputConfig(ttl=3, interface="sgi_mb", multicast_loop=False)) as out:
        report["forced_sent"] = out.send_batch(forced, ("239.255.9.9", 6000))
        report["forced_port"] = out.local_address[1]
    with DatagramOutput(OutputConfig(ttl=3, multicast_loop=False)) as out:
        report["unrouted_sent"] = out.send_batch(forced, ("239.255.9.9", 6000))
        report["unrouted_stats"] = stats(out)
    packets = read_tun(fd, len(routed) + len(forced))
    os.close(fd)
    report["packets"] = [b64(p) for p in packets]
    report["routed"] = [b64(d) for d in routed]
    report["forced"] = [b64(d) for d in forced]
    return report


def scenario_recv() -> dict[str, Any]:
    sh(
        "ip link add v0 type veth peer name v1",
        "ip link set v0 up multicast on",
        "ip link set v1 up",
        "ip addr add 198.18.22.1/24 dev v0",
    )
    index = socket.if_nametoindex("v0")
    group, port = "239.255.2.1", 5000
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 32 << 20)
    rx.bind((group, port))
    mreqn = socket.inet_aton(group) + bytes(4) + struct.pack("@i", index)
    rx.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreqn)
    rx.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
    rx.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
    rx.settimeout(2.0)
    batch = equal_size(100) + video_mix(100)
    cfg = OutputConfig(ttl=9, interface="v0", source="198.18.22.1", multicast_loop=True)
    with DatagramOutput(cfg) as out:
        sent = out.send_batch(batch, (group, port))
        report: dict[str, Any] = {"sent": sent, "stats": stats(out), "local": out.local_address}
    received = []
    for _ in range(sent):
        data, ancdata, _flags, source = rx.recvmsg(70000, 256)
        ttl = ifindex = None
        for level, kind, value in ancdata:
            if level == socket.IPPROTO_IP and kind == IP_TTL:
                ttl = int.from_bytes(value[:4], sys.byteorder)
            if level == socket.IPPROTO_IP and kind == IP_PKTINFO:
                ifindex = struct.unpack_from("@i", value)[0]
        received.append({"data": b64(data), "source": list(source), "ttl": ttl, "ifindex": ifindex})
    rx.close()
    report.update(received=received, batch=[b64(d) for d in batch], ifindex=index)
    return report


async def _async_send(out: DatagramOutput, batch: list[bytes]) -> tuple[int, int]:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.001)

    task = asyncio.create_task(ticker())
    sent = await out.send_batch_async(batch, ("239.255.3.1", 5000))
    task.cancel()
    return sent, ticks


def scenario_slow() -> dict[str, Any]:
    sh(
        "ip link add s0 type veth peer name s1",
        "ip link set s0 up multicast on",
        "ip link set s1 up",
        "ip addr add 198.18.23.1/24 dev s0",
        "ip route add 239.255.3.0/24 dev s0",
        "tc qdisc add dev s0 root tbf rate 20mbit burst 4kb limit 1mb",
        "ip link add t0 type veth peer name t1",
        "ip link set t0 up multicast on",
        "ip link set t1 up",
        "ip addr add 198.18.24.1/24 dev t0",
        "ip route add 239.255.4.0/24 dev t0",
        "tc qdisc add dev t0 root tbf rate 100kbit burst 2kb limit 1mb",
    )
    report: dict[str, Any] = {}
    batch = equal_size(300)
    for native in (True, False):
        cfg = OutputConfig(source="198.18.23.1", sndbuf=16384, send_timeout=1.0, native=native)
        with DatagramOutput(cfg) as out:
            sent, ticks = asyncio.run(_async_send(out, batch))
            report[f"async_{native}"] = {"sent": sent, "ticks": ticks, "stats": stats(out)}
    for native in (True, False):
        cfg = OutputConfig(source="198.18.24.1", sndbuf=8192, send_timeout=0.02, native=native)
        with DatagramOutput(cfg) as out:
            sent = out.send_batch(batch, ("239.255.4.1", 5000))
            report[f"sync_{native}"] = {"sent": sent, "stats": stats(out)}
    return report


SCENARIOS = {"tun": scenario_tun, "recv": scenario_recv, "slow": scenario_slow}


def main() -> None:
    scenario, namespace = sys.argv[1], sys.argv[2]
    here = subprocess.run(
        ["ip", "netns", "identify", str(os.getpid())],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    ).stdout.strip()
    if not namespace.startswith("mbms-h1-") or here != namespace:
        sys.exit(f"refusing to run outside the test namespace {namespace!r} (in {here!r})")
    print(json.dumps(SCENARIOS[scenario]()))


if __name__ == "__main__":
    main()
