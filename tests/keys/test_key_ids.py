"""Identifiers and key material (profile.md "Identifiers"; material.py redaction)."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from broadcast import profile
from broadcast.proto.keys import (
    InvalidIdentifier,
    InvalidKeyMaterial,
    KeyDomainId,
    Msk,
    MskId,
    Mtk,
    MtkId,
    Muk,
    MukId,
    SrtpSalt,
    parse_srtp_mki,
    srtp_mki,
)

digits = st.text(alphabet="0123456789", min_size=1, max_size=1)
mccs = st.text(alphabet="0123456789", min_size=3, max_size=3)
mncs = st.text(alphabet="0123456789", min_size=2, max_size=3)
u16 = st.integers(0, 0xFFFF)
mtk_values = st.integers(profile.MTK_ID_MIN, profile.MTK_ID_MAX)
keys16 = st.binary(min_size=16, max_size=16)


# --- Key Domain ID ---------------------------------------------------------------------------
def test_key_domain_from_plmn_two_digit_mnc() -> None:
    assert KeyDomainId.from_plmn("001", "01").value == bytes.fromhex("00F110")


def test_key_domain_from_plmn_three_digit_mnc() -> None:
    # MCC 310, MNC 410: octets 13 00 14 (MNC3 = 0 in the high nibble of octet 2).
    kd = KeyDomainId.from_plmn("310", "410")
    assert kd.value == bytes.fromhex("130014")
    assert (kd.mcc, kd.mnc) == ("310", "410")


def test_key_domain_str_and_hex() -> None:
    kd = KeyDomainId.from_plmn("001", "01")
    assert str(kd) == "00F110"
    assert bytes(kd) == b"\x00\xf1\x10"
    assert KeyDomainId.from_hex("00f110") == kd


@given(mccs, mncs)
def test_key_domain_plmn_round_trip(mcc: str, mnc: str) -> None:
    kd = KeyDomainId.from_plmn(mcc, mnc)
    assert len(kd.value) == profile.KEY_DOMAIN_ID_LEN
    assert (kd.mcc, kd.mnc) == (mcc, mnc)
    assert KeyDomainId(bytes(kd)) == kd


@pytest.mark.parametrize(
    ("mcc", "mnc"), [("01", "01"), ("0011", "01"), ("001", "1"), ("001", "0001"), ("0a1", "01")]
)
def test_key_domain_bad_plmn_refused(mcc: str, mnc: str) -> None:
    with pytest.raises(InvalidIdentifier):
        KeyDomainId.from_plmn(mcc, mnc)


@pytest.mark.parametrize("raw", [b"", b"\x00\xf1", b"\x00\xf1\x10\x00"])
def test_key_domain_wrong_length_refused(raw: bytes) -> None:
    with pytest.raises(InvalidIdentifier):
        KeyDomainId(raw)


def test_key_domain_bad_hex_refused() -> None:
    with pytest.raises(InvalidIdentifier):
        KeyDomainId.from_hex("zz")


# --- MSK ID --------------------------------------------------------------------------------------
@given(u16, u16)
def test_msk_id_round_trips(group: int, number: int) -> None:
    msk_id = MskId(group, number)
    raw = bytes(msk_id)
    assert len(raw) == profile.MSK_ID_LEN
    assert raw == group.to_bytes(2, "big") + number.to_bytes(2, "big")
    assert MskId.from_bytes(raw) == msk_id
    assert MskId.from_int(int(msk_id)) == msk_id
    assert MskId.from_hex(str(msk_id)) == msk_id


@pytest.mark.parametrize(("group", "number"), [(-1, 0), (0x10000, 0), (0, -1), (0, 0x10000)])
def test_msk_id_out_of_range_refused(group: int, number: int) -> None:
    with pytest.raises(InvalidIdentifier):
        MskId(group, number)


@pytest.mark.parametrize("raw", [b"", b"\x00\x01\x00", b"\x00\x01\x00\x01\x00"])
def test_msk_id_wrong_length_refused(raw: bytes) -> None:
    with pytest.raises(InvalidIdentifier):
        MskId.from_bytes(raw)


def test_msk_id_current_alias() -> None:
    alias = MskId.current(7)
    assert alias == MskId(7, 0)
    assert alias.is_current_alias
    assert not MskId(7, 1).is_current_alias
    with pytest.raises(InvalidIdentifier):
        MskId.from_int(1 << 32)


# --- MTK ID --------------------------------------------------------------------------------------
@given(mtk_values)
def test_mtk_id_round_trips(value: int) -> None:
    mtk_id = MtkId(value)
    assert len(bytes(mtk_id)) == profile.MTK_ID_LEN
    assert MtkId.from_bytes(bytes(mtk_id)) == mtk_id
    assert int(mtk_id) == value


@pytest.mark.parametrize("value", [0, -1, 0x10000])
def test_mtk_id_out_of_range_refused(value: int) -> None:
    with pytest.raises(InvalidIdentifier):
        MtkId(value)


def test_mtk_id_zero_bytes_refused() -> None:
    with pytest.raises(InvalidIdentifier):
        MtkId.from_bytes(b"\x00\x00")
    with pytest.raises(InvalidIdentifier):
        MtkId.from_bytes(b"\x01")


# --- SRTP MKI -----------------------------------------------------------------------------------
@given(u16, u16, mtk_values)
def test_srtp_mki_round_trip(group: int, number: int, mtk: int) -> None:
    msk_id, mtk_id = MskId(group, number), MtkId(mtk)
    mki = srtp_mki(msk_id, mtk_id)
    assert len(mki) == profile.SRTP_MKI_LEN
    assert mki == bytes(msk_id) + bytes(mtk_id)
    assert parse_srtp_mki(mki) == (msk_id, mtk_id)


def test_srtp_mki_known_value() -> None:
    assert srtp_mki(MskId(1, 2), MtkId(3)) == bytes.fromhex("000100020003")


@pytest.mark.parametrize("mki", [b"", b"\x00" * 5, b"\x00" * 7, bytes.fromhex("000100020000")])
def test_parse_srtp_mki_refuses_bad_input(mki: bytes) -> None:
    with pytest.raises(InvalidIdentifier):
        parse_srtp_mki(mki)


# --- MUK ID ---------------------------------------------------------------------------------------
def test_muk_id_is_idi_then_idr() -> None:
    muk_id = MukId.of("bmsc.example.org", "tid@bsf.example.org")
    assert bytes(muk_id) == b"bmsc.example.orgtid@bsf.example.org"
    with pytest.raises(InvalidIdentifier):
        MukId(b"", b"x")


# --- Key material ------------------------------------------------------------------------------
@given(keys16)
def test_key_repr_never_shows_key_bytes(raw: bytes) -> None:
    for key in (Msk(raw), Mtk(raw), Muk(raw)):
        for text in (repr(key), str(key), f"{key}", f"{key!r}", repr([key])):
            assert raw.hex() not in text.lower()
            assert raw.hex().upper() not in text
        assert key.secret == raw
        assert bytes(key) == raw


def test_key_equality_and_pickling() -> None:
    assert Msk(b"\x01" * 16) == Msk(b"\x01" * 16)
    assert Msk(b"\x01" * 16) != Msk(b"\x02" * 16)
    assert Msk(b"\x01" * 16) != Mtk(b"\x01" * 16)
    with pytest.raises(TypeError):
        pickle.dumps(Msk(b"\x01" * 16))


@pytest.mark.parametrize("cls", [Msk, Mtk, Muk])
@pytest.mark.parametrize("length", [0, 15, 17, 32])
def test_key_wrong_length_refused(cls: type[Msk], length: int) -> None:
    with pytest.raises(InvalidKeyMaterial):
        cls(b"\x00" * length)


def test_salt_length() -> None:
    assert len(SrtpSalt(b"\x00" * 14)) == 14
    with pytest.raises(InvalidKeyMaterial):
        SrtpSalt(b"\x00" * 16)
