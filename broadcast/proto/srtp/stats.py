"""Receiver statistics: accepted packets and rejections by reason (``SrtpError.reason``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class ReceiverStats:
    """Counters of one receiver context. ``rejected`` maps an error's ``reason`` to a count."""

    srtp_accepted: int = 0
    srtcp_accepted: int = 0
    #: Authenticated (or, for RCCm3, carried) ROCs that differed from the local estimate.
    roc_resyncs: int = 0
    rejected: Counter[str] = field(default_factory=Counter)

    @property
    def total_rejected(self) -> int:
        return sum(self.rejected.values())

    def as_dict(self) -> dict[str, int]:
        """Flat view, e.g. for a metrics exporter."""
        out = {
            "srtp_accepted": self.srtp_accepted,
            "srtcp_accepted": self.srtcp_accepted,
            "roc_resyncs": self.roc_resyncs,
        }
        out.update({f"rejected_{k}": v for k, v in sorted(self.rejected.items())})
        return out
