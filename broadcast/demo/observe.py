"""What the senders did, seen from the BM-SC side — the yardstick every UE is measured against.

* streaming MTKs **sent**: every MIKEY MTK message the stream puts on UDP 2269 passes the
  fan-out's tap once; its (unprotected) header names the MSK ID and MTK ID;
* streaming MTKs **used**: the MTK that protects the stream, sampled from the service's status
  a few times a second (an MTK is current for a whole period, seconds);
* carousel MTKs: each MTK generation of the carousel, sampled from the service likewise.

Names are ``MSK ID/MTK ID`` in hex, as the UE reports them. Only identifiers are kept.
"""

from __future__ import annotations

from typing import Final

from broadcast import profile
from broadcast.aio.download.service import CarouselService
from broadcast.aio.streaming.service import StreamService
from broadcast.proto.mikey import Kind, MikeyError, envelope

#: Message bytes already looked at, kept so that re-sends are not parsed again.
_MAX_SEEN: Final = 256

Address = tuple[str, int]


def _add(names: list[str], name: str) -> None:
    if name not in names:
        names.append(name)


class SenderObserver:
    """Collects the MTKs the stream and the carousel sent and used (see the module doc)."""

    def __init__(self) -> None:
        self.stream_sent: list[str] = []
        self.stream_used: list[str] = []
        self.carousel: list[str] = []
        self.stream_mikey_messages = 0
        self._seen: set[bytes] = set()

    def on_stream_datagram(self, datagram: bytes, destination: Address) -> None:
        """The fan-out's tap: look at MTK messages (UDP 2269), ignore SRTP/SRTCP."""
        if destination[1] != profile.MIKEY_UDP_PORT:
            return
        self.stream_mikey_messages += 1
        if datagram in self._seen:
            return
        if len(self._seen) >= _MAX_SEEN:
            self._seen.clear()
        self._seen.add(datagram)
        try:
            env = envelope(datagram)
        except MikeyError:
            return
        if env.kind is Kind.MTK and env.mtk_id is not None:
            _add(self.stream_sent, f"{env.msk_id}/{env.mtk_id}")

    def sample(self, stream: StreamService | None, carousel: CarouselService | None) -> None:
        if stream is not None:
            status = stream.status()
            if status.msk_id is not None and status.mtk_id is not None:
                _add(self.stream_used, f"{status.msk_id}/{status.mtk_id}")
        if carousel is not None and carousel.mtk is not None:
            _add(self.carousel, f"{carousel.mtk.msk_id}/{carousel.mtk.mtk_id}")


__all__ = ["SenderObserver"]
