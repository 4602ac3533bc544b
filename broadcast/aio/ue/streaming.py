"""The asyncio shell of the UE's streaming side: sockets for one protected streaming session.

For each ``RTP/SAVP`` media line of the session's SDP the client listens on the RTP port and,
unless disabled, on the RTCP port (``a=rtcp`` or RTP port + 1, RFC 3550 §11) for SRTCP; for each
destination it listens on UDP 2269 for the MTK messages, "the same IP destination address as
the RTP traffic" (TS 33.246 6.3.3.2.2). Everything received goes to a
:class:`~broadcast.engine.ue.stream_receiver.StreamReceiver` (the sans-IO core); the client only
owns sockets and the clock.

Addresses: by default the client binds the SDP's destination. ``listen_address`` overrides it
for a unicast destination (e.g. the loopback demo gives each UE its own copy of the stream on
its own 127.x address). A multicast destination is bound as the group address and joined
(``IP_ADD_MEMBERSHIP`` / ``IPV6_JOIN_GROUP``) on ``interface_address`` (IPv4: a local address,
default any; IPv6: an interface index) with ``SO_REUSEADDR``, so several UEs in one network
namespace can listen to the same group; multicast stays inside a test's network namespace.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import logging
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from broadcast import profile
from broadcast.aio import clock
from broadcast.aio.service import AsyncService
from broadcast.engine.ue.link import Link, peer
from broadcast.engine.ue.stream_receiver import StreamingStats, StreamReceiver
from broadcast.proto.announce.sdp import SrtpStream
from broadcast.time import MonotonicClock

log = logging.getLogger("broadcast.ue")

Address = tuple[str, int]

#: Receive buffer asked for each socket (video bursts) [P].
DEFAULT_RCVBUF: Final = 1 << 21


@dataclass(frozen=True, slots=True)
class StreamingConfig:
    """Where one streaming session is received (see the module doc)."""

    streams: tuple[SrtpStream, ...]
    listen_address: str | None = None
    interface_address: str | None = None
    mikey_port: int = profile.MIKEY_UDP_PORT
    rtcp: bool = True
    rcvbuf: int = DEFAULT_RCVBUF

    def __post_init__(self) -> None:
        if not self.streams:
            raise ValueError("a streaming session has at least one RTP/SAVP stream")
        if self.listen_address is not None:
            ipaddress.ip_address(self.listen_address)  # raises ValueError
        if not 0 < self.mikey_port <= 0xFFFF:
            raise ValueError("the MIKEY port must be 1..65535")


class DatagramHandler(asyncio.DatagramProtocol):
    """Hands every datagram to ``handler`` (errors only logged: UDP has no connection).

    With a ``link`` (:mod:`broadcast.engine.ue.link`), each datagram is shown to it first, with its
    source and ``local`` (the socket's address), and dropped when the link says so."""

    def __init__(
        self,
        handler: Callable[[bytes], None],
        what: str,
        *,
        link: Link | None = None,
        local: Address = ("", 0),
    ) -> None:
        self.handler = handler
        self.what = what
        self.link = link
        self.local = local
        self.failures = 0

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if self.link is not None and not self.link.incoming(data, peer(addr), self.local):
            return
        try:
            self.handler(data)
        except Exception:  # a bug on one datagram must not stop the receive loop
            self.failures += 1
            if self.failures == 1:
                log.exception("%s datagram handler failed (further failures not logged)", self.what)

    def error_received(self, exc: Exception) -> None:
        log.debug("%s socket error: %s", self.what, exc)


def listen_socket(host: str, port: int, interface: str | None, rcvbuf: int) -> socket.socket:
    """A non-blocking UDP socket bound to ``host:port``; a multicast ``host`` is joined."""
    ip = ipaddress.ip_address(host)
    family = socket.AF_INET if ip.version == 4 else socket.AF_INET6
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if ip.is_multicast:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if ip.version == 4:
                # The interface to join on; INADDR_ANY lets the kernel pick (its routing table).
                local = socket.inet_aton(interface) if interface else bytes(4)
                mreq = socket.inet_aton(host) + local
                sock.bind((host, port))
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
            else:
                index = int(interface) if interface and interface.isdigit() else 0
                sock.bind((host, port))
                mreq6 = socket.inet_pton(socket.AF_INET6, host) + struct.pack("@I", index)
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq6)
        else:
            sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


class StreamingClient(AsyncService):
    """Receives one streaming session into a :class:`StreamReceiver` (``async with`` or
    :meth:`start` / :meth:`stop`)."""

    def __init__(
        self,
        config: StreamingConfig,
        receiver: StreamReceiver,
        *,
        clock_mono: MonotonicClock = clock.monotonic,
        link: Link | None = None,
    ) -> None:
        self.config = config
        self.receiver = receiver
        self.clock_mono = clock_mono
        self.link = link
        self._transports: list[asyncio.DatagramTransport] = []
        #: (address, port, what) of every socket while running.
        self.listening: list[tuple[str, int, str]] = []
        #: The same, kept after :meth:`stop` (for the report).
        self.endpoints: list[tuple[str, int, str]] = []

    @property
    def stats(self) -> StreamingStats:
        return self.receiver.stats

    def _host(self, stream: SrtpStream) -> str:
        if self.config.listen_address is not None and not stream.is_multicast:
            return self.config.listen_address
        return stream.address

    def _plan(self) -> list[tuple[str, int, str, Callable[[bytes], None]]]:
        rx = self.receiver

        def srtp(data: bytes) -> None:
            rx.on_srtp(data, self.clock_mono())

        def srtcp(data: bytes) -> None:
            rx.on_srtcp(data, self.clock_mono())

        def mikey(data: bytes) -> None:
            rx.on_mikey(data, self.clock_mono())

        plan: list[tuple[str, int, str, Callable[[bytes], None]]] = []
        seen: set[tuple[str, int]] = set()

        def add(host: str, port: int, what: str, handler: Callable[[bytes], None]) -> None:
            if (host, port) in seen:
                raise ValueError(f"two sockets of one session on {host}:{port}")
            seen.add((host, port))
            plan.append((host, port, what, handler))

        hosts: list[str] = []
        for s in self.config.streams:
            host = self._host(s)
            add(host, s.port, f"SRTP {s.media}", srtp)
            if self.config.rtcp:
                add(host, s.rtcp_port, f"SRTCP {s.media}", srtcp)
            if host not in hosts:
                hosts.append(host)
        for host in hosts:
            add(host, self.config.mikey_port, "MIKEY", mikey)
        return plan

    async def start(self) -> None:
        """Bind and join every socket; on any failure nothing stays open."""
        if self._transports:
            raise RuntimeError("the streaming client is already running")
        loop = asyncio.get_running_loop()
        try:
            for host, port, what, handler in self._plan():
                sock = listen_socket(host, port, self.config.interface_address, self.config.rcvbuf)
                try:
                    transport, _ = await loop.create_datagram_endpoint(
                        functools.partial(
                            DatagramHandler, handler, what, link=self.link, local=(host, port)
                        ),
                        sock=sock,
                    )
                except BaseException:
                    sock.close()
                    raise
                self._transports.append(transport)
                self.listening.append((host, port, what))
                self.endpoints.append((host, port, what))
                log.info("listening for %s on %s port %d", what, host, port)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        for transport in self._transports:
            transport.close()
        self._transports.clear()
        self.listening.clear()
        await asyncio.sleep(0)  # let the transports finish closing
