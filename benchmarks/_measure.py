"""Measurement helpers shared by the comparison scripts: CPU pinning, best-of-N rates and
``openssl speed`` as the peer baseline. Absolute times on shared machines are noise; the scripts
print ratios measured in one run."""

from __future__ import annotations

import gc
import os
import subprocess
import time
from collections.abc import Callable


def pin(cpu: int | None) -> int:
    allowed = sorted(os.sched_getaffinity(0))
    chosen = allowed[0] if cpu is None else cpu
    os.sched_setaffinity(0, {chosen})
    return chosen


def best_rate(fn: Callable[[], object], per_call: int, repeat: int) -> float:
    """Best (highest) items/s over ``repeat`` calls of ``fn`` that each handle ``per_call``."""
    gc.collect()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return per_call / best


def openssl_speed(seconds: int, *selection: str) -> tuple[str, dict[int, float]]:
    """Run ``openssl speed -seconds S -mr <selection>``; returns the command and ops/s per size."""
    cmd = ["openssl", "speed", "-seconds", str(seconds), "-mr", *selection]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    sizes: list[int] = []
    per_size: dict[int, float] = {}
    for line in proc.stdout.splitlines() + proc.stderr.splitlines():
        if line.startswith("+H:"):
            sizes = [int(x) for x in line.split(":")[1:]]
        elif line.startswith("+F:"):
            # +F:<index>:<name>:<bytes/s for each size>
            rates = [float(x) for x in line.split(":")[3:]]
            per_size = {n: r / n for n, r in zip(sizes, rates, strict=True)}
    if not per_size:
        raise RuntimeError(f"could not parse the output of {' '.join(cmd)}")
    return " ".join(cmd), per_size


def fmt(v: float) -> str:
    return f"{v:,.0f}"
