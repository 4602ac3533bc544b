"""The demo's live view: per-UE progress while it runs.

On a terminal the view is a table redrawn in place (ANSI: cursor up, clear to the end) about
twice a second; otherwise (a pipe, a CI log) it prints one summary line every few seconds.
The rows come from :class:`UeProgress` snapshots the runner takes; nothing here touches a socket.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, TextIO

from broadcast.time import MonotonicS

#: Seconds between two redraws on a terminal, and between two lines otherwise.
TTY_INTERVAL: Final = 0.5
LINE_INTERVAL: Final = 5.0


@dataclass(frozen=True, slots=True)
class UeProgress:
    """One UE right now."""

    index: int
    msks: int
    acks: int
    stream_mtks: int
    srtp_decrypted: int
    srtp_undecryptable: int
    download_mtks: int
    files: int
    files_expected: int
    dropped: int
    state: str


@dataclass(frozen=True, slots=True)
class RunProgress:
    """The senders right now."""

    phase: str
    elapsed: float
    duration: float
    stream_mtk: str | None
    switches: int
    carousel_mtk: str | None
    current_msks: str


def table(run: RunProgress, ues: Sequence[UeProgress]) -> list[str]:
    head = (
        f"[{run.phase}] {run.elapsed:5.1f}/{run.duration:.0f} s  stream MTK "
        f"{run.stream_mtk or '-'} ({run.switches} switches)  carousel MTK "
        f"{run.carousel_mtk or '-'}  current MSKs {run.current_msks}"
    )
    cols = ("UE", "MSKs", "ACKs", "stream MTKs", "SRTP ok", "SRTP bad", "DL MTKs", "files", "lost")
    rows = [cols] + [
        (
            str(u.index),
            str(u.msks),
            str(u.acks),
            str(u.stream_mtks),
            str(u.srtp_decrypted),
            str(u.srtp_undecryptable),
            str(u.download_mtks),
            f"{u.files}/{u.files_expected}",
            str(u.dropped),
        )
        for u in ues
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(cols))]
    lines = [head]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return lines


def line(run: RunProgress, ues: Sequence[UeProgress]) -> str:
    files = sum(u.files for u in ues)
    expected = sum(u.files_expected for u in ues)
    with_msks = sum(1 for u in ues if u.msks >= 2)
    return (
        f"[{run.phase}] t={run.elapsed:.0f}/{run.duration:.0f}s stream MTK "
        f"{run.stream_mtk or '-'} ({run.switches} switches), carousel MTK "
        f"{run.carousel_mtk or '-'}, MSKs {run.current_msks}; UEs with MSKs "
        f"{with_msks}/{len(ues)}, files {files}/{expected}, SRTP decrypted "
        f"{sum(u.srtp_decrypted for u in ues)} (undecryptable "
        f"{sum(u.srtp_undecryptable for u in ues)}), lost {sum(u.dropped for u in ues)}"
    )


class LiveView:
    """Writes progress to ``out``: redrawn table on a TTY, periodic lines otherwise."""

    def __init__(self, out: TextIO, *, tty: bool) -> None:
        self.out = out
        self.tty = tty
        self.interval = TTY_INTERVAL if tty else LINE_INTERVAL
        self._drawn = 0
        self._last: MonotonicS | None = None

    def due(self, now_mono: MonotonicS) -> bool:
        return self._last is None or now_mono - self._last >= self.interval

    def show(self, now_mono: MonotonicS, run: RunProgress, ues: Sequence[UeProgress]) -> None:
        self._last = now_mono
        if self.tty:
            lines = table(run, ues)
            prefix = f"\x1b[{self._drawn}F\x1b[J" if self._drawn else ""
            self.out.write(prefix + "\n".join(lines) + "\n")
            self._drawn = len(lines)
        else:
            self.out.write(line(run, ues) + "\n")
        self.out.flush()

    def note(self, text: str) -> None:
        """A line that stays (the table is redrawn below it)."""
        if self.tty and self._drawn:
            self.out.write(f"\x1b[{self._drawn}F\x1b[J")
            self._drawn = 0
        self.out.write(text + "\n")
        self.out.flush()


__all__ = ["LiveView", "RunProgress", "UeProgress", "line", "table"]
