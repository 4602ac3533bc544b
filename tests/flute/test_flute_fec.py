"""FEC layer: RFC 5052 §9.1 block partitioning, Compact No-Code (RFC 5445) OTI and symbols."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from fractions import Fraction
from typing import ClassVar

import pytest
from flute_support import packetize
from hypothesis import given, settings
from hypothesis import strategies as st

from broadcast.proto.flute.alc import parse_packet
from broadcast.proto.flute.errors import (
    BadOti,
    BadSymbol,
    ConflictingSymbol,
    ObjectTooLarge,
    UnsupportedCodepoint,
)
from broadcast.proto.flute.fec import (
    BlockPartition,
    CompactNoCode,
    FdtFecAttributes,
    Oti,
    get_scheme,
    registered_encoding_ids,
)
from broadcast.proto.flute.fec import base as fec_base
from broadcast.proto.flute.lct import ExtFti, LctHeader, encode_header

NOCODE = CompactNoCode()


# --- RFC 5052 §9.1 block partitioning ------------------------------------------------------------
@pytest.mark.parametrize(
    ("L", "E", "B", "T", "N", "I", "a_large", "a_small", "sizes", "last_symbol"),
    [
        # spec-digest §5.3 worked FDT: one short symbol in one block.
        (1234, 1428, 64, 1, 1, 0, 1, 1, [1], 1234),
        # RFC 5445 §3.4.1 example: X = 20,400 bytes, L = 1,000 → ESI 20 holds 400 bytes.
        (20400, 1000, 64, 21, 1, 0, 21, 21, [21], 400),
        (10000, 100, 30, 100, 4, 0, 25, 25, [25, 25, 25, 25], 100),
        (10001, 100, 30, 101, 4, 1, 26, 25, [26, 25, 25, 25], 1),
        (5 * 1024, 1024, 2, 5, 3, 2, 2, 1, [2, 2, 1], 1024),
        (7, 2, 2, 4, 2, 0, 2, 2, [2, 2], 1),
        (1, 1428, 1, 1, 1, 0, 1, 1, [1], 1),
        (0, 1428, 64, 0, 0, 0, 0, 0, [], None),
    ],
)
def test_block_partition_examples(
    L: int,
    E: int,
    B: int,
    T: int,
    N: int,
    I: int,  # noqa: E741 (RFC 5052 notation)
    a_large: int,
    a_small: int,
    sizes: list[int],
    last_symbol: int | None,
) -> None:
    part = BlockPartition.compute(L, E, B)
    assert (part.source_symbols, part.blocks, part.large_blocks) == (T, N, I)
    assert (part.large_length, part.small_length) == (a_large, a_small)
    assert [part.block_symbols(sbn) for sbn in range(N)] == sizes
    if last_symbol is not None:
        assert part.symbol_size(N - 1, sizes[-1] - 1) == last_symbol


def test_rfc5445_example_symbol_offsets() -> None:
    part = BlockPartition.compute(20400, 1000, 64)
    assert part.block_offset(0) == 0
    assert part.symbol_size(0, 10) == 1000  # bytes 10,000 .. 10,999
    with pytest.raises(BadSymbol):
        part.symbol_size(0, 21)
    with pytest.raises(BadSymbol):
        part.block_symbols(1)


def _rfc3926_partition(L: int, E: int, B: int) -> tuple[int, int, int, int]:
    """RFC 3926 §5.1.2.3 wording (A = T/N with its fractional part), independently."""
    T = math.ceil(Fraction(L, E))
    N = math.ceil(Fraction(T, B))
    A = Fraction(T, N)
    a_small = math.floor(A)
    return N, math.ceil(A), a_small, int((A - a_small) * N)


@settings(max_examples=400, deadline=None)
@given(st.integers(1, 10**9), st.integers(1, 5000), st.integers(1, 5000))
def test_partition_matches_rfc3926_and_covers_the_object(L: int, E: int, B: int) -> None:
    part = BlockPartition.compute(L, E, B)
    assert (part.blocks, part.large_length, part.small_length, part.large_blocks) == (
        _rfc3926_partition(L, E, B)
    )
    assert part.large_length <= B
    assert (
        part.large_blocks * part.large_length
        + (part.blocks - part.large_blocks) * part.small_length
        == part.source_symbols
    )
    last = part.blocks - 1
    assert part.block_offset(last) + part.block_bytes(last) == L
    assert part.symbol_size(last, part.block_symbols(last) - 1) == L - ((L - 1) // E) * E


def test_partition_rejects_zero_parameters() -> None:
    with pytest.raises(BadOti):
        BlockPartition.compute(10, 0, 4)
    with pytest.raises(BadOti):
        BlockPartition.compute(10, 4, 0)
    with pytest.raises(BadOti):
        BlockPartition.compute(-1, 4, 4)


# --- Compact No-Code OTI -------------------------------------------------------------------------
def test_compact_no_code_ext_fti_bytes() -> None:
    oti = NOCODE.make_oti(1234, 1428, 64)
    content = NOCODE.encode_oti(oti)
    assert content == bytes.fromhex("0000000004d2 0000 0594 00000040")
    header = encode_header(LctHeader(tsi=1, toi=1, extensions=(ExtFti(content),)))
    assert header[12:] == bytes.fromhex("4004 0000000004d2 0000 0594 00000040")
    assert NOCODE.decode_oti(content, 0) == oti


def test_compact_no_code_oti_reserved_field_is_ignored() -> None:
    content = bytes.fromhex("0000000004d2 ffff 0594 00000040")
    assert NOCODE.decode_oti(content, 0) == NOCODE.make_oti(1234, 1428, 64)


def test_compact_no_code_oti_extremes() -> None:
    oti = NOCODE.make_oti(1 << 40, 0xFFFF, 1 << 16)
    assert NOCODE.decode_oti(NOCODE.encode_oti(oti), 0) == oti
    with pytest.raises(BadOti):
        NOCODE.decode_oti(bytes(13), 40)
    with pytest.raises(BadOti, match="SBN"):
        NOCODE.make_oti(1 << 40, 1, 1)  # 2^40 one-symbol blocks: more than 2^16 SBNs
    with pytest.raises(BadOti, match="ESI"):
        NOCODE.make_oti(1 << 20, 1, 1 << 20)  # one block of 2^20 symbols: ESI is 16 bits
    with pytest.raises(BadOti):
        NOCODE.make_oti(1 << 48, 1, 1)
    with pytest.raises(BadOti):
        NOCODE.make_oti(10, 1 << 16, 1)


def test_object_size_limit_is_checked_before_anything_is_allocated() -> None:
    oti = Oti(0, (1 << 48) - 1, 0xFFFF, 0xFFFF_FFFF)
    with pytest.raises(ObjectTooLarge) as info:
        NOCODE.validate(oti, max_object_size=1 << 20)
    assert info.value.field == "Transfer Length"


def test_fdt_attribute_mapping() -> None:
    oti = NOCODE.make_oti(5000, 1000, 3)
    attrs = NOCODE.oti_to_fdt(oti)
    assert attrs == FdtFecAttributes(
        encoding_id=0, max_source_block_length=3, encoding_symbol_length=1000
    )
    assert NOCODE.oti_from_fdt(attrs, 5000) == oti
    assert NOCODE.oti_from_fdt(FdtFecAttributes(None, None, 3, 1000), 5000) == oti
    with pytest.raises(BadOti, match="FEC-OTI-Encoding-Symbol-Length"):
        NOCODE.oti_from_fdt(FdtFecAttributes(0, None, 3, None), 5000)
    with pytest.raises(BadOti):
        NOCODE.oti_from_fdt(FdtFecAttributes(1, None, 3, 1000), 5000)


def test_file_attributes_override_instance_ones() -> None:
    instance = FdtFecAttributes(0, None, 64, 1428, None, b"\x01")
    entry = FdtFecAttributes(None, None, 8, None)
    assert entry.over(instance) == FdtFecAttributes(0, None, 8, 1428, None, b"\x01")


# --- Compact No-Code symbols ---------------------------------------------------------------------
def test_decoder_in_any_order_with_duplicates() -> None:
    data = random.Random(1).randbytes(10001)
    oti = NOCODE.make_oti(len(data), 100, 30)
    symbols = list(NOCODE.encode(oti, data))
    assert len(symbols) == 101
    assert [s.sbn for s in symbols].count(0) == 26
    decoder = NOCODE.decoder(oti)
    shuffled = symbols + symbols[:40]
    random.Random(2).shuffle(shuffled)
    fresh = [decoder.add(s.sbn, s.esi, s.data) for s in shuffled]
    assert fresh.count(True) == 101
    assert decoder.is_complete
    assert decoder.buffered_bytes == len(data) + 101  # the blocks plus a flag per symbol
    assert decoder.decode() == data


def test_decoder_rejects_bad_symbols_without_changing_state() -> None:
    oti = NOCODE.make_oti(250, 100, 2)  # blocks [2, 1]: 100, 100 | 50
    decoder = NOCODE.decoder(oti)
    with pytest.raises(BadSymbol, match="SBN"):
        decoder.add(2, 0, bytes(100))
    with pytest.raises(BadSymbol, match="ESI"):
        decoder.add(1, 1, bytes(50))
    with pytest.raises(BadSymbol):
        decoder.add(0, 0, bytes(99))  # short symbol that is not the last one
    with pytest.raises(BadSymbol):
        decoder.add(0, 1, bytes(150))  # runs past the block
    with pytest.raises(BadSymbol):
        decoder.add(0, 0, b"")
    assert decoder.buffered_bytes == 0
    assert decoder.add(0, 0, b"A" * 100)
    with pytest.raises(ConflictingSymbol):
        decoder.add(0, 0, b"B" * 100)
    assert not decoder.add(0, 0, b"A" * 100)
    with pytest.raises(BadSymbol):
        decoder.decode()


def test_decoder_accepts_a_padded_last_symbol_and_multi_symbol_payloads() -> None:
    oti = NOCODE.make_oti(250, 100, 4)  # one block of 3 symbols: 100, 100, 50
    decoder = NOCODE.decoder(oti)
    assert decoder.add(0, 2, b"c" * 50 + bytes(50))  # zero padding dropped (RFC 5445 §3.4.1)
    assert decoder.add(0, 0, b"a" * 100 + b"b" * 100)  # two consecutive symbols in one packet
    assert decoder.is_complete
    assert decoder.decode() == b"a" * 100 + b"b" * 100 + b"c" * 50


def test_empty_object() -> None:
    oti = NOCODE.make_oti(0, 1428, 64)
    assert [(s.sbn, s.esi, s.data) for s in NOCODE.encode(oti, b"")] == [(0, 0, b"")]
    decoder = NOCODE.decoder(oti)
    assert decoder.is_complete and not decoder.add(0, 0, b"")
    assert decoder.decode() == b""
    with pytest.raises(BadSymbol):
        decoder.add(0, 0, b"x")


def test_encode_requires_the_announced_length() -> None:
    with pytest.raises(BadOti):
        list(NOCODE.encode(NOCODE.make_oti(10, 4, 4), bytes(9)))


@settings(max_examples=150, deadline=None)
@given(
    st.binary(min_size=0, max_size=3000),
    st.integers(1, 300),
    st.integers(1, 12),
    st.randoms(use_true_random=False),
)
def test_symbol_round_trip(data: bytes, e: int, b: int, rnd: random.Random) -> None:
    oti = NOCODE.make_oti(len(data), e, b)
    symbols = list(NOCODE.encode(oti, data))
    rnd.shuffle(symbols)
    decoder = NOCODE.decoder(oti)
    for symbol in symbols:
        assert NOCODE.decode_payload_id(NOCODE.encode_payload_id(symbol.sbn, symbol.esi), 0) == (
            symbol.sbn,
            symbol.esi,
        )
        decoder.add(symbol.sbn, symbol.esi, symbol.data)
    assert decoder.is_complete
    assert decoder.decode() == data


# --- registry: schemes plug in by FEC Encoding ID ------------------------------------------------
class _PrivateNoCode(CompactNoCode):
    """Compact No-Code under a private under-specified ID, to exercise the plug-in path."""

    encoding_id: ClassVar[int] = 200
    name: ClassVar[str] = "private"

    def validate(self, oti: Oti, max_object_size: int | None = None) -> None:
        super().validate(replace(oti, fec_encoding_id=0), max_object_size)


def test_unknown_scheme_and_plugging_one_in(monkeypatch: pytest.MonkeyPatch) -> None:
    assert 0 in registered_encoding_ids() and 200 not in registered_encoding_ids()
    with pytest.raises(UnsupportedCodepoint):
        get_scheme(200)
    monkeypatch.setitem(fec_base._SCHEMES, 200, _PrivateNoCode())
    assert get_scheme(200).name == "private"
    oti = Oti(200, 5, 2, 8)
    packets = list(packetize(3, b"hello", tsi=1, oti=oti))
    parsed = [parse_packet(p) for p in packets]
    assert {p.header.codepoint for p in parsed} == {200}
    assert b"".join(p.payload for p in parsed) == b"hello"
