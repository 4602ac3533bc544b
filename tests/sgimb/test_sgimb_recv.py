"""broadcast._native.udp_send.BatchReceiver: one recvmmsg per call takes what is queued (in
order, with sources), never blocks, respects max_count, drops and counts truncated datagrams,
reports a pending socket error, rejects bad arguments; and the streaming ``UdpIngest`` on top
of it (bounded batches, order, statistics, the per-datagram fallback). Loopback 127.31.x.x."""

from __future__ import annotations

import asyncio
import contextlib
import select
import socket
from collections.abc import Iterator

import pytest
from testkit import async_wait_until

from broadcast._native import udp_send
from broadcast.aio.streaming.ingest import UdpIngest
from broadcast.config.stream import UdpIngestConfig

HOST_RX = "127.31.0.1"
HOST_TX = "127.31.0.2"
WAIT = 2.0


@pytest.fixture
def rx() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.bind((HOST_RX, 0))
    sock.setblocking(False)
    yield sock
    sock.close()


@pytest.fixture
def tx() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((HOST_TX, 0))
    yield sock
    sock.close()


def _wait_readable(sock: socket.socket) -> None:
    ready, _, _ = select.select([sock], [], [], WAIT)
    assert ready, "nothing arrived on loopback in time"


def _recv_all(receiver: udp_send.BatchReceiver, sock: socket.socket, count: int) -> list[bytes]:
    """Batches until ``count`` datagrams arrived (bounded by WAIT per batch)."""
    got: list[bytes] = []
    for _ in range(count + 1):
        if len(got) >= count:
            break
        _wait_readable(sock)
        got += receiver.recv_batch()
    return got


def test_nothing_queued_returns_empty(rx: socket.socket) -> None:
    r = udp_send.BatchReceiver(rx.fileno())
    assert r.recv_batch() == []
    assert r.recv_batch(addresses=True) == ([], [])
    assert r.syscalls == 2
    assert r.max_count == 256
    assert r.max_size == udp_send.MAX_DATAGRAM == 65535


def test_batch_in_order_with_sources(rx: socket.socket, tx: socket.socket) -> None:
    data = [bytes([k]) * (1 + 37 * k) for k in range(40)] + [b""]
    for d in data:
        tx.sendto(d, rx.getsockname())
    r = udp_send.BatchReceiver(rx.fileno(), 64)
    _wait_readable(rx)
    got, srcs = r.recv_batch(addresses=True)
    # everything was queued before the call on loopback; one call takes it all
    while len(got) < len(data):
        _wait_readable(rx)
        more, more_srcs = r.recv_batch(addresses=True)
        got += more
        srcs += more_srcs
    assert got == data
    assert srcs == [tx.getsockname()] * len(data)
    assert r.recv_batch() == []


def test_max_count_leaves_the_rest_queued(rx: socket.socket, tx: socket.socket) -> None:
    data = [b"%03d" % k for k in range(10)]
    for d in data:
        tx.sendto(d, rx.getsockname())
    r = udp_send.BatchReceiver(rx.fileno(), 4)
    got = _recv_all(r, rx, 1)
    assert 1 <= len(got) <= 4
    assert got == data[: len(got)]
    first = r.recv_batch(max_count=1)
    assert len(first) <= 1
    got += first
    got += _recv_all(r, rx, len(data) - len(got))
    assert got == data
    assert r.recv_batch(max_count=0) == []


def test_truncated_dropped_and_counted(rx: socket.socket, tx: socket.socket) -> None:
    r = udp_send.BatchReceiver(rx.fileno(), 8, max_size=100)
    for d in (b"a" * 100, b"b" * 101, b"c" * 5):
        tx.sendto(d, rx.getsockname())
    got = _recv_all(r, rx, 2)
    assert got == [b"a" * 100, b"c" * 5]
    assert r.truncated == 1


def test_pending_socket_error_raises(tx: socket.socket) -> None:
    # A port nobody listens on: the ICMP port unreachable comes back on the connected socket.
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind((HOST_RX, 0))
    closed = probe.getsockname()
    probe.close()
    tx.connect(closed)
    tx.setblocking(False)
    tx.send(b"x")
    r = udp_send.BatchReceiver(tx.fileno())
    _wait_readable(tx)
    with pytest.raises(ConnectionRefusedError):
        r.recv_batch()
    assert r.recv_batch() == []  # the error was reported once


def test_ipv6_source_format() -> None:
    rx6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    tx6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    try:
        try:
            rx6.bind(("::1", 0))
            tx6.bind(("::1", 0))
        except OSError:  # no IPv6 loopback here: the IPv4 tests cover the receive path
            rx6.close()
            tx6.close()
            return
        tx6.sendto(b"six", rx6.getsockname()[:2])
        r = udp_send.BatchReceiver(rx6.fileno())
        _wait_readable(rx6)
        got, srcs = r.recv_batch(addresses=True)
        assert got == [b"six"]
        assert srcs == [tx6.getsockname()]
    finally:
        rx6.close()
        tx6.close()


@pytest.mark.parametrize(
    ("args", "match"),
    [((0,), "max_count"), ((1025,), "max_count"), ((8, 0), "max_size"), ((8, 65536), "max_size")],
)
def test_bad_arguments(rx: socket.socket, args: tuple[int, ...], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        udp_send.BatchReceiver(rx.fileno(), *args)


def test_bad_descriptor() -> None:
    with pytest.raises(ValueError):
        udp_send.BatchReceiver(-1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    r = udp_send.BatchReceiver(s.fileno())
    s.close()
    with pytest.raises(OSError):
        r.recv_batch()


# --- the streaming UDP ingest on top of it ----------------------------------------------------


class _Sink:
    def __init__(self) -> None:
        self.batches: list[list[bytes]] = []
        self.rtcp: list[list[bytes]] = []

    def deliver(self, datagrams: list[bytes]) -> None:
        self.batches.append(datagrams)

    def deliver_rtcp(self, datagrams: list[bytes]) -> None:
        self.rtcp.append(datagrams)


async def _ingest_run(recv_batch: bool, max_batch: int, count: int) -> tuple[UdpIngest, _Sink]:
    ingest = UdpIngest(
        UdpIngestConfig(listen=(HOST_RX, 0), max_batch=max_batch, recv_batch=recv_batch)
    )
    await ingest.start()
    sink = _Sink()
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        tx.bind((HOST_TX, 0))
        # queued before the loop reads: the first wake-up finds them all waiting
        for k in range(count):
            tx.sendto(k.to_bytes(4, "big") * 8, ingest.local_address)
        task = asyncio.create_task(ingest.run(sink, lambda: 0.0))
        assert await async_wait_until(lambda: sum(map(len, sink.batches)) >= count)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    finally:
        tx.close()
        ingest.close()
    return ingest, sink


@pytest.mark.parametrize("recv_batch", [True, False])
@pytest.mark.parametrize(("max_batch", "count"), [(7, 50), (256, 600), (1500, 1500)])
def test_udp_ingest_bounded_batches_in_order(recv_batch: bool, max_batch: int, count: int) -> None:
    ingest, sink = asyncio.run(_ingest_run(recv_batch, max_batch, count))
    got = [d for batch in sink.batches for d in batch]
    assert got == [k.to_bytes(4, "big") * 8 for k in range(count)]
    assert all(1 <= len(b) <= max_batch for b in sink.batches)
    assert len(sink.batches[0]) == min(max_batch, count)  # one wake-up takes what is queued
    assert ingest.stats.datagrams == count and ingest.stats.bytes == 32 * count
    assert sink.rtcp == []


def test_udp_ingest_uses_recvmmsg_unless_told_not_to() -> None:
    async def started(recv_batch: bool) -> bool:
        ingest = UdpIngest(UdpIngestConfig(listen=(HOST_RX, 0), recv_batch=recv_batch))
        await ingest.start()
        try:
            return ingest.native
        finally:
            ingest.close()

    assert asyncio.run(started(True)) is True
    assert asyncio.run(started(False)) is False
