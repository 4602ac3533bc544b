"""Packet index estimation and the replay window (RFC 3711 §3.3.1, §3.3.2, Appendix A).

A stream's ROC and s_l are kept as one number, the highest authenticated index
``2^16·ROC + s_l``. The window is a bitmask: bit k set means index ``highest - k`` was received.
"""

from __future__ import annotations

from enum import Enum
from typing import Final

#: RFC 3711 §3.3.2: "a replay list ... window size MUST be at least 64".
MIN_WINDOW: Final = 64
#: Upper bound of the configurable window (keeps the bitmask small).
MAX_WINDOW: Final = 1 << 15
INDEX_LIMIT: Final = 1 << 48
ROC_LIMIT: Final = 1 << 32


def estimate_index(highest: int, seq: int) -> int:
    """Appendix A: the index i of a packet with sequence number ``seq``, given the highest index.

    ``v`` is ROC-1, ROC or ROC+1; the result may fall outside 0 .. 2^48-1 (the caller rejects it).
    """
    roc, s_l = highest >> 16, highest & 0xFFFF
    if s_l < 32768:
        v = roc - 1 if seq - s_l > 32768 else roc
    else:
        v = roc + 1 if s_l - 32768 > seq else roc
    return v * 65536 + seq


class Verdict(Enum):
    """Outcome of a replay check."""

    FRESH = "fresh"
    TOO_OLD = "too old"
    DUPLICATE = "duplicate"


class ReplayWindow:
    """Sliding window of received indices (RFC 3711 §3.3.2). Empty until the first ``accept``."""

    __slots__ = ("_bits", "highest", "size")

    def __init__(self, size: int = 128) -> None:
        if not MIN_WINDOW <= size <= MAX_WINDOW:
            raise ValueError(f"replay window must be {MIN_WINDOW}..{MAX_WINDOW}")
        self.size = size
        self.highest: int | None = None
        self._bits = 0

    def check(self, index: int) -> Verdict:
        """Would ``index`` be new? Does not change the window."""
        if self.highest is None or index > self.highest:
            return Verdict.FRESH
        delta = self.highest - index
        if delta >= self.size:
            return Verdict.TOO_OLD
        return Verdict.DUPLICATE if (self._bits >> delta) & 1 else Verdict.FRESH

    def accept(self, index: int) -> None:
        """Record ``index`` as received (call only after the packet passed every check)."""
        if self.highest is None or index > self.highest:
            shift = self.size if self.highest is None else min(index - self.highest, self.size)
            self._bits = ((self._bits << shift) | 1) & ((1 << self.size) - 1)
            self.highest = index
        else:
            self._bits |= 1 << (self.highest - index)

    def reset(self, index: int) -> None:
        """Forget the history and restart at ``index`` (ROC resynchronisation, RFC 4771 §3)."""
        self.highest = index
        self._bits = 1
