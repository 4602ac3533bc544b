"""One UDP output socket towards the MBMS gateway (SGi-mb user plane, TS 29.061 clause 20).

The services hand over datagrams (already protected) with their destination; this module owns
the socket options a gateway needs: multicast TTL, outgoing interface, source address.
"""

from __future__ import annotations

import fcntl
import socket
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

Address = tuple[str, int]


@dataclass(frozen=True)
class OutputConfig:
    """How datagrams leave the engine.

    ``ttl``: IP multicast TTL (unicast TTL is left to the system). ``interface``: outgoing
    interface for multicast, an interface name or one of its IPv4 addresses. ``source``: local
    address (and optionally port) the socket binds to, i.e. the source address the gateway sees
    (e.g. the address a source-specific multicast filter names). ``multicast_loop``: deliver
    multicast to local listeners as well (needed for tests and the loopback demo).
    """

    ttl: int = 1
    interface: str | None = None
    source: str | None = None
    source_port: int = 0
    multicast_loop: bool = True


@dataclass
class OutputStats:
    datagrams: int = 0
    bytes: int = 0
    errors: int = 0
    last_error: str = field(default="")


class DatagramOutput:
    """A UDP socket with the SGi-mb options applied; ``send``/``send_batch`` never raise on a
    transient network error (counted in :attr:`stats`)."""

    def __init__(self, config: OutputConfig | None = None) -> None:
        self.config = config or OutputConfig()
        self.stats = OutputStats()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, self.config.ttl)
        self._sock.setsockopt(
            socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, int(self.config.multicast_loop)
        )
        if self.config.source is not None or self.config.source_port:
            self._sock.bind((self.config.source or "0.0.0.0", self.config.source_port))  # noqa: S104
        if self.config.interface is not None:
            self._sock.setsockopt(
                socket.IPPROTO_IP,
                socket.IP_MULTICAST_IF,
                socket.inet_aton(_interface_address(self.config.interface)),
            )

    @property
    def local_address(self) -> Address:
        host, port = self._sock.getsockname()
        return str(host), int(port)

    def send(self, datagram: bytes, dest: Address) -> None:
        self.send_batch((datagram,), dest)

    def send_batch(self, datagrams: Sequence[bytes], dest: Address) -> int:
        """Send every datagram to ``dest``; returns how many left the socket."""
        sent = 0
        for d in datagrams:
            try:
                self._sock.sendto(d, dest)
            except OSError as exc:
                self.stats.errors += 1
                self.stats.last_error = f"{type(exc).__name__}: {exc.strerror or exc}"
                continue
            sent += 1
            self.stats.bytes += len(d)
        self.stats.datagrams += sent
        return sent

    def close(self) -> None:
        self._sock.close()


def _interface_address(interface: str) -> str:
    """An IPv4 address for ``interface`` (given as an address or an interface name)."""
    try:
        socket.inet_aton(interface)
    except OSError:
        pass
    else:
        return interface
    siocgifaddr = 0x8915
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("256s", interface.encode()[:15])
        try:
            res = fcntl.ioctl(s.fileno(), siocgifaddr, req)
        except OSError as exc:
            raise ValueError(f"interface {interface!r} has no IPv4 address") from exc
    return socket.inet_ntoa(res[20:24])
