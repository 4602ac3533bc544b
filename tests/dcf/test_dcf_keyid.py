"""The MBMS-Key-ID textual header: Key Domain ID ‖ MSK ID ‖ MTK ID as 18 hex digits [P]."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from broadcast.proto.dcf import MBMS_KEY_ID_HEADER, MbmsKeyId
from broadcast.proto.keys import InvalidIdentifier, KeyDomainId, MskId, MtkId


def test_header_value_layout() -> None:
    key_id = MbmsKeyId(KeyDomainId.from_plmn("001", "01"), MskId(0x0001, 0x0007), MtkId(0x0102))
    assert MBMS_KEY_ID_HEADER == "MBMS-Key-ID"
    assert key_id.header_value() == "00f110" + "00010007" + "0102"
    assert key_id.to_bytes() == bytes.fromhex("00f110000100070102")
    kd, msk, mtk = key_id  # a plain (KeyDomainId, MskId, MtkId) tuple
    assert (kd.mcc, kd.mnc, msk.key_group, msk.key_number, mtk.value) == ("001", "01", 1, 7, 258)


def test_parse() -> None:
    key_id = MbmsKeyId.parse("62f210ffff00010001")
    assert key_id.key_domain_id == KeyDomainId.from_plmn("262", "01")
    assert key_id.msk_id == MskId(0xFFFF, 0x0001)
    assert key_id.mtk_id == MtkId(1)
    assert MbmsKeyId.parse("62F210FFFF00010001") == key_id


@pytest.mark.parametrize(
    "value",
    [
        "",
        "00f11000010007010",
        "00f1100001000701020",
        "00f11000010007010g",
        "00f110 00010007010",
        "+0f110000100070102",
        "00f110000100070000",  # MTK ID 0 is reserved
        "００f110000100070102",
    ],
)
def test_parse_rejects(value: str) -> None:
    with pytest.raises(InvalidIdentifier):
        MbmsKeyId.parse(value)


def test_from_bytes_rejects_wrong_length() -> None:
    with pytest.raises(InvalidIdentifier):
        MbmsKeyId.from_bytes(bytes(8))


@given(st.binary(min_size=3, max_size=3), st.integers(0, 0xFFFF_FFFF), st.integers(1, 0xFFFF))
def test_round_trip(kd: bytes, msk: int, mtk: int) -> None:
    key_id = MbmsKeyId(KeyDomainId(kd), MskId.from_int(msk), MtkId(mtk))
    text = key_id.header_value()
    assert len(text) == 18 and text == text.lower()
    assert MbmsKeyId.parse(text) == key_id
