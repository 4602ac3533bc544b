"""Shared helpers of the SGi-mb tests: a loopback receiver with a timeout, workloads."""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator
from contextlib import contextmanager

#: This helper's loopback range (distinct from other test areas).
HOST_RX = "127.21.0.1"
HOST_TX = "127.21.0.2"
RECV_TIMEOUT = 2.0
SO_RCVBUFFORCE = 33


@contextmanager
def receiver(host: str = HOST_RX) -> Iterator[socket.socket]:
    """A UDP socket on ``host`` with a large receive buffer and a receive timeout."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    # SO_RCVBUFFORCE (root) passes net.core.rmem_max: whole batches wait in the buffer.
    sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 32 << 20)
    sock.bind((host, 0))
    sock.settimeout(RECV_TIMEOUT)
    try:
        yield sock
    finally:
        sock.close()


def receive(sock: socket.socket, count: int) -> list[tuple[bytes, tuple[str, int]]]:
    """Exactly ``count`` datagrams with their source (socket.timeout if fewer arrive)."""
    return [sock.recvfrom(70000) for _ in range(count)]


def assert_nothing_more(sock: socket.socket) -> None:
    sock.settimeout(0.05)
    try:
        extra = sock.recv(70000)
    except TimeoutError:
        return
    finally:
        sock.settimeout(RECV_TIMEOUT)
    raise AssertionError(f"unexpected extra datagram of {len(extra)} bytes")


def video_mix(count: int, seed: int = 7) -> list[bytes]:
    """Video-like datagrams: frames of full 1250-byte packets closed by a shorter one, with
    small audio packets in between; payload bytes tell the packets apart."""
    rng = random.Random(seed)
    out: list[bytes] = []
    while len(out) < count:
        for _ in range(rng.randint(0, 12)):
            out.append(_payload(len(out), 1250))
        out.append(_payload(len(out), rng.randint(100, 1249)))
        if rng.random() < 0.3:
            out.append(_payload(len(out), 160))
    return out[:count]


def equal_size(count: int, size: int = 1250) -> list[bytes]:
    return [_payload(i, size) for i in range(count)]


def _payload(index: int, size: int) -> bytes:
    head = index.to_bytes(4, "big")
    return (head * (size // 4 + 1))[:size]
