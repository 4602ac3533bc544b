"""The UE's view of its radio link, for simulation and capture: every UDP datagram a UE socket
receives or sends passes through a :class:`Link` first.

The reference UE normally uses no link (everything is delivered). The loopback demo plugs in one
that drops a seeded share of what arrives (``--loss``) and copies every datagram into a pcap file
(``--pcap``); tests use it to count. A link sees the bytes as they travel (SRTP, MIKEY, ALC):
never decrypted content, never a key.
"""

from __future__ import annotations

from typing import Protocol

Address = tuple[str, int]


class Link(Protocol):
    """What happens to a datagram between the network and the UE."""

    def incoming(self, data: bytes, source: Address, destination: Address) -> bool:
        """A datagram arrived at the UE socket bound to ``destination``; False drops it."""
        ...

    def outgoing(self, data: bytes, source: Address, destination: Address) -> None:
        """The UE sent a datagram (e.g. a MIKEY ACK) from ``source``."""
        ...


def peer(addr: tuple[object, ...]) -> Address:
    """An asyncio datagram address as ``(host, port)`` (IPv6 addresses have 4 fields)."""
    host = addr[0] if addr else ""
    port = addr[1] if len(addr) > 1 else 0
    return str(host), port if isinstance(port, int) else 0


__all__ = ["Address", "Link", "peer"]
