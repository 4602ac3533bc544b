"""Sender helper: one pass of packets for an FDT Instance and its objects (no scheduling)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from broadcast.proto.flute.alc import parse_packet
from broadcast.proto.flute.cenc import ContentEncoding
from broadcast.proto.flute.errors import FluteEncodeError
from broadcast.proto.flute.fdt import FdtFile, FdtInstance, parse_fdt
from broadcast.proto.flute.fec import CompactNoCode, FdtFecAttributes
from broadcast.proto.flute.lct import ExtCenc, ExtFdt, FluteVersion
from broadcast.proto.flute.sender import FluteSender, SenderConfig

EXPIRES = 3_908_988_860
#: UDP payload of a 1500-byte Ethernet frame with IPv4 and UDP headers.
UDP_PAYLOAD_MTU = 1500 - 20 - 8


def _session(config: SenderConfig) -> tuple[FluteSender, FdtInstance, dict[int, bytes]]:
    sender = FluteSender(config)
    objects = {1: bytes(5000), 70000: b"\x01" * 3000, 3: b""}
    files = tuple(sender.describe(toi, data, f"f{toi}") for toi, data in objects.items())
    return sender, FdtInstance(expires=EXPIRES, files=files), objects


def test_a_pass_is_the_fdt_then_the_objects_in_fdt_order() -> None:
    sender, instance, objects = _session(SenderConfig(tsi=5))
    packets = [parse_packet(raw) for raw in sender.pass_packets(instance, 12, objects)]
    tois = [p.toi for p in packets]
    assert tois == [0] + [1] * 4 + [70000] * 3 + [3]
    fdt = packets[0]
    assert fdt.fdt == ExtFdt(1, 12) and fdt.cenc is None
    assert parse_fdt(fdt.payload) == instance
    assert all(p.oti is not None for p in packets)


def test_default_packets_fit_an_ethernet_mtu() -> None:
    sender, instance, objects = _session(SenderConfig(tsi=5))
    assert max(map(len, sender.pass_packets(instance, 1, objects))) <= UDP_PAYLOAD_MTU


def test_flute_v2_compressed_fdt_and_close_object() -> None:
    config = SenderConfig(
        tsi=5,
        version=FluteVersion.V2,
        fdt_content_encoding=ContentEncoding.GZIP,
        fti_in_file_packets=False,
        close_object=True,
    )
    sender, instance, objects = _session(config)
    packets = [
        parse_packet(raw, version=FluteVersion.V2)
        for raw in sender.pass_packets(instance, 3, objects)
    ]
    fdt = packets[0]
    assert fdt.fdt == ExtFdt(2, 3)
    assert fdt.cenc == ExtCenc(int(ContentEncoding.GZIP))
    assert fdt.header.close_object
    files = packets[1:]
    assert all(p.oti is None for p in files)
    assert [p.header.close_object for p in files if p.toi == 1] == [False, False, False, True]


def test_describe_sets_lengths_md5_and_fec_attributes() -> None:
    sender = FluteSender(SenderConfig(tsi=1, encoding_symbol_length=512, max_source_block_length=8))
    entry = sender.describe(4, b"abc", "x/y", content_type="text/plain")
    assert (entry.content_length, entry.content_type) == (3, "text/plain")
    assert entry.fec == FdtFecAttributes(0, None, 8, 512)
    assert sender.oti(3) == CompactNoCode().make_oti(3, 512, 8)


def test_pass_validation() -> None:
    sender, instance, objects = _session(SenderConfig(tsi=5))
    with pytest.raises(FluteEncodeError):
        list(sender.pass_packets(instance, 1, {**objects, 9: b""}))
    with pytest.raises(FluteEncodeError):
        list(sender.pass_packets(instance, 1, {**objects, 1: bytes(4999)}))
    other = replace(instance.files[0], fec=FdtFecAttributes(0, None, 2, 100))
    mismatched = replace(instance, files=(other, *instance.files[1:]))
    with pytest.raises(FluteEncodeError, match="FEC-OTI"):
        list(sender.pass_packets(mismatched, 1, objects))
    with pytest.raises(FluteEncodeError):
        list(sender.object_packets(0, b"x"))
    with pytest.raises(FluteEncodeError):
        list(sender.fdt_packets(FdtInstance(expires=EXPIRES, files=()), 1))
    # An entry without lengths or OTI is fine: the receiver uses EXT_FTI.
    bare = FdtInstance(expires=EXPIRES, files=(FdtFile(1, "bare"),))
    assert len(list(sender.pass_packets(bare, 1, {1: b"data"}))) == 2
