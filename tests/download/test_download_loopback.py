"""The carousel over a real loopback socket, received by DownloadReceiver with 10 % packet loss.

The UE side is given only the MSK (as an MSK message would): it finds the MIKEY objects through
the FDT Content-Type, verifies them, gets the MTKs and decrypts every DCF file to the original
bytes — across an MTK rotation, and following file changes in the watched directory. Loss is a
seeded, deterministic drop on the receive side; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from broadcast.aio.download.service import CarouselService
from broadcast.config.carousel import CarouselConfig
from broadcast.engine.ue.download_receiver import DownloadReceiver, FileReceived
from broadcast.proto.keys import MskId
from broadcast.store.keys import SQLiteKeyStore
from broadcast.time import ntp_from_unix

ADDRESS = "127.23.0.1"
TIMEOUT = 25.0


def _socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.bind((ADDRESS, 0))
    sock.setblocking(False)
    return sock


async def _receive_until(
    sock: socket.socket,
    receiver: DownloadReceiver,
    done: Callable[[list[FileReceived]], bool],
    *,
    loss: float,
    seed: int,
) -> list[FileReceived]:
    loop = asyncio.get_running_loop()
    rng = random.Random(seed)
    files: list[FileReceived] = []
    deadline = time.monotonic() + TIMEOUT
    while not done(files):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; got {[f.content_location for f in files]}")
        try:
            packet = await asyncio.wait_for(loop.sock_recv(sock, 65536), 0.5)
        except TimeoutError:
            continue
        if rng.random() < loss:
            continue
        for event in receiver.feed(packet, ntp_from_unix(time.time())):
            if isinstance(event, FileReceived):
                files.append(event)
    return files


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, bytes]:
    rng = random.Random(4)
    contents = {
        "empty.bin": b"",
        "small.txt": b"hello MBMS\n",
        "doc/report.pdf": rng.randbytes(70_000),
        "video.mp4": rng.randbytes(400_000),
    }
    for name, data in contents.items():
        path = tmp_path / "in" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return contents


def _config(tmp_path: Path, port: int, **overrides: object) -> CarouselConfig:
    base: dict[str, object] = {
        "destination": (ADDRESS, port),
        "tsi": 42,
        "store_path": tmp_path / "keys.sqlite",
        "input_directory": tmp_path / "in",
        "repeat_interval": 0.05,
        "fdt_repeat_interval": 0.05,
        "bitrate_kbps": 40_000,
        "watch_interval": 0.1,
        "grace_period": 2.0,
        "mtk_period": 0.0,
        "sdp_path": tmp_path / "session.sdp",
    }
    base.update(overrides)
    return CarouselConfig(**base)  # type: ignore[arg-type]


def _receiver(store: SQLiteKeyStore, config: CarouselConfig) -> DownloadReceiver:
    msk = store.get_msk(config.key_domain, MskId.current(config.key_group))
    receiver = DownloadReceiver(config.tsi)
    receiver.add_msk(
        config.key_domain,
        msk.msk_id,
        msk.key,
        valid_from=None,
        valid_to=None,
    )
    return receiver


@pytest.mark.parametrize("gzip", [False, True])
def test_every_file_decrypts_with_loss(
    tmp_path: Path, inputs: dict[str, bytes], gzip: bool
) -> None:
    async def main() -> None:
        sock = _socket()
        config = _config(tmp_path, sock.getsockname()[1], gzip=gzip)
        store = SQLiteKeyStore(config.store_path)  # type: ignore[arg-type]
        async with CarouselService(config, store=store) as service:
            receiver = _receiver(store, config)
            files = await _receive_until(
                sock,
                receiver,
                lambda got: {f.content_location for f in got} >= set(inputs),
                loss=0.10,
                seed=1,
            )
            stats = service.stats
        sock.close()
        store.close()
        for f in files:
            assert _md5(f.data) == _md5(inputs[f.content_location])
            assert f.key_id is not None and f.fdt_file.content_md5 is not None
            assert f.fdt_file.content_type == "application/vnd.oma.drm.dcf"
            assert (f.fdt_file.content_encoding == "gzip") is gzip
        assert receiver.stats.mtks >= 1 and not receiver.stats.rejected
        assert receiver.flute.stats.discarded == {}
        assert stats.send_errors == 0 and stats.mtk_rotations == 1
        sdp = (tmp_path / "session.sdp").read_text()
        assert "a=flute-tsi:42" in sdp
        assert f"m=application {config.destination[1]} FLUTE/UDP 0" in sdp

    asyncio.run(main())


def test_mtk_rotation_and_file_changes(tmp_path: Path, inputs: dict[str, bytes]) -> None:
    async def main() -> None:
        sock = _socket()
        config = _config(tmp_path, sock.getsockname()[1], mtk_period=0.6, grace_period=3.0)
        store = SQLiteKeyStore(config.store_path)  # type: ignore[arg-type]
        async with CarouselService(config, store=store) as service:
            receiver = _receiver(store, config)

            def two_mtks(got: list[FileReceived]) -> bool:
                mtks = {f.key_id.mtk_id for f in got if f.key_id}
                return len(mtks) >= 2 and all(
                    {f.key_id.mtk_id for f in got if f.key_id and f.content_location == name}
                    == mtks
                    for name in inputs
                )

            files = await _receive_until(sock, receiver, two_mtks, loss=0.10, seed=2)
            assert service.stats.mtk_rotations >= 2
            for f in files:
                assert f.data == inputs[f.content_location]
            # Change one file, add one: new TOIs, received under the current MTK.
            (tmp_path / "in" / "small.txt").write_bytes(b"changed!\n")
            (tmp_path / "in" / "new.txt").write_bytes(b"brand new\n")
            later = await _receive_until(
                sock,
                receiver,
                lambda got: (
                    any(f.data == b"changed!\n" for f in got)
                    and any(f.content_location == "new.txt" for f in got)
                ),
                loss=0.10,
                seed=3,
            )
        sock.close()
        store.close()
        changed = next(f for f in later if f.data == b"changed!\n")
        original = next(f for f in files if f.content_location == "small.txt")
        assert changed.toi != original.toi
        assert not receiver.stats.rejected

    asyncio.run(main())
