"""LCT header codec: the spec-digest §5.3 worked bytes, round trips, v1/v2 layouts, bad headers."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broadcast.proto.flute.errors import (
    BadExtension,
    BadHeaderLength,
    BadVersion,
    FluteEncodeError,
    FluteError,
    TruncatedPacket,
)
from broadcast.proto.flute.fec import CompactNoCode
from broadcast.proto.flute.lct import (
    FDT_INSTANCE_ID_MOD,
    ExtCenc,
    ExtFdt,
    ExtFti,
    ExtNop,
    ExtTime,
    FluteVersion,
    LctHeader,
    UnknownExtension,
    decode_header,
    encode_header,
    extension_offsets,
    fdt_instance_id_newer,
    next_fdt_instance_id,
)

# spec-digest §5.3: FLUTE v1, TSI 16 bits = 1, TOI 16 bits = 0, CCI 32 bits = 0, FDT Instance ID 5,
# Compact No-Code, transfer length 1234, symbol length 1428, MSBL 64.
WORKED_HEADER = bytes.fromhex(
    "10 10 08 00 | 00 00 00 00 | 00 01 00 00 | c0 10 00 05 |"
    " 40 04 00 00 00 00 04 d2 00 00 05 94 00 00 00 40".replace("|", "")
)


def worked_header() -> LctHeader:
    oti = CompactNoCode().make_oti(1234, 1428, 64)
    return LctHeader(
        tsi=1,
        toi=0,
        codepoint=0,
        extensions=(ExtFdt(version=1, instance_id=5), ExtFti(CompactNoCode().encode_oti(oti))),
    )


def test_worked_fdt_packet_header_byte_for_byte() -> None:
    assert len(WORKED_HEADER) == 32
    assert encode_header(worked_header()) == WORKED_HEADER


def test_worked_fdt_packet_header_decodes() -> None:
    header, length = decode_header(WORKED_HEADER + bytes(4) + b"payload")
    assert length == 32
    assert (header.tsi, header.toi, header.codepoint) == (1, 0, 0)
    assert (header.tsi_bits, header.toi_bits, header.cci_bits) == (16, 16, 32)
    assert header.find(ExtFdt) == ExtFdt(version=1, instance_id=5)
    fti = header.find(ExtFti)
    assert fti is not None
    oti = CompactNoCode().decode_oti(fti.oti, 18)
    assert (oti.transfer_length, oti.encoding_symbol_length, oti.max_source_block_length) == (
        1234,
        1428,
        64,
    )
    assert extension_offsets(header) == (12, 16)
    assert encode_header(header) == WORKED_HEADER


def test_v1_and_v2_flag_bits() -> None:
    v1 = encode_header(LctHeader(tsi=1, toi=2, sct=0x01020304, ert=5), FluteVersion.V1)
    # T (bit 12) and R (bit 13) set, SCT and ERT follow the TOI; HDR_LEN counts them.
    assert v1[:4] == bytes.fromhex("101c0500")
    assert v1[12:] == bytes.fromhex("01020304 00000005")
    v2 = encode_header(LctHeader(tsi=1, toi=2, psi=0b10), FluteVersion.V2)
    assert v2[:4] == bytes.fromhex("12100300")
    # A v2 reader ignores the T/R bits (reserved there) and a v1 reader the PSI bits.
    header, _ = decode_header(v2, FluteVersion.V1)
    assert header.psi == 0
    header, _ = decode_header(bytes.fromhex("10180300") + bytes(8), FluteVersion.V2)
    assert header.sct is None and header.ert is None


def test_close_flags_and_wide_fields() -> None:
    header = LctHeader(
        tsi=0xABCDEF012345,
        toi=(1 << 112) - 1,
        codepoint=1,
        cci=(1 << 128) - 1,
        cci_bits=128,
        close_session=True,
        close_object=True,
    )
    raw = encode_header(header)
    word = int.from_bytes(raw[:4], "big")
    assert word >> 28 == 1 and (word >> 26) & 3 == 3  # V = 1, C = 3
    assert (word >> 23) & 1 == 1 and (word >> 21) & 3 == 3 and (word >> 20) & 1 == 1  # S O H
    assert (word >> 16) & 3 == 3  # A B
    decoded, length = decode_header(raw)
    assert length == len(raw) == 4 + 16 + 6 + 14
    assert decoded == replace(header, tsi_bits=48, toi_bits=112)


def test_auto_widths_pick_the_shortest_layout() -> None:
    assert encode_header(LctHeader(tsi=1, toi=1))[:4] == bytes.fromhex("10100300")
    raw = encode_header(LctHeader(tsi=0x10000, toi=1))  # TSI > 16 bits: 48 + 16 (H = 1)
    header, _ = decode_header(raw)
    assert (header.tsi_bits, header.toi_bits) == (48, 16)
    header, _ = decode_header(encode_header(LctHeader(tsi=0x10000, toi=0x10000)))
    assert (header.tsi_bits, header.toi_bits) == (32, 32)  # H = 0
    with pytest.raises(FluteEncodeError):
        encode_header(LctHeader(tsi=1 << 48, toi=0))
    with pytest.raises(FluteEncodeError):
        encode_header(LctHeader(tsi=1, toi=0, tsi_bits=16, toi_bits=32))  # H must be shared


def test_extension_encodings() -> None:
    assert encode_header(LctHeader(tsi=1, toi=1, extensions=(ExtCenc(3),)))[-4:] == bytes.fromhex(
        "c1030000"
    )
    time = ExtTime(sct_high=0xE0000000, sct_low=1, slc=7)
    raw = encode_header(LctHeader(tsi=1, toi=1, extensions=(time,)))
    assert raw[12:] == bytes.fromhex("0204d000 e0000000 00000001 00000007")
    assert decode_header(raw)[0].extensions == (time,)
    nop = encode_header(LctHeader(tsi=1, toi=1, extensions=(ExtNop(),)))
    assert nop[12:] == bytes.fromhex("00010000")
    # EXT_FTI content is padded to a 32-bit boundary.
    fti = encode_header(LctHeader(tsi=1, toi=1, extensions=(ExtFti(b"\x01\x02\x03"),)))
    assert fti[12:] == bytes.fromhex("40020102 03000000")


@pytest.mark.parametrize(
    "ext",
    [
        ExtFdt(version=16, instance_id=0),
        ExtFdt(version=1, instance_id=FDT_INSTANCE_ID_MOD),
        ExtCenc(256),
        ExtTime(sct_low=1),
        ExtNop(b"\x00"),
        UnknownExtension(200, b"\x00"),
        UnknownExtension(64, b"\x00\x00"),
    ],
)
def test_unencodable_extensions(
    ext: ExtFdt | ExtCenc | ExtTime | ExtNop | UnknownExtension,
) -> None:
    with pytest.raises(FluteEncodeError):
        encode_header(LctHeader(tsi=1, toi=1, extensions=(ext,)))


def test_header_longer_than_255_words_is_refused() -> None:
    with pytest.raises(FluteEncodeError, match="255"):
        encode_header(LctHeader(tsi=1, toi=1, extensions=(ExtNop(bytes(1018)),)))


def test_psi_and_sct_respect_the_profile() -> None:
    with pytest.raises(FluteEncodeError):
        encode_header(LctHeader(tsi=1, toi=1, psi=1), FluteVersion.V1)
    with pytest.raises(FluteEncodeError):
        encode_header(LctHeader(tsi=1, toi=1, sct=1), FluteVersion.V2)


# --- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "error", "field", "offset"),
    [
        (b"\x10\x10", TruncatedPacket, "LCT header", 0),
        (bytes.fromhex("20100300") + bytes(8), BadVersion, "V", 0),
        # HDR_LEN 2 words is shorter than the 3-word fixed header.
        (bytes.fromhex("10100200") + bytes(8), BadHeaderLength, "HDR_LEN", 2),
        # HDR_LEN 8 words but only 12 bytes in the packet.
        (bytes.fromhex("10100800") + bytes(8), BadHeaderLength, "HDR_LEN", 2),
        # Variable-length extension with HEL 0.
        (bytes.fromhex("10100400") + bytes(8) + bytes.fromhex("05000000"), BadExtension, "HEL", 13),
        # EXT_FTI claiming 4 words inside a 1-word extension area.
        (bytes.fromhex("10100400") + bytes(8) + bytes.fromhex("40040000"), BadExtension, "HEL", 13),
        # EXT_TIME announcing SCT-High without room for it.
        (bytes.fromhex("10100400") + bytes(8) + bytes.fromhex("02018000"), BadExtension, "HEL", 13),
    ],
)
def test_malformed_headers(raw: bytes, error: type[FluteError], field: str, offset: int) -> None:
    with pytest.raises(error) as info:
        decode_header(raw)
    assert info.value.field == field
    assert info.value.offset == offset


def test_unknown_extensions_are_kept_opaque() -> None:
    raw = bytes.fromhex("10100600") + bytes(8) + bytes.fromhex("0502aabb ccddeeff f1010203")
    header, _ = decode_header(raw)
    assert header.extensions == (
        UnknownExtension(5, bytes.fromhex("aabbccddeeff")),
        UnknownExtension(0xF1, bytes.fromhex("010203")),
    )
    assert encode_header(header) == raw


# --- FDT Instance ID wraparound (RFC 3926 §3.4.1) ------------------------------------------------
def test_fdt_instance_id_wraps_and_compares() -> None:
    top = FDT_INSTANCE_ID_MOD - 1
    assert next_fdt_instance_id(top) == 0
    assert next_fdt_instance_id(41) == 42
    assert fdt_instance_id_newer(0, top)  # 0 is higher than 2^20-1 after the wrap
    assert not fdt_instance_id_newer(top, 0)
    assert fdt_instance_id_newer(6, 5) and not fdt_instance_id_newer(5, 6)
    assert not fdt_instance_id_newer(5, 5)
    with pytest.raises(FluteEncodeError):
        next_fdt_instance_id(FDT_INSTANCE_ID_MOD)


# --- round trips ---------------------------------------------------------------------------------
def _het(ext: object) -> int:
    if isinstance(ext, UnknownExtension):
        return ext.het
    return {ExtNop: 0, ExtTime: 2, ExtFti: 64, ExtFdt: 192, ExtCenc: 193}[type(ext)]


def _fits(bits: int) -> st.SearchStrategy[int]:
    return st.integers(0, (1 << bits) - 1)


def _words(min_words: int = 0, max_words: int = 4) -> st.SearchStrategy[bytes]:
    return st.integers(min_words, max_words).flatmap(
        lambda n: st.binary(min_size=4 * n, max_size=4 * n)
    )


_extensions = st.one_of(
    st.builds(ExtFdt, version=_fits(4), instance_id=_fits(20)),
    st.builds(ExtCenc, cenc=_fits(8), reserved=_fits(16)),
    _words(0, 3).map(lambda b: ExtNop(b"\x00\x00" + b)),
    _words(0, 4).map(lambda b: ExtFti(b"\x01\x02" + b)),
    st.builds(
        lambda hi, lo, ert, slc, res, pi, extra: ExtTime(
            sct_high=hi,
            sct_low=lo if hi is not None else None,
            ert=ert,
            slc=slc,
            reserved=res,
            pi_specific=pi,
            extra=extra,
        ),
        st.none() | _fits(32),
        st.none() | _fits(32),
        st.none() | _fits(32),
        st.none() | _fits(32),
        _fits(4),
        _fits(8),
        _words(0, 2),
    ),
    st.builds(
        UnknownExtension,
        het=st.integers(3, 127).filter(lambda h: h != 64),
        content=_words(0, 3).map(lambda b: b"\xaa\xbb" + b),
    ),
    st.builds(
        UnknownExtension,
        het=st.integers(128, 255).filter(lambda h: h not in (192, 193)),
        content=st.binary(min_size=3, max_size=3),
    ),
)


@st.composite
def headers(draw: st.DrawFn, version: FluteVersion) -> LctHeader:
    h = draw(st.integers(0, 1))
    tsi_bits = 32 * draw(st.integers(0, 1)) + 16 * h
    toi_bits = 32 * draw(st.integers(0, 3)) + 16 * h
    cci_bits = draw(st.sampled_from((32, 64, 96, 128)))
    v1 = version is FluteVersion.V1
    return LctHeader(
        tsi=draw(_fits(tsi_bits)),
        toi=draw(_fits(toi_bits)),
        codepoint=draw(_fits(8)),
        cci=draw(_fits(cci_bits)),
        cci_bits=cci_bits,
        tsi_bits=tsi_bits,
        toi_bits=toi_bits,
        close_session=draw(st.booleans()),
        close_object=draw(st.booleans()),
        psi=0 if v1 else draw(_fits(2)),
        sct=draw(st.none() | _fits(32)) if v1 else None,
        ert=draw(st.none() | _fits(32)) if v1 else None,
        extensions=tuple(draw(st.lists(_extensions, max_size=6))),
    )


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(FluteVersion).flatmap(lambda v: st.tuples(st.just(v), headers(v))),
    st.binary(max_size=16),
)
def test_header_round_trip(case: tuple[FluteVersion, LctHeader], tail: bytes) -> None:
    version, header = case
    raw = encode_header(header, version)
    assert len(raw) % 4 == 0 and raw[2] * 4 == len(raw)
    decoded, length = decode_header(raw + tail, version)
    assert length == len(raw)
    assert decoded == header
    assert encode_header(decoded, version) == raw
    for offset, ext in zip(extension_offsets(decoded), decoded.extensions, strict=True):
        assert raw[offset] == _het(ext)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=96), st.sampled_from(FluteVersion))
def test_random_bytes_only_raise_flute_errors(raw: bytes, version: FluteVersion) -> None:
    try:
        header, length = decode_header(raw, version)
    except FluteError:
        return
    assert 4 <= length <= len(raw) and length % 4 == 0
    assert header.tsi_bits is not None
