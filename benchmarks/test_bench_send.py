"""UDP send throughput (pytest-benchmark): a sendto loop vs DatagramOutput (GSO, sendmmsg).

Measure with ``.venv/bin/python -m pytest benchmarks/test_bench_send.py --benchmark-enable``;
the project's addopts carry ``--benchmark-disable``, so a plain run executes each once as a smoke
test. ``benchmarks/compare_send.py`` prints the ratios of one run.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from compare_send import SINK_HOST, SOURCE_HOST, _sink, alc_equal, sendto_loop, video_mix

from broadcast.aio.sgimb.output import DatagramOutput
from broadcast.config.output import OutputConfig

BATCH = 2048
WORKLOADS = {"video": video_mix(BATCH), "alc": alc_equal(BATCH)}


def record_rate(benchmark: Any, per_call: int) -> None:
    benchmark.extra_info["datagrams_per_call"] = per_call
    if benchmark.enabled and benchmark.stats is not None:
        benchmark.extra_info["datagrams_per_s"] = round(per_call / benchmark.stats.stats.min)


@pytest.fixture(scope="module")
def dest() -> Iterator[tuple[str, int]]:
    with _sink(SINK_HOST) as sink:  # never read: drops when full, the sender is measured
        yield sink.getsockname()


@pytest.mark.parametrize("workload", sorted(WORKLOADS))
def test_send_sendto_loop(benchmark: Any, dest: tuple[str, int], workload: str) -> None:
    benchmark.group = f"udp-send-{workload}"
    batch = WORKLOADS[workload]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((SOURCE_HOST, 0))
        benchmark.pedantic(sendto_loop, args=(sock, batch, dest), rounds=5)
    record_rate(benchmark, len(batch))


@pytest.mark.parametrize("gso", [True, False], ids=["gso", "sendmmsg"])
@pytest.mark.parametrize("workload", sorted(WORKLOADS))
def test_send_datagram_output(
    benchmark: Any, dest: tuple[str, int], workload: str, gso: bool
) -> None:
    benchmark.group = f"udp-send-{workload}"
    batch = WORKLOADS[workload]
    with DatagramOutput(OutputConfig(source=SOURCE_HOST, gso=gso)) as out:
        sent = benchmark.pedantic(out.send_batch, args=(batch, dest), rounds=5)
        assert sent == len(batch)
        assert out.stats.errors == 0
        assert (out.stats.gso_messages > 0) is gso
    record_rate(benchmark, len(batch))
