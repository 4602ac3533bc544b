"""Point-to-multipoint on loopback: one send, one copy per UE (see :mod:`broadcast.demo.plan`).

A :class:`broadcast.aio.sgimb.output.DatagramOutput` whose every datagram sent to a nominal session
host is sent once to each subscribed UE host with the same port. Other destinations pass through. A
``tap`` sees every datagram once, with its nominal destination, before it is replicated (the demo
watches the MTK messages leave that way).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from broadcast.aio.sgimb.output import DatagramOutput
from broadcast.config.output import OutputConfig

Address = tuple[str, int]
Tap = Callable[[bytes, Address], None]


class FanOutOutput(DatagramOutput):
    """A :class:`DatagramOutput` (same socket options, stats and ``close``) whose sends are
    replicated per ``routes``: nominal host -> the UE hosts that get a copy."""

    def __init__(
        self,
        routes: dict[str, Sequence[str]],
        config: OutputConfig | None = None,
        *,
        tap: Tap | None = None,
    ) -> None:
        super().__init__(config)
        self._routes = {host: tuple(hosts) for host, hosts in routes.items()}
        self.tap = tap

    def _expand(self, items: Sequence[tuple[bytes, Address]]) -> list[tuple[bytes, Address]]:
        out: list[tuple[bytes, Address]] = []
        tap = self.tap
        for datagram, dest in items:
            if tap is not None:
                tap(datagram, dest)
            hosts = self._routes.get(dest[0])
            if hosts is None:
                out.append((datagram, dest))
            else:
                out.extend((datagram, (host, dest[1])) for host in hosts)
        return out

    def _copies(self, dest: Address) -> int:
        return len(self._routes.get(dest[0], (dest[0],)))

    def send_batch(self, datagrams: Sequence[bytes], dest: Address) -> int:
        """Returns how many of ``datagrams`` left (each counted once, not once per UE)."""
        sent = super().send_many(self._expand([(d, dest) for d in datagrams]))
        return sent // max(1, self._copies(dest))

    def send_many(self, items: Sequence[tuple[bytes, Address]]) -> int:
        expanded = self._expand(items)
        return super().send_many(expanded) * len(items) // max(1, len(expanded))

    async def send_batch_async(self, datagrams: Sequence[bytes], dest: Address) -> int:
        expanded = self._expand([(d, dest) for d in datagrams])
        return await super().send_many_async(expanded) // max(1, self._copies(dest))

    async def send_many_async(self, items: Sequence[tuple[bytes, Address]]) -> int:
        expanded = self._expand(items)
        return await super().send_many_async(expanded) * len(items) // max(1, len(expanded))
