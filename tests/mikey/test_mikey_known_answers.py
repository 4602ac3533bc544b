"""Known answers: RFC 4567 §5.1 messages, spec-digest §6.4 PRF/KEMAC values, byte layouts."""

from __future__ import annotations

import base64

import pytest
from mikey_support import (
    CSB,
    KDID,
    MSK,
    MSK_BYTES,
    MSK_ID,
    MTK_BYTES,
    MUK,
    MUK_BYTES,
    MUK_ID,
    RAND,
    SALT_BYTES,
    SESSIONS,
    msk_message,
    mtk_message,
)

from broadcast.proto.keys import MtkId, srtp_mki
from broadcast.proto.mikey import (
    Kind,
    ProfileViolation,
    SrtpPolicy,
    envelope,
    open_msk_message,
    open_mtk_message,
)
from broadcast.proto.mikey.constants import KeyDataType
from broadcast.proto.mikey.message import Message
from broadcast.proto.mikey.payloads import (
    GeneralExtension,
    Identity,
    Kemac,
    KeyData,
    KvInterval,
    KvSpi,
    Rand,
    SecurityPolicy,
    SrtpCs,
    SrtpIdMap,
    Timestamp,
    Verification,
    decode_key_data,
    encode_key_data,
)
from broadcast.proto.mikey.prf import derive_salt, derive_tek, message_keys, prf
from broadcast.proto.mikey.transforms import aes_cm, hmac_sha1_160, kemac_iv

# --- RFC 4567 §5.1 (spec-digest §6.3) ----------------------------------------------------------

I_MESSAGE = base64.b64decode(
    "AQAFgM0XflABAAAAAAAAAAAAAAsAyONQ6gAAAAAGEEoo2pee4hp2UaDX8ZE22YwKAAAPZG9uYWxkQGR1Y2suY29tAQAA"
    "AAAAAQAk0JKpgaVkDaawi9whVBtBt0KZ14ymNuu62+Nv3ozPLygwK/GbAV9iemnGUIZ19fWQUOSrzKTAv9zV"
)
R_MESSAGE = base64.b64decode(
    "AQEFgM0XflABAAAAAAAAAAAAAAYAyONQ6gAAAAAJAAAQbWlja2V5QG1vdXNlLmNvbQABn8HdGE5BMDXFIuGEga+62AgY"
    "5cc="
)
NTP_UTC = 0xC8E350EA00000000


def test_rfc4567_i_message_decodes_to_the_listed_fields() -> None:
    assert len(I_MESSAGE) == 132
    assert I_MESSAGE[:4] == bytes.fromhex("01000580")
    msg = Message.decode(I_MESSAGE)
    h = msg.header
    assert (h.version, h.data_type, h.v, h.prf_func) == (1, 0, True, 0)
    assert h.csb_id == 0xCD177E50
    assert h.cs_map == SrtpIdMap((SrtpCs(policy_no=0, ssrc=0, roc=0),))
    assert [type(p) for p in msg.payloads] == [
        Timestamp,
        Rand,
        Identity,
        SecurityPolicy,
        Kemac,
    ]
    t, rand, idi, sp, kemac = msg.payloads
    assert t == Timestamp(0, NTP_UTC)
    assert t.value_bytes.hex() == "c8e350ea00000000"
    assert rand == Rand(bytes.fromhex("4a28da979ee21a7651a0d7f19136d98c"))
    assert idi == Identity(0, b"donald@duck.com")
    assert sp == SecurityPolicy(policy_no=0, prot_type=0, params=())
    assert isinstance(kemac, Kemac)
    assert kemac.encr_alg == 1
    assert len(kemac.encr_data) == 36
    assert kemac.encr_data.hex() == (
        "d092a981a5640da6b08bdc21541b41b74299d78ca636ebbadbe36fde8ccf2f28302bf19b"
    )
    assert kemac.mac_alg == 1
    assert kemac.mac.hex() == "5f627a69c6508675f5f59050e4abcca4c0bfdcd5"
    # The MAC covers everything but the MAC field.
    assert msg.auth_end == len(I_MESSAGE) - 20
    assert msg.authenticated_bytes() == I_MESSAGE[:-20]


def test_rfc4567_r_message_decodes_to_the_listed_fields() -> None:
    assert len(R_MESSAGE) == 71
    msg = Message.decode(R_MESSAGE)
    h = msg.header
    assert (h.version, h.data_type, h.v, h.prf_func, h.csb_id) == (1, 1, True, 0, 0xCD177E50)
    assert h.cs_map == SrtpIdMap((SrtpCs(0, 0, 0),))
    assert msg.payloads == (
        Timestamp(0, NTP_UTC),
        Identity(0, b"mickey@mouse.com"),
        Verification(1, bytes.fromhex("9fc1dd184e413035c522e18481afbad80818e5c7")),
    )
    assert msg.auth_end == len(R_MESSAGE) - 20


@pytest.mark.parametrize("raw", [I_MESSAGE, R_MESSAGE], ids=["I_MESSAGE", "R_MESSAGE"])
def test_rfc4567_messages_reencode_byte_for_byte(raw: bytes) -> None:
    msg = Message.decode(raw)
    assert msg.encode() == raw
    # A message built from the decoded values (no raw attached) encodes the same.
    assert Message(msg.header, msg.payloads).encode() == raw


@pytest.mark.parametrize("raw", [I_MESSAGE, R_MESSAGE], ids=["I_MESSAGE", "R_MESSAGE"])
def test_rfc4567_messages_are_not_mbms_messages(raw: bytes) -> None:
    # Well-formed MIKEY without the RFC 4563 Key ID extension: not one of the profile's messages.
    with pytest.raises(ProfileViolation):
        envelope(raw)


# --- spec-digest §6.4 -------------------------------------------------------------------------

PSK = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
CSB_64 = 0x11223344
RAND_64 = bytes.fromhex("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf")
ENCR_KEY = "72dfc1da3690f6ad530e3062cd3a902f"
AUTH_KEY = "34e165a1115f1eab1bf423b3c4ad13d508f8b776"
SALT_KEY = "8d7d506a4a99390d7da6288dcab0"
TGK = bytes.fromhex("404142434445464748494a4b4c4d4e4f")
TGK_SALT = bytes.fromhex("606162636465666768696a6b6c6d")
KEY_DATA = bytes.fromhex("00100010" + TGK.hex() + "000e" + TGK_SALT.hex())
ENCRYPTED = "9d3773c4753399388a0f48b618b1b0e9b6ca818cd9ad1bacdc31fd7d21e38f6b7169d87a"


def test_message_keys_known_answer() -> None:
    keys = message_keys(PSK, CSB_64, RAND_64)
    assert keys.encr_key.hex() == ENCR_KEY
    assert keys.auth_key.hex() == AUTH_KEY
    assert keys.salt_key.hex() == SALT_KEY


def test_message_keys_are_the_prf_with_the_rfc_labels() -> None:
    label = bytes.fromhex("150533e1ff11223344") + RAND_64
    assert prf(PSK, label, 16).hex() == ENCR_KEY
    label = bytes.fromhex("2d22ac75ff11223344") + RAND_64
    assert prf(PSK, label, 20).hex() == AUTH_KEY
    label = bytes.fromhex("29b88916ff11223344") + RAND_64
    assert prf(PSK, label, 14).hex() == SALT_KEY


def test_kemac_iv_known_answer_with_counter_zero_padded() -> None:
    t = Timestamp.counter(1)
    assert t.value_bytes == bytes.fromhex("00000001")
    assert t.prf_value.to_bytes(8, "big") == bytes.fromhex("0000000000000001")
    iv = kemac_iv(bytes.fromhex(SALT_KEY), CSB_64, t.prf_value)
    assert iv.hex() == "8d7d414879dd390d7da6288dcab10000"


def test_key_data_encoding_known_answer() -> None:
    kd = KeyData(KeyDataType.TGK_SALT, TGK, TGK_SALT, None)
    assert encode_key_data([kd]) == KEY_DATA
    assert decode_key_data(KEY_DATA) == (kd,)


def test_aes_cm_encryption_of_key_data_known_answer() -> None:
    keys = message_keys(PSK, CSB_64, RAND_64)
    iv = kemac_iv(keys.salt_key, CSB_64, 1)
    encrypted = aes_cm(keys.encr_key, iv, KEY_DATA)
    assert encrypted.hex() == ENCRYPTED
    assert aes_cm(keys.encr_key, iv, encrypted) == KEY_DATA


def test_derive_tek_and_salt_known_answer() -> None:
    assert derive_tek(TGK, 1, CSB_64, RAND_64).hex() == "3bcf36c2069304edad26ad43ba8d308d"
    assert derive_salt(TGK, 1, CSB_64, RAND_64).hex() == "b9557b8a34ce142a6fab5d8f2fa4"


def test_prf_multi_block_inkey_known_answer() -> None:
    inkey = bytes(range(0x30))  # 48 bytes: two 256-bit blocks s_1, s_2 (the last one shorter)
    out = prf(inkey, b"abc", 32)
    assert out.hex() == "a8fb7aa6694d94ca60ca6b748c40d57203584f3afb05d03c08e17e5f2aa84ead"
    # XOR of the P-function of both blocks: differs from either block alone.
    assert out != prf(inkey[:32], b"abc", 32)
    assert out != prf(inkey[32:], b"abc", 32)
    # Truncation takes the most significant bytes.
    assert prf(inkey, b"abc", 5) == out[:5]


# --- hand-checked byte layouts of the profile's messages ------------------------------------


def test_streaming_mtk_message_byte_layout() -> None:
    counter = 0x01020304
    raw = mtk_message(mtk_id=7, counter=counter, streaming=True)
    mki = bytes.fromhex("010200030007")
    assert srtp_mki(MSK_ID, MtkId(7)) == mki

    # HDR: version 1, PSK init, next = General Ext (0x15), V = 0, PRF 0, CSB ID = MSK ID.
    assert raw[0:4] == bytes.fromhex("01001500")
    assert raw[4:8] == bytes.fromhex("01020003")
    assert int.from_bytes(raw[4:8], "big") == int(MSK_ID)
    # #CS = 2, map type 0 (SRTP-ID), entries Policy_no · SSRC · ROC.
    assert raw[8:10] == bytes.fromhex("0200")
    assert raw[10:19] == bytes.fromhex("00deadbeef00000005")
    assert raw[19:28] == bytes.fromhex("000000000000000000")
    h = 28
    # EXT: next = T (5), type 3 (Key ID), length 15, Key ID sub-payloads.
    assert raw[h : h + 4] == bytes.fromhex("0503000f")
    assert raw[h + 4 : h + 19] == bytes.fromhex("000300f11001040102000302020007")
    # T: next = RAND (11), TS type 2 (COUNTER), 4-byte counter.
    t = h + 19
    assert raw[t : t + 6] == bytes.fromhex("0b0201020304")
    # RAND: next = KEMAC (1), 16 bytes.
    r = t + 6
    assert raw[r : r + 2] == bytes.fromhex("0110")
    assert raw[r + 2 : r + 18] == RAND
    # KEMAC last: next = Last (0), Encr alg 1 (AES-CM-128), Encr data len 43, data, MAC alg 1, MAC.
    k = r + 18
    assert raw[k : k + 4] == bytes.fromhex("0001002b")
    encr = raw[k + 4 : k + 4 + 43]
    assert raw[k + 47] == 1
    assert len(raw) == k + 48 + 20

    keys = message_keys(MSK_BYTES, int(MSK_ID), RAND)
    assert raw[-20:] == hmac_sha1_160(keys.auth_key, raw[:-20])
    plain = aes_cm(keys.encr_key, kemac_iv(keys.salt_key, int(MSK_ID), counter), encr)
    # Key data: next Last, Type TEK+SALT (3) / KV SPI (1), key, salt, SPI = MKI.
    assert plain == (
        bytes.fromhex("00310010")
        + MTK_BYTES
        + bytes.fromhex("000e")
        + SALT_BYTES
        + bytes.fromhex("06")
        + mki
    )
    assert decode_key_data(plain) == (
        KeyData(KeyDataType.TEK_SALT, MTK_BYTES, SALT_BYTES, KvSpi(mki)),
    )

    env = envelope(raw)
    assert (env.kind, env.csb_id, env.counter, env.mtk_id) == (
        Kind.MTK,
        0x01020003,
        counter,
        MtkId(7),
    )
    d = open_mtk_message(env, MSK)
    assert (d.mtk.secret, d.salt.secret if d.salt else None, d.mki) == (MTK_BYTES, SALT_BYTES, mki)
    assert d.srtp_sessions == SESSIONS


def test_download_mtk_message_byte_layout() -> None:
    raw = mtk_message(mtk_id=0x0100, counter=9, streaming=False)
    # Empty map (#CS 0, type 1), then EXT directly.
    assert raw[:10] == bytes.fromhex("01001500010200030001")
    assert raw[10:29] == bytes.fromhex("0503000f000300f11001040102000302020100")
    assert raw[29:35] == bytes.fromhex("0b0200000009")
    assert raw[35:53] == bytes.fromhex("0110") + RAND
    assert raw[53:57] == bytes.fromhex("00010014")  # 20 bytes of key data
    assert len(raw) == 57 + 20 + 1 + 20
    keys = message_keys(MSK_BYTES, 0x01020003, RAND)
    assert raw[-20:] == hmac_sha1_160(keys.auth_key, raw[:-20])
    plain = aes_cm(keys.encr_key, kemac_iv(keys.salt_key, 0x01020003, 9), raw[57:77])
    # TEK (2), KV null (0).
    assert plain == bytes.fromhex("00200010") + MTK_BYTES


def test_msk_message_byte_layout() -> None:
    raw = msk_message(counter=0x10, ack=True, vf=1, vt=0x64)
    assert raw[:10] == bytes.fromhex("01001580") + CSB.to_bytes(4, "big") + bytes.fromhex("0001")
    # EXT: Key Domain ID and MSK ID only (length 11).
    assert raw[10:25] == bytes.fromhex("0503000b000300f110010401020003")
    assert raw[25:31] == bytes.fromhex("0b0200000010")
    assert raw[31:49] == bytes.fromhex("0610") + RAND  # next = ID
    idi, idr = MUK_ID.idi, MUK_ID.idr
    i = 49
    assert raw[i : i + 4] == bytes.fromhex("0601") + len(idi).to_bytes(2, "big")  # IDi: URI
    assert raw[i + 4 : i + 4 + len(idi)] == idi
    i += 4 + len(idi)
    assert raw[i : i + 4] == bytes.fromhex("0100") + len(idr).to_bytes(2, "big")  # IDr: NAI
    assert raw[i + 4 : i + 4 + len(idr)] == idr
    k = i + 4 + len(idr)
    assert raw[k : k + 4] == bytes.fromhex("0001001a")  # 26 bytes of key data
    assert len(raw) == k + 4 + 26 + 1 + 20
    keys = message_keys(MUK_BYTES, CSB, RAND)
    assert raw[-20:] == hmac_sha1_160(keys.auth_key, raw[:-20])
    plain = aes_cm(keys.encr_key, kemac_iv(keys.salt_key, CSB, 0x10), raw[k + 4 : k + 30])
    # TGK (0), KV interval (2): VF = 0001, VT = 0064.
    assert plain == bytes.fromhex("00020010") + MSK_BYTES + bytes.fromhex("020001020064")
    assert decode_key_data(plain) == (
        KeyData(KeyDataType.TGK, MSK_BYTES, None, KvInterval(b"\x00\x01", b"\x00\x64")),
    )
    d = open_msk_message(envelope(raw), MUK)
    assert (d.valid_from, d.valid_to, d.srtp_policy) == (MtkId(1), MtkId(100), None)


def test_msk_message_with_policy_carries_sp_before_kemac() -> None:
    policy = SrtpPolicy()
    raw = msk_message(policy=policy)
    msg = Message.decode(raw)
    # Streaming Key Group: SRTP-ID map with #CS = 0 and one SP payload (policy 0).
    assert raw[8:10] == bytes.fromhex("0000")
    assert [type(p) for p in msg.payloads] == [
        GeneralExtension,
        Timestamp,
        Rand,
        Identity,
        Identity,
        SecurityPolicy,
        Kemac,
    ]
    assert msg.payloads[5] == policy.to_sp(0)
    assert open_msk_message(envelope(raw), MUK).srtp_policy == policy
    assert envelope(raw).key_domain_id == KDID
