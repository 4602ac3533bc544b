"""One UDP output socket towards the MBMS gateway (SGi-mb user plane, TS 29.061 clause 20).

The services hand over datagrams (already protected) with their destination; this module owns
the socket options a gateway needs — multicast TTL, outgoing interface, source address — the
optional GTP-U encapsulation (TS 29.281) and the batched send path (``native/udp_send.pyx``
through :mod:`broadcast.aio.sgimb.engine`: UDP GSO for runs of equal-size datagrams,
``sendmmsg`` otherwise; the reference ``sendto`` loop with ``[output] native = false``).

Blocking and asyncio. The socket is a *blocking* socket with ``SO_SNDTIMEO`` =
``send_timeout``: a UDP send only blocks while the socket send buffer is full (the device or
qdisc has not yet drained what was queued), which on a local gateway link lasts micro- to
milliseconds. So the synchronous :meth:`DatagramOutput.send_batch` may be called from a
coroutine for bounded batches (a few thousand datagrams are ~1-5 ms); a send that stays
blocked longer than ``send_timeout`` stops the batch and counts the rest as errors. For
large batches, or to never block the event loop at all, use
:meth:`~DatagramOutput.send_batch_async`: non-blocking sends (``MSG_DONTWAIT``) in slices of
:data:`ASYNC_SLICE` datagrams, yielding to the loop between slices and awaiting writability
(``loop.add_writer``, at most ``send_timeout``) when the buffer is full.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import os
import socket
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from broadcast.aio.sgimb.engine import (
    MSG_DONTWAIT,
    Address,
    Engine,
    LoopEngine,
    NativeEngine,
    SendResult,
    Target,
    resolve,
)
from broadcast.config.output import GtpuConfig, OutputConfig
from broadcast.proto.errors import ConfigError, LocatedError
from broadcast.proto.net.gtpu import GtpuEncapsulator
from broadcast.proto.net.ipv4 import UdpIpv4Builder

__all__ = [
    "ASYNC_SLICE",
    "Address",
    "DatagramOutput",
    "GtpuConfig",
    "OutputConfig",
    "OutputStats",
    "source_address",
]

#: Datagrams per non-blocking send in :meth:`DatagramOutput.send_batch_async`.
ASYNC_SLICE = 1024


@dataclass
class OutputStats:
    """Counters of one output. ``errors`` counts datagrams that did not leave (dropped on an
    error, or not attempted after the batch stopped); ``bytes`` counts UDP payload bytes that
    left (the G-PDUs when GTP-U is on). ``syscalls``/``gso_messages``/``gso_fallbacks`` come
    from the native path (0 on the reference ``sendto`` loop). ``waits``: times an asyncio send
    found the socket buffer full and waited for it to drain."""

    datagrams: int = 0
    bytes: int = 0
    errors: int = 0
    last_error: str = field(default="")
    syscalls: int = 0
    gso_messages: int = 0
    gso_fallbacks: int = 0
    waits: int = 0


class DatagramOutput:
    """A UDP socket with the SGi-mb options applied; ``send``/``send_batch``/``send_many`` never
    raise on a transient network error (counted in :attr:`stats`).

    Raises :class:`~broadcast.proto.errors.ConfigError` (``[output]``) when the configuration
    does not fit this host (no such interface, source not a local address, port in use).
    ``interface`` steers multicast only; unicast destinations (and the GTP-U endpoint) follow the
    routing table. One thread (or one event loop) at a time.
    """

    def __init__(self, config: OutputConfig | None = None) -> None:
        self.config = config or OutputConfig()
        self.stats = OutputStats()
        self._closed = False
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            _apply_options(self._sock, self.config)
            self._encap = _encapsulator(self._sock, self.config)
        except BaseException:
            self._sock.close()
            raise
        self._engine: Engine
        if self.config.native:
            self._engine = NativeEngine(self._sock, self.config.gso)
        else:
            self._engine = LoopEngine(self._sock)

    # --- introspection ------------------------------------------------------------------------
    @property
    def local_address(self) -> Address:
        host, port = self._sock.getsockname()
        return str(host), int(port)

    @property
    def native(self) -> bool:
        """True when batches go through the native path."""
        return self._engine.native

    @property
    def gso(self) -> bool:
        """True while GSO is in use (False when off, unsupported, or found failing)."""
        return self._engine.gso

    # --- sending ------------------------------------------------------------------------------
    def send(self, datagram: bytes, dest: Address) -> None:
        self.send_batch((datagram,), dest)

    def send_batch(self, datagrams: Sequence[bytes], dest: Address) -> int:
        """Send every datagram to ``dest`` in order; returns how many left the socket."""
        prepared = self._prepare(datagrams, dest)
        if prepared is None:
            return 0
        data, target = prepared
        return self._run(data, target, 0)

    def send_many(self, items: Sequence[tuple[bytes, Address]]) -> int:
        """Send ``(datagram, dest)`` pairs in order (mixed destinations, e.g. MIKEY on 2269 and
        RTP sharing one group); returns how many left the socket."""
        prepared = self._prepare_many(items)
        if prepared is None:
            return 0
        data, target = prepared
        return self._run(data, target, 0)

    async def send_batch_async(self, datagrams: Sequence[bytes], dest: Address) -> int:
        """:meth:`send_batch` that never blocks the event loop (see the module doc)."""
        prepared = self._prepare(datagrams, dest)
        if prepared is None:
            return 0
        return await self._run_async(*prepared)

    async def send_many_async(self, items: Sequence[tuple[bytes, Address]]) -> int:
        """:meth:`send_many` that never blocks the event loop."""
        prepared = self._prepare_many(items)
        if prepared is None:
            return 0
        return await self._run_async(*prepared)

    def close(self) -> None:
        """Close the socket (idempotent); later sends are counted as errors."""
        self._closed = True
        self._sock.close()

    def __enter__(self) -> DatagramOutput:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- internals ----------------------------------------------------------------------------
    def _prepare(
        self, datagrams: Sequence[bytes], dest: Address
    ) -> tuple[Sequence[bytes], Target] | None:
        if not datagrams:
            return None
        if self._closed:
            self._fail(len(datagrams), "EBADF: output is closed")
            return None
        if self._encap is None:
            return datagrams, dest
        try:
            group, port = resolve(dest)
        except OSError as exc:
            self._fail(len(datagrams), f"{type(exc).__name__}: {exc}")
            return None
        wrap = self._encap.wrap
        out: list[bytes] = []
        for d in datagrams:
            try:
                out.append(wrap(d, group, port))
            except LocatedError as exc:
                self._fail(1, f"{type(exc).__name__}: {exc}")
        return (out, self._gtpu_endpoint) if out else None

    def _prepare_many(
        self, items: Sequence[tuple[bytes, Address]]
    ) -> tuple[list[bytes], Target] | None:
        if not items:
            return None
        if self._closed:
            self._fail(len(items), "EBADF: output is closed")
            return None
        if self._encap is None:
            return [d for d, _ in items], [a for _, a in items]
        out: list[bytes] = []
        wrap = self._encap.wrap
        for d, dest in items:
            try:
                group, port = resolve(dest)
                out.append(wrap(d, group, port))
            except (LocatedError, OSError) as exc:
                self._fail(1, f"{type(exc).__name__}: {exc}")
        return (out, self._gtpu_endpoint) if out else None

    @property
    def _gtpu_endpoint(self) -> Address:
        gtpu = self.config.gtpu
        assert gtpu is not None
        return gtpu.endpoint, gtpu.port

    def _send(self, data: Sequence[bytes], target: Target, flags: int) -> SendResult:
        try:
            return self._engine.send(data, target, flags)
        except OSError as exc:  # destination resolution
            return SendResult(0, 0, len(data), len(data), exc.errno or errno.EIO)

    def _run(self, data: Sequence[bytes], target: Target, flags: int) -> int:
        res = self._send(data, target, flags)
        self._account(res, len(data) - res.stopped_at)
        return res.sent

    async def _run_async(self, data: Sequence[bytes], target: Target) -> int:
        loop = asyncio.get_running_loop()
        n = len(data)
        pos = 0
        sent = 0
        while pos < n and not self._closed:
            end = min(n, pos + ASYNC_SLICE)
            part = target[pos:end] if isinstance(target, list) else target
            res = self._send(data[pos:end], part, MSG_DONTWAIT)
            sent += res.sent
            pos += res.stopped_at
            if pos < end:
                again = res.last_errno in (errno.EAGAIN, errno.EWOULDBLOCK)
                if again and await self._writable(loop):
                    self._account(res, 0)
                    continue
                self._account(res, n - pos)
                return sent
            self._account(res, 0)
            if pos < n:
                await asyncio.sleep(0)
        if pos < n:
            self._fail(n - pos, "EBADF: output is closed")
        return sent

    async def _writable(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Wait (at most ``send_timeout``) until the socket has send buffer space."""
        fd = self._sock.fileno()
        if fd < 0:
            return False
        self.stats.waits += 1
        ready = loop.create_future()

        def _ready() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_writer(fd, _ready)
        try:
            await asyncio.wait_for(ready, self.config.send_timeout)
        except TimeoutError:
            return False
        finally:
            loop.remove_writer(fd)
        return True

    def _account(self, res: SendResult, not_attempted: int) -> None:
        st = self.stats
        st.datagrams += res.sent
        st.bytes += res.sent_bytes
        errors = res.failed + not_attempted
        if errors:
            st.errors += errors
        if errors and res.last_errno:
            st.last_error = _describe(res.last_errno)
        if isinstance(self._engine, NativeEngine):
            st.syscalls, st.gso_messages, st.gso_fallbacks = self._engine.counters

    def _fail(self, count: int, message: str) -> None:
        self.stats.errors += count
        self.stats.last_error = message


def _describe(code: int) -> str:
    name = errno.errorcode.get(code, f"errno {code}")
    return f"{name}: {os.strerror(code)}" if code > 0 else name


def _set_send_timeout(sock: socket.socket, seconds: float) -> None:
    usec = max(1, round(seconds * 1_000_000))
    sock.setsockopt(
        socket.SOL_SOCKET,
        socket.SO_SNDTIMEO,
        struct.pack("@ll", usec // 1_000_000, usec % 1_000_000),
    )


def _apply_options(sock: socket.socket, cfg: OutputConfig) -> None:
    """TTL, loop, interface, source, buffer and timeout; host checks raise ConfigError."""
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, cfg.ttl)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, int(cfg.multicast_loop))
    _set_send_timeout(sock, cfg.send_timeout)
    if cfg.sndbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, cfg.sndbuf)
    if cfg.interface is not None:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, _multicast_if(cfg.interface))
    source = cfg.source or "0.0.0.0"  # noqa: S104 - wildcard unless a source is configured
    try:
        sock.bind((source, cfg.source_port))
    except OSError as exc:
        if exc.errno == errno.EADDRNOTAVAIL:
            raise ConfigError(
                f"{cfg.source} is not an address of this host", table="output", key="source"
            ) from None
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"{source}:{cfg.source_port} is already in use", table="output", key="source_port"
            ) from None
        raise ConfigError(
            f"cannot bind {source}:{cfg.source_port}: {exc}", table="output", key="source"
        ) from None


def _multicast_if(interface: str) -> bytes:
    """The IP_MULTICAST_IF value: ``struct ip_mreqn`` with the ifindex for a name, the address
    for an address (which must be local)."""
    try:
        address = ipaddress.IPv4Address(interface)
    except ValueError:
        pass
    else:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind((str(address), 0))
            except OSError:
                raise ConfigError(
                    f"{interface} is not an address of this host", table="output", key="interface"
                ) from None
        return address.packed
    try:
        index = socket.if_nametoindex(interface)
    except OSError:
        raise ConfigError(
            f"no interface named {interface!r}", table="output", key="interface"
        ) from None
    # struct ip_mreqn { imr_multiaddr; imr_address; int imr_ifindex; }
    return struct.pack("@4s4si", bytes(4), bytes(4), index)


def _encapsulator(sock: socket.socket, cfg: OutputConfig) -> GtpuEncapsulator | None:
    gtpu = cfg.gtpu
    if gtpu is None:
        return None
    inner_source = cfg.source or _route_source(gtpu.endpoint, gtpu.port)
    port = int(sock.getsockname()[1])
    inner = UdpIpv4Builder(inner_source, port, cfg.ttl)
    return GtpuEncapsulator(gtpu.teid, inner, gtpu.sequence_numbers)


def _route_source(host: str, port: int) -> str:
    """The address this host would send from towards ``host`` (a UDP connect sends nothing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect((host, port))
        except OSError as exc:
            raise ConfigError(
                f"cannot send to {host}: {exc}", table="output.gtpu", key="endpoint"
            ) from None
        return str(probe.getsockname()[0])


def source_address(destination: tuple[str, int], configured: str | None = None) -> str:
    """The source address packets to ``destination`` leave with (for the SDP): ``configured`` if
    set, else the address the routing table picks (:func:`_route_source`; nothing is sent)."""
    if configured:
        return configured
    try:
        return _route_source(*destination)
    except ConfigError:
        return "0.0.0.0"  # noqa: S104 - "unknown", only written into the SDP
