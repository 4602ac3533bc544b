"""Download benchmarks (pytest-benchmark): ALC packetizing vs flute-alc, DCF protection, and the
carousel's memory bound.

Measure with ``.venv/bin/python -m pytest benchmarks/test_bench_download.py --benchmark-enable``;
the project's addopts carry ``--benchmark-disable``, so a plain (CI) run executes each once on a
small size as a smoke test that also checks the outputs. ``benchmarks/compare_flute.py`` prints
the ratios of one run on the full sizes (100 MB object, 1 GB carousel).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from compare_flute import (
    CAROUSEL_CHILD,
    check_peer_object,
    dcf_rate,
    ours_blockwise,
    ours_carousel,
    prepared,
)
from flute import sender

MB = 4_000_000
DATA = os.urandom(MB)
PACKETS = -(-MB // 1400)


def test_alc_ours_blockwise(benchmark: Any) -> None:
    benchmark.group = "alc-packetize"
    assert benchmark(ours_blockwise, DATA) == PACKETS


def test_alc_ours_carousel(benchmark: Any) -> None:
    benchmark.group = "alc-packetize"
    assert benchmark(ours_carousel, prepared(DATA)) == PACKETS + 1  # and the FDT Instance


def test_alc_flute_alc(benchmark: Any) -> None:
    benchmark.group = "alc-packetize"
    check_peer_object(DATA[:300_000])

    def setup() -> tuple[tuple[Any], dict[str, Any]]:
        s = sender.Sender(1, sender.Oti.new_no_code(1400, 64), sender.Config())
        s.add_object_from_buffer(DATA, "application/octet-stream", "file:///b.bin")
        s.publish()
        return (s,), {}

    def drain(s: Any) -> int:
        n = 0
        while s.read() is not None:
            n += 1
        return n

    assert benchmark.pedantic(drain, setup=setup, rounds=3) >= PACKETS


def test_dcf_protect(benchmark: Any) -> None:
    benchmark.group = "dcf-protect"
    assert benchmark.pedantic(dcf_rate, args=(8, 1), rounds=1) > 0


def _carousel_rss(megabytes: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CAROUSEL_CHILD, str(megabytes / 1024), "4"],
        capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["bytes_sent"] >= megabytes * (1 << 20)
    return result


def test_carousel_peak_rss_is_bounded() -> None:
    """Carousels of 16 MB and 112 MB of files, one round each to a sink: the peak RSS (the
    child's own VmHWM, not the ru_maxrss it would inherit from pytest) grows by far less than
    the content (the proportional form of the 1 GB < 200 MB target) and stays under 200 MB."""
    small, large = _carousel_rss(16), _carousel_rss(112)
    growth_kb = large["peak_rss_kb"] - small["peak_rss_kb"]
    assert growth_kb < (112 - 16) * 1024 // 8
    assert large["peak_rss_kb"] < 200 * 1024
