"""Streaming pipeline throughput (pytest-benchmark): generator -> checks -> SRTP -> UDP send, and
SRTP unprotect, 1200-byte payloads.

Measure with ``.venv/bin/python -m pytest benchmarks/test_bench_streaming.py --benchmark-enable``;
the project's addopts carry ``--benchmark-disable``, so a plain run executes each once as a smoke
test (the assertions still check the output). ``benchmarks/compare_pipeline.py`` adds the full
asyncio service (generator and UDP ingest), CPU µs per packet and the pylibsrtp peer.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from compare_pipeline import (
    MKI,
    SINK_PORT,
    Sink,
    native_unprotect,
    protected,
    pure_unprotect,
    rtp_packets,
    sync_pipeline,
)

from broadcast.aio.sgimb.output import DatagramOutput

PAYLOAD = 1200
PACKETS = 2_048


def record_rate(benchmark: Any, packets_per_call: int) -> None:
    benchmark.extra_info["packets_per_call"] = packets_per_call
    if benchmark.enabled and benchmark.stats is not None:
        benchmark.extra_info["packets_per_s"] = round(packets_per_call / benchmark.stats.stats.min)


@pytest.fixture(scope="module")
def output() -> Iterator[DatagramOutput]:
    sink = Sink(SINK_PORT)
    out = DatagramOutput()
    yield out
    out.close()
    sink.close()


@pytest.mark.benchmark(group="stream-pipeline-1200")
def test_pipeline_native(benchmark: Any, output: DatagramOutput) -> None:
    n = benchmark.pedantic(sync_pipeline, args=(PAYLOAD, PACKETS, True, output), rounds=5)
    assert n == PACKETS
    record_rate(benchmark, PACKETS)


@pytest.mark.benchmark(group="stream-pipeline-1200")
def test_pipeline_pure(benchmark: Any, output: DatagramOutput) -> None:
    n = benchmark.pedantic(sync_pipeline, args=(PAYLOAD, 512, False, output), rounds=3)
    assert n == 512
    record_rate(benchmark, 512)


@pytest.fixture(scope="module")
def srtp() -> tuple[list[bytes], list[bytes], list[int]]:
    packets = rtp_packets(PACKETS, PAYLOAD)
    return packets, protected(packets, True), [int.from_bytes(p[2:4], "big") for p in packets]


@pytest.mark.benchmark(group="srtp-unprotect-1200")
def test_unprotect_native(benchmark: Any, srtp: tuple[list[bytes], list[bytes], list[int]]) -> None:
    packets, with_mki, indices = srtp
    out = benchmark.pedantic(native_unprotect, args=(with_mki, indices, True), rounds=5)
    assert out == packets
    record_rate(benchmark, len(packets))


@pytest.mark.benchmark(group="srtp-unprotect-1200")
def test_unprotect_pure(benchmark: Any, srtp: tuple[list[bytes], list[bytes], list[int]]) -> None:
    packets, with_mki, _ = srtp
    out = benchmark.pedantic(pure_unprotect, args=(with_mki[:300],), rounds=3)
    assert out == packets[:300] and MKI in with_mki[0]
    record_rate(benchmark, 300)
