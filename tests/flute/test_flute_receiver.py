"""Session receiver: objects through the carousel's packetizer (flute_support) → shuffle/duplicate/
drop → receiver, and abuse."""

from __future__ import annotations

import random
from dataclasses import replace

from flute_support import Sender, SenderConfig, packetize
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broadcast.proto.flute.alc import parse_packet
from broadcast.proto.flute.cenc import ContentEncoding, encode_content
from broadcast.proto.flute.fdt import (
    FDT_NAMESPACE_RFC6726,
    FdtFile,
    FdtInstance,
    content_md5,
    mikey_file,
)
from broadcast.proto.flute.fec import CompactNoCode
from broadcast.proto.flute.lct import ExtFti, FluteVersion, LctHeader, encode_header
from broadcast.proto.flute.receiver import (
    PENDING_OVERHEAD,
    ReceivedFdt,
    ReceivedObject,
    ReceiverConfig,
    SessionReceiver,
)
from broadcast.proto.keys import MskId, MtkId
from broadcast.time import ntp_from_unix

TSI = 0x2A
NOW = ntp_from_unix(1_700_000_000)
NOCODE = CompactNoCode()
SMALL = SenderConfig(tsi=TSI, encoding_symbol_length=200, max_source_block_length=4)


def make_pass(
    objects: dict[int, bytes],
    *,
    config: SenderConfig = SMALL,
    expires: int = NOW + 600,
    instance_id: int = 1,
) -> tuple[FdtInstance, list[bytes], list[bytes]]:
    """(FDT Instance, FDT packets, file packets) for one carousel pass."""
    sender = Sender(config)
    files = tuple(sender.describe(toi, data, f"obj/{toi}.bin") for toi, data in objects.items())
    instance = FdtInstance(expires=expires, files=files)
    packets = list(sender.pass_packets(instance, instance_id, objects))
    fdt = [p for p in packets if parse_packet(p, version=config.version).toi == 0]
    rest = [p for p in packets if parse_packet(p, version=config.version).toi != 0]
    return instance, fdt, rest


def feed_all(receiver: SessionReceiver, packets: list[bytes], now: int = NOW) -> list[object]:
    events: list[object] = []
    for packet in packets:
        events += receiver.feed(packet, now)
    return events


def delivered(events: list[object]) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    for event in events:
        if isinstance(event, ReceivedObject):
            assert event.toi not in out, "delivered twice"
            out[event.toi] = event.data
    return out


# --- the full round trip -------------------------------------------------------------------------
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sizes=st.lists(st.integers(0, 3000), min_size=1, max_size=5),
    e=st.integers(16, 600),
    b=st.integers(1, 8),
    version=st.sampled_from(FluteVersion),
    cenc=st.none() | st.sampled_from(ContentEncoding),
    fti=st.booleans(),
    rnd=st.randoms(use_true_random=False),
)
def test_objects_survive_shuffling_and_duplicates(
    sizes: list[int],
    e: int,
    b: int,
    version: FluteVersion,
    cenc: ContentEncoding | None,
    fti: bool,
    rnd: random.Random,
) -> None:
    objects = {toi: rnd.randbytes(size) for toi, size in enumerate(sizes, start=1)}
    config = SenderConfig(
        tsi=TSI,
        version=version,
        encoding_symbol_length=e,
        max_source_block_length=b,
        fdt_content_encoding=cenc,
        fti_in_file_packets=fti,
        fdt_namespace=FDT_NAMESPACE_RFC6726 if version is FluteVersion.V2 else SMALL.fdt_namespace,
    )
    instance, fdt, rest = make_pass(objects, config=config)
    packets = fdt + rest
    packets += rnd.choices(packets, k=len(packets) // 2)  # duplicates
    rnd.shuffle(packets)
    receiver = SessionReceiver(TSI, ReceiverConfig(version=version))
    events = feed_all(receiver, packets)
    assert delivered(events) == objects
    assert [e.instance for e in events if isinstance(e, ReceivedFdt)] == [instance]
    for event in events:
        if isinstance(event, ReceivedObject):
            assert event.file == instance.resolve(instance.file(event.toi))  # type: ignore[arg-type]
            assert event.fdt_instance_id == 1
    assert not receiver.stats.rejected and not receiver.stats.discarded
    assert receiver.stats.objects == len(objects)
    assert receiver.buffered_bytes == 0 and receiver.active_objects == 0


def test_losses_are_repaired_by_the_next_carousel_pass() -> None:
    rnd = random.Random(7)
    objects = {toi: rnd.randbytes(rnd.randrange(1, 5000)) for toi in range(1, 6)}
    _, fdt, rest = make_pass(objects)
    receiver = SessionReceiver(TSI)
    first = [p for p in fdt + rest if rnd.random() > 0.3]
    events = feed_all(receiver, first)
    second = fdt + rest
    rnd.shuffle(second)
    events += feed_all(receiver, second, NOW + 5)
    events += feed_all(receiver, fdt + rest, NOW + 10)  # a third pass changes nothing
    assert delivered(events) == objects
    assert receiver.stats.duplicates > 0
    assert receiver.active_objects == 0


def test_objects_before_their_fdt_with_and_without_ext_fti() -> None:
    objects = {1: b"a" * 1000, 2: b"b" * 333}
    for fti in (True, False):
        _, fdt, rest = make_pass(objects, config=replace(SMALL, fti_in_file_packets=fti))
        receiver = SessionReceiver(TSI)
        assert feed_all(receiver, rest) == []
        assert receiver.buffered_bytes >= sum(map(len, objects.values()))
        events = feed_all(receiver, fdt)
        assert isinstance(events[0], ReceivedFdt)
        assert delivered(events) == objects
        assert receiver.buffered_bytes == 0


def test_an_fdt_entry_without_lengths_or_oti_is_completed_from_ext_fti() -> None:
    bare = FdtInstance(expires=NOW + 60, files=(FdtFile(1, "bare"),))
    packets = Sender(SenderConfig(tsi=TSI)).pass_packets(bare, 1, {1: b"data"})
    assert len(packets) == 2  # the FDT Instance, the object
    assert delivered(feed_all(SessionReceiver(TSI), packets)) == {1: b"data"}


def test_mikey_object_end_to_end() -> None:
    message = bytes.fromhex("0100058000000001") + bytes(60)
    sender = Sender(SenderConfig(tsi=TSI))
    dcf = b"\x00\x00\x00\x18ftypodcf" + bytes(3000)
    files = (
        mikey_file(1, MskId(1, 0), MtkId(1), message, oti=sender.oti(len(message))),
        sender.describe(2, dcf, "content/video.dcf", content_type="application/vnd.oma.drm.dcf"),
    )
    instance = FdtInstance(expires=NOW + 60, files=files)
    packets = list(sender.pass_packets(instance, 0, {1: message, 2: dcf}))
    receiver = SessionReceiver(TSI)
    events = feed_all(receiver, packets[::-1])
    got = {e.toi: e for e in events if isinstance(e, ReceivedObject)}
    assert got[1].data == message
    assert got[1].file.content_type == "application/mikey"
    assert got[1].file.content_location == "mikey/00010000-0001.mikey"
    assert got[2].data == dcf


# --- FDT instances: expiry, IDs, duplicates ------------------------------------------------------
def test_expired_fdt_is_not_used() -> None:
    objects = {1: b"x" * 500}
    _, fdt, rest = make_pass(objects, expires=NOW + 10)
    receiver = SessionReceiver(TSI)
    assert feed_all(receiver, fdt, NOW)
    assert receiver.fdt_entry(1, NOW) is not None
    assert feed_all(receiver, rest, NOW + 20) == []  # the only FDT Instance has expired
    assert receiver.fdt_entry(1, NOW + 20) is None
    late = SessionReceiver(TSI)
    assert feed_all(late, fdt, NOW + 11) == []
    assert late.stats.discarded["fdt_expired"] == 1


def test_expires_across_the_ntp_era_rollover() -> None:
    now = (1 << 32) - 5  # 2036-02-07, seconds before the NTP era wraps
    _, fdt, rest = make_pass({1: b"y" * 10}, expires=(now + 60) % (1 << 32))
    receiver = SessionReceiver(TSI)
    assert delivered(feed_all(receiver, fdt + rest, now)) == {1: b"y" * 10}


def test_newer_instance_ids_win_including_across_the_wrap() -> None:
    top = (1 << 20) - 1
    old = FdtInstance(expires=NOW + 60, files=(FdtFile(1, "old", content_length=5),))
    new = FdtInstance(expires=NOW + 90, files=(FdtFile(1, "new", content_length=5),))
    sender = Sender(SMALL)
    receiver = SessionReceiver(TSI)
    feed_all(receiver, list(sender.fdt_packets(new, 0)))  # 0 is newer than 2^20-1
    feed_all(receiver, list(sender.fdt_packets(old, top)))
    entry = receiver.fdt_entry(1, NOW)
    assert entry is not None and entry.content_location == "new"
    assert receiver.stats.fdt_instances == 2
    other = SessionReceiver(TSI)
    feed_all(other, list(sender.fdt_packets(old, top)))
    feed_all(other, list(sender.fdt_packets(new, 0)))
    entry = other.fdt_entry(1, NOW)
    assert entry is not None and entry.content_location == "new"


def test_repeated_fdt_instances_are_dropped_cheaply_and_reused_ids_reprocessed() -> None:
    sender = Sender(SMALL)
    first = FdtInstance(expires=NOW + 60, files=(FdtFile(1, "a"),))
    second = FdtInstance(expires=NOW + 60, files=(FdtFile(1, "a"), FdtFile(2, "much-longer")))
    receiver = SessionReceiver(TSI)
    events = feed_all(receiver, list(sender.fdt_packets(first, 9)) * 3)
    assert len([e for e in events if isinstance(e, ReceivedFdt)]) == 1
    assert receiver.stats.duplicates >= 2
    events = feed_all(receiver, list(sender.fdt_packets(second, 9)))
    assert [e.instance for e in events if isinstance(e, ReceivedFdt)] == [second]


def test_compressed_fdt_bomb_and_hostile_fdt_documents_are_rejected() -> None:
    bomb = encode_content(b" " * (8 << 20), ContentEncoding.ZLIB)
    oti = NOCODE.make_oti(len(bomb), 1428, 64)
    receiver = SessionReceiver(TSI)
    feed_all(receiver, list(packetize(0, bomb, tsi=TSI, oti=oti, fdt_instance_id=1, cenc=1)))
    assert receiver.stats.discarded["fdt_too_large"] == 1
    laughs = b'<!DOCTYPE x [<!ENTITY a "aaaa">]><FDT-Instance Expires="1">&a;</FDT-Instance>'
    oti = NOCODE.make_oti(len(laughs), 1428, 64)
    feed_all(receiver, list(packetize(0, laughs, tsi=TSI, oti=oti, fdt_instance_id=2)))
    assert receiver.stats.discarded["fdt_forbidden"] == 1
    assert receiver.buffered_bytes == 0


# --- integrity and limits ------------------------------------------------------------------------
def test_content_md5_mismatch_is_rejected() -> None:
    data = b"payload" * 100
    sender = Sender(SMALL)
    entry = replace(sender.describe(1, data, "x"), content_md5=content_md5(b"other"))
    instance = FdtInstance(expires=NOW + 60, files=(entry,))
    receiver = SessionReceiver(TSI)
    events = feed_all(receiver, list(sender.pass_packets(instance, 1, {1: data})))
    assert delivered(events) == {}
    assert receiver.stats.discarded["integrity"] == 1
    assert not receiver.stats.rejected
    assert receiver.buffered_bytes == 0


def test_ext_fti_contradicting_the_fdt_is_rejected() -> None:
    sender = Sender(SMALL)
    instance = FdtInstance(expires=NOW + 60, files=(FdtFile(1, "x", content_length=10),))
    receiver = SessionReceiver(TSI)
    feed_all(receiver, list(sender.fdt_packets(instance, 1)))
    events = feed_all(receiver, list(sender.object_packets(1, b"eleven byte")))
    assert delivered(events) == {}
    assert receiver.stats.rejected["conflicting_oti"] == 1


def test_objects_above_the_size_limit_are_refused() -> None:
    receiver = SessionReceiver(TSI, ReceiverConfig(max_object_size=1000))
    _, fdt, rest = make_pass({1: bytes(5000)})
    feed_all(receiver, fdt + rest)
    assert receiver.stats.rejected["object_too_large"] == len(rest)
    assert receiver.buffered_bytes == 0 and receiver.active_objects == 0


def test_wrong_session_and_missing_ext_fdt() -> None:
    _, fdt, rest = make_pass({1: b"z"})
    receiver = SessionReceiver(TSI + 1)
    feed_all(receiver, fdt + rest)
    assert receiver.stats.rejected["wrong_tsi"] == len(fdt + rest)
    receiver = SessionReceiver(TSI)
    header = encode_header(LctHeader(tsi=TSI, toi=0))
    receiver.feed(header + bytes(4) + b"<x/>", NOW)
    assert receiver.stats.rejected["missing_ext_fdt"] == 1


def test_close_session_flag() -> None:
    receiver = SessionReceiver(TSI)
    assert receiver.feed(encode_header(LctHeader(tsi=TSI, toi=1, close_session=True)), NOW) == []
    assert receiver.session_closed


def test_state_for_objects_no_fdt_describes_is_bounded() -> None:
    config = ReceiverConfig(max_unknown_objects=4, max_active_objects=8)
    receiver = SessionReceiver(TSI, config)
    oti = NOCODE.make_oti(10_000, 100, 10)
    for toi in range(1, 1001):  # a forger announcing 1000 objects and sending one symbol each
        (first, *_) = packetize(toi, bytes(10_000), tsi=TSI, oti=oti)
        receiver.feed(first, NOW)
        assert receiver.active_objects <= 4
    assert receiver.stats.evicted == 996
    assert receiver.buffered_bytes == 4 * (1000 + 10)  # one 10-symbol block each
    # The genuine session still gets through.
    objects = {toi: bytes([toi]) * 777 for toi in range(1, 4)}
    _, fdt, rest = make_pass(objects)
    assert delivered(feed_all(receiver, fdt + rest)) == objects


def test_forged_fdt_instance_ids_do_not_crowd_out_objects() -> None:
    receiver = SessionReceiver(TSI, ReceiverConfig(max_pending_fdts=2, max_active_objects=6))
    objects = {1: bytes(3000)}
    _, fdt, rest = make_pass(objects)
    feed_all(receiver, fdt + rest[:-1])
    oti = NOCODE.make_oti(5000, 100, 64)
    for iid in range(100, 400):
        (first, *_) = packetize(0, bytes(5000), tsi=TSI, oti=oti, fdt_instance_id=iid)
        receiver.feed(first, NOW)
        assert receiver.active_objects <= 3
    assert delivered(feed_all(receiver, rest[-1:])) == objects


def test_symbol_buffer_is_bounded() -> None:
    config = ReceiverConfig(max_buffered_bytes=5000, max_unknown_objects=64)
    receiver = SessionReceiver(TSI, config)
    oti = NOCODE.make_oti(4000, 100, 40)
    for toi in range(1, 20):
        for packet in list(packetize(toi, bytes(4000), tsi=TSI, oti=oti))[:-1]:
            receiver.feed(packet, NOW)
            assert receiver.buffered_bytes <= 5000
    assert receiver.stats.evicted > 0
    big = ReceiverConfig(max_buffered_bytes=500)
    receiver = SessionReceiver(TSI, big)
    feed_all(receiver, list(packetize(1, bytes(4000), tsi=TSI, oti=oti)))
    assert receiver.stats.rejected["resource_limit"] > 0
    assert receiver.buffered_bytes <= 500


def test_pending_symbols_without_oti_are_bounded_per_object() -> None:
    receiver = SessionReceiver(TSI, ReceiverConfig(max_object_size=1000))
    oti = NOCODE.make_oti(5000, 100, 64)
    packets = list(packetize(1, bytes(5000), tsi=TSI, oti=oti, with_fti=False))
    feed_all(receiver, packets)
    assert receiver.buffered_bytes <= 1000
    # Each waiting symbol is charged its bytes plus a fixed bookkeeping cost.
    kept = 1000 // (100 + PENDING_OVERHEAD)
    assert receiver.stats.rejected["resource_limit"] == len(packets) - kept


def test_tiny_and_empty_symbols_cannot_exhaust_memory() -> None:
    receiver = SessionReceiver(TSI, ReceiverConfig(max_object_size=1 << 20))
    header = encode_header(LctHeader(tsi=TSI, toi=5))  # no EXT_FTI: the OTI is unknown
    for esi in range(20_000):
        receiver.feed(header + esi.to_bytes(4, "big"), NOW)
    assert receiver.buffered_bytes <= 1 << 20
    assert receiver.stats.rejected["resource_limit"] == 20_000 - (1 << 20) // PENDING_OVERHEAD
    # One-byte symbols: memory is the touched block plus a flag per symbol, not a dict entry each.
    oti = NOCODE.make_oti(1 << 20, 1, 0xFFFF)
    fti = ExtFti(NOCODE.encode_oti(oti))
    header = encode_header(LctHeader(tsi=TSI, toi=6, extensions=(fti,)))
    other = SessionReceiver(TSI)
    for esi in range(5000):
        other.feed(header + esi.to_bytes(4, "big") + b"x", NOW)
    part = CompactNoCode().partition(oti)
    assert other.buffered_bytes == part.block_bytes(0) + part.block_symbols(0)


# --- hostile packet streams ----------------------------------------------------------------------
def test_garbage_interleaved_with_a_session() -> None:
    rnd = random.Random(99)
    objects = {toi: rnd.randbytes(rnd.randrange(0, 3000)) for toi in range(1, 4)}
    _, fdt, rest = make_pass(objects)
    garbage = [rnd.randbytes(rnd.randrange(0, 120)) for _ in range(300)]
    forged_header = encode_header(
        LctHeader(tsi=TSI, toi=2, extensions=(ExtFti(NOCODE.encode_oti(NOCODE.make_oti(7, 1, 1))),))
    )
    forged = [forged_header + bytes(4) + b"\x00"]
    stream = fdt + rest + garbage + forged
    rnd.shuffle(stream)
    receiver = SessionReceiver(TSI)
    events = feed_all(receiver, stream)
    got = delivered(events)
    assert sum(receiver.stats.rejected.values()) >= 300
    # TOI 2 may lose to the forged OTI if the forgery came first; the others must arrive intact.
    assert {k: v for k, v in got.items() if k != 2} == {k: v for k, v in objects.items() if k != 2}
    assert all(got[k] == objects[k] for k in got)


_VALID_STREAM = make_pass({1: bytes(range(256)) * 4, 2: b"mikey"})
_VALID_PACKETS = _VALID_STREAM[1] + _VALID_STREAM[2]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=150),
            st.tuples(
                st.sampled_from(_VALID_PACKETS),
                st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 255)), max_size=4),
            ).map(lambda c: _mutate(*c)),
            st.sampled_from(_VALID_PACKETS),
        ),
        max_size=40,
    )
)
def test_any_packet_stream_never_raises(stream: list[bytes]) -> None:
    receiver = SessionReceiver(TSI, ReceiverConfig(max_unknown_objects=2, max_active_objects=4))
    for packet in stream:
        events = receiver.feed(packet, NOW)
        assert all(isinstance(e, ReceivedObject | ReceivedFdt) for e in events)
        assert receiver.active_objects <= 4
    assert receiver.stats.packets == len(stream)
    assert receiver.stats.accepted + sum(receiver.stats.rejected.values()) == len(stream)


def _mutate(packet: bytes, edits: list[tuple[int, int]]) -> bytes:
    out = bytearray(packet)
    for pos, value in edits:
        out[pos % len(out)] = value
    return bytes(out)
