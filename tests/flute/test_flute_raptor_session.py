"""Raptor through FLUTE: the carousel's packetizer (flute_support) → losses → SessionReceiver,
byte for byte."""

from __future__ import annotations

import random

from flute_support import Sender, SenderConfig, packetize

from broadcast.proto.flute.alc import build_packet, parse_packet
from broadcast.proto.flute.fdt import FdtInstance, describe_object
from broadcast.proto.flute.fec import COMPACT_NO_CODE, Oti, RaptorObjectEncoder, raptor_parameters
from broadcast.proto.flute.fec.raptor_partition import RaptorOti, RaptorPartition
from broadcast.proto.flute.lct import ExtFti, LctHeader
from broadcast.proto.flute.receiver import ReceivedObject, ReceiverConfig, SessionReceiver
from broadcast.time import ntp_from_unix

TSI = 0x5A
NOW = ntp_from_unix(1_700_000_000)


def _fdt_packets(files: dict[int, tuple[bytes, Oti]], instance_id: int = 1) -> list[bytes]:
    """An FDT Instance describing ``files`` (with their Raptor FEC-OTI), sent with FEC ID 0."""
    entries = tuple(
        describe_object(toi, data, f"file/{toi}", oti=oti) for toi, (data, oti) in files.items()
    )
    document = FdtInstance(expires=NOW + 600, files=entries).to_xml()
    fdt_oti = Oti(COMPACT_NO_CODE, len(document), 1024, 64)
    return list(packetize(0, document, tsi=TSI, oti=fdt_oti, fdt_instance_id=instance_id))


def _delivered(receiver: SessionReceiver, packets: list[bytes]) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    for packet in packets:
        for event in receiver.feed(packet, NOW):
            if isinstance(event, ReceivedObject):
                assert event.toi not in out, "delivered twice"
                out[event.toi] = event.data
    return out


def test_packetize_with_repair_survives_15_percent_loss() -> None:
    """Source + 20 % repair (the registered scheme's default), 15 % of packets dropped."""
    rnd = random.Random(2024)
    data = rnd.randbytes(1_000_003)
    oti = raptor_parameters(len(data), 256)
    part = RaptorPartition.compute(RaptorOti.from_oti(oti))
    assert (part.blocks, part.source_symbols) == (1, 3907)
    packets = list(packetize(7, data, tsi=TSI, oti=oti))
    assert len(packets) == 3907 + 782  # K source + ceil(0.2·K) repair
    kept = [p for p in packets if rnd.random() >= 0.15]
    assert len(kept) < len(packets) * 0.87
    rnd.shuffle(kept)
    receiver = SessionReceiver(TSI)
    got = _delivered(receiver, _fdt_packets({7: (data, oti)}) + kept)
    assert got == {7: data}
    assert receiver.stats.rejected == {} and receiver.stats.discarded == {}
    assert receiver.buffered_bytes == 0


def test_blocks_and_sub_blocks_with_oti_from_the_fdt_only() -> None:
    """Z = 3 blocks of N > 1 sub-blocks; packets carry no EXT_FTI, the FDT gives the OTI."""
    rnd = random.Random(7)
    data = rnd.randbytes(150_001)
    oti = raptor_parameters(len(data), 512, max_source_block_length=120, sub_block_size=8192)
    raptor = RaptorOti.from_oti(oti)
    assert raptor.source_blocks == 3 and raptor.sub_blocks > 1
    packets = list(packetize(9, data, tsi=TSI, oti=oti, with_fti=False))
    assert all(parse_packet(p).oti is None for p in packets)
    kept = [p for p in packets if rnd.random() >= 0.10]
    rnd.shuffle(kept)
    receiver = SessionReceiver(TSI)
    # file packets first (held until the FDT arrives), then the FDT
    got = _delivered(receiver, kept[:200] + _fdt_packets({9: (data, oti)}) + kept[200:])
    assert got == {9: data}


def test_sender_session_with_raptor_fec() -> None:
    """A sender with FEC Encoding ID 1 for the FDT Instance and every file, shuffled and
    duplicated; a tiny object gets a shrunk symbol length so that K >= 4."""
    rnd = random.Random(3)
    objects = {1: rnd.randbytes(40_000), 2: rnd.randbytes(77), 3: rnd.randbytes(4096)}
    sender = Sender(
        SenderConfig(
            tsi=TSI, fec_encoding_id=1, encoding_symbol_length=1024, max_source_block_length=8192
        )
    )
    files = tuple(sender.describe(toi, data, f"f/{toi}") for toi, data in objects.items())
    assert all(entry.fec.encoding_id == 1 for entry in files)
    packets = list(sender.pass_packets(FdtInstance(expires=NOW + 600, files=files), 1, objects))
    assert all(parse_packet(p).fec_encoding_id == 1 for p in packets)
    packets += rnd.sample(packets, 50)
    rnd.shuffle(packets)
    receiver = SessionReceiver(TSI)
    assert _delivered(receiver, packets) == objects
    assert receiver.stats.rejected == {}


def test_more_repair_symbols_complete_an_object_later() -> None:
    """Too few symbols: nothing delivered, nothing raised, memory bounded; a later pass with
    fresh repair ESIs (the carousel's rotation) completes the object."""
    rnd = random.Random(11)
    data = rnd.randbytes(60_000)
    oti = raptor_parameters(len(data), 500)
    k = RaptorPartition.compute(RaptorOti.from_oti(oti)).source_symbols
    assert k == 120
    first = [p for p in packetize(4, data, tsi=TSI, oti=oti)][: k - 10]  # K - 10 source symbols
    receiver = SessionReceiver(TSI)
    assert _delivered(receiver, _fdt_packets({4: (data, oti)}) + first) == {}
    assert 0 < receiver.buffered_bytes <= (k + 64) * (500 + 64)
    encoder = RaptorObjectEncoder(oti, data)
    header = LctHeader(tsi=TSI, toi=4, codepoint=1, extensions=(ExtFti(oti_bytes(oti)),))
    later = [
        build_packet(header, s.sbn, s.esi, s.data)
        for s in encoder.repair_symbols(0, 30, first_esi=1000)
    ]
    assert _delivered(receiver, later) == {4: data}
    assert receiver.buffered_bytes == 0


def oti_bytes(oti: Oti) -> bytes:
    return RaptorOti.from_oti(oti).encode()


def test_hostile_raptor_packets_are_counted_not_raised() -> None:
    receiver = SessionReceiver(TSI, ReceiverConfig(max_object_size=1 << 20))
    good = raptor_parameters(10_000, 100)
    bad_oti = RaptorOti(10_000, 100, 0, 1, 4).encode()  # Z = 0
    huge = RaptorOti(1 << 30, 1024, 128, 1, 4).encode()
    k_small = RaptorOti(30, 10, 1, 1, 2).encode()  # K = 3
    packets = [
        build_packet(
            LctHeader(tsi=TSI, toi=5, codepoint=1, extensions=(ExtFti(ext),)), 0, 0, b"x" * 100
        )
        for ext in (bad_oti, huge, k_small, oti_bytes(good)[:10])
    ]
    header = LctHeader(tsi=TSI, toi=6, codepoint=1, extensions=(ExtFti(oti_bytes(good)),))
    packets.append(build_packet(header, 9, 0, bytes(100)))  # SBN outside the object
    packets.append(build_packet(header, 0, 3, bytes(50)))  # short symbol that is not padding
    for packet in packets:
        assert receiver.feed(packet, NOW) == []
    assert receiver.stats.rejected == {"bad_oti": 3, "object_too_large": 1, "bad_symbol": 2}
    assert receiver.stats.accepted == 0
