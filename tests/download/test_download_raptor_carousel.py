"""Raptor (RFC 5053, FEC Encoding ID 1) on the carousel, sans-IO: rounds, ESIs, memory, config.

No flute-alc interop test for Raptor: the Python API of flute-alc (PyPI) only builds Compact
No-Code and Reed-Solomon OTIs (``Oti.new_no_code``, ``Oti.new_reed_solomon_rs28*``), so it can
neither send nor be configured for FEC Encoding ID 1; our Raptor code is checked against the RFC
instead (tests/flute/test_flute_raptor_*.py).
"""

from __future__ import annotations

import math
import random
import tracemalloc
from dataclasses import replace

import pytest
from testkit import EXAMPLES_DIR as EXAMPLES

from broadcast.aio.download.service import carousel_sdp
from broadcast.config.carousel import CarouselConfig, config_from_mapping, load_config
from broadcast.engine.download.objects import PreparedObject, file_oti, prepare_bytes
from broadcast.engine.download.scheduler import BytesSource, CarouselEntry, CarouselScheduler
from broadcast.engine.download.session import CarouselSession, SessionParams
from broadcast.proto.errors import ConfigError
from broadcast.proto.flute import SessionReceiver, parse_fdt
from broadcast.proto.flute import file_oti as fdt_file_oti
from broadcast.proto.flute.alc import object_headers, parse_packet
from broadcast.proto.flute.blocks import RAPTOR_CHUNK, BlockPacketizer
from broadcast.proto.flute.fec import get_scheme, raptor_parameters
from broadcast.proto.flute.fec.raptor import repair_count
from broadcast.time import ntp_from_unix

NOW = 1_800_000_000.0
EXAMPLE = EXAMPLES / "carousel.toml"
DEST = {"destination": {"address": "127.28.0.1", "port": 4000}}


def _rounds(
    params: SessionParams, objects: list[PreparedObject], rounds: int
) -> tuple[CarouselSession, list[list[bytes]]]:
    """The packets of ``rounds`` carousel rounds, one per ``repeat_interval`` (FDT included)."""
    session = CarouselSession(params, CarouselScheduler(bitrate=None), first_toi=10)
    session.publish(objects, NOW)
    out: list[list[bytes]] = []
    for r in range(rounds):
        now = NOW + r * params.repeat_interval
        session.update(now)
        packets: list[bytes] = []
        for _ in range(10_000):
            poll = session.scheduler.poll(now)
            packets += poll.packets
            if poll.deadline is None or poll.deadline > now:
                break
        out.append(packets)
    return session, out


def _raptor_file(toi: int, data: bytes, name: str, symbol_length: int = 1428) -> PreparedObject:
    return prepare_bytes(
        toi,
        data,
        content_location=name,
        content_type="application/octet-stream",
        symbol_length=symbol_length,
        max_block_length=64,
        fec=1,
    )


def _esis(packets: list[bytes], toi: int) -> list[int]:
    parsed = (parse_packet(p) for p in packets)
    return [p.esi for p in parsed if p.toi == toi and p.esi is not None]


@pytest.mark.parametrize("source_every_round", [False, True])
def test_each_round_brings_fresh_repair_esis(source_every_round: bool) -> None:
    data = random.Random(1).randbytes(60_000)
    params = SessionParams(tsi=4, repeat_interval=1.0, source_every_round=source_every_round)
    obj = _raptor_file(10, data, "a.bin")
    assert obj.oti.fec_encoding_id == 1 and obj.oti.max_source_block_length == 43  # one block
    k = 43
    r = math.ceil(0.2 * k)
    _, rounds = _rounds(params, [obj], 3)
    first, second, third = (_esis(packets, 10) for packets in rounds)
    assert first == list(range(k + r))  # K source symbols, then R repair symbols
    repair = [set(e for e in esis if e >= k) for esis in (first, second, third)]
    assert not repair[0] & repair[1] and not repair[1] & repair[2] and not repair[0] & repair[2]
    if source_every_round:
        assert second[:k] == list(range(k)) and len(second) == k + r
    else:
        assert min(second) >= k and len(second) == len(set(second)) == k + r  # repair only
        assert sorted(second) == list(range(k + r, 2 * (k + r)))
        assert sorted(third) == list(range(2 * (k + r), 3 * (k + r)))


def test_a_late_joiner_decodes_from_one_repair_only_round() -> None:
    """Only round 2's packets — repair symbols, no source symbol — rebuild the object."""
    data = random.Random(2).randbytes(150_000)
    params = SessionParams(tsi=4, repeat_interval=1.0, source_every_round=False)
    obj = _raptor_file(10, data, "b.bin", symbol_length=1000)
    _, rounds = _rounds(params, [obj], 3)
    k = obj.oti.max_source_block_length
    assert min(_esis(rounds[2], 10)) >= k
    rx = SessionReceiver(4)
    got = [e for p in rounds[2] for e in rx.feed(p, ntp_from_unix(NOW + 2))]
    assert [getattr(e, "data", None) for e in got if hasattr(e, "data")] == [data]


def test_blockwise_pass_zero_is_what_the_whole_object_encoder_sends() -> None:
    """Block by block (from each block's bytes alone, sub-blocks N > 1) equals the whole-object
    encoder with the scheme's 20 % repair, closing header on the object's last packet."""
    data = random.Random(3).randbytes(90_000)
    oti = raptor_parameters(len(data), 512, max_source_block_length=40, sub_block_size=4096)
    assert oti.scheme_specific[2] > 1  # N sub-blocks
    packetizer = BlockPacketizer.for_object(7, tsi=2, oti=oti, close_object=True)
    blockwise: list[bytes] = []
    for step in range(packetizer.steps):
        offset, size = packetizer.byte_range(step)
        blockwise += packetizer.packets(step, data[offset : offset + size])
    assert packetizer.steps == 5
    header, closing = object_headers(7, tsi=2, oti=oti, close_object=True)
    whole = [s.sbn.to_bytes(2, "big") + s.esi.to_bytes(2, "big") + s.data
             for s in get_scheme(oti.fec_encoding_id).encode(oti, data)]  # fmt: skip
    assert blockwise == [header + p for p in whole[:-1]] + [closing + whole[-1]]
    assert list(packetizer.pass_packets(data)) == blockwise
    assert parse_packet(blockwise[-1]).header.close_object
    assert not any(parse_packet(p).header.close_object for p in blockwise[:-1])


def test_repair_esis_wrap_inside_the_16_bit_space() -> None:
    data = random.Random(4).randbytes(20_000)
    oti = raptor_parameters(len(data), 100, max_source_block_length=8192)
    k = oti.max_source_block_length
    packetizer = BlockPacketizer.for_object(
        7, tsi=2, oti=oti, repair_overhead=0.5, source_every_pass=False
    )
    per_pass = k + repair_count(k, 0.5)
    space = 65536 - k
    wrap = space // per_pass + 1  # the first pass whose window crosses 65535
    seen: list[set[int]] = []
    for n in (wrap - 1, wrap, wrap + 1):
        esis = [parse_packet(p).esi for p in packetizer.packets(0, data, pass_index=n)]
        assert len(esis) == len(set(esis)) == per_pass
        assert all(k <= e <= 0xFFFF for e in esis if e is not None)
        seen.append({e for e in esis if e is not None})
    assert not seen[0] & seen[1] and not seen[1] & seen[2]
    assert min(seen[1]) == k  # wrapped around to the first repair ESI


class _RecordingSource(BytesSource):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.reads: list[tuple[int, int]] = []

    def read(self, offset: int, size: int) -> bytes:
        self.reads.append((offset, size))
        return super().read(offset, size)


def _stream_one_pass(size: int, block: int, symbol: int) -> tuple[int, list[tuple[int, int]]]:
    """Send one pass of a Raptor object through the scheduler, dropping the packets; return
    the traced peak allocation and the source reads."""
    data = random.Random(size).randbytes(size)
    oti = raptor_parameters(size, symbol, max_source_block_length=block)
    source = _RecordingSource(data)
    sched = CarouselScheduler(bitrate=None, max_batch=RAPTOR_CHUNK)
    sched.add(
        CarouselEntry(
            toi=1,
            packetizer=BlockPacketizer.for_object(1, tsi=1, oti=oti),
            source=source,
            priority=2,
            interval=100.0,
            next_due=0.0,
        )
    )
    tracemalloc.start()
    try:
        first = sched.poll(0.0)
        assert len(first.packets) == RAPTOR_CHUNK and len(source.reads) == 1  # lazily
        for _ in range(100_000):
            if sched.poll(0.0).completed:
                break
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    entry = sched.entry(1)
    assert entry is not None and entry.passes == 1
    return peak, source.reads


def test_one_source_block_in_memory_at_a_time() -> None:
    symbol, block = 512, 200  # blocks of 100 kB
    small_peak, small_reads = _stream_one_pass(4 * 102_400, block, symbol)
    big_peak, big_reads = _stream_one_pass(24 * 102_400, block, symbol)
    # Each block is read once, in order, exactly its bytes.
    assert big_reads == [(i * 102_400, 102_400) for i in range(24)]
    assert len(small_reads) == 4
    # Peak memory follows the block size, not the object size (6x larger object here).
    assert big_peak < 1.5 * small_peak
    assert big_peak < 24 * 102_400 / 3


def test_files_under_four_bytes_fall_back_to_compact_no_code() -> None:
    assert file_oti(3, symbol_length=1428, max_block_length=64, fec=1).fec_encoding_id == 0
    assert file_oti(0, symbol_length=1428, max_block_length=64, fec=1).fec_encoding_id == 0
    tiny = file_oti(4, symbol_length=1428, max_block_length=64, fec=1)
    assert (tiny.fec_encoding_id, tiny.encoding_symbol_length) == (1, 1)
    big = file_oti(20_000_000, symbol_length=1428, max_block_length=64, fec=1)
    assert big.max_source_block_length <= 8192 and big.scheme_specific[:2] == b"\x00\x02"
    with pytest.raises(ValueError, match="FEC Encoding ID 2"):
        file_oti(100, symbol_length=1428, max_block_length=64, fec=2)


def test_fdt_carries_the_raptor_oti() -> None:
    data = random.Random(5).randbytes(5000)
    objects = [_raptor_file(10, data, "r.bin"), _raptor_file(11, b"ab", "t.bin")]
    session, _ = _rounds(SessionParams(tsi=4), objects, 1)
    assert session.fdt is not None
    instance = parse_fdt(session.fdt.document)
    entries = {f.toi: instance.resolve(f) for f in instance.files}
    assert fdt_file_oti(entries[10]) == objects[0].oti  # incl. Scheme-Specific-Info (Z, N, Al)
    assert b'FEC-OTI-Scheme-Specific-Info="' in session.fdt.document
    assert fdt_file_oti(entries[11]) == objects[1].oti and objects[1].oti.fec_encoding_id == 0


def test_config_keys() -> None:
    session = {
        "fec": "raptor",
        "repair_overhead": 0.5,
        "send_source_every_round": False,
        "confidentiality": False,
    }
    cfg = config_from_mapping({**DEST, "session": session})
    assert (cfg.fec, cfg.fec_encoding_id, cfg.repair_overhead) == ("raptor", 1, 0.5)
    assert cfg.send_source_every_round is False
    default = config_from_mapping({**DEST, "session": {"confidentiality": False}})
    assert (default.fec_encoding_id, default.send_source_every_round) == (0, True)
    assert default.repair_overhead == 0.2
    example = load_config(EXAMPLE)
    assert example.fec in ("compact-no-code", "raptor") and 0 <= example.repair_overhead <= 4
    assert replace(example, fec="raptor").fec_encoding_id == 1


@pytest.mark.parametrize(
    ("session", "message"),
    [
        ({"fec": "reed-solomon"}, r"\[session\] fec: must be one of"),
        ({"fec": 1}, r"\[session\] fec"),
        ({"repair_overhead": -0.1}, "repair_overhead"),
        ({"repair_overhead": 4.5}, "repair_overhead"),
        ({"repair_overhead": math.nan}, "repair_overhead"),
        ({"repair_overhead": True}, "repair_overhead"),
        ({"send_source_every_round": "no"}, "send_source_every_round"),
    ],
)
def test_bad_fec_config_names_the_key(session: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config_from_mapping({**DEST, "session": {**session, "confidentiality": False}})


def test_sdp_declares_raptor() -> None:
    config = CarouselConfig(
        destination=("127.28.0.1", 4000), name="r", fec="raptor", confidentiality=False
    )
    sdp = carousel_sdp(config, source="127.0.0.1", session_id=0).to_text()
    assert "a=FEC-declaration:0 encoding-id=1" in sdp.split("\r\n")
