"""Raptor FEC scheme (RFC 5053 §3, §4.2, §5.3): OTI bytes, FDT attributes, partitioning,
sub-blocks, padding, the object encoder/decoder and their typed errors."""

from __future__ import annotations

import base64
import random
from dataclasses import replace
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from testkit import data_file, load_module

from broadcast._native import raptor as native
from broadcast.proto.flute.errors import BadOti, BadSymbol, ConflictingSymbol, ObjectTooLarge
from broadcast.proto.flute.fdt import FdtInstance, describe_object, file_oti, parse_fdt
from broadcast.proto.flute.fec import (
    RAPTOR,
    EncodingSymbol,
    Oti,
    RaptorObjectEncoder,
    RaptorScheme,
    encode_object,
    get_scheme,
    raptor_parameters,
    registered_encoding_ids,
)
from broadcast.proto.flute.fec.raptor import block_byte_range, repair_count
from broadcast.proto.flute.fec.raptor_partition import RaptorOti, RaptorPartition, partition
from broadcast.proto.flute.lct import ExtFti, LctHeader, encode_header

SCHEME = RaptorScheme(repair_overhead=0.2)


@pytest.fixture(scope="module")
def oracle() -> ModuleType:
    """``params.py`` of the shared Raptor reference (vendored in tests/data/raptor)."""
    module = load_module(data_file("raptor", "params.py"), "raptor_reference_params")
    module.load_tables()
    return module


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def _oti(f: int, t: int, z: int, n: int, al: int) -> Oti:
    return RaptorOti(f, t, z, n, al).to_oti()


# --- registry and identifiers ------------------------------------------------------------------
def test_registered_as_fec_encoding_id_1() -> None:
    assert RAPTOR == 1
    assert 1 in registered_encoding_ids()
    scheme = get_scheme(1)
    assert isinstance(scheme, RaptorScheme) and scheme.name == "Raptor"
    assert scheme.payload_id_length == 4


def test_payload_id() -> None:
    assert SCHEME.encode_payload_id(1, 0x1234) == bytes.fromhex("00011234")
    assert SCHEME.decode_payload_id(bytes.fromhex("fffe0001"), 0) == (0xFFFE, 1)
    with pytest.raises(BadSymbol):
        SCHEME.encode_payload_id(0x10000, 0)
    with pytest.raises(BadSymbol):
        SCHEME.encode_payload_id(0, -1)
    with pytest.raises(BadSymbol, match="truncated"):
        SCHEME.decode_payload_id(b"\x00\x01\x02", 12)


# --- FEC OTI (§3.2) ------------------------------------------------------------------------------
def test_encoded_oti_of_the_digest_example() -> None:
    oti = _oti(3_000_000, 1400, 1, 12, 4)
    assert SCHEME.encode_oti(oti).hex(" ") == "00 00 00 2d c6 c0 00 00 05 78 00 01 0c 04"
    assert oti.scheme_specific == bytes.fromhex("00010c04")
    assert oti.max_source_block_length == 2143  # KL, derived


def test_ext_fti_worked_example() -> None:
    """spec-digest §5.4: F = 1234, T = 1428, Z = 1, N = 1, Al = 4 → EXT_FTI 40 04 … 00 01 01 04.

    The bytes follow §3.2; that object would have K = 1, which this project refuses [P].
    """
    raptor = RaptorOti(1234, 1428, 1, 1, 4)
    header = encode_header(
        LctHeader(tsi=1, toi=2, codepoint=1, extensions=(ExtFti(raptor.encode()),))
    )
    fti = bytes.fromhex("40 04 00 00 00 00 04 d2 00 00 05 94 00 01 01 04")
    assert header.endswith(fti)
    assert RaptorOti.decode(fti[2:]) == raptor
    with pytest.raises(BadOti, match="K >= 4"):
        SCHEME.decode_oti(fti[2:], 2)


def test_oti_round_trip_equals_the_oracle(oracle: ModuleType) -> None:
    rnd = random.Random(3)
    for _ in range(200):
        al = rnd.choice([1, 2, 4, 8])
        t = al * rnd.randint(1, 0xFFFF // al)
        n = rnd.randint(1, min(255, t // al))
        f = rnd.randint(4 * t, 3000 * t)
        z = -(-_ceil(f, t) // 8192)
        oti = _oti(f, t, z, n, al)
        wire = SCHEME.encode_oti(oti)
        assert wire == oracle.encode_oti(f, t, z, n, al)
        assert SCHEME.decode_oti(wire + b"\x00\x00", 0) == oti  # EXT_FTI padding ignored


def test_decode_oti_ignores_reserved_and_rejects_short_content() -> None:
    wire = bytearray(SCHEME.encode_oti(_oti(5000, 100, 1, 1, 4)))
    wire[6:8] = b"\xff\xff"
    assert SCHEME.decode_oti(bytes(wire), 0).transfer_length == 5000
    with pytest.raises(BadOti, match="14 bytes"):
        SCHEME.decode_oti(bytes(wire[:13]), 2)


# --- FDT FEC-OTI attributes -----------------------------------------------------------------------
def test_fdt_attributes_round_trip() -> None:
    data = random.Random(1).randbytes(70_000)
    oti = raptor_parameters(len(data), 1024, sub_block_size=16384)
    entry = describe_object(5, data, "file.bin", oti=oti)
    assert entry.fec.encoding_id == 1
    assert entry.fec.encoding_symbol_length == 1024
    assert entry.fec.scheme_specific_info == RaptorOti.from_oti(oti).scheme_specific()
    document = FdtInstance(expires=3_900_000_000, files=(entry,)).to_xml()
    ssi = base64.b64encode(oti.scheme_specific).decode()
    assert f'FEC-OTI-Scheme-Specific-Info="{ssi}"'.encode() in document
    assert b'FEC-OTI-FEC-Encoding-ID="1"' in document
    parsed = parse_fdt(document)
    assert file_oti(parsed.resolve(parsed.files[0])) == oti


def test_fdt_instance_level_attributes_apply_to_files() -> None:
    oti = raptor_parameters(10_000, 500)
    attrs = SCHEME.oti_to_fdt(oti)
    data = bytes(10_000)
    entry = describe_object(3, data, "x")  # no FEC attributes on the File
    instance = FdtInstance(expires=3_900_000_000, files=(entry,), fec=attrs)
    parsed = parse_fdt(instance.to_xml())
    assert file_oti(parsed.resolve(parsed.files[0])) == oti


def test_oti_from_fdt_errors() -> None:
    oti = raptor_parameters(10_000, 500)
    attrs = SCHEME.oti_to_fdt(oti)
    assert SCHEME.oti_from_fdt(attrs, 10_000) == oti
    with pytest.raises(BadOti, match="Encoding ID"):
        SCHEME.oti_from_fdt(replace(attrs, encoding_id=0), 10_000)
    with pytest.raises(BadOti, match="missing"):
        SCHEME.oti_from_fdt(replace(attrs, encoding_symbol_length=None), 10_000)
    with pytest.raises(BadOti, match="missing"):
        SCHEME.oti_from_fdt(replace(attrs, scheme_specific_info=None), 10_000)
    with pytest.raises(BadOti, match="4 bytes"):
        SCHEME.oti_from_fdt(replace(attrs, scheme_specific_info=b"\x00\x01\x01"), 10_000)
    with pytest.raises(BadOti):
        SCHEME.oti_from_fdt(replace(attrs, scheme_specific_info=b"\x00\x00\x01\x04"), 10_000)
    # an informative Maximum-Source-Block-Length from a peer is ignored: KL is derived
    assert SCHEME.oti_from_fdt(replace(attrs, max_source_block_length=8192), 10_000) == oti


# --- partitioning (§5.3.1.2) ---------------------------------------------------------------------
CASES = [
    (3_000_000, 1400, 1, 12, 4),
    (100_000_000, 1400, 9, 43, 4),
    (1000, 140, 1, 1, 4),
    (1_000_001, 1000, 3, 7, 8),
    (65_536, 16, 8, 3, 4),
]


@pytest.mark.parametrize(("f", "t", "z", "n", "al"), CASES)
def test_partition_equals_the_oracle(
    oracle: ModuleType, f: int, t: int, z: int, n: int, al: int
) -> None:
    part = RaptorPartition.compute(RaptorOti(f, t, z, n, al))
    want = oracle.partition(f, t, z, n, al)
    assert (part.source_symbols, part.large_length, part.small_length) == (
        want["Kt"],
        want["KL"],
        want["KS"],
    )
    assert (part.large_blocks, part.small_blocks) == (want["ZL"], want["ZS"])
    assert (part.large_sub_symbol, part.small_sub_symbol) == (want["TL"] * al, want["TS"] * al)
    assert (part.large_sub_blocks, part.small_sub_blocks) == (want["NL"], want["NS"])
    assert sum(part.block_data_length(s) for s in range(part.blocks)) == f
    assert sum(part.block_symbols(s) for s in range(part.blocks)) == want["Kt"]


def test_partition_of_the_digest_examples() -> None:
    part = RaptorPartition.compute(RaptorOti(100_000_000, 1400, 9, 43, 4))
    assert (part.large_blocks, part.large_length, part.small_blocks, part.small_length) == (
        5,
        7937,
        4,
        7936,
    )
    assert (part.large_sub_blocks, part.large_sub_symbol) == (6, 36)
    assert (part.small_sub_blocks, part.small_sub_symbol) == (37, 32)
    assert part.block_offset(5) == 5 * 7937 * 1400
    assert partition(10, 3) == (4, 3, 1, 2)
    assert partition(9, 3) == (3, 3, 0, 3)
    with pytest.raises(ValueError):
        partition(5, 0)


def test_derivation_recommendation_of_section_4_2(oracle: ModuleType) -> None:
    for f in (3_000_000, 100_000_000):
        want = oracle.derive(f, 1400, 262144)
        oti = raptor_parameters(f, want["T"], sub_block_size=262144)
        raptor = RaptorOti.from_oti(oti)
        assert (raptor.symbol_length, raptor.source_blocks, raptor.sub_blocks) == (
            want["T"],
            want["Z"],
            want["N"],
        )


@settings(max_examples=200, deadline=None)
@given(
    f=st.integers(4, 10**9),
    t=st.integers(1, 0xFFFF),
    b=st.integers(7, 10_000),
    w=st.none() | st.integers(1, 1 << 22),
)
def test_raptor_parameters_are_always_valid(f: int, t: int, b: int, w: int | None) -> None:
    if _ceil(_ceil(f, t), min(b, 8192)) > 0xFFFF:
        with pytest.raises(BadOti, match="16-bit SBN"):
            raptor_parameters(f, t, max_source_block_length=b, sub_block_size=w)
        return
    oti = raptor_parameters(f, t, max_source_block_length=b, sub_block_size=w)
    SCHEME.validate(oti)
    raptor = RaptorOti.from_oti(oti)
    part = RaptorPartition.compute(raptor)
    assert raptor.symbol_length <= t and raptor.symbol_length % raptor.alignment == 0
    assert part.small_length >= 4 or part.small_blocks == 0
    assert part.large_length <= min(b, 8192)
    assert part.source_symbols >= 4


def test_raptor_parameters_small_and_empty_objects() -> None:
    oti = raptor_parameters(77, 1428)  # T shrinks to keep K >= 4
    raptor = RaptorOti.from_oti(oti)
    assert (raptor.symbol_length, raptor.alignment) == (24, 4)
    assert RaptorPartition.compute(raptor).source_symbols == 4
    tiny = RaptorOti.from_oti(raptor_parameters(5, 1428))
    assert (tiny.symbol_length, tiny.alignment) == (1, 1)
    empty = raptor_parameters(0, 1428)
    assert RaptorPartition.compute(RaptorOti.from_oti(empty)).blocks == 0
    assert list(encode_object(empty, b"")) == [EncodingSymbol(0, 0, b"")]
    for f in (1, 2, 3):
        with pytest.raises(BadOti, match="Compact No-Code"):
            raptor_parameters(f, 1428)
    assert RaptorOti.from_oti(raptor_parameters(10_000, 1430)).alignment == 1  # 1430 % 4 != 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"transfer_length": 1 << 45, "symbol_length": 100}, "Transfer Length"),
        ({"transfer_length": -1, "symbol_length": 100}, "Transfer Length"),
        ({"transfer_length": 1000, "symbol_length": 0}, "Encoding Symbol Length"),
        ({"transfer_length": 1000, "symbol_length": 0x10000}, "Encoding Symbol Length"),
        ({"transfer_length": 1000, "symbol_length": 4, "alignment": 0}, "Al"),
        ({"transfer_length": 1000, "symbol_length": 4, "max_source_block_length": 3}, None),
        ({"transfer_length": 1000, "symbol_length": 4, "sub_block_size": 0}, "W"),
        ({"transfer_length": 10**12, "symbol_length": 1}, "Transfer Length"),
    ],
)
def test_raptor_parameters_refuse_bad_input(kwargs: dict[str, int], field: str | None) -> None:
    with pytest.raises(BadOti) as err:
        raptor_parameters(**kwargs)
    if field is not None:
        assert err.value.field == field


@pytest.mark.parametrize(
    ("f", "t", "z", "n", "al", "field"),
    [
        (1000, 100, 1, 1, 0, "Al"),
        (1000, 102, 1, 1, 4, "Encoding Symbol Length"),
        (1000, 100, 0, 1, 4, "Z"),
        (1000, 100, 1, 0, 4, "N"),
        (1000, 100, 1, 26, 4, "N"),  # N > T/Al
        (10 * 8193, 10, 1, 1, 2, "Z"),  # KL = 8193 > Kmax
        (30, 10, 1, 1, 2, "Z"),  # K = 3 < 4
        (1000, 100, 3, 1, 4, "Z"),  # blocks of 4 and 3 symbols
        (1 << 45, 100, 1, 1, 4, "Transfer Length"),
        (1000, 100, 1 << 16, 1, 4, "Z"),
        (1000, 100, 1, 256, 4, "N"),
        (1000, 100, 1, 1, 256, "Al"),
    ],
)
def test_invalid_oti_fields_raise_bad_oti(
    f: int, t: int, z: int, n: int, al: int, field: str
) -> None:
    with pytest.raises(BadOti) as err:
        RaptorPartition.compute(RaptorOti(f, t, z, n, al))
    assert err.value.field == field


def test_validate_checks_the_generic_oti() -> None:
    oti = raptor_parameters(50_000, 1000)
    SCHEME.validate(oti)
    with pytest.raises(BadOti, match="partition gives"):
        SCHEME.validate(replace(oti, max_source_block_length=oti.max_source_block_length + 1))
    with pytest.raises(BadOti, match="not a Raptor"):
        SCHEME.validate(replace(oti, fec_encoding_id=0))
    with pytest.raises(BadOti):
        SCHEME.validate(replace(oti, fec_instance_id=3))
    with pytest.raises(BadOti, match="4 bytes"):
        SCHEME.validate(replace(oti, scheme_specific=b""))
    with pytest.raises(ObjectTooLarge):
        SCHEME.validate(oti, max_object_size=49_999)
    with pytest.raises(BadOti):
        SCHEME.encode_oti(replace(oti, encoding_symbol_length=999))


# --- sub-blocks and padding -------------------------------------------------------------------
def _python_block_to_symbols(part: RaptorPartition, k: int, block: bytes) -> bytes:
    """§5.3.1.2 literally: symbol m = sub-symbol m of sub-block 0, 1, ..., N-1."""
    subs = [part.large_sub_symbol] * part.large_sub_blocks
    subs += [part.small_sub_symbol] * part.small_sub_blocks
    starts = [sum(k * s for s in subs[:n]) for n in range(len(subs))]
    return b"".join(
        block[starts[n] + m * subs[n] : starts[n] + (m + 1) * subs[n]]
        for m in range(k)
        for n in range(len(subs))
    )


@pytest.mark.parametrize(("t", "n", "al"), [(100, 7, 4), (36, 9, 4), (12, 1, 4), (255, 255, 1)])
def test_sub_block_permutation(t: int, n: int, al: int) -> None:
    k = 9
    part = RaptorPartition.compute(RaptorOti(k * t, t, 1, n, al))
    block = random.Random(t).randbytes(k * t)
    symbols = bytearray(k * t)
    args = (
        part.large_sub_symbol,
        part.large_sub_blocks,
        part.small_sub_symbol,
        part.small_sub_blocks,
    )
    native.block_to_symbols(block, symbols, k, t, *args)
    assert bytes(symbols) == _python_block_to_symbols(part, k, block)
    back = bytearray(k * t)
    native.symbols_to_block(symbols, back, k, t, *args)
    assert back == block
    with pytest.raises(ValueError):
        native.block_to_symbols(block, bytearray(k * t - 1), k, t, *args)
    with pytest.raises(ValueError, match="add up"):
        native.block_to_symbols(block, symbols, k, t, args[0] + 1, args[1], args[2] + 1, args[3])


@pytest.mark.parametrize(
    ("f", "t", "z", "n", "al"),
    [(1001, 100, 1, 1, 4), (1001, 100, 1, 7, 4), (161, 40, 1, 10, 4), (4001, 100, 3, 4, 4)],
)
def test_padding_is_the_zero_tail_of_the_last_symbols(
    f: int, t: int, z: int, n: int, al: int
) -> None:
    """Per symbol, symbol_padding trailing bytes are padding and the byte before is data."""
    oti = _oti(f, t, z, n, al)
    part = RaptorPartition.compute(RaptorOti.from_oti(oti))
    data = b"\x01" * f
    encoder = RaptorObjectEncoder(oti, data)
    total = 0
    for sbn in range(part.blocks):
        block = encoder.block(sbn)
        for esi in range(block.k):
            symbol = block.symbol(esi)
            pad = part.symbol_padding(sbn, esi)
            total += pad
            assert symbol[t - pad :] == bytes(pad)
            assert symbol[: t - pad] == b"\x01" * (t - pad)
    assert total == part.source_symbols * t - f


# --- object encoder and decoder -------------------------------------------------------------------
def _roundtrip(oti: Oti, data: bytes, overhead: float, loss: float, seed: int) -> bytes:
    rnd = random.Random(seed)
    symbols = [s for s in encode_object(oti, data, overhead) if rnd.random() >= loss]
    rnd.shuffle(symbols)
    decoder = SCHEME.decoder(oti)
    for s in symbols:
        decoder.add(s.sbn, s.esi, s.data)
    assert decoder.is_complete
    return decoder.decode()


@pytest.mark.parametrize(
    ("f", "t", "z", "n", "al"),
    [(5000, 64, 1, 1, 4), (12345, 64, 3, 4, 4), (40_001, 100, 2, 25, 4), (161, 40, 1, 10, 4)],
)
def test_object_round_trip_with_losses(f: int, t: int, z: int, n: int, al: int) -> None:
    data = random.Random(f).randbytes(f)
    oti = _oti(f, t, z, n, al)
    assert _roundtrip(oti, data, 0.0, 0.0, 1) == data  # source symbols only
    assert _roundtrip(oti, data, 1.0, 0.3, 2) == data  # repair covers 30 % loss


def test_source_symbols_carry_the_object_and_repair_continues_the_esis() -> None:
    data = random.Random(2).randbytes(1001)
    oti = _oti(1001, 100, 1, 1, 4)
    symbols = list(encode_object(oti, data, 0.5))
    assert [s.esi for s in symbols] == list(range(11 + 6))
    assert b"".join(s.data for s in symbols[:11]) == data  # systematic, padding left out
    assert len(symbols[10].data) == 1 and all(len(s.data) == 100 for s in symbols[11:])
    encoder = RaptorObjectEncoder(oti, data)
    rotated = list(encoder.repair_symbols(0, 3, first_esi=40))
    assert [s.esi for s in rotated] == [40, 41, 42]
    assert rotated[0].data == encoder.block(0).symbols([40])
    with pytest.raises(BadSymbol):
        list(encoder.repair_symbols(0, 3, first_esi=5))  # ESI < K is not repair
    with pytest.raises(BadSymbol):
        list(encoder.repair_symbols(0, 3, first_esi=0xFFFE))
    assert repair_count(1000, 0.2) == 200
    assert repair_count(60_000, 0.5, first_esi=60_000) == 5536
    for bad in (-0.1, float("nan"), float("inf")):
        with pytest.raises(BadOti):
            encode_object(oti, data, bad)
    with pytest.raises(BadOti, match="bytes"):
        encode_object(oti, data[:-1])


def test_decoder_takes_several_symbols_per_packet_and_restores_padding() -> None:
    data = random.Random(4).randbytes(1001)
    oti = _oti(1001, 100, 1, 1, 4)
    encoder = RaptorObjectEncoder(oti, data)
    block = encoder.block(0)
    decoder = SCHEME.decoder(oti)
    assert decoder.add(0, 0, block.symbols(range(5)))  # G = 5 symbols in one packet
    assert decoder.add(0, 5, block.symbols(range(5, 10)) + block.symbol(10)[:1])  # trimmed pad
    assert decoder.is_complete and decoder.decode() == data
    assert decoder.buffered_bytes == 11 * 100


def test_decoder_rejects_malformed_symbols_without_changing_state() -> None:
    data = random.Random(5).randbytes(1001)
    oti = _oti(1001, 100, 1, 1, 4)
    block = RaptorObjectEncoder(oti, data).block(0)
    decoder = SCHEME.decoder(oti)
    with pytest.raises(BadSymbol, match="SBN"):
        decoder.add(1, 0, block.symbol(0))
    with pytest.raises(BadSymbol, match="empty"):
        decoder.add(0, 0, b"")
    with pytest.raises(BadSymbol, match="padding"):
        decoder.add(0, 3, block.symbol(3)[:99])  # only padding may be left out
    with pytest.raises(BadSymbol, match="padding"):
        decoder.add(0, 12, block.symbols([12])[:50])  # repair symbols are whole
    with pytest.raises(BadSymbol, match="16 bits"):
        decoder.add(0, 0xFFFF, block.symbols([0xFFFF]) + block.symbols([1]))
    assert decoder.buffered_bytes == 0 and decoder.growth(0) > 0 and decoder.growth(1) == 0
    assert decoder.add(0, 12, block.symbols([12]))
    held = decoder.buffered_bytes
    with pytest.raises(ConflictingSymbol):
        decoder.add(0, 11, block.symbols([11]) + bytes(100))  # ESI 12 differs: nothing stored
    assert decoder.buffered_bytes == held
    assert not decoder.add(0, 12, block.symbols([12]))
    with pytest.raises(BadSymbol, match="not complete"):
        decoder.decode()


def test_empty_object_decoder() -> None:
    oti = raptor_parameters(0, 100)
    decoder = SCHEME.decoder(oti)
    assert decoder.is_complete and decoder.decode() == b""
    assert not decoder.add(0, 0, b"")
    with pytest.raises(BadSymbol):
        decoder.add(0, 0, b"x")


def test_scheme_encode_uses_its_repair_overhead() -> None:
    data = bytes(range(256)) * 40
    oti = SCHEME.make_oti(len(data), 256, 64)
    assert RaptorOti.from_oti(oti).source_blocks == 1
    assert len(list(SCHEME.encode(oti, data))) == 40 + 8
    assert len(list(RaptorScheme(repair_overhead=0.0).encode(oti, data))) == 40
    with pytest.raises(BadOti):
        RaptorScheme(repair_overhead=-1.0)
    with pytest.raises(BadOti):
        SCHEME.make_oti(2, 256, 64)


def test_carousel_passes_send_fresh_repair_symbols() -> None:
    data = random.Random(8).randbytes(2000)
    oti = _oti(2000, 100, 1, 1, 4)  # K = 20, R = 4 repair symbols per pass
    passes = [
        [s.esi for s in encode_object(oti, data, 0.2, pass_index=i)] for i in (0, 1, 2, 16379)
    ]
    assert [p[:20] for p in passes] == [list(range(20))] * 4  # source symbols every pass
    assert [p[20:] for p in passes] == [
        [20, 21, 22, 23],
        [24, 25, 26, 27],
        [28, 29, 30, 31],
        [20 + 16379 * 4 % 65513 + j for j in range(4)],
    ]
    assert all(max(p) <= 0xFFFF for p in passes)
    with pytest.raises(BadSymbol):
        encode_object(oti, data, 0.2, pass_index=-1)
    # symbols of different passes decode together
    decoder = SCHEME.decoder(oti)
    for i in (0, 1, 2, 3, 4):
        for s in encode_object(oti, data, 0.2, pass_index=i):
            if s.esi >= 5:  # the first five source symbols are never received
                decoder.add(s.sbn, s.esi, s.data)
    assert decoder.is_complete and decoder.decode() == data


def test_block_by_block_encoding_equals_whole_object_encoding() -> None:
    """A carousel holding one block at a time produces the same symbols."""
    data = random.Random(9).randbytes(30_001)
    oti = raptor_parameters(len(data), 256, max_source_block_length=40, sub_block_size=2048)
    whole = list(encode_object(oti, data, 0.25, pass_index=3))
    pieces: list[EncodingSymbol] = []
    blocks = RaptorOti.from_oti(oti).source_blocks
    assert blocks == 3
    for sbn in range(blocks):
        offset, length = block_byte_range(oti, sbn)
        encoder = RaptorObjectEncoder.for_block(oti, sbn, data[offset : offset + length])
        pieces += encoder.block_symbols(sbn, 0.25, pass_index=3)
        with pytest.raises(BadSymbol, match="only"):
            encoder.block((sbn + 1) % blocks)
    assert pieces == whole
    with pytest.raises(BadOti, match="expected"):
        RaptorObjectEncoder.for_block(oti, 0, data[:10])
    with pytest.raises(BadSymbol, match="SBN"):
        RaptorObjectEncoder.for_block(oti, 99, b"")
