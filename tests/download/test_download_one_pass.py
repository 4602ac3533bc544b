"""One carousel pass as the product sends it (CarouselSession + CarouselScheduler, no clock, no
socket): the FDT Instance first, then the objects in FDT order; MTU; FLUTE v2, a compressed FDT
and the close-object flag; the File entries of prepared objects; misuse refused."""

from __future__ import annotations

import pytest

from broadcast.engine.download.objects import PreparedObject, prepare_bytes
from broadcast.engine.download.scheduler import CarouselScheduler
from broadcast.engine.download.session import CarouselSession, SessionParams
from broadcast.proto.flute.alc import parse_packet
from broadcast.proto.flute.blocks import BlockPacketizer
from broadcast.proto.flute.cenc import ContentEncoding, decode_content
from broadcast.proto.flute.errors import FluteEncodeError
from broadcast.proto.flute.fdt import FdtInstance, parse_fdt
from broadcast.proto.flute.fec import CompactNoCode, FdtFecAttributes
from broadcast.proto.flute.lct import ExtCenc, ExtFdt, FluteVersion

NOW = 1_800_000_000.0
EXPIRES = 3_908_988_860
#: UDP payload of a 1500-byte Ethernet frame with IPv4 and UDP headers.
UDP_PAYLOAD_MTU = 1500 - 20 - 8
SIZES = {1: 5000, 70000: 3000, 3: 0}


def _objects(params: SessionParams) -> list[PreparedObject]:
    return [
        prepare_bytes(
            toi,
            b"\x01" * size,
            content_location=f"f{toi}",
            content_type="application/octet-stream",
            symbol_length=params.symbol_length,
            max_block_length=params.max_block_length,
        )
        for toi, size in SIZES.items()
    ]


def _one_pass(params: SessionParams, iid: int = 12) -> tuple[CarouselSession, list[bytes]]:
    session = CarouselSession(params, CarouselScheduler(bitrate=None), first_fdt_instance_id=iid)
    session.publish(_objects(params), NOW)
    session.update(NOW)
    return session, session.scheduler.poll(NOW).packets


def test_a_pass_is_the_fdt_then_the_objects_in_fdt_order() -> None:
    params = SessionParams(tsi=5)
    session, raw = _one_pass(params)
    packets = [parse_packet(p) for p in raw]
    assert session.fdt is not None
    order = [entry.toi for entry in session.fdt.instance.files]
    assert order == [1, 3, 70000]
    document = session.fdt.document
    n = -(-len(document) // params.symbol_length)  # the FDT Instance's packets
    assert [p.toi for p in packets] == [0] * n + [1] * 4 + [3] + [70000] * 3
    fdt = packets[:n]
    assert all(p.fdt == ExtFdt(1, 12) and p.cenc is None for p in fdt)
    assert parse_fdt(b"".join(p.payload for p in fdt)) == session.fdt.instance
    assert all(p.oti is not None for p in packets)


def test_default_packets_fit_an_ethernet_mtu() -> None:
    _, packets = _one_pass(SessionParams(tsi=5))
    assert max(map(len, packets)) <= UDP_PAYLOAD_MTU


def test_flute_v2_compressed_fdt_and_close_object() -> None:
    params = SessionParams(
        tsi=5, version=FluteVersion.V2, fdt_content_encoding=ContentEncoding.GZIP, close_object=True
    )
    session, raw = _one_pass(params, iid=3)
    packets = [parse_packet(p, version=FluteVersion.V2) for p in raw]
    fdt = packets[0]
    assert fdt.fdt == ExtFdt(2, 3)
    assert fdt.cenc == ExtCenc(int(ContentEncoding.GZIP))
    assert fdt.header.close_object
    assert session.fdt is not None
    document = decode_content(fdt.payload, ContentEncoding.GZIP, 1 << 20)
    assert parse_fdt(document) == session.fdt.instance
    files = packets[1:]
    assert [p.header.close_object for p in files if p.toi == 1] == [False, False, False, True]
    # The packetizer can leave EXT_FTI out of file packets (the receiver then needs the FDT).
    (obj, *_) = _objects(params)
    bare = BlockPacketizer.for_object(1, tsi=5, oti=obj.oti, with_fti=False)
    assert all(parse_packet(p).oti is None for p in bare.pass_packets(b"\x01" * 5000))


def test_prepared_objects_carry_lengths_md5_and_fec_attributes() -> None:
    obj = prepare_bytes(
        4,
        b"abc",
        content_location="x/y",
        content_type="text/plain",
        symbol_length=512,
        max_block_length=8,
    )
    entry = obj.fdt_file
    assert (entry.content_length, entry.content_type) == (3, "text/plain")
    assert entry.content_md5 is not None
    assert entry.fec == FdtFecAttributes(0, None, 8, 512)
    assert obj.oti == CompactNoCode().make_oti(3, 512, 8)


def test_misuse_is_refused() -> None:
    params = SessionParams(tsi=5)
    session, _ = _one_pass(params)
    with pytest.raises(ValueError, match="already on the carousel"):
        session.publish(_objects(params)[:1], NOW)
    (obj, *_) = _objects(params)
    packetizer = BlockPacketizer.for_object(1, tsi=5, oti=obj.oti)
    with pytest.raises(FluteEncodeError):
        packetizer.pass_packets(bytes(4999))  # not the object the OTI describes
    with pytest.raises(FluteEncodeError):
        BlockPacketizer.for_object(0, tsi=5, oti=obj.oti)  # TOI 0 is an FDT Instance
    with pytest.raises(FluteEncodeError):
        FdtInstance(expires=EXPIRES, files=()).to_xml()
