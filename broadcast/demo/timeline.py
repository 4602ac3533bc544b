"""When things happen in the demo, scaled to its duration (sans-IO: numbers only).

The run lasts ``duration`` seconds from the moment the stream and the carousel start (the UEs
have registered and hold their MSKs by then). Over it, whatever the duration:

* the stream changes MTK every ``duration / 6`` seconds (≥ 5 switches; the MTK message goes out
  ``lead`` (half a period, at most 2 s) before each switch and is re-sent every ``lead / 8``, so
  about eight copies precede every switch: a UE losing 5 % of its packets misses one with a
  probability of about 4e-11);
* at 0.2·duration the BM-SC rotates the MSK of both Key Groups: it creates the NEXT MSK and
  pushes it to every registered UE, and promotes it 0.2·duration later (at 0.4·duration); MTKs
  made after that are under the new MSK;
* the carousel changes MTK at 0.55·duration (under the new MSK): every file is protected again
  and re-sent under new TOIs, the old generation stays on air for ``carousel_grace`` (to the
  end of the run), so a UE may complete a file from either generation.

The media starts ``lead`` after the stream: the first MTK, current at once, gets the same head
start as every later one. The carousel sends continuously at ``carousel_kbps`` (files repeated
back to back, FDT and MIKEY object every ``fdt_interval``), fast enough for several passes per
generation even in a 20 s run — what lets every UE recover every file with a few % loss
(Compact No-Code only repeats).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

#: Shortest and longest run accepted (seconds).
MIN_DURATION: Final = 10.0
MAX_DURATION: Final = 3600.0
#: Default run length (``--duration``).
DEFAULT_DURATION: Final = 60.0


@dataclass(frozen=True, slots=True)
class Timeline:
    duration: float
    stream_mtk_period: float
    stream_mtk_lead: float
    stream_mtk_interval: float
    msk_rotation_at: float
    msk_promote_after: float
    carousel_mtk_period: float
    carousel_grace: float
    carousel_kbps: float
    fdt_interval: float
    watch_interval: float

    @classmethod
    def for_duration(cls, duration: float) -> Timeline:
        if not MIN_DURATION <= duration <= MAX_DURATION:
            raise ValueError(f"the duration must be {MIN_DURATION:g}..{MAX_DURATION:g} s")
        period = duration / 6
        lead = min(2.0, period / 2)
        return cls(
            duration=duration,
            stream_mtk_period=period,
            stream_mtk_lead=lead,
            stream_mtk_interval=min(0.5, lead / 8),
            msk_rotation_at=0.2 * duration,
            msk_promote_after=0.2 * duration,
            carousel_mtk_period=0.55 * duration,
            carousel_grace=0.5 * duration,
            carousel_kbps=8000.0,
            fdt_interval=0.5,
            watch_interval=0.25,
        )

    @property
    def msk_promoted_at(self) -> float:
        return self.msk_rotation_at + self.msk_promote_after

    @property
    def expected_stream_switches(self) -> int:
        """MTK switches that fall inside the run (the last one may race the end: not counted)."""
        return int(self.duration / self.stream_mtk_period - 1e-9)

    @property
    def expected_carousel_mtks(self) -> int:
        return 1 + int(self.duration / self.carousel_mtk_period - 1e-9)


__all__ = ["DEFAULT_DURATION", "MAX_DURATION", "MIN_DURATION", "Timeline"]
