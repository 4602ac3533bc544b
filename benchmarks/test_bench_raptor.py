"""Raptor (RFC 5053) block encode/decode throughput, K = 1024 source symbols of T = 1024 bytes.

Measure with ``.venv/bin/python -m pytest benchmarks/test_bench_raptor.py --benchmark-enable``;
the project's addopts carry ``--benchmark-disable``, so a plain run executes each once as a smoke
test. ``extra_info["MB_per_s"]`` is the source block size (1 MiB) over the best round.

- encode: intermediate symbols (elimination schedule cached per K) + 20 % repair symbols;
- decode: 15 % of the source symbols lost, K + 10 symbols received (rest repair), the schedule
  built for that ESI set, the missing source symbols rebuilt;
- decode, repair only: K + 10 repair symbols, no source symbol.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from broadcast.proto.flute.fec.raptor_codec import BlockEncoder, decode_block

K = 1024
T = 1024
REPAIR = K // 5


def record_rate(benchmark: Any) -> None:
    benchmark.extra_info["block_bytes"] = K * T
    if benchmark.enabled and benchmark.stats is not None:
        benchmark.extra_info["MB_per_s"] = round(K * T / benchmark.stats.stats.min / 1e6, 1)


@pytest.fixture(scope="module")
def source() -> bytes:
    return random.Random(1).randbytes(K * T)


@pytest.fixture(scope="module")
def encoder(source: bytes) -> BlockEncoder:
    return BlockEncoder(K, T, source)


def _encode(source: bytes) -> bytes:
    return BlockEncoder(K, T, source).symbols(range(K, K + REPAIR))


def _received(encoder: BlockEncoder, esis: list[int]) -> tuple[list[int], bytes]:
    return esis, encoder.symbols(esis)


@pytest.mark.benchmark(group="raptor-k1024-t1024")
def test_raptor_encode(benchmark: Any, source: bytes, encoder: BlockEncoder) -> None:
    repair = benchmark.pedantic(_encode, args=(source,), rounds=5, warmup_rounds=1)
    assert repair == encoder.symbols(range(K, K + REPAIR))
    record_rate(benchmark)


@pytest.mark.benchmark(group="raptor-k1024-t1024")
def test_raptor_decode_with_losses(benchmark: Any, source: bytes, encoder: BlockEncoder) -> None:
    rnd = random.Random(2)
    kept = [e for e in range(K) if rnd.random() >= 0.15]
    esis, data = _received(encoder, kept + list(range(K, K + K + 10 - len(kept))))
    out = benchmark.pedantic(decode_block, args=(K, T, esis, data), rounds=5)
    assert out == source
    record_rate(benchmark)


@pytest.mark.benchmark(group="raptor-k1024-t1024")
def test_raptor_decode_repair_only(benchmark: Any, source: bytes, encoder: BlockEncoder) -> None:
    esis, data = _received(encoder, list(range(K, 2 * K + 10)))
    out = benchmark.pedantic(decode_block, args=(K, T, esis, data), rounds=5)
    assert out == source
    record_rate(benchmark)
