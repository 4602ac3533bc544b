"""Type stub of the Cython extension ``broadcast._native.udp_send`` (native/udp_send.pyx).

Batched UDP send on a caller-owned socket: UDP GSO (``UDP_SEGMENT``) for runs of equal-size
datagrams, ``sendmmsg`` otherwise, GIL released around the system calls. Use
``broadcast.aio.sgimb.output.DatagramOutput``, which owns the socket, packs the destinations and
keeps the statistics; ``broadcast.aio.sgimb.engine`` is the only module that imports this one.

Batched receive (:class:`BatchReceiver`): one non-blocking ``recvmmsg`` takes every datagram
already queued, up to a bound (``broadcast.aio.sgimb.engine.batch_receiver``, used by
``broadcast.aio.streaming.ingest.UdpIngest``).
"""

from collections.abc import Sequence
from typing import Final, Literal, overload

__all__ = [
    "MAX_DATAGRAM",
    "MAX_GSO_PAYLOAD",
    "MAX_RECV_BATCH",
    "MAX_SEGMENTS",
    "MSG_DONTWAIT",
    "BatchReceiver",
    "BatchSender",
    "gso_supported",
]

MAX_SEGMENTS: Final[int]
MAX_GSO_PAYLOAD: Final[int]
MSG_DONTWAIT: Final[int]
MAX_RECV_BATCH: Final[int]
MAX_DATAGRAM: Final[int]

def gso_supported(fd: int) -> bool:
    """True when the kernel knows ``UDP_SEGMENT`` on this UDP socket (Linux >= 4.18)."""

class BatchSender:
    """Sends batches on the UDP socket ``fd`` (not owned); one thread at a time."""

    def __init__(self, fd: int, gso: bool = True) -> None: ...
    @property
    def gso(self) -> bool:
        """True while GSO messages are built (False if off or found unsupported)."""
    @property
    def gso_max_segment(self) -> int: ...
    @property
    def syscalls(self) -> int: ...
    @property
    def gso_messages(self) -> int: ...
    @property
    def gso_fallbacks(self) -> int: ...
    def send(
        self, datagrams: Sequence[bytes], dest: bytes | Sequence[bytes], flags: int = 0
    ) -> tuple[int, int, int, int, int]:
        """``(sent, sent_bytes, failed, stopped_at, last_errno)``; ``dest`` is one packed
        sockaddr or one per datagram. TypeError/ValueError on bad arguments only."""

#: A datagram's source as ``socket.recvfrom`` gives it (None: not an IP address).
Source = tuple[str, int] | tuple[str, int, int, int] | None

class BatchReceiver:
    """Receives batches from the UDP socket ``fd`` (not owned) with one non-blocking
    ``recvmmsg`` per call; one thread at a time."""

    def __init__(self, fd: int, max_count: int = 256, max_size: int = 65535) -> None: ...
    @property
    def max_count(self) -> int: ...
    @property
    def max_size(self) -> int: ...
    @property
    def syscalls(self) -> int:
        """recvmmsg calls made so far."""
    @property
    def truncated(self) -> int:
        """Datagrams longer than ``max_size`` (dropped) so far."""
    @overload
    def recv_batch(self, max_count: int = -1, addresses: Literal[False] = False) -> list[bytes]: ...
    @overload
    def recv_batch(
        self, max_count: int = -1, *, addresses: Literal[True]
    ) -> tuple[list[bytes], list[Source]]: ...
    @overload
    def recv_batch(
        self, max_count: int, addresses: Literal[True]
    ) -> tuple[list[bytes], list[Source]]: ...
