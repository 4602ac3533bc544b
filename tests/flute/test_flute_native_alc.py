"""The native ALC batch builder and the block-wise packetizer give the bytes of the whole-object
encoder (the FEC scheme's symbols, each behind the LCT header and its FEC Payload ID)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broadcast._native import alc_batch
from broadcast.proto.flute import blocks
from broadcast.proto.flute.alc import object_headers
from broadcast.proto.flute.blocks import BlockPacketizer, python_block_packets
from broadcast.proto.flute.fec import Oti, get_scheme
from broadcast.proto.flute.lct import FluteVersion


def _whole_object(header: bytes, closing: bytes, oti: Oti, data: bytes) -> list[bytes]:
    """Reference: every symbol of the whole-object encoder, the closing header on the last."""
    scheme = get_scheme(oti.fec_encoding_id)
    ids = [scheme.encode_payload_id(s.sbn, s.esi) + s.data for s in scheme.encode(oti, data)]
    return [header + p for p in ids[:-1]] + [closing + ids[-1]]


def _blockwise(packetizer: BlockPacketizer, data: bytes) -> list[bytes]:
    out: list[bytes] = []
    for step in range(packetizer.steps):
        offset, size = packetizer.byte_range(step)
        out += packetizer.packets(step, data[offset : offset + size])
    return out


@settings(max_examples=60, deadline=None)
@given(
    data=st.binary(max_size=6000),
    symbol_length=st.integers(1, 1500),
    max_block=st.integers(1, 70),
    toi=st.integers(0, (1 << 40)),
    tsi=st.integers(0, 0xFFFF_FFFF),
    close=st.booleans(),
    v2=st.booleans(),
)
def test_native_object_matches_python(
    data: bytes, symbol_length: int, max_block: int, toi: int, tsi: int, close: bool, v2: bool
) -> None:
    oti = get_scheme(0).make_oti(len(data), symbol_length, max_block)
    if -(-len(data) // symbol_length) > 65536 * max_block:
        return
    version = FluteVersion.V2 if v2 else FluteVersion.V1
    fdt = {"fdt_instance_id": 7} if toi == 0 else {}
    header, closing = object_headers(
        toi, tsi=tsi, oti=oti, version=version, close_object=close, **fdt
    )
    expected = _whole_object(header, closing, oti, data)
    packetizer = BlockPacketizer.for_object(
        toi, tsi=tsi, oti=oti, version=version, close_object=close, **fdt
    )
    assert _blockwise(packetizer, data) == expected
    assert list(packetizer.pass_packets(data)) == expected
    if data:
        offset, size = packetizer.byte_range(0)
        assert (
            python_block_packets(
                header,
                closing,
                0,
                data[offset : offset + size],
                symbol_length=symbol_length,
                last_block=packetizer.steps == 1,
            )
            == expected[: len(packetizer.packets(0, data[offset : offset + size]))]
        )


def test_native_module_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """Compact No-Code blocks come from the native builder (the Python one is the oracle only)."""
    calls: list[int] = []

    class Recorder:
        def build_block(self, *args: Any) -> list[bytes]:
            calls.append(args[2])  # the SBN
            return alc_batch.build_block(*args)

    monkeypatch.setattr(blocks, "_native", Recorder())
    oti = get_scheme(0).make_oti(9, 4, 2)
    packetizer = BlockPacketizer.for_object(3, tsi=1, oti=oti)
    data = bytes(range(9))
    header, closing = object_headers(3, tsi=1, oti=oti)
    assert _blockwise(packetizer, data) == _whole_object(header, closing, oti, data)
    assert calls == [0, 1]


def test_native_rejects_bad_arguments() -> None:
    oti = get_scheme(0).make_oti(10, 4, 2)
    header, closing = object_headers(1, tsi=1, oti=oti)
    with pytest.raises(ValueError, match="differ in length"):
        alc_batch.build_block(header, closing + b"\0", 0, b"abc", 4)
    with pytest.raises(ValueError, match="symbol length"):
        alc_batch.build_block(header, closing, 0, b"abc", 0)
    with pytest.raises(ValueError, match="empty block"):
        alc_batch.build_block(header, closing, 0, b"", 4)
    with pytest.raises(ValueError, match="SBN"):
        alc_batch.build_block(header, closing, 0x10000, b"abc", 4)
    with pytest.raises(ValueError, match="ESI"):
        alc_batch.build_block(header, closing, 0, b"ab", 1, first_esi=0xFFFF)
    with pytest.raises(TypeError):
        alc_batch.build_block(None, closing, 0, b"abc", 4)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least 4"):
        alc_batch.build_block(b"", b"", 0, b"abc", 4)


def test_block_marks_only_the_object_last_packet_closing() -> None:
    oti = get_scheme(0).make_oti(9, 4, 2)
    packetizer = BlockPacketizer.for_object(3, tsi=1, oti=oti, close_object=True)
    assert packetizer.steps == 2
    first = packetizer.packets(0, bytes(8))
    last = packetizer.packets(1, bytes(1))
    assert [p[1] & 1 for p in first] == [0, 0]
    assert [p[1] & 1 for p in last] == [1]
