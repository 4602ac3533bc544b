"""broadcast._native.udp_send.BatchSender directly: run building (64 segments, 64 KiB, shorter
last datagram, destination changes), GSO failure fallback, argument errors, stops."""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Iterator

import pytest
from sgimb_support import HOST_TX, assert_nothing_more, equal_size, receive, receiver

from broadcast._native import udp_send
from broadcast.aio.sgimb import engine
from broadcast.aio.sgimb.engine import pack_sockaddr

SO_NO_CHECK = 11


@pytest.fixture
def tx() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((HOST_TX, 0))
    yield sock
    sock.close()


@pytest.fixture
def rx() -> Iterator[socket.socket]:
    with receiver() as sock:
        yield sock


def _sizes(sizes: list[int]) -> list[bytes]:
    return [bytes([i % 251]) * n for i, n in enumerate(sizes)]


@pytest.mark.parametrize(
    ("sizes", "gso_messages"),
    [
        ([1000] * 130, 3),  # 64 + 64 + 2
        ([1500] * 100, 3),  # 65,507 // 1,500 = 43 per message: 43 + 43 + 14
        ([1000, 1000, 500, 1000, 1000], 2),  # a shorter one closes a run
        ([500, 500, 1000, 1000], 2),  # a longer one starts a new run
        ([1000, 0, 1000, 1000], 1),  # empty datagrams are sent alone
        ([65_000, 65_000], 0),  # two would exceed 64 KiB
        ([700], 0),
    ],
)
def test_runs(tx: socket.socket, rx: socket.socket, sizes: list[int], gso_messages: int) -> None:
    sender = udp_send.BatchSender(tx.fileno())
    batch = _sizes(sizes)
    result = sender.send(batch, pack_sockaddr(rx.getsockname()))
    assert result == (len(batch), sum(sizes), 0, len(batch), 0)
    assert sender.gso_messages == gso_messages
    assert sender.syscalls == 1
    assert [d for d, _ in receive(rx, len(batch))] == batch
    assert_nothing_more(rx)


def test_limits_exported() -> None:
    assert udp_send.MAX_SEGMENTS == engine.GSO_MAX_SEGMENTS == 64
    assert udp_send.MAX_RECV_BATCH == engine.MAX_RECV_BATCH == 1024
    assert udp_send.MAX_GSO_PAYLOAD == 65_507
    assert udp_send.MSG_DONTWAIT == socket.MSG_DONTWAIT


def test_gso_off_is_plain_sendmmsg(tx: socket.socket, rx: socket.socket) -> None:
    sender = udp_send.BatchSender(tx.fileno(), gso=False)
    assert not sender.gso
    batch = equal_size(2100)
    assert sender.send(batch, pack_sockaddr(rx.getsockname()))[0] == 2100
    assert sender.gso_messages == 0
    assert sender.syscalls == 3  # 1,024 messages per sendmmsg
    assert [d for d, _ in receive(rx, 2100)] == batch


def test_destination_change_breaks_a_run(tx: socket.socket) -> None:
    with receiver("127.21.0.1") as a, receiver("127.21.0.3") as b:
        batch = equal_size(60)
        names = [pack_sockaddr((a if (i // 10) % 2 == 0 else b).getsockname()) for i in range(60)]
        sender = udp_send.BatchSender(tx.fileno())
        assert sender.send(batch, names)[0] == 60
        assert sender.gso_messages == 6
        blocks = [batch[i : i + 10] for i in range(0, 60, 10)]
        assert [d for d, _ in receive(a, 30)] == [d for blk in blocks[0::2] for d in blk]
        assert [d for d, _ in receive(b, 30)] == [d for blk in blocks[1::2] for d in blk]


def test_gso_failure_falls_back_and_is_remembered(tx: socket.socket, rx: socket.socket) -> None:
    # SO_NO_CHECK makes the kernel refuse GSO (EINVAL, as for a segment above the route MTU):
    # the run is re-sent datagram by datagram, GSO is no longer tried at that segment size,
    # and after three such failures it is off for this sender.
    tx.setsockopt(socket.SOL_SOCKET, SO_NO_CHECK, 1)
    sender = udp_send.BatchSender(tx.fileno())
    assert sender.gso
    dest = pack_sockaddr(rx.getsockname())
    for round_, size in enumerate((1250, 1000, 500), start=1):
        batch = equal_size(200, size)
        result = sender.send(batch, dest)
        assert result[:4] == (200, 200 * size, 0, 200)
        assert result[4] == errno.EINVAL  # seen, not a loss
        assert sender.gso_fallbacks == round_
        assert sender.gso_max_segment == size - 1
        assert [d for d, _ in receive(rx, 200)] == batch
    assert not sender.gso
    batch = equal_size(200, 100)
    assert sender.send(batch, dest)[:4] == (200, 200 * 100, 0, 200)
    assert sender.gso_fallbacks == 3  # not tried again
    assert sender.gso_messages == 0
    assert [d for d, _ in receive(rx, 200)] == batch


def test_not_a_socket_stops_the_batch() -> None:
    fd = os.open(os.devnull, os.O_RDONLY)
    try:
        sender = udp_send.BatchSender(fd)
        assert not sender.gso  # getsockopt fails: no GSO
        result = sender.send([b"a", b"b"], pack_sockaddr(("127.21.0.1", 9)))
        assert result == (0, 0, 0, 0, errno.ENOTSOCK)
    finally:
        os.close(fd)


def test_per_datagram_error_drops_only_that_one(tx: socket.socket, rx: socket.socket) -> None:
    sender = udp_send.BatchSender(tx.fileno())
    batch = [b"a" * 1000, b"a" * 1000, b"b" * 66_000, b"c" * 1000, b"c" * 1000]
    sent, nbytes, failed, stopped_at, err = sender.send(batch, pack_sockaddr(rx.getsockname()))
    assert (sent, nbytes, failed, stopped_at, err) == (4, 4000, 1, 5, errno.EMSGSIZE)
    assert [d for d, _ in receive(rx, 4)] == [batch[0], batch[1], batch[3], batch[4]]


def test_argument_errors(tx: socket.socket) -> None:
    sender = udp_send.BatchSender(tx.fileno())
    name = pack_sockaddr(("127.21.0.1", 9))
    with pytest.raises(TypeError, match="datagram 1 is str"):
        sender.send([b"ok", "text"], name)  # type: ignore[list-item]
    with pytest.raises(TypeError, match="packed sockaddr"):
        sender.send([b"ok"], [("127.21.0.1", 9)])  # type: ignore[list-item]
    with pytest.raises(ValueError, match=r"16\.\.128"):
        sender.send([b"ok"], b"short")
    with pytest.raises(ValueError, match="2 destinations for 1 datagrams"):
        sender.send([b"ok"], [name, name])
    with pytest.raises(ValueError, match=r"16\.\.128"):  # checked before the first slice is sent
        sender.send([b"ok"] * 5000, [name] * 4999 + [b"bad"])
    assert sender.syscalls == 0
    assert sender.send([], name) == (0, 0, 0, 0, 0)
