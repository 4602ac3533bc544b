"""The life cycle every asyncio service of the shell shares: ``start()`` / ``stop()`` and
``async with``.

A service (the stream, the carousel, the receive worker, the reference UE and its clients) is
usable programmatically in one event loop: ``await service.start()`` ... ``await service.stop()``,
or ``async with service: ...``, which starts it on entry and stops it on exit, also when the body
raises (the exception then propagates: ``__aexit__`` never suppresses it). ``stop()`` should be
idempotent, so that an explicit stop inside the block is harmless.
"""

from __future__ import annotations

import abc
from types import TracebackType
from typing import Self


class AsyncService(abc.ABC):
    """Base of an asyncio service: abstract :meth:`start` / :meth:`stop`, and ``async with``."""

    __slots__ = ()

    @abc.abstractmethod
    async def start(self) -> None:
        """Open what the service needs and start its tasks."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Stop the tasks and release everything :meth:`start` opened (idempotent)."""

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


__all__ = ["AsyncService"]
