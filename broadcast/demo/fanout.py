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

    def send_batch(self, datagrams: Sequence[bytes], dest: Address) -> int:
        hosts = self._routes.get(dest[0])
        if hosts is None:
            return self._out.send_batch(datagrams, dest)
        sent = 0
        for host in hosts:
            sent = max(sent, self._out.send_batch(datagrams, (host, dest[1])))
        return sent

    def close(self) -> None:
        self._out.close()
