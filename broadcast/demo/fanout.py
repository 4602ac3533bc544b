"""Point-to-multipoint on loopback: one send, one copy per UE (see :mod:`broadcast.demo.plan`).

Wraps a :class:`broadcast.sgimb.DatagramOutput`; a datagram sent to a nominal session host is
sent once to each subscribed UE host with the same port. Other destinations pass through.
"""

from __future__ import annotations

from collections.abc import Sequence

from broadcast.sgimb import DatagramOutput, OutputConfig, OutputStats

Address = tuple[str, int]


class FanOutOutput:
    """Same interface as :class:`DatagramOutput` (``send``, ``send_batch``, ``stats``,
    ``close``)."""

    def __init__(
        self, routes: dict[str, Sequence[str]], config: OutputConfig | None = None
    ) -> None:
        self._out = DatagramOutput(config)
        self._routes = {host: tuple(hosts) for host, hosts in routes.items()}

    @property
    def stats(self) -> OutputStats:
        return self._out.stats

    @property
    def local_address(self) -> Address:
        return self._out.local_address

    def send(self, datagram: bytes, dest: Address) -> None:
        self.send_batch((datagram,), dest)

    def _expand(self, items: Sequence[tuple[bytes, Address]]) -> list[tuple[bytes, Address]]:
        out: list[tuple[bytes, Address]] = []
        for datagram, dest in items:
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
        return self._out.send_many(self._expand([(d, dest) for d in datagrams])) // max(
            1, self._copies(dest)
        )

    def send_many(self, items: Sequence[tuple[bytes, Address]]) -> int:
        expanded = self._expand(items)
        return self._out.send_many(expanded) * len(items) // max(1, len(expanded))

    async def send_batch_async(self, datagrams: Sequence[bytes], dest: Address) -> int:
        expanded = self._expand([(d, dest) for d in datagrams])
        return await self._out.send_many_async(expanded) // max(1, self._copies(dest))

    async def send_many_async(self, items: Sequence[tuple[bytes, Address]]) -> int:
        expanded = self._expand(items)
        return await self._out.send_many_async(expanded) * len(items) // max(1, len(expanded))

    def close(self) -> None:
        self._out.close()
