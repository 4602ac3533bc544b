"""Per-SSRC state of a crypto context (RFC 3711 §3.2.1, §3.2.3).

SRTP: the highest index seen (which holds ROC and s_l) with its replay window, or — before the
first packet — the ROC to start from (``None`` when the receiver does not know it). SRTCP: the
sender's next SRTCP index and the receiver's replay window. The table of streams is bounded.
"""

from __future__ import annotations

from typing import Final

from broadcast.proto.srtp.errors import TooManyStreams
from broadcast.proto.srtp.replay import ReplayWindow, estimate_index

#: Hard bound on the SSRCs one context tracks.
MAX_STREAMS: Final = 1024


class StreamState:
    """ROC/s_l, replay windows and SRTCP index of one SSRC."""

    __slots__ = ("base_roc", "srtcp_next", "srtcp_window", "srtp_window")

    def __init__(self, window_size: int, base_roc: int | None) -> None:
        self.srtp_window = ReplayWindow(window_size)
        self.srtcp_window = ReplayWindow(window_size)
        self.base_roc = base_roc
        self.srtcp_next = 0

    @property
    def roc(self) -> int | None:
        """The current ROC (None: not known yet)."""
        highest = self.srtp_window.highest
        return self.base_roc if highest is None else highest >> 16

    def local_index(self, seq: int) -> int | None:
        """The index the local state assigns to ``seq`` (Appendix A), None if the ROC is unknown."""
        highest = self.srtp_window.highest
        if highest is not None:
            return estimate_index(highest, seq)
        if self.base_roc is None:
            return None
        return (self.base_roc << 16) | seq


class StreamTable:
    """SSRC -> :class:`StreamState`, at most ``max_streams`` entries."""

    __slots__ = ("_streams", "base_roc", "max_streams", "window_size")

    def __init__(self, *, max_streams: int, window_size: int, base_roc: int | None) -> None:
        if not 1 <= max_streams <= MAX_STREAMS:
            raise ValueError(f"max_streams must be 1..{MAX_STREAMS}")
        ReplayWindow(window_size)  # validates the size
        self.max_streams = max_streams
        self.window_size = window_size
        self.base_roc = base_roc
        self._streams: dict[int, StreamState] = {}

    def get(self, ssrc: int) -> StreamState | None:
        return self._streams.get(ssrc)

    def fresh(self, base_roc: int | None = None) -> StreamState:
        """A detached state for a new SSRC (added with :meth:`commit` once a packet passed)."""
        return StreamState(self.window_size, self.base_roc if base_roc is None else base_roc)

    def commit(self, ssrc: int, state: StreamState) -> None:
        if ssrc not in self._streams:
            if len(self._streams) >= self.max_streams:
                raise TooManyStreams(f"already tracking {self.max_streams} SSRCs")
            self._streams[ssrc] = state

    def __len__(self) -> int:
        return len(self._streams)

    def ssrcs(self) -> tuple[int, ...]:
        return tuple(self._streams)
