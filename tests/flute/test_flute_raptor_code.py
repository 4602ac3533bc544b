"""Raptor (RFC 5053) code: tables, generators, systematic encoder and decoder of one block.

Known answers come from the shared Raptor reference (``shared/reference/raptor``): the values of
its vectors.md (computed independently) as literals here, and ``params.py``, a slow pure-Python
model used as an oracle, with ``rfc5053-tables.json``, both vendored in ``tests/data/raptor``.
"""

from __future__ import annotations

import json
import random
from array import array
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from testkit import data_file, load_module

from broadcast._native import raptor as native
from broadcast.proto.flute.errors import BadOti, BadSymbol, ConflictingSymbol, FecError
from broadcast.proto.flute.fec import raptor_params as rp
from broadcast.proto.flute.fec import raptor_tables as tables
from broadcast.proto.flute.fec.raptor_codec import (
    MAX_EXTRA_SYMBOLS,
    BlockDecoder,
    BlockEncoder,
    RaptorDecodeFailure,
    decode_block,
)


@pytest.fixture(scope="module")
def oracle() -> ModuleType:
    """``params.py`` loaded with its tables."""
    module = load_module(data_file("raptor", "params.py"), "raptor_reference_params")
    module.load_tables()
    return module


@pytest.fixture(scope="module")
def reference_tables() -> dict[str, object]:
    loaded: dict[str, object] = json.loads(
        data_file("raptor", "rfc5053-tables.json").read_text(encoding="utf-8")
    )
    return loaded


def _source(k: int, t: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(k * t)


# --- tables ----------------------------------------------------------------------------------
def test_shipped_tables_equal_the_rfc_extraction(reference_tables: dict[str, object]) -> None:
    assert list(tables.V0) == reference_tables["V0"]
    assert list(tables.V1) == reference_tables["V1"]
    si = reference_tables["systematic_index"]
    assert isinstance(si, dict)
    assert list(tables.SYSTEMATIC_INDEX) == si["values"]
    deg = reference_tables["degree_table"]
    assert isinstance(deg, dict)
    assert list(tables.DEGREE_F) == deg["f"]
    assert list(tables.DEGREE_D) == deg["d"][1:]


def test_native_tables_equal_python_tables() -> None:
    """The C header and the Python module come from one generator: spot checks plus all J(K)."""
    assert (tables.V0[0], tables.V0[255], tables.V1[0], tables.V1[255]) == (
        251291136,
        1358307511,
        807385413,
        4135048896,
    )
    for k in range(tables.K_MIN, tables.K_MAX + 1):
        assert native.systematic_index(k) == tables.SYSTEMATIC_INDEX[k - tables.K_MIN]
    assert (rp.systematic_index(4), rp.systematic_index(10), rp.systematic_index(8192)) == (
        18,
        20,
        2665,
    )


# --- parameters and generators ----------------------------------------------------------------
# (K, J, X, S, H, H', L, L') from the digest's worked table (params.py)
PARAMETERS = [
    (4, 18, 4, 5, 5, 3, 14, 17),
    (5, 14, 4, 5, 5, 3, 15, 17),
    (10, 20, 5, 7, 6, 3, 23, 23),
    (13, 1, 6, 7, 6, 3, 26, 29),
    (14, 29, 6, 7, 7, 4, 28, 29),
    (100, 21, 15, 17, 9, 5, 126, 127),
    (500, 101, 33, 41, 12, 6, 553, 557),
    (1024, 213, 46, 59, 13, 7, 1096, 1097),
    (4096, 415, 92, 137, 15, 8, 4248, 4253),
    (5000, 189, 101, 151, 15, 8, 5166, 5167),
    (8192, 2665, 129, 211, 16, 8, 8419, 8419),
]


@pytest.mark.parametrize(("k", "j", "x", "s", "h", "hp", "l", "lp"), PARAMETERS)
def test_code_parameters(k: int, j: int, x: int, s: int, h: int, hp: int, l: int, lp: int) -> None:  # noqa: E741
    p = rp.code_parameters(k)
    assert (p.J, p.X, p.S, p.H, p.H_prime, p.L, p.L_prime) == (j, x, s, h, hp, l, lp)
    assert native.parameters(k) == (s, h, hp, l, lp, j)


def test_parameters_match_the_oracle_for_every_k(oracle: ModuleType) -> None:
    for k in [*range(4, 300), *range(300, 8193, 97), 8191, 8192]:
        want = oracle.params(k)
        assert native.parameters(k) == (
            want["S"],
            want["H"],
            want["Hp"],
            want["L"],
            want["Lp"],
            oracle.J(k),
        )


# vectors.md, K = 10: ESI -> (d, a, b, LTEnc indices)
VECTOR_TRIPLES_K10 = {
    0: (2, 2, 15, [15, 17]),
    1: (2, 20, 18, [18, 15]),
    2: (2, 5, 6, [6, 11]),
    3: (4, 3, 14, [14, 17, 20, 0]),
    4: (2, 8, 20, [20, 5]),
    5: (2, 13, 21, [21, 11]),
    6: (2, 12, 11, [11, 0]),
    7: (2, 4, 19, [19, 0]),
    8: (3, 12, 12, [12, 1, 13]),
    9: (2, 4, 7, [7, 11]),
    10: (2, 18, 20, [20, 15]),
    11: (10, 11, 13, [13, 1, 12, 0, 11, 22, 10, 21, 9, 20]),
    12: (10, 14, 0, [0, 14, 5, 19, 10, 1, 15, 6, 20, 11]),
    13: (2, 10, 22, [22, 9]),
    14: (2, 15, 7, [7, 22]),
    15: (4, 3, 4, [4, 7, 10, 13]),
}
VECTOR_TRIPLES_K4 = {
    0: (10, 13, 1, [1, 10, 6, 2, 11, 7, 3, 12, 8, 4]),
    1: (2, 4, 3, [3, 7]),
    2: (2, 12, 7, [7, 2]),
    3: (4, 16, 3, [3, 2, 1, 0]),
    4: (4, 6, 2, [2, 8, 3, 9]),
    5: (2, 6, 13, [13, 2]),
}


@pytest.mark.parametrize(("k", "vectors"), [(10, VECTOR_TRIPLES_K10), (4, VECTOR_TRIPLES_K4)])
def test_triples_and_lt_indices_match_the_vectors(
    k: int, vectors: dict[int, tuple[int, int, int, list[int]]]
) -> None:
    for esi, (d, a, b, indices) in vectors.items():
        assert rp.triple(k, esi) == rp.Triple(d, a, b)
        assert native.triple(k, esi) == (d, a, b)
        assert rp.lt_indices(k, esi) == indices
        assert native.lt_indices(k, esi) == indices


def test_rand_and_deg_known_values() -> None:
    # vectors.md: ESI 0 of K = 10 has Y = 19044, Rand[Y, 0, 2^20] = 101162, Rand[Y, 1, 22] = 1
    assert rp.rand(19044, 0, 1 << 20) == 101162
    assert rp.rand(19044, 1, 22) == 1
    assert rp.rand(19044, 2, 23) == 15
    assert [rp.deg(v) for v in (0, 10240, 10241, 491581, 491582, 1032188, 1032189, 1048575)] == [
        1,
        1,
        2,
        2,
        3,
        11,
        40,
        40,
    ]
    with pytest.raises(ValueError, match="2\\^20"):
        rp.deg(1 << 20)


def test_triples_match_the_oracle_at_large_esi(oracle: ModuleType) -> None:
    """X·A exceeds 2^31 for large ESIs: the native generator must not overflow."""
    rnd = random.Random(7)
    for _ in range(300):
        k = rnd.randint(4, 8192)
        esi = rnd.choice([rnd.randint(0, 0xFFFF), 0xFFFF, 65000 + rnd.randint(0, 535)])
        want = oracle.Trip(k, esi)
        assert native.triple(k, esi) == want
        t = rp.triple(k, esi)
        assert (t.d, t.a, t.b) == want
        assert native.lt_indices(k, esi) == oracle.lt_indices(oracle.params(k), *want)
    # gofountain unit-test cases quoted in the digest
    assert native.triple(500, 514) == oracle.Trip(500, 514)
    assert native.triple(1000, 52918) == oracle.Trip(1000, 52918)


def test_lt_indices_are_distinct() -> None:
    for k in (4, 10, 37, 1024):
        p = rp.code_parameters(k)
        for esi in range(0, 65536, 331):
            got = native.lt_indices(k, esi)
            assert len(set(got)) == len(got) == min(rp.triple(k, esi).d, p.L)
            assert all(0 <= i < p.L for i in got)


# --- systematic encoder -------------------------------------------------------------------------
# vectors.md: K = 10, T = 4, source symbol i = bytes 4i..4i+3
VECTOR_C = (
    "20202020 20202020 0c0d0e0f 10111213 18181818 2c2c2c2c 30303030 1c1c1c1c 08090a0b 24252627 "
    "20202020 38393a3b 34343434 34353637 3c3d3e3f 2c2c2c2c 20212223 2c2d2e2f 28292a2b 3c3d3e3f "
    "3c3d3e3f 2c2c2c2c 28282828"
)
VECTOR_REPAIR = "10111213 04040404 14141414 0c0d0e0f 34343434 10111213"
VECTOR_SOURCE = bytes(range(40))


def test_intermediate_and_repair_symbols_match_the_vectors() -> None:
    encoder = BlockEncoder(10, 4, VECTOR_SOURCE)
    assert encoder.intermediate == bytes.fromhex(VECTOR_C.replace(" ", ""))
    assert encoder.symbols(range(10, 16)) == bytes.fromhex(VECTOR_REPAIR.replace(" ", ""))
    assert encoder.symbols(range(10)) == VECTOR_SOURCE  # systematic: LTEnc gives the source back
    assert encoder.symbol(3) == bytes(range(12, 16))


@pytest.mark.parametrize(("k", "t"), [(4, 1), (5, 3), (13, 8), (101, 4), (300, 16), (523, 5)])
def test_encoder_equals_the_oracle(oracle: ModuleType, k: int, t: int) -> None:
    source = _source(k, t, k)
    encoder = BlockEncoder(k, t, source)
    symbols = [source[i * t : (i + 1) * t] for i in range(k)]
    c = oracle.intermediate_symbols(k, symbols, t)
    assert encoder.intermediate == b"".join(c)
    esis = [k, k + 1, k + 7, 1000, 40000, 65535]
    assert encoder.symbols(esis) == b"".join(oracle.encode_symbol(k, c, x) for x in esis)
    assert encoder.symbols(range(k)) == source


def test_systematic_for_large_k() -> None:
    for k in (1024, 4097, 8192):
        source = _source(k, 8, k)
        assert BlockEncoder(k, 8, source).symbols(range(k)) == source


# --- decoder ------------------------------------------------------------------------------------
def _encoded(k: int, t: int, seed: int, esis: list[int]) -> tuple[bytes, dict[int, bytes]]:
    source = _source(k, t, seed)
    encoder = BlockEncoder(k, t, source)
    data = encoder.symbols(esis)
    return source, {esi: data[j * t : (j + 1) * t] for j, esi in enumerate(esis)}


def _decode(k: int, t: int, got: dict[int, bytes], esis: list[int]) -> bytes:
    return bytes(decode_block(k, t, esis, b"".join(got[e] for e in esis)))


@pytest.mark.parametrize(
    ("esis", "ok"),
    [
        ([1, 2, 4, 5, 6, 8, 9, *range(10, 16)], True),
        ([1, 2, 4, 5, 6, 8, 9, 10, 11, 12], False),
        (list(range(10, 20)), False),
        (list(range(10, 22)), True),
        (list(range(16, 30)), True),
    ],
)
def test_decoder_trials_of_the_vectors(esis: list[int], ok: bool) -> None:
    encoder = BlockEncoder(10, 4, VECTOR_SOURCE)
    data = encoder.symbols(esis)
    if ok:
        assert decode_block(10, 4, esis, data) == VECTOR_SOURCE
    else:
        with pytest.raises(RaptorDecodeFailure, match="rank"):
            decode_block(10, 4, esis, data)


def test_decode_from_source_symbols_only() -> None:
    k, t = 200, 12
    esis = list(range(k))
    random.Random(1).shuffle(esis)
    source, got = _encoded(k, t, 3, esis)
    assert _decode(k, t, got, esis) == source


@pytest.mark.parametrize("k", [4, 10, 97, 500, 1024])
def test_decode_from_repair_symbols_only(k: int) -> None:
    t = 8
    esis = list(range(k + 3, 2 * k + 3 + 20))  # K + 20 repair symbols, no source symbol
    source, got = _encoded(k, t, k, esis)
    assert _decode(k, t, got, esis) == source


def test_decode_with_high_esis() -> None:
    k, t = 300, 4
    esis = list(range(0xFFFF - k - 30, 0x10000))
    source, got = _encoded(k, t, 9, esis)
    assert _decode(k, t, got, esis) == source


def test_decode_equals_the_oracle_on_losses(oracle: ModuleType) -> None:
    k, t = 120, 6
    rnd = random.Random(11)
    esis = sorted(rnd.sample(range(2 * k), k + 8))
    source, got = _encoded(k, t, 5, esis)
    want = oracle.decode(k, dict(got), t)
    assert want is not None and b"".join(want) == source
    assert _decode(k, t, got, esis) == source


@settings(max_examples=40, deadline=None)
@given(
    k=st.integers(4, 160),
    t=st.integers(1, 24),
    seed=st.integers(0, 2**32 - 1),
    extra=st.integers(0, 12),
    loss=st.floats(0.0, 0.6),
)
def test_decode_random_subsets(k: int, t: int, seed: int, extra: int, loss: float) -> None:
    """Any received set either decodes to the source or fails cleanly — never garbage."""
    rnd = random.Random(seed)
    sent = list(range(int(k * (1 + loss)) + extra + 1))
    esis = [e for e in sent if rnd.random() >= loss]
    rnd.shuffle(esis)
    source, got = _encoded(k, t, seed, esis)
    try:
        out = _decode(k, t, got, esis)
    except RaptorDecodeFailure:
        assert len(esis) < k + 30  # failure with many more than K symbols would be a bug
        return
    assert out == source


@pytest.mark.parametrize("k", [4, 10, 100, 1000])
def test_k_minus_one_symbols_fail_cleanly(k: int) -> None:
    esis = list(range(1, k))  # K - 1 symbols
    _, got = _encoded(k, 4, 1, esis)
    with pytest.raises(RaptorDecodeFailure, match="at least K"):
        _decode(k, 4, got, esis)
    # native: fewer than K rows is a singular system, not an error
    assert native.build_schedule(k, array("I", esis)) is None


def test_failure_is_a_flute_error() -> None:
    assert issubclass(RaptorDecodeFailure, FecError)
    assert RaptorDecodeFailure.reason == "raptor_need_more_symbols"


# --- block decoder (receive-side accumulation) -------------------------------------------------
def test_block_decoder_decodes_once_enough_symbols_arrive() -> None:
    k, t = 50, 8
    esis = list(range(k, 3 * k))
    source, got = _encoded(k, t, 2, esis)
    decoder = BlockDecoder(k, t)
    n = 0
    for esi in esis:
        assert decoder.add(esi, got[esi])
        n += 1
        if decoder.result is not None:
            break
    assert decoder.result is not None and bytes(decoder.result) == source
    assert k <= n < k + 30
    assert decoder.held == k * t and decoder.count == 0
    assert decoder.attempts <= n - k + 1
    assert not decoder.add(esis[-1], got[esis[-1]])  # after decoding: not stored


def test_block_decoder_source_symbols_need_no_solve() -> None:
    k, t = 30, 3
    source, got = _encoded(k, t, 4, list(range(k)))
    decoder = BlockDecoder(k, t)
    for esi in reversed(range(k)):
        decoder.add(esi, got[esi])
    assert decoder.result is not None and bytes(decoder.result) == source
    assert decoder.attempts == 1


def test_block_decoder_repeats_and_conflicts() -> None:
    k, t = 10, 4
    decoder = BlockDecoder(k, t)
    assert decoder.add(12, b"abcd")
    assert not decoder.add(12, b"abcd")
    with pytest.raises(ConflictingSymbol):
        decoder.add(12, b"abce")
    with pytest.raises(BadSymbol):
        decoder.add(13, b"abc")
    with pytest.raises(BadSymbol):
        decoder.add(0x10000, b"abcd")
    assert decoder.count == 1 and decoder.held == t + 64


def test_block_decoder_is_bounded() -> None:
    """ESIs whose LT rows only touch intermediate symbols 0..4 can never determine a block of
    K = 10 (rank(A) <= S + H + 5 < L): the decoder keeps K + MAX_EXTRA_SYMBOLS of them, no more,
    and tries O(log) decodes, not one per symbol."""
    k, t = 10, 2
    hopeless = [e for e in range(0x10000) if max(native.lt_indices(k, e)) < 5]
    assert len(hopeless) > k + MAX_EXTRA_SYMBOLS + 50
    decoder = BlockDecoder(k, t)
    stored = sum(decoder.add(esi, b"\x00\x01") for esi in hopeless[: k + MAX_EXTRA_SYMBOLS + 50])
    assert decoder.result is None
    assert stored == decoder.count == k + MAX_EXTRA_SYMBOLS and decoder.full
    assert 8 <= decoder.attempts <= 20
    assert decoder.held == (k + MAX_EXTRA_SYMBOLS) * (t + 64)


# --- bad parameters ----------------------------------------------------------------------------
def test_bad_parameters_raise_typed_errors() -> None:
    for k in (0, 3, 8193, 100000):
        with pytest.raises(BadOti, match="K"):
            rp.code_parameters(k)
        with pytest.raises(BadOti):
            BlockEncoder(k, 4, bytes(4 * max(k, 0)))
        with pytest.raises(BadOti):
            decode_block(k, 4, [], b"")
        with pytest.raises(ValueError, match="K"):
            native.parameters(k)
    with pytest.raises(BadSymbol):
        BlockEncoder(10, 4, bytes(39))
    with pytest.raises(BadSymbol):
        BlockEncoder(10, 0, b"")
    with pytest.raises(BadSymbol):
        BlockEncoder(10, 0x10000, b"")
    with pytest.raises(BadSymbol, match="16-bit"):
        BlockEncoder(10, 4, VECTOR_SOURCE).symbols([0x10000])
    with pytest.raises(BadSymbol, match="distinct"):
        decode_block(10, 4, [1, 1], bytes(8))
    with pytest.raises(BadSymbol):
        decode_block(10, 4, [1, 2], bytes(7))
    with pytest.raises(ValueError, match="16 bits"):
        native.build_schedule(10, array("I", [*range(10), 0x10000]))
    with pytest.raises(ValueError, match="at most"):
        native.build_schedule(10, array("I", [0] * (native.MAX_ROWS + 1)))
    schedule = native.build_schedule(10, array("I", range(10)))
    assert schedule is not None
    with pytest.raises(ValueError, match="symbols"):
        schedule.solve(bytes(39), 4, bytearray(schedule.L * 4))
    with pytest.raises(ValueError, match="output"):
        schedule.solve(bytes(40), 4, bytearray(10))
    with pytest.raises(ValueError):
        native.lt_encode(10, bytes(10), 4, array("I", [0]), bytearray(4))
