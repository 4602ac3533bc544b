"""ALC packets: packetize (the carousel's BlockPacketizer) / parse round trips and hostile input
(only FluteError, field + offset)."""

from __future__ import annotations

import contextlib

import pytest
from flute_support import packetize
from hypothesis import given, settings
from hypothesis import strategies as st

from broadcast.proto.flute.alc import AlcPacket, build_packet, parse_packet
from broadcast.proto.flute.errors import (
    AlcError,
    BadHeaderLength,
    BadOti,
    FluteEncodeError,
    FluteError,
    MissingIdentifier,
    ObjectTooLarge,
    TruncatedPacket,
    UnsupportedCodepoint,
)
from broadcast.proto.flute.fec import CompactNoCode
from broadcast.proto.flute.lct import (
    ExtCenc,
    ExtFdt,
    ExtFti,
    FluteVersion,
    LctHeader,
    encode_header,
)

NOCODE = CompactNoCode()
WORKED = bytes.fromhex(
    "10100800 00000000 00010000 c0100005 40040000000004d2000005940000 0040 00000000"
)


def test_worked_fdt_packet_parses() -> None:
    packet = parse_packet(WORKED + b"<FDT-Instance/>")
    assert (packet.tsi, packet.toi, packet.sbn, packet.esi) == (1, 0, 0, 0)
    assert packet.fdt == ExtFdt(1, 5)
    assert packet.oti == NOCODE.make_oti(1234, 1428, 64)
    assert packet.payload == b"<FDT-Instance/>"
    assert "FDT-Instance" not in repr(packet)  # payloads stay out of reprs


def test_packetize_reproduces_the_worked_header() -> None:
    oti = NOCODE.make_oti(1234, 1428, 64)
    (packet,) = packetize(0, bytes(1234), tsi=1, oti=oti, fdt_instance_id=5)
    assert packet[:36] == WORKED
    assert len(packet) == 36 + 1234


def test_flute_v2_fdt_packets_carry_ext_fdt_version_2() -> None:
    oti = NOCODE.make_oti(3, 1428, 64)
    (raw,) = packetize(0, b"abc", tsi=1, oti=oti, fdt_instance_id=5, version=FluteVersion.V2)
    assert raw[12:16] == bytes.fromhex("c0200005")
    assert parse_packet(raw, version=FluteVersion.V2).fdt == ExtFdt(2, 5)


def test_data_less_packet() -> None:
    raw = encode_header(LctHeader(tsi=1, toi=1, close_session=True))
    packet = parse_packet(raw)
    assert packet.sbn is None and packet.esi is None and packet.payload == b""
    assert packet.header.close_session


def test_build_packet_and_cenc() -> None:
    header = LctHeader(tsi=9, toi=0, extensions=(ExtFdt(1, 7), ExtCenc(2)))
    packet = parse_packet(build_packet(header, 3, 4, b"xyz"))
    assert (packet.sbn, packet.esi, packet.payload) == (3, 4, b"xyz")
    assert packet.cenc == ExtCenc(2)


# --- bad input: typed errors with field and offset ----------------------------------------------
def _with_tl(transfer_length: int) -> bytes:
    raw = bytearray(WORKED)
    raw[18:24] = transfer_length.to_bytes(6, "big")
    return bytes(raw)


@pytest.mark.parametrize(
    ("raw", "error", "field", "offset"),
    [
        (WORKED[:34], TruncatedPacket, "FEC Payload ID", 32),
        (WORKED[:31], BadHeaderLength, "HDR_LEN", 2),
        (WORKED[:3] + b"\x83" + WORKED[4:], UnsupportedCodepoint, "CP", 3),  # nothing at 131
        (_with_tl((1 << 48) - 1), ObjectTooLarge, "Transfer Length", 18),
        (_with_tl(1 << 40), ObjectTooLarge, "Transfer Length", 18),
        # No TSI (S = H = 0) — ALC requires one (RFC 5775 §4.1).
        (bytes.fromhex("10200300") + bytes(8) + bytes(4), MissingIdentifier, "S/H", 1),
        # No TOI (O = H = 0) — FLUTE carries several objects.
        (bytes.fromhex("10800300") + bytes(8) + bytes(4), MissingIdentifier, "O/H", 1),
        # EXT_FDT with FLUTE version 3.
        (WORKED[:12] + b"\xc0\x30\x00\x05" + WORKED[16:], AlcError, "EXT_FDT.V", 13),
    ],
)
def test_malformed_packets(raw: bytes, error: type[FluteError], field: str, offset: int) -> None:
    with pytest.raises(error) as info:
        parse_packet(raw)
    assert info.value.field == field
    assert info.value.offset == offset
    assert type(info.value).reason


def test_transfer_length_above_the_configured_maximum() -> None:
    with pytest.raises(ObjectTooLarge) as info:
        parse_packet(WORKED, max_object_size=1000)
    assert info.value.offset == 18
    assert parse_packet(WORKED, max_object_size=1234).oti is not None


def test_short_ext_fti_and_duplicate_ext_fti() -> None:
    short = encode_header(LctHeader(tsi=1, toi=1, extensions=(ExtFti(bytes(6)),))) + bytes(4)
    with pytest.raises(BadOti) as info:
        parse_packet(short)
    assert info.value.offset == 14
    fti = ExtFti(NOCODE.encode_oti(NOCODE.make_oti(5, 5, 1)))
    twice = encode_header(LctHeader(tsi=1, toi=1, extensions=(fti, fti))) + bytes(4)
    with pytest.raises(AlcError) as info2:
        parse_packet(twice)
    assert info2.value.offset == 28


def test_packetize_misuse_is_reported_at_call_time() -> None:
    oti = NOCODE.make_oti(3, 10, 1)
    with pytest.raises(FluteEncodeError):
        packetize(0, b"abc", tsi=1, oti=oti)  # TOI 0 needs an FDT Instance ID
    with pytest.raises(FluteEncodeError):
        packetize(1, b"abc", tsi=1, oti=oti, cenc=1)
    with pytest.raises(FluteEncodeError):
        packetize(1, b"abc", tsi=-1, oti=oti)
    with pytest.raises(FluteEncodeError):
        packetize(1, b"abcd", tsi=1, oti=oti)
    with pytest.raises(FluteEncodeError):
        packetize(1, b"abc", tsi=1 << 48, oti=oti)


# --- round trips ---------------------------------------------------------------------------------
@settings(max_examples=150, deadline=None)
@given(
    data=st.binary(max_size=2000),
    toi=st.integers(0, (1 << 64) - 1),
    tsi=st.integers(0, (1 << 48) - 1),
    e=st.integers(1, 400),
    b=st.integers(1, 50),
    version=st.sampled_from(FluteVersion),
    fdt_id=st.integers(0, (1 << 20) - 1),
    cenc=st.none() | st.integers(0, 3),
    with_fti=st.booleans(),
    close=st.booleans(),
)
def test_packetize_parse_round_trip(
    data: bytes,
    toi: int,
    tsi: int,
    e: int,
    b: int,
    version: FluteVersion,
    fdt_id: int,
    cenc: int | None,
    with_fti: bool,
    close: bool,
) -> None:
    oti = NOCODE.make_oti(len(data), e, b)
    fdt = toi == 0
    raws = list(
        packetize(
            toi,
            data,
            tsi=tsi,
            oti=oti,
            version=version,
            fdt_instance_id=fdt_id if fdt else None,
            cenc=cenc if fdt else None,
            with_fti=with_fti,
            close_object=close,
        )
    )
    packets: list[AlcPacket] = [parse_packet(raw, version=version) for raw in raws]
    assert all(p.tsi == tsi and p.toi == toi for p in packets)
    assert [(p.sbn, p.esi) for p in packets] == [(s.sbn, s.esi) for s in NOCODE.encode(oti, data)]
    assert b"".join(p.payload for p in packets) == data
    if fdt or with_fti:
        assert all(p.oti == oti for p in packets)
    else:
        assert all(p.oti is None for p in packets)
    if fdt:
        assert all(p.fdt == ExtFdt(int(version), fdt_id) for p in packets)
        assert all(p.cenc == (None if cenc is None else ExtCenc(cenc)) for p in packets)
    closing = [p.header.close_object for p in packets]
    assert closing == [False] * (len(packets) - 1) + [close]


@settings(max_examples=1500, deadline=None)
@given(st.binary(max_size=200), st.sampled_from(FluteVersion))
def test_random_bytes_only_raise_flute_errors(raw: bytes, version: FluteVersion) -> None:
    try:
        packet = parse_packet(raw, version=version, max_object_size=1 << 20)
    except FluteError as err:
        assert err.reason
        return
    assert len(packet.payload) <= len(raw)


_VALID = [
    WORKED + b"payload",
    *packetize(7, bytes(range(256)) * 3, tsi=0x1234, oti=NOCODE.make_oti(768, 100, 3)),
    encode_header(LctHeader(tsi=1, toi=1, sct=5, ert=6, extensions=(ExtCenc(1),))) + bytes(6),
]


@settings(max_examples=1500, deadline=None)
@given(
    st.sampled_from(_VALID),
    st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), max_size=6),
    st.integers(0, 500),
)
def test_mutated_packets_only_raise_flute_errors(
    raw: bytes, edits: list[tuple[int, int]], cut: int
) -> None:
    mutated = bytearray(raw)
    for pos, value in edits:
        if mutated:
            mutated[pos % len(mutated)] = value
    with contextlib.suppress(FluteError):
        parse_packet(bytes(mutated[: len(mutated) - cut % (len(mutated) + 1)]))
