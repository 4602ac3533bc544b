"""The UE's download side against the project's carousel service over loopback (127.27.4.x):
the UE reads the SDP the carousel writes, gets its MTK from the MIKEY object, decrypts every
DCF file, writes the files and logs the download MTK (salt ``-``)."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

from testkit import async_wait_until

from broadcast.aio.download.service import CarouselService
from broadcast.aio.ue.download import file_name
from broadcast.aio.ue.service import ReferenceUe
from broadcast.config.carousel import CarouselConfig
from broadcast.config.ue import UeConfig
from broadcast.engine.ue.service_keys import MskEntry
from broadcast.proto.announce.protection import protection_description
from broadcast.proto.keys import MskId
from broadcast.proto.keys.material import Msk
from broadcast.store.keys import SQLiteKeyStore

HOST = "127.27.4.1"
PORT = 4001
FILES = {"a.txt": b"first file\n", "b.bin": bytes(range(256)) * 40}


async def _run(tmp_path: Path) -> tuple[ReferenceUe, bytes]:
    (tmp_path / "in").mkdir()
    for name, data in FILES.items():
        (tmp_path / "in" / name).write_bytes(data)
    config = CarouselConfig(
        destination=(HOST, PORT),
        tsi=27,
        store_path=tmp_path / "keys.sqlite",
        input_directory=tmp_path / "in",
        repeat_interval=0.05,
        fdt_repeat_interval=0.05,
        bitrate_kbps=20_000,
        mtk_period=0.0,
        sdp_path=tmp_path / "carousel.sdp",
    )
    store = SQLiteKeyStore(tmp_path / "keys.sqlite")
    try:
        async with CarouselService(config, store=store):
            record = store.get_msk(config.key_domain, MskId.current(config.key_group))
            (tmp_path / "protection.xml").write_bytes(
                protection_description(
                    bmsc_fqdn="bmsc.example.org",
                    key_domain_id=config.key_domain,
                    sessions=[("carousel.sdp", config.key_group)],
                ).to_xml()
            )
            ue_config = UeConfig(
                tmp_path / "protection.xml",
                (tmp_path / "carousel.sdp",),
                msks=(MskEntry(config.key_domain, record.msk_id, Msk(record.key.secret)),),
                download_output_dir=tmp_path / "out",
                keylog=tmp_path / "keys.log",
            )
            ue = ReferenceUe(ue_config)
            async with ue:
                ((_, client),) = ue.download
                assert await async_wait_until(lambda: client.counters.files_written >= 2, 25)
            return ue, record.key.secret
    finally:
        store.close()


def test_download_session_files_arrive_decrypted(tmp_path: Path) -> None:
    ue, msk = asyncio.run(asyncio.wait_for(_run(tmp_path), 40))
    for name, data in FILES.items():
        assert (tmp_path / "out" / name).read_bytes() == data
    report = ue.report().to_json()
    (session,) = report["download"]  # type: ignore[misc]
    assert session["uri"] == "carousel.sdp"
    assert session["counters"]["mtks"] >= 1 and session["counters"]["files"] >= 2
    lines = (tmp_path / "keys.log").read_text().splitlines()
    assert lines[0].endswith(msk.hex()) and lines[0].startswith("MSK 00f110 ")
    assert lines[1].startswith("MTK 00f110 ") and lines[1].endswith(" -")
    assert stat.S_IMODE((tmp_path / "keys.log").stat().st_mode) == 0o600


def test_file_names_stay_inside_the_output_directory() -> None:
    assert file_name("http://x/a/report.pdf", 5) == "report.pdf"
    assert file_name("../../etc/passwd", 6) == "passwd"
    assert file_name("dir/..", 7) == "toi-7"
    assert file_name("", 8) == "toi-8"
    assert file_name("a b.txt", 9) == "toi-9"
