"""CarouselSession: TOIs, FDT Instances (IDs wrapping at 20 bits, Expires, refresh), retirement."""

from __future__ import annotations

import os
import random
from pathlib import Path

from broadcast.engine.download.objects import (
    PreparedObject,
    Protection,
    prepare_bytes,
    prepare_file,
    prepare_mikey,
)
from broadcast.engine.download.scheduler import CarouselScheduler
from broadcast.engine.download.session import CarouselSession, SessionParams
from broadcast.engine.keys.mtk import IssuedMtk, MtkIssuer
from broadcast.engine.ue.download_receiver import DownloadReceiver, FileReceived, MtkReceived
from broadcast.proto.dcf import MbmsKeyId
from broadcast.proto.flute import (
    ReceivedFdt,
    ReceivedObject,
    SessionReceiver,
    parse_fdt,
)
from broadcast.proto.flute.alc import parse_packet
from broadcast.proto.keys import KeyDomainId, MskId, Mtk, MtkId
from broadcast.store.keys import SQLiteKeyStore
from broadcast.time import ntp_from_unix

NOW = 1_800_000_000.0
PARAMS = SessionParams(tsi=3, repeat_interval=1.0, fdt_expires=20, grace_period=5.0)


def _session(first_fdt_id: int = 0) -> CarouselSession:
    return CarouselSession(
        PARAMS, CarouselScheduler(bitrate=None), first_toi=100, first_fdt_instance_id=first_fdt_id
    )


def _file(session: CarouselSession, name: str, size: int = 3000) -> PreparedObject:
    return prepare_bytes(
        session.allocate_toi(),
        os.urandom(size),
        content_location=name,
        content_type="text/plain",
        symbol_length=PARAMS.symbol_length,
        max_block_length=PARAMS.max_block_length,
    )


def _mikey(session: CarouselSession) -> PreparedObject:
    issued = IssuedMtk(
        key_id=MbmsKeyId(KeyDomainId(b"\x00\xf1\x10"), MskId(1, 2), MtkId(3)),
        mtk=Mtk(bytes(16)),
        message=b"\x01" * 90,
        counter=1,
    )
    return prepare_mikey(
        session.allocate_toi(),
        issued,
        symbol_length=PARAMS.symbol_length,
        max_block_length=PARAMS.max_block_length,
    )


def _run(session: CarouselSession, rx: SessionReceiver, now: float) -> list[object]:
    session.update(now)
    events: list[object] = []
    for packet in session.scheduler.poll(now).packets:
        events += rx.feed(packet, ntp_from_unix(now))
    return events


def test_fdt_lists_mikey_first_and_is_sent_before_the_objects() -> None:
    session = _session()
    objects = [_file(session, "a.txt"), _mikey(session)]
    session.publish(objects, NOW)
    session.update(NOW)
    packets = session.scheduler.poll(NOW).packets
    assert parse_packet(packets[0]).toi == 0
    assert parse_packet(packets[1]).toi == 101  # MIKEY (priority 1) before the file
    assert session.fdt is not None
    instance = parse_fdt(session.fdt.document)
    assert [f.toi for f in instance.files] == [101, 100]
    assert instance.files[0].content_type == "application/mikey"
    assert instance.files[0].content_location == "mikey/00010002-0003.mikey"
    assert instance.expires == ntp_from_unix(NOW + 20) and instance.full_fdt is True


def test_fdt_instance_id_wraps_at_20_bits() -> None:
    session = _session(first_fdt_id=(1 << 20) - 1)
    session.publish([_file(session, "a")], NOW)
    session.update(NOW)
    assert session.fdt is not None and session.fdt.instance_id == (1 << 20) - 1
    session.publish([_file(session, "b")], NOW + 1)
    session.update(NOW + 1)
    assert session.fdt.instance_id == 0
    rx = SessionReceiver(3)
    events = _run(session, rx, NOW + 1)
    assert [e.instance_id for e in events if isinstance(e, ReceivedFdt)] == [0]


def test_fdt_is_refreshed_before_it_expires() -> None:
    session = _session(first_fdt_id=10)
    session.publish([_file(session, "a")], NOW)
    session.update(NOW)
    session.update(NOW + 9)
    assert session.fdt is not None and session.fdt.instance_id == 10
    session.update(NOW + 10)  # half of fdt_expires
    assert session.fdt.instance_id == 11
    assert session.fdt.instance.expires == ntp_from_unix(NOW + 30)


def test_retired_object_stays_for_the_grace_period_then_leaves_the_fdt() -> None:
    session = _session(first_fdt_id=1)
    old = _file(session, "a.txt")
    session.publish([old], NOW)
    session.update(NOW)
    rx = SessionReceiver(3)
    got = [e for e in _run(session, rx, NOW) if isinstance(e, ReceivedObject)]
    assert [e.toi for e in got] == [100]
    new = _file(session, "a.txt")
    session.publish([new], NOW + 1)
    session.retire([100], NOW + 1)
    session.update(NOW + 1)
    assert session.fdt is not None
    assert {f.toi for f in session.fdt.instance.files} == {100, 101}
    assert session.is_retiring(100) and session.rounds() == 0
    session.update(NOW + 6)  # grace over
    assert {f.toi for f in session.fdt.instance.files} == {101}
    assert session.scheduler.entry(100) is None
    got = [e for e in _run(session, rx, NOW + 6) if isinstance(e, ReceivedObject)]
    assert [e.toi for e in got] == [101]
    assert session.rounds() == 1


def test_tois_are_never_reused() -> None:
    session = _session()
    tois = [session.allocate_toi() for _ in range(100)]
    assert tois == list(range(100, 200))


def test_msk_arriving_after_the_mikey_object_still_opens_it(tmp_path: Path) -> None:
    rng = random.Random(8)
    (tmp_path / "f.txt").write_bytes(b"late key\n")
    with SQLiteKeyStore(tmp_path / "k.sqlite") as store:
        kd = KeyDomainId.from_plmn("001", "01")
        issuer = MtkIssuer(store, kd, 4, streaming=False, rand=rng.randbytes)
        record = issuer.ensure()
        issued = issuer.issue()
    session = _session()
    mikey = prepare_mikey(session.allocate_toi(), issued, symbol_length=1428, max_block_length=64)
    dcf = prepare_file(
        session.allocate_toi(),
        tmp_path / "f.txt",
        content_location="f.txt",
        spool_dir=tmp_path,
        symbol_length=1428,
        max_block_length=64,
        protection=Protection(issued.key_id, issued.mtk, "bmsc.example.org", "http://b/km"),
        rand=rng.randbytes,
    )
    session.publish([mikey, dcf], NOW)
    session.update(NOW)
    receiver = DownloadReceiver(PARAMS.tsi)
    early = [
        e for p in session.scheduler.poll(NOW).packets for e in receiver.feed(p, ntp_from_unix(NOW))
    ]
    assert not any(isinstance(e, FileReceived) for e in early)
    assert receiver.stats.rejected["unknown_msk"] == 1 and receiver.stats.waiting == 1
    events = receiver.add_msk(kd, record.msk_id, record.key)
    assert [type(e) for e in events] == [MtkReceived, FileReceived]
    assert events[1].data == b"late key\n"  # type: ignore[union-attr]
