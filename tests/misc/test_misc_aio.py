"""broadcast.aio.service.AsyncService: ``async with`` starts and stops, also when the body raises,
and the services of the shell share it."""

from __future__ import annotations

import asyncio

import pytest

from broadcast.aio.download.service import CarouselService
from broadcast.aio.service import AsyncService
from broadcast.aio.streaming.service import StreamService
from broadcast.aio.ue.download import DownloadClient
from broadcast.aio.ue.receive_worker import ReceiveWorker
from broadcast.aio.ue.service import ReferenceUe
from broadcast.aio.ue.streaming import StreamingClient


class _Recorder(AsyncService):
    def __init__(self) -> None:
        self.calls: list[str] = []

    async def start(self) -> None:
        self.calls.append("start")

    async def stop(self) -> None:
        self.calls.append("stop")


def test_async_with_starts_and_stops() -> None:
    async def main() -> _Recorder:
        svc = _Recorder()
        async with svc as entered:
            assert entered is svc
            assert svc.calls == ["start"]
        return svc

    assert asyncio.run(main()).calls == ["start", "stop"]


def test_stop_runs_when_the_body_raises_and_the_error_propagates() -> None:
    svc = _Recorder()

    async def main() -> None:
        async with svc:
            raise LookupError("body failed")

    with pytest.raises(LookupError, match="body failed"):
        asyncio.run(main())
    assert svc.calls == ["start", "stop"]


def test_start_and_stop_are_required() -> None:
    class Half(AsyncService):
        async def start(self) -> None:
            pass

    with pytest.raises(TypeError, match="stop"):
        Half()  # type: ignore[abstract]


@pytest.mark.parametrize(
    "cls",
    [StreamService, CarouselService, ReceiveWorker, ReferenceUe, StreamingClient, DownloadClient],
)
def test_the_services_share_the_life_cycle(cls: type) -> None:
    assert issubclass(cls, AsyncService)
    assert cls.__aenter__ is AsyncService.__aenter__
    assert cls.__aexit__ is AsyncService.__aexit__
