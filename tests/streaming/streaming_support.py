"""Test-side helpers for the streaming tests: a capture of what the service sends (with kernel
receive timestamps, so that datagrams of different sockets can be put in send order) and a
minimal UE model (MIKEY MTK messages via ``open_mtk_message`` + ``SrtpReceiver``).

The full reference UE is another package's; this one only does what the tests need to judge the
sender: install an MTK when a (not dropped) copy of its message arrives, drop SRTP packets whose
MKI it does not know, decrypt the rest.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from broadcast.aio.streaming.service import StreamService
from broadcast.config.stream import StreamConfig, config_from_mapping
from broadcast.proto.keys import KeyDomainId, Msk, MskId
from broadcast.proto.mikey.mbms import Kind, envelope, open_mtk_message
from broadcast.proto.mikey.payloads import SrtpIdMap
from broadcast.proto.mikey.srtp_policy import SrtpPolicy
from broadcast.proto.srtp import CryptoPolicy, SrtpError, SrtpReceiver
from broadcast.store.keys import SQLiteKeyStore

SO_TIMESTAMPNS = 35  # Linux, asm-generic/socket.h (Python does not export it)
SO_RCVBUFFORCE = 33
DOMAIN = KeyDomainId.from_plmn("001", "01")

SRTP, SRTCP, MIKEY = "srtp", "srtcp", "mikey"


@dataclass(frozen=True, slots=True)
class Event:
    """One datagram as received: kernel timestamp (ns), which socket, bytes."""

    ts: int
    kind: str
    data: bytes


class Capture:
    """Listens on <host>:<port> (SRTP), <port+1> (SRTCP) and <mikey_port> (MIKEY)."""

    def __init__(self, host: str, port: int, mikey_port: int = 2269) -> None:
        self.host = host
        self.ports = {SRTP: port, SRTCP: port + 1, MIKEY: mikey_port}
        self.events: list[Event] = []
        self._socks: dict[str, socket.socket] = {}

    def open(self) -> None:
        for kind, port in self.ports.items():
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            try:
                s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 16 << 20)
            except OSError:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
            s.bind((self.host, port))
            s.setblocking(False)
            self._socks[kind] = s

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        for kind, s in self._socks.items():
            loop.add_reader(s.fileno(), self.drain_one, kind)

    def detach(self, loop: asyncio.AbstractEventLoop) -> None:
        for s in self._socks.values():
            loop.remove_reader(s.fileno())

    def drain_one(self, kind: str) -> int:
        s = self._socks[kind]
        n = 0
        for _ in range(10000):
            try:
                data, anc, _flags, _addr = s.recvmsg(65536, socket.CMSG_SPACE(16))
            except BlockingIOError:
                break
            ts = 0
            for level, typ, value in anc:
                if level == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS:
                    sec, nsec = struct.unpack("qq", value[:16])
                    ts = sec * 1_000_000_000 + nsec
            assert ts, "no kernel timestamp"
            self.events.append(Event(ts, kind, data))
            n += 1
        return n

    def drain(self) -> None:
        for kind in self._socks:
            self.drain_one(kind)

    def close(self) -> None:
        for s in self._socks.values():
            s.close()
        self._socks.clear()

    def ordered(self) -> list[Event]:
        """Events in kernel time order (= send order on loopback)."""
        return sorted(self.events, key=lambda e: e.ts)

    def of(self, kind: str) -> list[Event]:
        return [e for e in self.ordered() if e.kind == kind]


def srtp_mki(policy: CryptoPolicy, packet: bytes) -> bytes:
    """The 6-byte MKI of an SRTP packet (before the tag, RFC 3711 §3.1)."""
    seq = int.from_bytes(packet[2:4], "big")
    tag = policy.srtp_tag_len_for(seq)
    return packet[len(packet) - tag - 6 : len(packet) - tag]


def srtcp_mki(policy: CryptoPolicy, packet: bytes) -> bytes:
    tag = policy.srtcp_tag
    return packet[len(packet) - tag - 6 : len(packet) - tag]


@dataclass
class PacketResult:
    event: Event
    ok: bool
    reason: str = ""
    rtp: bytes = b""
    mki: bytes = b""


@dataclass
class MiniUe:
    """A minimal UE: MTK messages -> key ring; SRTP/SRTCP -> plain packets."""

    msks: dict[MskId, Msk]
    policy: SrtpPolicy
    initial_roc: int | None = 0
    #: Drop the first ``drop_copies`` copies of every MTK message (a lossy start).
    drop_copies: int = 0
    results: list[PacketResult] = field(default_factory=list)
    rtcp: list[tuple[Event, bytes]] = field(default_factory=list)
    rtcp_failures: Counter[str] = field(default_factory=Counter)
    installed: dict[bytes, int] = field(default_factory=dict)  # MKI -> timestamp
    copies: Counter[bytes] = field(default_factory=Counter)
    last_counter: dict[MskId, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.receiver = SrtpReceiver(self.policy, initial_roc=self.initial_roc)

    def feed(self, events: Iterable[Event]) -> None:
        for e in events:
            if e.kind == MIKEY:
                self.on_mikey(e)
            elif e.kind == SRTP:
                self.on_srtp(e)
            else:
                self.on_srtcp(e)

    def on_mikey(self, e: Event) -> None:
        env = envelope(e.data)
        assert env.kind is Kind.MTK
        assert env.mtk_id is not None
        key = bytes(env.msk_id) + bytes(env.mtk_id)
        self.copies[key] += 1
        if self.copies[key] <= self.drop_copies:
            return
        if env.counter <= self.last_counter.get(env.msk_id, 0):
            return  # a re-send of a message already taken, or an older one (RFC 3830 §5.4)
        delivery = open_mtk_message(env, self.msks[env.msk_id])
        assert delivery.mki == key and delivery.salt is not None
        self.receiver.keys.add(delivery.mki, delivery.mtk, delivery.salt)
        self.last_counter[env.msk_id] = env.counter
        self.installed[key] = e.ts

    def on_srtp(self, e: Event) -> None:
        try:
            rtp, mki = self.receiver.unprotect(e.data)
        except SrtpError as exc:
            self.results.append(PacketResult(e, False, exc.reason))
            return
        self.results.append(PacketResult(e, True, rtp=rtp, mki=mki))

    def on_srtcp(self, e: Event) -> None:
        try:
            rtcp, _mki = self.receiver.unprotect_rtcp(e.data)
        except SrtpError as exc:
            self.rtcp_failures[exc.reason] += 1
            return
        self.rtcp.append((e, rtcp))

    @property
    def decrypted(self) -> int:
        return sum(r.ok for r in self.results)


def mtk_messages(capture: Capture) -> dict[bytes, list[Event]]:
    """Copies of each distinct MTK message, by message bytes, in time order."""
    out: dict[bytes, list[Event]] = {}
    for e in capture.of(MIKEY):
        out.setdefault(e.data, []).append(e)
    return out


def cs_map(message: bytes) -> list[tuple[int, int]]:
    """(SSRC, ROC) entries of an MTK message's CS ID map (readable without a key)."""
    cs = envelope(message).message.header.cs_map
    assert isinstance(cs, SrtpIdMap)
    return [(s.ssrc, s.roc) for s in cs.sessions]


def store_msks(path: Path, key_group: int = 1) -> dict[MskId, Msk]:
    with SQLiteKeyStore(path) as store:
        return {m.msk_id: m.key for m in store.list_msks(DOMAIN, key_group)}


def make_config(
    tmp: Path, host: str, *, port: int = 5004, overrides: dict[str, dict[str, Any]] | None = None
) -> StreamConfig:
    data: dict[str, dict[str, Any]] = {
        "session": {"name": "t", "sdp": ""},
        "destination": {"address": host, "port": port},
        "keys": {"store": str(tmp / "keys.sqlite"), "mcc": "001", "mnc": "01", "key_group": 1},
        "mtk": {"period_packets": 40, "lead": 0.02, "interval": 0.005, "retry": 0.02},
        "ingest": {"source": "generator", "rate": 1000.0, "ssrcs": [0x1111, 0x2222]},
        "rtcp": {"interval": 0.1},
    }
    for section, values in (overrides or {}).items():
        if section == "ingest" and values.get("source", "generator") != "generator":
            data[section] = {}  # the generator keys do not apply to another source
        data.setdefault(section, {}).update(values)
    return config_from_mapping(data, tmp)


async def run_until(
    service: StreamService,
    capture: Capture,
    done: Callable[[StreamService], bool],
    *,
    timeout: float = 30.0,
    during: Callable[[StreamService], None] | None = None,
) -> None:
    """Run ``service`` with ``capture`` attached until ``done(service)``; always stops both.

    ``timeout`` only guards against a hang (the test fails then); nothing is timed.
    """
    loop = asyncio.get_running_loop()
    capture.attach(loop)
    try:
        await service.start()
        async with asyncio.timeout(timeout):
            while not done(service):
                if during is not None:
                    during(service)
                await asyncio.sleep(0.005)
    finally:
        await service.stop()
        await asyncio.sleep(0.01)
        capture.drain()
        capture.detach(loop)


# --- pcap files for the ingest tests (written by hand, classic libpcap format) ------------------


def ipv4_udp(src: str, sport: int, dst: str, dport: int, payload: bytes, *, frag: int = 0) -> bytes:
    """IPv4 (no options, checksum 0: the reader does not check it) + UDP."""
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    total = 20 + len(udp)
    ip = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        total,
        0,
        frag,
        64,
        17,
        0,
        socket.inet_aton(src),
        socket.inet_aton(dst),
    )
    return ip + udp


def link_frame(linktype: int, ip: bytes, *, vlan: bool = False) -> bytes:
    if linktype == 1:  # Ethernet
        eth = bytes(6) + bytes(6)
        if vlan:
            eth += struct.pack("!HH", 0x8100, 42)
        return eth + struct.pack("!H", 0x0800) + ip
    if linktype == 113:  # Linux cooked v1: type, ARPHRD, addr len, addr(8), protocol
        return struct.pack("!HHH8sH", 0, 1, 6, bytes(8), 0x0800) + ip
    if linktype == 276:  # Linux cooked v2: protocol, reserved, ifindex, ARPHRD, type, len, addr
        return struct.pack("!HHIHBB8s", 0x0800, 0, 1, 1, 0, 6, bytes(8)) + ip
    if linktype == 0:  # BSD loopback: AF_INET in host order
        return struct.pack("<I", 2) + ip
    return ip  # 101 / 228 raw IPv4


def pcap_bytes(
    frames: Iterable[tuple[float, bytes]],
    linktype: int,
    *,
    big_endian: bool = False,
    nanoseconds: bool = False,
    snap: dict[int, int] | None = None,
) -> bytes:
    """A classic pcap file; ``snap`` maps a frame index to a captured length shorter than it."""
    o = ">" if big_endian else "<"
    magic = 0xA1B23C4D if nanoseconds else 0xA1B2C3D4
    out = struct.pack(o + "IHHiIII", magic, 2, 4, 0, 0, 65535, linktype)
    scale = 1_000_000_000 if nanoseconds else 1_000_000
    for i, (t, frame) in enumerate(frames):
        incl = (snap or {}).get(i, len(frame))
        sec = int(t)
        sub = round((t - sec) * scale)
        out += struct.pack(o + "IIII", sec, sub, incl, len(frame)) + frame[:incl]
    return out
