"""The native face of the UDP sockets: batched send (GSO, ``sendmmsg``) and batched receive
(``recvmmsg``) — the only module of ``broadcast.aio`` that imports ``broadcast._native``.

Send — two engines take a sequence of datagrams and one destination (or one per datagram) and
return a :class:`SendResult` with the same meaning (see ``native/udp_send.pyx``): transient
errors are counted, never raised; EAGAIN (and a dead socket) stops the batch at ``stopped_at``
so that an asyncio caller can wait for the socket to be writable and resume.
:class:`NativeEngine` is the batched path; :class:`LoopEngine`, one ``sendto`` per datagram, is
the reference it is tested and measured against (``[output] native = false``).

Receive — :func:`batch_receiver`: one non-blocking ``recvmmsg`` per call takes what is queued
on a socket, up to a bound (the UDP ingest of ``broadcast.aio.streaming.ingest``).
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import struct
from collections.abc import Sequence
from typing import Final, NamedTuple, Protocol

from broadcast._native import udp_send as _udp_send

Address = tuple[str, int]
#: One destination for the whole batch, or a list with one per datagram.
Target = Address | list[Address]

#: ``flags`` for a send that never blocks.
MSG_DONTWAIT: int = socket.MSG_DONTWAIT
#: Errors after which the rest of a batch is not attempted.
_STOP_ERRNOS = frozenset(
    {errno.EAGAIN, errno.EWOULDBLOCK, errno.EBADF, errno.ENOTSOCK, errno.EFAULT, errno.EDESTADDRREQ}
)
_FAMILY = struct.pack("=H", socket.AF_INET)
_PADDING = bytes(8)

# Operational limits of the native socket paths (not 3GPP/RFC decisions).
#: Segments per UDP GSO message: the Linux 4.18 limit (UDP_MAX_SEGMENTS), kept on later kernels
#: (128 there) so one build behaves the same everywhere. Compiled into the native sender
#: (``US_MAX_SEGMENTS``, native/src/udp_batch_send.h); exposed as ``udp_send.MAX_SEGMENTS``.
GSO_MAX_SEGMENTS: Final = 64
#: Most datagrams one :func:`batch_receiver` call takes (UIO_MAXIOV, the ``recvmmsg`` bound).
MAX_RECV_BATCH: Final[int] = _udp_send.MAX_RECV_BATCH


class SendResult(NamedTuple):
    """``sent`` datagrams (``sent_bytes``) left; ``failed`` were dropped with an error;
    ``datagrams[stopped_at:]`` were not attempted; ``last_errno`` is the last error (0: none)."""

    sent: int
    sent_bytes: int
    failed: int
    stopped_at: int
    last_errno: int


def resolve(dest: Address) -> Address:
    """``(IPv4 address, port)`` for ``dest``; a host name is resolved (OSError if it fails)."""
    host, port = dest
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 0xFFFF:
        raise ValueError(f"destination port {port!r} is not 0..65535")
    try:
        return str(ipaddress.IPv4Address(host)), port
    except ValueError:
        info = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_DGRAM)
        return str(info[0][4][0]), port


def pack_sockaddr(dest: Address) -> bytes:
    """``struct sockaddr_in`` for an IPv4 ``(address, port)``."""
    host, port = dest
    return _FAMILY + port.to_bytes(2, "big") + ipaddress.IPv4Address(host).packed + _PADDING


class Engine(Protocol):
    native: bool

    @property
    def gso(self) -> bool: ...

    def send(self, datagrams: Sequence[bytes], dest: Target, flags: int) -> SendResult: ...


class _DestCache:
    """Resolved destinations and their packed sockaddrs, bounded."""

    def __init__(self, limit: int = 1024) -> None:
        self._limit = limit
        self._cache: dict[Address, tuple[Address, bytes]] = {}

    def get(self, dest: Address) -> tuple[Address, bytes]:
        hit = self._cache.get(dest)
        if hit is None:
            resolved = resolve(dest)
            hit = (resolved, pack_sockaddr(resolved))
            if len(self._cache) >= self._limit:
                self._cache.clear()
            self._cache[dest] = hit
        return hit


class NativeEngine:
    """``broadcast._native.udp_send.BatchSender`` on the socket's descriptor."""

    native = True

    def __init__(self, sock: socket.socket, gso: bool) -> None:
        self._sender = _udp_send.BatchSender(sock.fileno(), gso)
        self._dests = _DestCache()

    @property
    def gso(self) -> bool:
        return bool(self._sender.gso)

    @property
    def counters(self) -> tuple[int, int, int]:
        """(system calls, GSO messages, GSO fallbacks) so far."""
        s = self._sender
        return int(s.syscalls), int(s.gso_messages), int(s.gso_fallbacks)

    def send(self, datagrams: Sequence[bytes], dest: Target, flags: int) -> SendResult:
        if isinstance(dest, list):
            get = self._dests.get
            name: bytes | list[bytes] = [get(d)[1] for d in dest]
        else:
            name = self._dests.get(dest)[1]
        return SendResult(*self._sender.send(datagrams, name, flags))


class LoopEngine:
    """One ``sendto`` per datagram: the reference of :class:`NativeEngine` (``[output] native =
    false``; tests and benchmarks compare the two)."""

    native = False
    gso = False

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._dests = _DestCache()

    def send(self, datagrams: Sequence[bytes], dest: Target, flags: int) -> SendResult:
        each = dest if isinstance(dest, list) else None
        one: Address = ("", 0) if isinstance(dest, list) else self._dests.get(dest)[0]
        sendto = self._sock.sendto
        sent = sent_bytes = failed = last = 0
        for i, d in enumerate(datagrams):
            try:
                addr = one if each is None else self._dests.get(each[i])[0]
                sendto(d, flags, addr)
            except OSError as exc:
                last = exc.errno or errno.EIO
                if last in _STOP_ERRNOS:
                    return SendResult(sent, sent_bytes, failed, i, last)
                failed += 1
                continue
            sent += 1
            sent_bytes += len(d)
        return SendResult(sent, sent_bytes, failed, len(datagrams), last)


class Receiver(Protocol):
    """What the ingest uses of ``broadcast._native.udp_send.BatchReceiver``."""

    @property
    def max_count(self) -> int: ...

    def recv_batch(self, max_count: int = -1) -> list[bytes]: ...


def batch_receiver(sock: socket.socket, max_count: int) -> Receiver:
    """``recvmmsg`` on ``sock`` (not owned; every call is non-blocking): up to ``max_count``
    datagrams per call (clamped to 1..:data:`MAX_RECV_BATCH`), buffers of the largest UDP
    payload, so nothing is truncated."""
    per_call = max(1, min(max_count, MAX_RECV_BATCH))
    receiver: Receiver = _udp_send.BatchReceiver(sock.fileno(), per_call, _udp_send.MAX_DATAGRAM)
    return receiver
