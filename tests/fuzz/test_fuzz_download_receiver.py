"""Bounded hypothesis fuzzing of the download receive path (what tests/flute and tests/dcf do not
already cover): mutated carousel packets into the UE-side DownloadReceiver, mutated FDT
documents, content-encoded objects that lie about their size, and DCF files damaged in transit
that still pass FLUTE's checks. Only typed outcomes are allowed: events, counted rejections, or
the parser's own error class — never another exception, and never an unbounded allocation.
"""

from __future__ import annotations

import gzip
import random
import tempfile
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broadcast.engine.download.objects import (
    PreparedObject,
    Protection,
    prepare_file,
    prepare_mikey,
)
from broadcast.engine.download.scheduler import CarouselScheduler
from broadcast.engine.download.session import CarouselSession, SessionParams
from broadcast.engine.keys.mtk import MtkIssuer
from broadcast.engine.ue.download_receiver import DownloadReceiver, FileReceived, FileRejected
from broadcast.proto.dcf import DcfError, parse_dcf
from broadcast.proto.flute import (
    FdtError,
    FdtFile,
    FdtInstance,
    SessionReceiver,
    parse_fdt,
)
from broadcast.proto.flute.blocks import BlockPacketizer
from broadcast.proto.flute.fdt import content_md5
from broadcast.proto.flute.fec import get_scheme
from broadcast.proto.keys import KeyDomainId, Msk, MskId
from broadcast.store.keys import SQLiteKeyStore
from broadcast.time import ntp_from_unix

pytestmark = pytest.mark.fuzz

NOW = 1_800_000_000.0
TSI = 5


@cache
def _carousel() -> tuple[tuple[bytes, ...], KeyDomainId, MskId, bytes, bytes]:
    """One pass of a small carousel (MIKEY + two DCF files), built once."""
    rng = random.Random(21)
    tmp = Path(tempfile.mkdtemp(prefix="fuzz-download-"))
    (tmp / "a.txt").write_bytes(b"fuzz me\n")
    (tmp / "b.bin").write_bytes(rng.randbytes(5000))
    store = SQLiteKeyStore(tmp / "k.sqlite")
    kd = KeyDomainId.from_plmn("001", "01")
    issuer = MtkIssuer(store, kd, 3, streaming=False, rand=rng.randbytes)
    record = issuer.ensure()
    issued = issuer.issue()
    store.close()
    session = CarouselSession(
        SessionParams(tsi=TSI, symbol_length=500), CarouselScheduler(bitrate=None), first_toi=40
    )
    protection = Protection(issued.key_id, issued.mtk, "bmsc.example.org", "http://b/km")
    objects: list[PreparedObject] = [
        prepare_mikey(session.allocate_toi(), issued, symbol_length=500, max_block_length=8)
    ]
    for name in ("a.txt", "b.bin"):
        objects.append(
            prepare_file(
                session.allocate_toi(),
                tmp / name,
                content_location=name,
                spool_dir=tmp,
                symbol_length=500,
                max_block_length=8,
                protection=protection,
                rand=rng.randbytes,
            )
        )
    session.publish(objects, NOW)
    session.update(NOW)
    packets = tuple(session.scheduler.poll(NOW).packets)
    assert session.fdt is not None
    dcf = (tmp / f"{objects[2].toi}.obj").read_bytes()
    return packets, kd, record.msk_id, record.key.secret, session.fdt.document + b"|" + dcf


def _receiver() -> DownloadReceiver:
    _, kd, msk_id, msk, _ = _carousel()
    receiver = DownloadReceiver(TSI)
    receiver.add_msk(kd, msk_id, Msk(msk))
    return receiver


def _mutate(data: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    buf = bytearray(data)
    for pos, value in edits if buf else ():
        buf[pos % len(buf)] = value
    return bytes(buf[:cut] if cut is not None else buf)


def test_clean_pass_delivers_everything() -> None:
    receiver = _receiver()
    events = [e for p in _carousel()[0] for e in receiver.feed(p, ntp_from_unix(NOW))]
    files = {e.content_location: e.data for e in events if isinstance(e, FileReceived)}
    assert files["a.txt"] == b"fuzz me\n" and len(files["b.bin"]) == 5000


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.integers(0, 200),
            st.lists(st.tuples(st.integers(0, 4000), st.integers(0, 255)), max_size=4),
            st.none() | st.integers(0, 600),
        ),
        max_size=12,
    ),
    st.randoms(use_true_random=False),
)
def test_mutated_packets_never_escape(
    mutations: list[tuple[int, list[tuple[int, int]], int | None]], rnd: random.Random
) -> None:
    packets = list(_carousel()[0])
    for index, edits, cut in mutations:
        i = index % len(packets)
        packets[i] = _mutate(packets[i], edits, cut)
    rnd.shuffle(packets)
    receiver = _receiver()
    for packet in packets:
        for event in receiver.feed(packet, ntp_from_unix(NOW)):
            assert isinstance(event, FileReceived | FileRejected) or event.key_id is not None
    flute = receiver.flute.stats
    assert flute.accepted + sum(flute.rejected.values()) == flute.packets
    assert receiver.flute.buffered_bytes <= receiver.flute.config.max_buffered_bytes


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 255)), min_size=1, max_size=6))
def test_mutated_fdt_documents(edits: list[tuple[int, int]]) -> None:
    document = _carousel()[4].split(b"|", 1)[0]
    try:
        instance = parse_fdt(_mutate(document, edits, None))
    except FdtError:
        return
    assert all(f.toi > 0 for f in instance.files)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6000), st.integers(0, 255)), min_size=1, max_size=6))
def test_damaged_dcf_is_rejected_not_raised(edits: list[tuple[int, int]]) -> None:
    dcf = _carousel()[4].split(b"|", 1)[1]
    damaged = _mutate(dcf, edits, None)
    try:
        reader = parse_dcf(damaged)
        reader.decrypt(bytes(16))
    except DcfError:
        return


def _encoded_object(content: bytes, claimed_length: int) -> list[bytes]:
    """An FDT saying Content-Length ``claimed_length`` and a gzip object expanding to more."""
    transport = gzip.compress(content)
    oti = get_scheme(0).make_oti(len(transport), 1400, 64)
    entry = FdtFile(
        toi=9,
        content_location="bomb.bin",
        content_length=claimed_length,
        transfer_length=len(transport),
        content_type="application/octet-stream",
        content_encoding="gzip",
        content_md5=content_md5(content),
        fec=get_scheme(0).oti_to_fdt(oti),
    )
    document = FdtInstance(expires=ntp_from_unix(NOW + 60), files=(entry,)).to_xml()
    fdt_oti = get_scheme(0).make_oti(len(document), 1400, 64)
    fdt = BlockPacketizer.for_object(0, tsi=TSI, oti=fdt_oti, fdt_instance_id=1)
    file = BlockPacketizer.for_object(9, tsi=TSI, oti=oti)
    return [*fdt.pass_packets(document), *file.pass_packets(transport)]


@pytest.mark.parametrize("claimed", [0, 100, 1 << 20])
def test_gzip_bomb_is_bounded_by_content_length(claimed: int) -> None:
    content = bytes(8 << 20)  # 8 MiB of zeros: a few kB gzipped
    receiver = SessionReceiver(TSI)
    events = [
        e for p in _encoded_object(content, claimed) for e in receiver.feed(p, ntp_from_unix(NOW))
    ]
    assert [type(e).__name__ for e in events] == ["ReceivedFdt"]
    assert sum(receiver.stats.discarded.values()) == 1
    assert receiver.buffered_bytes == 0


def test_gzip_object_within_its_length_is_delivered() -> None:
    content = b"compressible " * 1000
    receiver = SessionReceiver(TSI)
    events = [
        e
        for p in _encoded_object(content, len(content))
        for e in receiver.feed(p, ntp_from_unix(NOW))
    ]
    assert getattr(events[-1], "data", None) == content
