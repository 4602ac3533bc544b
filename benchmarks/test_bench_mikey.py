"""MIKEY throughput (pytest-benchmark): MSK push rounds pure vs native, MTK build, MTK open.

Measure with ``.venv/bin/python -m pytest benchmarks --benchmark-enable``; the project's addopts
carry ``--benchmark-disable``, so in a plain run every benchmark executes once as a smoke test.
``extra_info["messages_per_s"]`` is filled in when benchmarking is enabled (from the fastest
round). ``benchmarks/compare.py`` puts the numbers next to ``openssl speed``.
"""

from __future__ import annotations

from typing import Any

import pytest
from _workload import msk_push_round, mtk_message_kwargs

from broadcast.proto.mikey import build_mtk_message, envelope, open_mtk_message
from broadcast.proto.mikey.batch import build_msk_messages

BATCH = 10_000


def record_rate(benchmark: Any, messages_per_call: int) -> None:
    benchmark.extra_info["messages_per_call"] = messages_per_call
    if benchmark.enabled and benchmark.stats is not None:
        benchmark.extra_info["messages_per_s"] = round(
            messages_per_call / benchmark.stats.stats.min
        )


@pytest.fixture(scope="module")
def push_round() -> tuple[list[Any], dict[str, Any]]:
    return msk_push_round(BATCH)


@pytest.mark.benchmark(group="msk-push-10000")
def test_msk_batch_pure(benchmark: Any, push_round: tuple[list[Any], dict[str, Any]]) -> None:
    targets, common = push_round
    out = benchmark.pedantic(
        build_msk_messages, args=(targets,), kwargs={**common, "native": False}, rounds=3
    )
    assert len(out) == BATCH
    record_rate(benchmark, BATCH)


@pytest.mark.benchmark(group="msk-push-10000")
def test_msk_batch_native(benchmark: Any, push_round: tuple[list[Any], dict[str, Any]]) -> None:
    targets, common = push_round
    out = benchmark.pedantic(
        build_msk_messages,
        args=(targets,),
        kwargs={**common, "native": True},
        rounds=20,
        warmup_rounds=1,
    )
    assert out[:50] == build_msk_messages(targets[:50], **common, native=False)
    record_rate(benchmark, BATCH)


@pytest.mark.benchmark(group="mtk")
def test_mtk_build(benchmark: Any) -> None:
    kwargs = mtk_message_kwargs()
    msg = benchmark(lambda: build_mtk_message(**kwargs))
    assert open_mtk_message(envelope(msg), kwargs["msk"]).mtk == kwargs["mtk"]
    record_rate(benchmark, 1)


@pytest.mark.benchmark(group="mtk")
def test_mtk_parse_and_verify(benchmark: Any) -> None:
    kwargs = mtk_message_kwargs()
    msg = build_mtk_message(**kwargs)
    msk = kwargs["msk"]
    delivery = benchmark(lambda: open_mtk_message(envelope(msg), msk))
    assert delivery.mtk == kwargs["mtk"]
    record_rate(benchmark, 1)
