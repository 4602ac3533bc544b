"""Changing a decision in ``broadcast.profile`` changes what is built and what is accepted.

Each test flips profile constants with ``monkeypatch`` (as a one-line correction of the profile
would) and checks the messages that come out — of the pure-Python builders and of the native
MSK batch builder, which must stay byte-identical — and the receive checks. Nothing may have
copied a profile value at import time: a copy would ignore the flip and fail here.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from broadcast import profile
from broadcast._native import mikey_batch as native
from broadcast.proto.dcf import (
    DcfHeaders,
    DcfUnsupportedError,
    DcfWriteError,
    DcfWriter,
    MbmsKeyId,
    mbms_headers,
    parse_dcf,
    protect_bytes,
)
from broadcast.proto.keys import (
    InvalidIdentifier,
    KeyDomainId,
    Msk,
    MskId,
    Mtk,
    MtkId,
    Muk,
    MukId,
    SrtpSalt,
)
from broadcast.proto.mikey import (
    MikeyError,
    ProfileViolation,
    SrtpPolicy,
    UnsupportedValue,
    build_ack,
    build_mtk_message,
    build_solicited_pull,
    envelope,
    open_msk_message,
    open_mtk_message,
    open_solicited_pull,
    verify_ack,
)
from broadcast.proto.mikey import batch as batch_mod
from broadcast.proto.mikey.batch import MskPushTarget, build_msk_messages
from broadcast.proto.mikey.constants import (
    CsIdMapType,
    EncrAlg,
    KeyDataType,
    SrtpAuthAlg,
    SrtpEncrAlg,
    SrtpParam,
    TsType,
)
from broadcast.proto.mikey.message import Message
from broadcast.proto.mikey.payloads import (
    GeneralExtension,
    Identity,
    Kemac,
    KeyData,
    Rand,
    SecurityPolicy,
    SrtpCs,
    Timestamp,
    decode_key_data,
)
from broadcast.proto.mikey.prf import derive_tek, message_keys
from broadcast.proto.mikey.transforms import hmac_sha1_160, kemac_encrypt
from broadcast.proto.srtp import Auth, Cipher, CryptoPolicy

BMSC = b"bmsc.mnc001.mcc001.pub.3gppnetwork.org"
KDID = KeyDomainId.from_plmn("001", "01")
MSK_ID = MskId(0x0102, 0x0003)
MSK = Msk(bytes.fromhex("3a9e51c07b2d48f6a1e0c9d7b5f34a82"))
MTK = Mtk(bytes.fromhex("c47f2e9a1b5d3086f9e1a2c4d7b80e5f"))
SALT = SrtpSalt(bytes.fromhex("0e7b3c9d5a1f2468ace0bd13579b"))
SESSIONS = (SrtpCs(0, 0xDEADBEEF, 5),)


def muk(i: int) -> Muk:
    return Muk(bytes((i * 37 + k) & 0xFF for k in range(16)))


def targets(n: int = 4, rand_len: int = 16) -> list[MskPushTarget]:
    return [
        MskPushTarget(
            MukId(BMSC, b"B-TID-%03d@bsf.example" % i),
            muk(i),
            counter=i + 1,
            csb_id=(i * 2654435761) & 0xFFFF_FFFF,
            rand=bytes((i + k) & 0xFF for k in range(rand_len)),
        )
        for i in range(n)
    ]


def msk_batch(
    ts: list[MskPushTarget], *, policy: SrtpPolicy | None = None, ack: bool = False
) -> list[bytes]:
    """The MSK messages of a push round from both paths; they must be byte-identical."""
    kw = {
        "key_domain_id": KDID,
        "msk_id": MSK_ID,
        "msk": MSK,
        "valid_from": MtkId(1),
        "valid_to": MtkId(100),
        "ack": ack,
        "srtp_policy": policy,
    }
    pure = build_msk_messages(ts, native=False, **kw)  # type: ignore[arg-type]
    nat = build_msk_messages(ts, native=True, **kw)  # type: ignore[arg-type]
    assert nat == pure
    # The extension called on its own, with no profile argument, reads the same profile.
    segments, key_data = batch_mod._template(pure[0], ts[0])
    direct = native.build_msk_batch(
        segments,
        key_data,
        [t.muk.secret for t in ts],
        [t.csb_id for t in ts],
        [t.counter for t in ts],
        [t.rand for t in ts],
        [t.muk_id.idr for t in ts],
    )
    assert direct == pure
    return pure


def mtk(*, streaming: bool, counter: int = 1, mtk_id: int = 1) -> bytes:
    return build_mtk_message(
        msk=MSK,
        key_domain_id=KDID,
        msk_id=MSK_ID,
        mtk_id=MtkId(mtk_id),
        mtk=MTK,
        counter=counter,
        rand=bytes(range(profile.RAND_LEN)),
        salt=SALT if streaming else None,
        srtp_sessions=SESSIONS if streaming else (),
    )


def kemac(raw: bytes) -> Kemac:
    last = Message.decode(raw).payloads[-1]
    assert isinstance(last, Kemac)
    return last


def key_data(raw: bytes, inkey: bytes) -> KeyData:
    """The one Key data sub-payload of a message, decrypted with its own KEMAC Encr alg."""
    env = envelope(raw)
    assert env.rand is not None
    keys = message_keys(inkey, env.csb_id, env.rand)
    k = kemac(raw)
    (kd,) = decode_key_data(kemac_encrypt(k.encr_alg, keys, env.csb_id, env.counter, k.encr_data))
    return kd


def raises(fn: Callable[[], object], exc: type[Exception], field: str | None = None) -> None:
    with pytest.raises(exc) as info:
        fn()
    if field is not None:
        assert isinstance(info.value, MikeyError)
        assert info.value.field == field


# --- KEMAC algorithms -----------------------------------------------------------------------------


def test_kemac_encr_alg_null(monkeypatch: pytest.MonkeyPatch) -> None:
    ts = targets()
    default = msk_batch(ts)
    assert kemac(default[0]).encr_alg == EncrAlg.AES_CM_128
    assert MSK.secret not in default[0]
    monkeypatch.setattr(profile, "KEMAC_ENCR_ALG", EncrAlg.NULL)
    clear = msk_batch(ts)
    for raw, t in zip(clear, ts, strict=True):
        assert kemac(raw).encr_alg == EncrAlg.NULL
        assert MSK.secret in kemac(raw).encr_data  # the key data in clear
        assert open_msk_message(envelope(raw), t.muk).msk == MSK
    assert [len(m) for m in clear] == [len(m) for m in default]
    # The receive rule follows the profile too: each side refuses the other's messages.
    raises(lambda: open_msk_message(envelope(default[0]), ts[0].muk), UnsupportedValue)
    monkeypatch.setattr(profile, "KEMAC_ENCR_ALG", EncrAlg.AES_CM_128)
    raises(lambda: open_msk_message(envelope(clear[0]), ts[0].muk), UnsupportedValue)
    assert open_msk_message(envelope(default[0]), ts[0].muk).msk == MSK


def test_kemac_encr_alg_not_implemented_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(profile, "KEMAC_ENCR_ALG", EncrAlg.AES_KW_128)
    raises(lambda: mtk(streaming=False), UnsupportedValue, "KEMAC Encr alg")
    raises(lambda: msk_batch(targets()), UnsupportedValue, "KEMAC Encr alg")


def test_kemac_mac_alg(monkeypatch: pytest.MonkeyPatch) -> None:
    ts = targets()
    default = msk_batch(ts)
    monkeypatch.setattr(profile, "KEMAC_MAC_ALG", 0)  # NULL: a KEMAC without a MAC
    # Never built (the pre-shared-key method authenticates every message) ...
    raises(lambda: msk_batch(ts), UnsupportedValue, "KEMAC MAC alg")
    raises(lambda: mtk(streaming=True), UnsupportedValue, "KEMAC MAC alg")
    segments, kd = batch_mod._template(default[0], ts[0])
    with pytest.raises(ValueError, match="mac_alg"):
        native.build_msk_batch(
            segments, kd, [ts[0].muk.secret], [ts[0].csb_id], [1], [ts[0].rand], [b"x"]
        )
    # ... and an HMAC-SHA-1-160 KEMAC is not what this profile accepts.
    raises(lambda: open_msk_message(envelope(default[0]), ts[0].muk), ProfileViolation)


def test_ack_auth_alg(monkeypatch: pytest.MonkeyPatch) -> None:
    t = targets(1)[0]
    (msk_msg,) = msk_batch([t], ack=True)
    env = envelope(msk_msg)
    ack = build_ack(env, t.muk)
    verify_ack(envelope(ack), env, t.muk)
    monkeypatch.setattr(profile, "ACK_AUTH_ALG", 0)
    raises(lambda: build_ack(env, t.muk), UnsupportedValue)
    raises(lambda: verify_ack(envelope(ack), env, t.muk), ProfileViolation, "V Auth alg")


# --- T payload ------------------------------------------------------------------------------------


def test_ts_type(monkeypatch: pytest.MonkeyPatch) -> None:
    ts = targets()
    default = msk_batch(ts)
    default_mtk = mtk(streaming=True)
    monkeypatch.setattr(profile, "TS_TYPE_COUNTER", TsType.NTP)
    ntp = msk_batch(ts)
    for raw, t, before in zip(ntp, ts, default, strict=True):
        stamp = Message.decode(raw).first(Timestamp)
        assert stamp is not None
        assert (stamp.ts_type, stamp.value, len(stamp.value_bytes)) == (TsType.NTP, t.counter, 8)
        assert len(raw) == len(before) + 4  # a 64-bit TS value instead of the 32-bit COUNTER
        assert open_msk_message(envelope(raw), t.muk).msk == MSK
    ntp_mtk = mtk(streaming=True)
    assert Message.decode(ntp_mtk).first(Timestamp) == Timestamp(TsType.NTP, 1)
    assert open_mtk_message(envelope(ntp_mtk), MSK).mtk == MTK
    # Receivers require the profile's TS type.
    raises(lambda: envelope(default[0]), ProfileViolation, "T")
    raises(lambda: envelope(default_mtk), ProfileViolation, "T")
    monkeypatch.setattr(profile, "TS_TYPE_COUNTER", TsType.COUNTER)
    raises(lambda: envelope(ntp[0]), ProfileViolation, "T")


# --- key data types -------------------------------------------------------------------------------


def test_msk_key_data_type(monkeypatch: pytest.MonkeyPatch) -> None:
    ts = targets()
    assert key_data(msk_batch(ts)[0], ts[0].muk.secret).key_type == KeyDataType.TGK
    monkeypatch.setattr(profile, "MSK_KEY_DATA_TYPE", KeyDataType.TEK)
    tek = msk_batch(ts)
    for m, t in zip(tek, ts, strict=True):
        assert key_data(m, t.muk.secret).key_type == KeyDataType.TEK
    assert open_msk_message(envelope(tek[1]), ts[1].muk).msk == MSK
    monkeypatch.setattr(profile, "MSK_KEY_DATA_TYPE", KeyDataType.TGK)
    raises(lambda: open_msk_message(envelope(tek[1]), ts[1].muk), ProfileViolation)
    monkeypatch.setattr(profile, "MSK_KEY_DATA_TYPE", KeyDataType.TEK_SALT)  # no salt to carry
    raises(lambda: msk_batch(ts), ProfileViolation, "Key data Type")


def test_mtk_key_data_types(monkeypatch: pytest.MonkeyPatch) -> None:
    assert key_data(mtk(streaming=True), MSK.secret).key_type == KeyDataType.TEK_SALT
    assert key_data(mtk(streaming=False), MSK.secret).key_type == KeyDataType.TEK
    monkeypatch.setattr(profile, "MTK_STREAMING_KEY_DATA_TYPE", KeyDataType.TGK_SALT)
    monkeypatch.setattr(profile, "MTK_DOWNLOAD_KEY_DATA_TYPE", KeyDataType.TGK)
    streaming, download = mtk(streaming=True), mtk(streaming=False)
    assert key_data(streaming, MSK.secret).key_type == KeyDataType.TGK_SALT
    assert key_data(download, MSK.secret).key_type == KeyDataType.TGK
    # A receiver derives the TEK from a TGK (RFC 3830 §4.1.3) and keeps a carried salt.
    rand = bytes(range(profile.RAND_LEN))
    got = open_mtk_message(envelope(streaming), MSK)
    cs = profile.TGK_CS_ID_STREAMING
    assert got.mtk == Mtk(derive_tek(MTK.secret, cs, int(MSK_ID), rand))
    assert got.salt == SALT
    got = open_mtk_message(envelope(download), MSK)
    assert got.mtk == Mtk(derive_tek(MTK.secret, profile.TGK_CS_ID_DOWNLOAD, int(MSK_ID), rand))
    # A type that cannot carry the streaming salt (or would need one for download) is refused.
    monkeypatch.setattr(profile, "MTK_STREAMING_KEY_DATA_TYPE", KeyDataType.TEK)
    raises(lambda: mtk(streaming=True), ProfileViolation, "Key data Type")
    monkeypatch.setattr(profile, "MTK_DOWNLOAD_KEY_DATA_TYPE", KeyDataType.TEK_SALT)
    raises(lambda: mtk(streaming=False), ProfileViolation, "Key data Type")


# --- ID payloads, RAND, CS ID map, Key ID extension -----------------------------------------------


def test_id_types(monkeypatch: pytest.MonkeyPatch) -> None:
    ts = targets()
    default = msk_batch(ts, ack=True)
    ids = Message.decode(default[0]).all(Identity)
    assert [i.id_type for i in ids] == [1, 0]  # IDi URI, IDr NAI
    monkeypatch.setattr(profile, "IDR_TYPE", 1)
    monkeypatch.setattr(profile, "IDI_TYPE", 0)
    flipped = msk_batch(ts, ack=True)
    for raw in flipped:
        assert [i.id_type for i in Message.decode(raw).all(Identity)] == [0, 1]
    env = envelope(flipped[0])
    ack = build_ack(env, ts[0].muk)
    assert [i.id_type for i in Message.decode(ack).all(Identity)] == [1]
    verify_ack(envelope(ack), env, ts[0].muk)
    raises(lambda: envelope(default[0]), ProfileViolation, "ID type")
    monkeypatch.setattr(profile, "IDR_TYPE", 0)
    monkeypatch.setattr(profile, "IDI_TYPE", 1)
    raises(lambda: envelope(flipped[0]), ProfileViolation, "ID type")
    raises(lambda: envelope(ack), ProfileViolation, "ID type")


def test_rand_len(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(profile, "RAND_LEN", 20)
    raises(lambda: msk_batch(targets(rand_len=16)), ProfileViolation, "RAND")
    ts = targets(rand_len=20)
    long_rand = msk_batch(ts)
    for raw, t in zip(long_rand, ts, strict=True):
        r = Message.decode(raw).first(Rand)
        assert r is not None and r.value == t.rand and len(r.value) == 20
        assert open_msk_message(envelope(raw), t.muk).msk == MSK
    assert Message.decode(mtk(streaming=False)).first(Rand) == Rand(bytes(range(20)))
    pull = build_solicited_pull(
        muk=ts[0].muk,
        muk_id=ts[0].muk_id,
        key_domain_id=KDID,
        key_group=MSK_ID.key_group,
        counter=9,
        csb_id=7,
        rand=bytes(20),
    )
    assert open_solicited_pull(envelope(pull), ts[0].muk).key_group == MSK_ID.key_group
    # The extension, called with the profile's default, wants 20-byte RANDs now.
    segments, kd = batch_mod._template(long_rand[0], ts[0])
    args = (segments, kd, [ts[0].muk.secret], [ts[0].csb_id], [ts[0].counter])
    assert native.build_msk_batch(*args, [ts[0].rand], [ts[0].muk_id.idr]) == long_rand[:1]
    with pytest.raises(ValueError, match="rands"):
        native.build_msk_batch(*args, [bytes(16)], [ts[0].muk_id.idr])


def test_cs_id_map_types(monkeypatch: pytest.MonkeyPatch) -> None:
    ts = targets()

    def map_type(raw: bytes) -> tuple[int, int]:
        h = Message.decode(raw).header
        return h.cs_map.map_type, h.cs_map.cs_count

    assert map_type(msk_batch(ts)[0]) == (CsIdMapType.EMPTY, 0)
    assert map_type(msk_batch(ts, policy=SrtpPolicy())[0]) == (CsIdMapType.SRTP_ID, 0)
    assert map_type(mtk(streaming=False)) == (CsIdMapType.EMPTY, 0)
    assert map_type(mtk(streaming=True)) == (CsIdMapType.SRTP_ID, 1)
    monkeypatch.setattr(profile, "CS_ID_MAP_TYPE_NO_CS", CsIdMapType.SRTP_ID)
    assert all(map_type(m) == (CsIdMapType.SRTP_ID, 0) for m in msk_batch(ts))
    assert map_type(mtk(streaming=False)) == (CsIdMapType.SRTP_ID, 0)
    assert open_mtk_message(envelope(mtk(streaming=False)), MSK).mtk == MTK
    monkeypatch.setattr(profile, "CS_ID_MAP_TYPE_STREAMING", CsIdMapType.EMPTY)
    policy_msgs = msk_batch(ts, policy=SrtpPolicy())
    assert all(map_type(m) == (CsIdMapType.EMPTY, 0) for m in policy_msgs)
    assert Message.decode(policy_msgs[0]).first(SecurityPolicy) is not None
    # An Empty map cannot carry the streams' ROCs.
    raises(lambda: mtk(streaming=True), ProfileViolation, "HDR CS ID map type")
    monkeypatch.setattr(profile, "CS_ID_MAP_TYPE_STREAMING", CsIdMapType.GENERIC_ID)
    raises(lambda: mtk(streaming=True), UnsupportedValue, "HDR CS ID map type")


def test_key_id_extension(monkeypatch: pytest.MonkeyPatch) -> None:
    ts = targets()
    default = msk_batch(ts)
    monkeypatch.setattr(profile, "KEY_ID_EXT_TYPE", 7)
    monkeypatch.setattr(profile, "KEY_ID_TYPE_MTK_ID", 9)
    flipped = msk_batch(ts)
    ext = Message.decode(flipped[0]).first(GeneralExtension)
    assert ext is not None and ext.ext_type == 7
    assert [e.key_id_type for e in ext.key_id_entries()] == [0, 1]
    env = envelope(flipped[0])
    assert (env.key_domain_id, env.msk_id, env.mtk_id) == (KDID, MSK_ID, None)
    raw = mtk(streaming=True, mtk_id=5)
    ext = Message.decode(raw).first(GeneralExtension)
    assert ext is not None
    assert [(e.key_id_type, e.value) for e in ext.key_id_entries()][2] == (9, b"\x00\x05")
    assert envelope(raw).mtk_id == MtkId(5)
    raises(lambda: envelope(default[0]), ProfileViolation, "EXT")
    monkeypatch.setattr(profile, "KEY_ID_EXT_TYPE", 3)
    raises(lambda: envelope(flipped[0]), ProfileViolation, "EXT")


def test_mtk_id_reserved(monkeypatch: pytest.MonkeyPatch) -> None:
    assert int(MtkId(5)) == 5
    monkeypatch.setattr(profile, "MTK_ID_RESERVED", 5)
    with pytest.raises(InvalidIdentifier, match="reserved"):
        MtkId(5)


# --- SRTP defaults --------------------------------------------------------------------------------


def test_srtp_policy_defaults_are_the_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    words = (
        profile.SRTP_DEFAULT_CIPHER,
        profile.SRTP_DEFAULT_AUTH_TAG_BITS,
        profile.RCC_DEFAULT_MODE,
        profile.RCC_DEFAULT_RATE,
    )
    assert SrtpPolicy.of(*words) == SrtpPolicy()
    default_sp = SrtpPolicy().to_sp()
    monkeypatch.setattr(profile, "SRTP_DEFAULT_AUTH_TAG_BITS", 32)
    monkeypatch.setattr(profile, "RCC_DEFAULT_MODE", "off")
    monkeypatch.setattr(profile, "SRTCP_AUTH_TAG_BITS", 32)
    monkeypatch.setattr(profile, "SRTP_KEY_DERIVATION_RATE", 1 << 4)
    monkeypatch.setattr(profile, "SRTP_POLICY_NO", 5)
    policy = SrtpPolicy()
    assert (policy.srtp_auth_alg, policy.srtp_auth_tag_len) == (SrtpAuthAlg.HMAC_SHA1, 4)
    assert (policy.srtcp_auth_tag_len, policy.key_derivation_rate) == (4, 16)
    assert policy.roc_transmission_rate == 1  # R only with RCC
    sp = policy.to_sp()
    assert sp != default_sp
    assert sp.policy_no == 5
    assert sp.get(SrtpParam.AUTH_TAG_LEN) == b"\x04"
    assert sp.get(SrtpParam.SRTCP_AUTH_TAG_LEN) == b"\x04"
    assert sp.get(SrtpParam.KEY_DERIVATION_RATE) == (16).to_bytes(4, "big")
    # The policy travels in the MSK message: both builders carry the new one.
    ts = targets()
    for raw, t in zip(msk_batch(ts, policy=SrtpPolicy()), ts, strict=True):
        assert Message.decode(raw).first(SecurityPolicy) == sp
        assert open_msk_message(envelope(raw), t.muk).srtp_policy == policy
    # SRTP itself: the plain transforms and the profile's whole default.
    plain = CryptoPolicy()
    assert (plain.srtp_tag_len, plain.srtcp_tag_len, plain.key_derivation_rate) == (4, 4, 16)
    full = CryptoPolicy.from_srtp_policy(SrtpPolicy())
    assert (full.srtp_auth, full.srtp_tag_len, full.roc_rate) == (Auth.HMAC_SHA1, 4, 1)
    # Fixed by their RFCs, not by the profile: the RFC 4568 suite and the receive defaults.
    assert CryptoPolicy.aes_cm_128_hmac_sha1_80().srtp_tag_len == 10
    assert CryptoPolicy.aes_cm_128_hmac_sha1_80().key_derivation_rate == 0
    absent = SrtpPolicy.from_sp(SecurityPolicy(0, 0, ()))
    assert (absent.srtp_auth_tag_len, absent.key_derivation_rate) == (10, 0)


def test_srtp_rcc_and_cipher_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    assert SrtpPolicy().srtp_auth_alg == SrtpAuthAlg.RCCM2
    monkeypatch.setattr(profile, "RCC_DEFAULT_MODE", "RCCm1")
    monkeypatch.setattr(profile, "RCC_DEFAULT_RATE", 4)
    monkeypatch.setattr(profile, "SRTP_DEFAULT_CIPHER", "null")
    policy = SrtpPolicy()
    assert (policy.srtp_auth_alg, policy.roc_transmission_rate) == (SrtpAuthAlg.RCCM1, 4)
    assert (policy.encr_alg, policy.srtp_encryption) == (SrtpEncrAlg.NULL, False)
    crypto = CryptoPolicy.from_srtp_policy(policy)
    assert (crypto.srtp_auth, crypto.roc_rate, crypto.srtp_cipher) == (Auth.RCCM1, 4, Cipher.NULL)
    assert (CryptoPolicy().srtp_cipher, CryptoPolicy().srtcp_encrypt) == (Cipher.NULL, False)
    monkeypatch.setattr(profile, "RCC_DEFAULT_MODE", "RCCm3")
    assert (SrtpPolicy().srtp_auth_alg, SrtpPolicy().srtp_auth_tag_len) == (SrtpAuthAlg.RCCM3, 4)
    monkeypatch.setattr(profile, "RCC_DEFAULT_MODE", "RCCm9")
    with pytest.raises(ProfileViolation):
        SrtpPolicy()


# --- DCF ------------------------------------------------------------------------------------------

KEY_ID = MbmsKeyId(KDID, MSK_ID, MtkId(1))


def _dcf() -> bytes:
    return protect_bytes(
        b"content",
        key=MTK,
        key_id=KEY_ID,
        bmsc_fqdn=BMSC.decode(),
        key_management_uri="http://bmsc.example/keymanagement",
        content_type="text/plain",
        rand=bytes,
    )


def test_dcf_encryption_method(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _dcf()
    assert (parse_dcf(data).encryption_method, parse_dcf(data).padding_scheme) == (1, 1)
    monkeypatch.setattr(profile, "DCF_ENCRYPTION_METHOD", 2)  # AES_128_CTR: not implemented
    with pytest.raises(DcfWriteError, match="EncryptionMethod 2"):
        _dcf()
    with pytest.raises(DcfUnsupportedError, match="EncryptionMethod 2"):
        parse_dcf(data)
    assert DcfHeaders("a/b", "cid:x@y", "").encryption_method == 2
    monkeypatch.setattr(profile, "DCF_ENCRYPTION_METHOD", 1)
    monkeypatch.setattr(profile, "DCF_PADDING_SCHEME", 0)
    with pytest.raises(DcfWriteError, match="PaddingScheme 0"):
        DcfWriter([b""], DcfHeaders("a/b", "cid:x@y", ""), MTK, plaintext_length=0)


def test_dcf_header_name_and_content_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(profile, "DCF_MBMS_KEY_ID_HEADER", "X-Key")
    monkeypatch.setattr(profile, "DCF_CONTENT_ID_PREFIX", "urn:x:")
    headers = mbms_headers(
        key_id=KEY_ID,
        bmsc_fqdn="bmsc.example",
        key_management_uri="http://bmsc.example/km",
        content_type="text/plain",
        rand=bytes,
    )
    assert list(headers.textual_headers) == ["X-Key"]
    assert headers.content_id.startswith("urn:x:")
    assert headers.mbms_key_id == KEY_ID
    reader = parse_dcf(_dcf())
    assert reader.textual_headers == {"X-Key": KEY_ID.header_value()}
    assert reader.mbms_key_id == KEY_ID


# --- the native builder's profile arguments -------------------------------------------------------


def test_native_takes_a_longer_muk() -> None:
    """``muk_len`` is an argument: a 32-byte MUK (one PRF inkey block) is keyed as such."""
    t = targets(1)[0]
    (ref,) = msk_batch([t])
    segments, kd = batch_mod._template(ref, t)
    long_muk = bytes(range(100, 132))
    (raw,) = native.build_msk_batch(
        segments, kd, [long_muk], [t.csb_id], [t.counter], [t.rand], [t.muk_id.idr], muk_len=32
    )
    keys = message_keys(long_muk, t.csb_id, t.rand)
    assert raw[-20:] == hmac_sha1_160(keys.auth_key, raw[:-20])
    assert raw != ref
    k = kemac(raw)
    assert kemac_encrypt(k.encr_alg, keys, t.csb_id, t.counter, k.encr_data) == kd
    with pytest.raises(ValueError, match="muks"):
        native.build_msk_batch(
            segments, kd, [t.muk.secret], [t.csb_id], [1], [t.rand], [b"x"], muk_len=32
        )


@pytest.mark.parametrize(
    ("name", "value"),
    [("muk_len", 33), ("muk_len", 0), ("rand_len", 256), ("ts_type", 3), ("encr_alg", 2)],
)
def test_native_refuses_what_it_does_not_implement(name: str, value: int) -> None:
    t = targets(1)[0]
    (ref,) = msk_batch([t])
    segments, kd = batch_mod._template(ref, t)
    with pytest.raises(ValueError, match=name):
        native.build_msk_batch(
            segments, kd, [t.muk.secret], [t.csb_id], [1], [t.rand], [b"x"], **{name: value}
        )
