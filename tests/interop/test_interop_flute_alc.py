"""Interop: the flute-alc receiver (PyPI ``flute-alc``, Rust) rebuilds our carousel's objects.

Our sans-IO carousel (session + scheduler, the packets the service sends) publishes DCF files and
the MIKEY MTK object; the packets of a few rounds go to ``flute.receiver.Receiver``, which writes
each object to disk by its Content-Location. Every object — DCF files and the MIKEY message — must
come back byte for byte (with gzip Content-Encoding undone by flute-alc). flute-alc does not expose
the FDT entries, so TOI 0 is parsed here with our own FDT reader to check that Content-Type and
Content-Location are as we wrote them. FLUTE v1 (RFC 3926, MBMS) and v2 (RFC 6726) both.

flute-alc missing is a test failure, never a skip.
"""

from __future__ import annotations

import gzip as gzip_module
import random
from pathlib import Path

import pytest
from flute import receiver as flute_receiver

from broadcast import profile
from broadcast.engine.download.objects import (
    PreparedObject,
    Protection,
    prepare_file,
    prepare_mikey,
)
from broadcast.engine.download.scheduler import CarouselScheduler
from broadcast.engine.download.session import CarouselSession, SessionParams
from broadcast.engine.keys.mtk import MtkIssuer
from broadcast.proto.flute import (
    FDT_NAMESPACE_RFC6726,
    FluteVersion,
    SessionReceiver,
    parse_fdt,
    parse_packet,
)
from broadcast.proto.keys import KeyDomainId
from broadcast.store.keys import SQLiteKeyStore
from broadcast.time import ntp_from_unix

pytestmark = pytest.mark.interop

NOW = 1_800_000_000.0
TSI = 77


def _carousel(
    tmp_path: Path, *, version: FluteVersion, gzip: bool
) -> tuple[list[bytes], list[PreparedObject], dict[int, bytes]]:
    rng = random.Random(7)
    src = tmp_path / "src"
    src.mkdir()
    names = {"a.txt": b"first file\n", "dir/b.bin": rng.randbytes(150_000), "c.bin": b""}
    for name, data in names.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(data)
    spool = tmp_path / "spool"
    spool.mkdir()
    store = SQLiteKeyStore(tmp_path / "keys.sqlite")
    issuer = MtkIssuer(
        store, KeyDomainId.from_plmn("001", "01"), 9, streaming=False, rand=rng.randbytes
    )
    issuer.ensure()
    issued = issuer.issue()
    store.close()
    namespace = FDT_NAMESPACE_RFC6726 if version is FluteVersion.V2 else None
    params = SessionParams(
        tsi=TSI,
        version=version,
        repeat_interval=0.0,
        **({"fdt_namespace": namespace} if namespace else {}),
    )
    session = CarouselSession(params, CarouselScheduler(bitrate=None), first_toi=1000)
    protection = Protection(issued.key_id, issued.mtk, "bmsc.example.org", "http://bmsc/km")
    objects = [
        prepare_mikey(session.allocate_toi(), issued, symbol_length=1428, max_block_length=64)
    ]
    for name in names:
        objects.append(
            prepare_file(
                session.allocate_toi(),
                src / name,
                content_location=name,
                spool_dir=spool,
                symbol_length=1428,
                max_block_length=64,
                protection=protection,
                gzip=gzip,
                rand=rng.randbytes,
            )
        )
    contents: dict[int, bytes] = {objects[0].toi: issued.message}
    for obj in objects[1:]:
        raw = (spool / f"{obj.toi}.obj").read_bytes()
        contents[obj.toi] = gzip_module.decompress(raw) if gzip else raw
    session.publish(objects, NOW)
    packets: list[bytes] = []
    now = NOW
    for _ in range(3):
        session.update(now)
        packets += session.scheduler.poll(now).packets
        now += 0.5
    return packets, objects, contents


@pytest.mark.parametrize(
    ("version", "gzip"),
    [(FluteVersion.V1, False), (FluteVersion.V1, True), (FluteVersion.V2, False)],
)
def test_flute_alc_rebuilds_every_object(tmp_path: Path, version: FluteVersion, gzip: bool) -> None:
    packets, objects, contents = _carousel(tmp_path, version=version, gzip=gzip)
    out = tmp_path / "flute-alc"
    out.mkdir()
    writer = flute_receiver.ObjectWriterBuilder(str(out))
    rx = flute_receiver.Receiver(
        flute_receiver.UDPEndpoint("127.23.0.1", 4000), TSI, writer, flute_receiver.Config()
    )
    rng = random.Random(3)
    for packet in packets:
        if rng.random() >= 0.1:  # 10 % loss, three rounds
            rx.push(packet)
    for obj in objects:
        written = out / obj.fdt_file.content_location
        assert written.is_file(), f"flute-alc did not write {obj.fdt_file.content_location}"
        assert written.read_bytes() == contents[obj.toi]

    # The FDT as a receiver sees it: parse TOI 0 with our reader.
    fdt_rx = SessionReceiver(TSI)
    documents = []
    for packet in packets:
        if parse_packet(packet, version=version).toi == 0:
            for event in fdt_rx.feed(packet, ntp_from_unix(NOW)):
                documents.append(getattr(event, "instance", None))
    instance = documents[0]
    assert instance is not None
    entries = {f.toi: f for f in instance.files}
    mikey = entries[objects[0].toi]
    assert mikey.content_type == "application/mikey"
    assert mikey.content_location == objects[0].fdt_file.content_location
    assert mikey.content_location.startswith("mikey/") and mikey.content_location.endswith(".mikey")
    for obj in objects[1:]:
        entry = entries[obj.toi]
        assert entry.content_type == profile.DOWNLOAD_DCF_CONTENT_TYPE
        assert entry.content_location == obj.fdt_file.content_location
        assert entry.content_length == len(contents[obj.toi])
        assert (entry.content_encoding == "gzip") is gzip
        if gzip:
            assert entry.transfer_length == obj.transfer_length
    assert parse_fdt  # the same reader the receiver used
