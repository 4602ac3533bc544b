"""The reference UE against the real services over loopback (127.100.200.x), configured only by
files: the BM-SC's TOML (``mbms gba add --key-file`` and ``mbms subscribe add`` on it), the
announcement, and the UE's TOML with ``[msk_client]`` — no MSK is given to the UE.

The UE requests its MSKs over HTTP Digest, verifies and ACKs the pushes, receives the stream's
MTKs and SRTP and the carousel's MIKEY object and DCF files. Then the BM-SC rotates both MSKs and
the pushes of the new MSKs are lost on the UE's link (the BM-SC tries once): the MTK messages
under the new MSKs (streaming and download) reveal the missed update, the UE re-requests the
current MSK, gets it and carries on decrypting.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import stat
from pathlib import Path

from testkit import async_wait_until

from broadcast.aio.bmsc.service import BmscService
from broadcast.aio.download.service import CarouselService
from broadcast.aio.streaming.service import StreamService
from broadcast.aio.ue.service import ReferenceUe
from broadcast.cli.main import main
from broadcast.config.bmsc import load as load_bmsc
from broadcast.config.carousel import CarouselConfig
from broadcast.config.output import OutputConfig
from broadcast.config.stream import KeysConfig, SessionConfig, StreamConfig
from broadcast.config.ue import load_config
from broadcast.engine.streaming.generator import GeneratorConfig
from broadcast.engine.streaming.schedule import MtkTiming
from broadcast.proto.announce.protection import protection_description
from broadcast.proto.announce.sdp import flute_sdp
from broadcast.proto.keys import MskId
from broadcast.store.keys import SQLiteKeyStore

BMSC = "127.100.200.1"
UE_MEDIA = "127.100.200.2"
UE_PUSH = "127.100.200.3"
FQDN = "bmsc.mnc001.mcc001.pub.3gppnetwork.org"
FILES = {"notes.txt": b"protected notes\n" * 40, "blob.bin": bytes(range(256)) * 300}

BMSC_TOML = f"""
[bmsc]
fqdn = "{FQDN}"
[keys]
store = "bmsc.db"
[http]
listen = "{BMSC}"
port = 0
[push]
source = "{BMSC}"
delay = 0.05
ack_timeout = 0.5
max_attempts = 1
[[key_group]]
number = 1
streaming = true
[[key_group]]
number = 2
"""

UE_TOML = f"""
[announcement]
protection = "protection.xml"
sdp = ["stream.sdp", "carousel.sdp"]
[download]
output_dir = "received"
[msk_client]
key_file = "ue.gba.json"
listen = "{UE_PUSH}"
rerequest_interval = 1.0
"""


class PushBlocker:
    """A link that loses the next ``drop`` MSK pushes once armed (and counts ACKs sent)."""

    def __init__(self) -> None:
        self.drop = 0
        self.dropped = 0
        self.acks = 0

    def incoming(self, data: bytes, source: tuple[str, int], destination: tuple[str, int]) -> bool:
        if self.drop and destination[0] == UE_PUSH:
            self.drop -= 1
            self.dropped += 1
            return False
        return True

    def outgoing(self, data: bytes, source: tuple[str, int], destination: tuple[str, int]) -> None:
        self.acks += 1


def _setup(tmp_path: Path) -> None:
    (tmp_path / "bmsc.toml").write_text(BMSC_TOML)
    cfg = str(tmp_path / "bmsc.toml")
    impi = "ue-e2e@demo.example.org"
    key_file = tmp_path / "ue.gba.json"
    assert main(["gba", "add", "--config", cfg, "--impi", impi, "--key-file", str(key_file)]) == 0
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    for group in ("1", "2"):
        assert (
            main(["subscribe", "add", "--config", cfg, "--impi", impi, "--key-group", group]) == 0
        )
    (tmp_path / "in").mkdir()
    for name, data in FILES.items():
        (tmp_path / "in" / name).write_bytes(data)
    (tmp_path / "ue.toml").write_text(UE_TOML)


async def _run(tmp_path: Path) -> tuple[ReferenceUe, PushBlocker, dict[str, list[str]]]:
    bcfg = load_bmsc(tmp_path / "bmsc.toml")
    store = SQLiteKeyStore(bcfg.store)
    link = PushBlocker()
    facts: dict[str, list[str]] = {"stream": [], "carousel": []}
    try:
        async with BmscService(bcfg, key_store=store) as bmsc:
            kd = bcfg.key_domain
            scfg = StreamConfig(
                session=SessionConfig(
                    name="e2e", destination=UE_MEDIA, port=5004, encoding="VP8", sdp=None
                ),
                keys=KeysConfig(
                    store=Path(bcfg.store), key_domain=kd, key_group=1, standalone=False
                ),
                output=OutputConfig(source=BMSC),
                mtk=MtkTiming(period=1.0, lead=0.4, interval=0.2),
                ingest=GeneratorConfig(rate=50.0, payload_size=200),
            )
            stream = StreamService(scfg, store=store)
            ccfg = CarouselConfig(
                destination=(UE_MEDIA, 4001),
                tsi=5,
                store_path=Path(bcfg.store),
                key_domain=kd,
                key_group=2,
                bmsc_fqdn=FQDN,
                key_management_uri=bmsc.url,
                input_directory=tmp_path / "in",
                repeat_interval=0.0,
                fdt_repeat_interval=0.2,
                bitrate_kbps=4000,
                mtk_period=2.0,
                grace_period=2.0,
                watch_interval=0.1,
                output=OutputConfig(source=BMSC),
            )
            (tmp_path / "stream.sdp").write_text(stream.sdp())
            (tmp_path / "carousel.sdp").write_text(
                flute_sdp(
                    address=UE_MEDIA, port=4001, tsi=5, source=BMSC, session_name="e2e"
                ).to_text()
            )
            (tmp_path / "protection.xml").write_bytes(
                protection_description(
                    bmsc_fqdn=FQDN,
                    key_domain_id=kd,
                    sessions=[("stream.sdp", 1), ("carousel.sdp", 2)],
                    key_management_uri=bmsc.url,
                ).to_xml()
            )
            ue = ReferenceUe(load_config(tmp_path / "ue.toml"), link=link)
            async with ue:
                groups = lambda: {e.msk_id.key_group for e in ue.msks.entries()}  # noqa: E731
                assert await async_wait_until(lambda: groups() == {1, 2}, 10)
                async with stream, CarouselService(ccfg, store=store) as carousel:
                    (_, dl) = ue.download[0]
                    assert await async_wait_until(lambda: dl.counters.files_written >= 2, 10)
                    link.drop = 2  # the two rotation pushes (one per Key Group) are lost
                    for group in (1, 2):
                        await bmsc.rotate(group, promote_after=0.2)
                    new = {str(MskId(g, 2)) for g in (1, 2)}

                    def recovered() -> bool:
                        held = {str(e.msk_id) for e in ue.msks.entries()}
                        dl_msks = {m.split("/")[0] for m in dl.mtk_ids}
                        st_msks = {m.split("/")[0] for m in ue.streaming_mtk_ids["stream.sdp"]}
                        return new <= held and "00020002" in dl_msks and "00010002" in st_msks

                    assert await async_wait_until(recovered, 15)
                    assert link.dropped == 2
                    # A BM-SC solicited pull is answered with a new MSK request.
                    km = ue.key_management
                    assert km is not None
                    impi = km.settings.credentials.impi
                    await bmsc.solicited_pull(impi, 1)
                    assert await async_wait_until(lambda: km.client.stats["pull_answered"] == 1, 10)
                    facts["carousel"].append(str(carousel.stats.msk_id))
                facts["stream"] = list(ue.streaming_mtk_ids["stream.sdp"])
            return ue, link, facts
    finally:
        store.close()


def test_ue_from_toml_gets_msks_over_digest_and_recovers_a_missed_rotation(
    tmp_path: Path,
) -> None:
    _setup(tmp_path)
    ue, link, facts = asyncio.run(asyncio.wait_for(_run(tmp_path), 60))
    report = ue.report().to_json()
    msk = report["msk"]
    client = msk["client"]
    # Digest: one challenge, then answered (rspauth checked by the client) — no MSK was given.
    assert client["challenges"] == 1 and client["initial_request_ok"] == 1
    assert msk["added"].get("config") is None and msk["added"]["push"] >= 4
    # Every verified push was ACKed over the link; the lost ones were never ACKed.
    assert client["ack_sent"] == client["msk_received"] == link.acks >= 4
    assert link.dropped >= 2
    # The missed update was seen in the traffic and answered by re-requests.
    assert client["rerequests"] >= 1
    assert any(
        m.endswith("/00010002") or m.endswith("/00020002") for m in report["missed_msk_updates"]
    )
    assert msk["key_management"]["statuses"]["00010000"] == 200
    (st,) = report["streaming"]
    counters = st["counters"]
    assert counters["srtp_decrypted"] > 100
    assert any(m.startswith("00010001/") for m in counters["mtk_ids"])
    assert any(m.startswith("00010002/") for m in counters["mtk_ids"])
    # Packets under the new MSK that came before it are counted as such, nothing else failed.
    assert set(counters["srtp_undecryptable"]) <= {"unknown_msk", "no_mtk_yet"}
    (dl,) = report["download"]
    files = {f["name"]: f for f in dl["counters"]["received_files"]}
    for name, data in FILES.items():
        assert files[name]["md5"] == hashlib.md5(data).hexdigest()
        assert (tmp_path / "received" / name).read_bytes() == data
    assert dl["counters"]["content_md5_checked"] >= 2
    assert {m.split("/")[0] for m in dl["counters"]["mtk_ids"]} == {"00020001", "00020002"}
    assert dl["counters"]["mtk_replays"] == 0
    assert client["pull_received"] == 1 and client["pull_answered"] == 1
    # No key byte in the report (JSON or table).
    key = json.loads((tmp_path / "ue.gba.json").read_text())["ks_naf"]
    table = ue.report().to_text()
    for text in (json.dumps(report), table):
        assert key not in text and key.upper() not in text
    assert "MSK client:" in table and "ack sent" in table
    assert facts["stream"]
    assert dataclasses.is_dataclass(ue.config.msk_client)
