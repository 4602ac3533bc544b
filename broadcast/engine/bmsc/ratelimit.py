"""Per-client rate limit of the MSK request server: one token bucket per client address.

At most ``max_clients`` buckets are kept (least recently seen dropped first), so memory stays
bounded whatever the number of addresses. ``now_mono`` is injected (monotonic seconds,
:data:`~broadcast.time.MonotonicS`).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from broadcast.time import MonotonicS


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: MonotonicS


class RateLimiter:
    """``allow(client, now_mono)`` -> 0.0 when allowed, else the seconds until a token is available.

    ``rate`` tokens per second, up to ``burst``; ``rate == 0`` disables the limit.
    """

    def __init__(self, rate: float, burst: int, max_clients: int) -> None:
        if rate < 0 or burst < 1 or max_clients < 1:
            raise ValueError("rate >= 0, burst >= 1, max_clients >= 1")
        self.rate = rate
        self.burst = float(burst)
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def allow(self, client: str, now_mono: MonotonicS) -> float:
        if self.rate == 0:
            return 0.0
        b = self._buckets.get(client)
        if b is None:
            if len(self._buckets) >= self.max_clients:
                self._buckets.popitem(last=False)
            b = self._buckets[client] = _Bucket(self.burst, now_mono)
        else:
            self._buckets.move_to_end(client)
            b.tokens = min(self.burst, b.tokens + max(0.0, now_mono - b.at) * self.rate)
            b.at = now_mono
        if b.tokens >= 1.0:
            b.tokens -= 1.0
            return 0.0
        return (1.0 - b.tokens) / self.rate

    def __len__(self) -> int:
        return len(self._buckets)
