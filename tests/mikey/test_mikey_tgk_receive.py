"""MTK messages that carry a TGK instead of the TEK: the receiver derives the TEK and salt
(RFC 3830 §4.1.3; profile.md "A receiver that gets type TGK/TGK+SALT derives the TEK")."""

from __future__ import annotations

from broadcast import profile
from broadcast.proto.keys import KeyDomainId, Msk, MskId, MtkId
from broadcast.proto.mikey import envelope, open_mtk_message
from broadcast.proto.mikey.constants import DataType, KeyDataType
from broadcast.proto.mikey.mbms import _key_id_ext, _protect
from broadcast.proto.mikey.payloads import (
    EmptyMap,
    Header,
    KeyData,
    Rand,
    SrtpCs,
    SrtpIdMap,
    Timestamp,
    encode_key_data,
)
from broadcast.proto.mikey.prf import derive_salt, derive_tek, message_keys

MSK = Msk(bytes(range(16)))
TGK = bytes(range(0x40, 0x50))
RAND = bytes(range(0xA0, 0xB0))
KDID = KeyDomainId.from_plmn("001", "01")
MSK_ID = MskId(1, 2)


def _mtk_message_with(key_data: KeyData, streaming: bool) -> bytes:
    csb_id = int(MSK_ID)
    cs_map = SrtpIdMap((SrtpCs(0, 0x1234, 0),)) if streaming else EmptyMap()
    header = Header(DataType.PSK_INIT, csb_id, cs_map)
    payloads = [_key_id_ext(KDID, MSK_ID, MtkId(7)), Timestamp.counter(9), Rand(RAND)]
    keys = message_keys(MSK.secret, csb_id, RAND)
    return _protect(header, list(payloads), keys, encode_key_data([key_data]), 9)


def test_tgk_streaming_derives_tek_and_salt() -> None:
    data = _mtk_message_with(KeyData(KeyDataType.TGK, TGK), streaming=True)
    got = open_mtk_message(envelope(data), MSK)
    cs = profile.TGK_CS_ID_STREAMING
    assert got.mtk.secret == derive_tek(TGK, cs, int(MSK_ID), RAND, 16)
    assert got.salt is not None
    assert got.salt.secret == derive_salt(TGK, cs, int(MSK_ID), RAND, 14)
    assert got.mtk.secret != TGK


def test_tgk_salt_keeps_the_carried_salt() -> None:
    salt = bytes(range(0x60, 0x6E))
    data = _mtk_message_with(KeyData(KeyDataType.TGK_SALT, TGK, salt), streaming=True)
    got = open_mtk_message(envelope(data), MSK)
    assert got.salt is not None and got.salt.secret == salt


def test_tgk_download_derives_tek_without_salt() -> None:
    data = _mtk_message_with(KeyData(KeyDataType.TGK, TGK), streaming=False)
    got = open_mtk_message(envelope(data), MSK)
    assert got.mtk.secret == derive_tek(TGK, profile.TGK_CS_ID_DOWNLOAD, int(MSK_ID), RAND, 16)
    assert got.salt is None
