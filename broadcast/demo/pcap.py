"""``--pcap FILE``: the demo's UDP traffic as a classic libpcap file Wireshark opens.

Every datagram the demo's UEs receive (before any simulated loss: it was on the wire) and send
(MIKEY ACKs) is written as one IPv4/UDP packet with its real addresses and ports (classic pcap,
magic ``a1b2c3d4``, version 2.4, microsecond timestamps, LINKTYPE_RAW = 101: the packet starts
with the IPv4 header). The headers are built by :class:`broadcast.proto.net.ipv4.UdpIpv4Builder`
(RFC 791 header checksum, RFC 768 UDP checksum over the pseudo header). MIKEY on UDP 2269 is
dissected by Wireshark as such; SRTP and FLUTE/ALC need "Decode As". The HTTP Digest exchange
runs over TCP and is not in the file. The media source feeds the stream in-process, so no plain
RTP is ever on the (captured) wire.

A capture holds what the demo sent: SRTP, DCF and MIKEY messages — encrypted, no key in clear
(the key log, ``--keylog``, is the separate file that would open them).
"""

from __future__ import annotations

import struct
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Final

from broadcast.aio import clock
from broadcast.config.files import open_public
from broadcast.proto.net.ipv4 import MAX_UDP_PAYLOAD, Ipv4Error, UdpIpv4Builder
from broadcast.time import UnixClock

PCAP_MAGIC: Final = 0xA1B2C3D4
LINKTYPE_RAW: Final = 101
SNAPLEN: Final = 65535
TTL: Final = 64
#: Source builders kept (one per source address and port).
_MAX_BUILDERS: Final = 1024

Address = tuple[str, int]


def global_header() -> bytes:
    """The 24-byte pcap file header (little-endian, as libpcap writes on x86)."""
    return struct.pack("<IHHiIII", PCAP_MAGIC, 2, 4, 0, 0, SNAPLEN, LINKTYPE_RAW)


class PcapWriter:
    """Appends IPv4/UDP packets to a new pcap file (``with PcapWriter(path) as w``).

    The file is created (replacing an older one; a symbolic link is refused) with mode 0644:
    it holds protected traffic only (:func:`broadcast.config.files.open_public`).
    """

    def __init__(self, path: str | Path, clock_unix: UnixClock = clock.unix) -> None:
        self.path = Path(path)
        self.clock_unix = clock_unix
        self._file: BinaryIO | None = open_public(self.path, buffering=1 << 20)
        self._file.write(global_header())
        self._builders: dict[Address, UdpIpv4Builder] = {}
        self.packets = 0
        self.skipped = 0

    def write(self, payload: bytes, source: Address, destination: Address) -> None:
        """One UDP datagram from ``source`` to ``destination``, time-stamped now."""
        f = self._file
        if f is None:
            return
        if len(payload) > MAX_UDP_PAYLOAD or not source[0] or not destination[0]:
            self.skipped += 1
            return
        builder = self._builders.get(source)
        if builder is None:
            if len(self._builders) >= _MAX_BUILDERS:
                self._builders.clear()
            try:
                builder = UdpIpv4Builder(source[0], source[1], TTL)
            except Ipv4Error:
                self.skipped += 1
                return
            self._builders[source] = builder
        try:
            packet = builder.build(payload, destination[0], destination[1])
        except Ipv4Error:
            self.skipped += 1
            return
        t = self.clock_unix()
        sec = int(t)
        usec = min(999_999, int((t - sec) * 1_000_000))
        f.write(struct.pack("<IIII", sec, usec, len(packet), len(packet)))
        f.write(packet)
        self.packets += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> PcapWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<PcapWriter {self.path} ({self.packets} packets)>"


__all__ = ["LINKTYPE_RAW", "PcapWriter", "global_header"]
