"""SRTP protect throughput (pytest-benchmark): pure per-packet vs native batch, 1200-byte payloads.

Measure with ``.venv/bin/python -m pytest benchmarks/test_bench_srtp.py --benchmark-enable``;
the project's addopts carry ``--benchmark-disable``, so a plain run executes each once as a smoke
test. ``benchmarks/compare_srtp.py`` adds the pylibsrtp (libsrtp2) and ``openssl speed`` peers;
this file needs neither.
"""

from __future__ import annotations

from typing import Any

import pytest
from compare_srtp import native_protect, native_unprotect, pure_protect, rtp_packets, session_keys

from broadcast._native import srtp_batch

BATCH = 2_000
PAYLOAD = 1200


def record_rate(benchmark: Any, packets_per_call: int) -> None:
    benchmark.extra_info["packets_per_call"] = packets_per_call
    if benchmark.enabled and benchmark.stats is not None:
        benchmark.extra_info["packets_per_s"] = round(packets_per_call / benchmark.stats.stats.min)


@pytest.fixture(scope="module")
def packets() -> list[bytes]:
    return rtp_packets(BATCH, PAYLOAD)


@pytest.mark.benchmark(group="srtp-protect-1200")
def test_srtp_protect_pure(benchmark: Any, packets: list[bytes]) -> None:
    out = benchmark.pedantic(pure_protect, args=(packets[:500],), rounds=3)
    assert len(out) == 500
    record_rate(benchmark, 500)


@pytest.mark.benchmark(group="srtp-protect-1200")
def test_srtp_protect_native_batch(benchmark: Any, packets: list[bytes]) -> None:
    out = benchmark.pedantic(native_protect, args=(packets,), rounds=5)
    assert out[:500] == pure_protect(packets[:500])
    record_rate(benchmark, len(packets))


@pytest.mark.benchmark(group="srtp-unprotect-1200")
@pytest.mark.parametrize("engine", ["openssl", "sha-ni"])
def test_srtp_unprotect_native_batch(benchmark: Any, packets: list[bytes], engine: str) -> None:
    if engine not in srtp_batch.sha1_engines():
        engine = "openssl"  # the CPU has no SHA extensions: measure the engine it has
    srtp = native_protect(packets)
    indices = [int.from_bytes(p[2:4], "big") for p in packets]
    keys = session_keys()
    previous = srtp_batch.set_sha1_engine(engine)
    try:
        out = benchmark.pedantic(native_unprotect, args=(srtp, indices, keys), rounds=5)
    finally:
        srtp_batch.set_sha1_engine(previous)
    assert out == packets
    record_rate(benchmark, len(packets))
