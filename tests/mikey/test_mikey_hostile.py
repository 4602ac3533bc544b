"""Hostile input: only MikeyError subclasses escape, errors name field and offset, no key leaks."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mikey_support import (
    CSB,
    KDID,
    MSK,
    MSK_BYTES,
    MSK_ID,
    MTK_BYTES,
    MUK,
    MUK2,
    MUK_BYTES,
    MUK_ID,
    RAND,
    SALT_BYTES,
    assert_no_secret,
    msk_message,
    mtk_message,
    only_mikey_errors,
    payload_offsets,
    protect,
    pull_message,
)

from broadcast import profile
from broadcast.proto.keys import Msk, Mtk, MtkId, SrtpSalt
from broadcast.proto.mikey import (
    Kind,
    MacMismatch,
    MikeyDecodeError,
    MikeyEncodeError,
    MikeyError,
    ProfileViolation,
    SrtpPolicy,
    TruncatedPayload,
    UnsupportedValue,
    Verifier,
    build_ack,
    envelope,
    open_msk_message,
    open_mtk_message,
    open_solicited_pull,
    verify_ack,
)
from broadcast.proto.mikey.constants import (
    DataType,
    EncrAlg,
    GeneralExtType,
    KeyDataType,
    KeyIdType,
    MacAlg,
    PayloadType,
    SrtpAuthAlg,
)
from broadcast.proto.mikey.errors import LimitExceeded
from broadcast.proto.mikey.message import MAX_MESSAGE_LEN, MAX_PAYLOADS, Message
from broadcast.proto.mikey.payloads import (
    MAX_KEY_DATA,
    MAX_SP_PARAMS,
    EmptyMap,
    GeneralExtension,
    Header,
    Identity,
    Kemac,
    KeyData,
    KeyIdEntry,
    KvInterval,
    KvSpi,
    PolicyParam,
    Rand,
    SecurityPolicy,
    Timestamp,
    Verification,
    decode_key_data,
    encode_key_data,
)
from broadcast.proto.mikey.prf import MessageKeys, derive_salt, derive_tek, message_keys

RANDOM_SETTINGS = settings(max_examples=400, deadline=None)
MUTATION_SETTINGS = settings(max_examples=300, deadline=None)

MSK_PLAIN = msk_message(counter=2)
MSK_ACK = msk_message(counter=3, ack=True, policy=SrtpPolicy())
MTK_STREAM = mtk_message(mtk_id=2, counter=2, streaming=True)
MTK_DOWNLOAD = mtk_message(mtk_id=3, counter=3, streaming=False)
PULL = pull_message(counter=4)
ACK = build_ack(envelope(MSK_ACK), MUK)
VALID = {
    "msk": MSK_PLAIN,
    "msk_ack_policy": MSK_ACK,
    "mtk_streaming": MTK_STREAM,
    "mtk_download": MTK_DOWNLOAD,
    "pull": PULL,
    "ack": ACK,
}
OFFSETS = {name: payload_offsets(raw) for name, raw in VALID.items()}


def _open_all(data: bytes) -> bool:
    """envelope() then every opener with the right key; True if any of them accepted."""
    env = envelope(data)
    openers = (
        lambda: open_msk_message(env, MUK),
        lambda: open_mtk_message(env, MSK),
        lambda: open_solicited_pull(env, MUK),
        lambda: verify_ack(env, envelope(MSK_ACK), MUK),
    )
    accepted = False
    for opener in openers:
        accepted |= only_mikey_errors(opener) is None
    return accepted


def _check_hostile(data: bytes) -> bool:
    accepted = False

    def run() -> None:
        nonlocal accepted
        accepted = _open_all(data)

    only_mikey_errors(run)
    return accepted


# --- random bytes -----------------------------------------------------------------------------


@RANDOM_SETTINGS
@given(st.binary(max_size=600))
def test_random_bytes_raise_only_mikey_errors(data: bytes) -> None:
    only_mikey_errors(lambda: Message.decode(data))
    only_mikey_errors(lambda: envelope(data))
    only_mikey_errors(lambda: decode_key_data(data))
    assert not _check_hostile(data)


@RANDOM_SETTINGS
@given(
    st.sampled_from([b"\x01", b"\x01\x00\x15\x00", b"\x01\x00\x15\x00\x01\x02\x00\x03\x00\x01"]),
    st.binary(max_size=600),
)
def test_random_bytes_after_a_valid_header_prefix(prefix: bytes, tail: bytes) -> None:
    data = prefix + tail
    only_mikey_errors(lambda: Message.decode(data))
    assert not _check_hostile(data)


# --- mutated valid messages --------------------------------------------------------------------

OPS = ("flip", "insert", "delete", "truncate", "len_ffff", "next_payload", "set_byte")


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(sorted(VALID)))
    data = bytearray(VALID[name])
    # Length fields sit 1-3 bytes after each payload's next-payload byte.
    length_spots = sorted({o + k for o in OFFSETS[name] for k in (1, 2, 3)})
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        op = draw(st.sampled_from(OPS))
        i = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[i : i + draw(st.integers(1, 8))]
        elif op == "truncate":
            del data[i:]
        elif op == "len_ffff":
            j = draw(st.sampled_from([i, *length_spots]))
            data[j : j + 2] = b"\xff\xff"
        elif op == "next_payload":
            spots = [o for o in OFFSETS[name] if o < len(data)]
            if spots:
                data[draw(st.sampled_from(spots))] = draw(st.integers(0, 255))
        else:
            data[i] = draw(st.integers(0, 255))
    return name, bytes(data)


@MUTATION_SETTINGS
@given(mutated())
def test_mutated_messages_raise_only_mikey_errors(case: tuple[str, bytes]) -> None:
    _name, data = case
    only_mikey_errors(lambda: Message.decode(data))
    if _check_hostile(data):
        # Every byte is authenticated: only an unchanged valid message can be accepted.
        assert data in VALID.values()


def _loaded_verifier() -> Verifier:
    v = Verifier()
    v.add_muk(MUK_ID, MUK)
    v.receive(msk_message(counter=1))
    v.receive(mtk_message(mtk_id=1, counter=1))
    return v


@settings(max_examples=150, deadline=None)
@given(mutated())
def test_mutated_messages_into_the_verifier_raise_only_mikey_errors(
    case: tuple[str, bytes],
) -> None:
    _name, data = case
    v = _loaded_verifier()
    before = v.current_mtk(KDID, MSK_ID)
    if only_mikey_errors(lambda: v.receive(data)) is not None:
        assert v.current_mtk(KDID, MSK_ID) == before


# --- truncation and trailing data ---------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(VALID))
def test_truncated_at_every_offset(name: str) -> None:
    raw = VALID[name]
    for cut in range(len(raw)):
        with pytest.raises(TruncatedPayload) as info:
            Message.decode(raw[:cut])
        exc = info.value
        assert exc.offset is not None and 0 <= exc.offset <= cut, (cut, exc)
        assert exc.field, (cut, exc)
        assert f"offset {exc.offset}" in str(exc)
        assert_no_secret(str(exc))
        with pytest.raises(TruncatedPayload):
            envelope(raw[:cut])


def test_truncated_msk_message_reports_the_field() -> None:
    raw = MSK_PLAIN
    with pytest.raises(TruncatedPayload) as info:
        Message.decode(raw[:6])
    assert (info.value.field, info.value.offset) == ("HDR CSB ID", 4)
    with pytest.raises(TruncatedPayload) as info:
        Message.decode(raw[:-5])
    assert info.value.field == "KEMAC MAC"
    assert info.value.offset == len(raw) - 20


@pytest.mark.parametrize("extra", [b"\x00", b"\x01\x02\x03", bytes(40)])
def test_bytes_after_the_last_payload(extra: bytes) -> None:
    with pytest.raises(MikeyDecodeError) as info:
        Message.decode(MSK_PLAIN + extra)
    assert (info.value.field, info.value.offset) == ("message", len(MSK_PLAIN))


def _replace_last(raw: bytes, *tail: object) -> bytes:
    msg = Message.decode(raw)
    return Message(msg.header, (*msg.payloads, *tail)).encode()  # type: ignore[arg-type]


def test_payload_after_kemac_is_rejected() -> None:
    data = _replace_last(MSK_PLAIN, Timestamp.counter(9))
    with pytest.raises(MikeyDecodeError) as info:
        Message.decode(data)
    assert info.value.field == "next payload"
    assert info.value.offset == len(MSK_PLAIN)
    with pytest.raises(MikeyDecodeError):
        envelope(data)


def test_payload_after_verification_is_rejected() -> None:
    data = _replace_last(ACK, Rand(bytes(16)))
    with pytest.raises(MikeyDecodeError) as info:
        Message.decode(data)
    assert info.value.offset == len(ACK)


@pytest.mark.parametrize(
    "tail",
    [
        Kemac(EncrAlg.AES_CM_128, b"", MacAlg.HMAC_SHA1_160, bytes(20)),
        Verification(MacAlg.HMAC_SHA1_160, bytes(20)),
    ],
    ids=["KEMAC", "V"],
)
def test_mac_payload_after_kemac_is_rejected(tail: object) -> None:
    with pytest.raises(MikeyDecodeError):
        Message.decode(_replace_last(MSK_PLAIN, tail))


# --- unknown codes and bounds ----------------------------------------------------------------


@pytest.mark.parametrize("code", [2, 3, 4, 8, 13, 17, 19, 22, 99, 255])
def test_unknown_payload_type(code: int) -> None:
    data = bytearray(MSK_PLAIN)
    data[2] = code
    with pytest.raises(UnsupportedValue) as info:
        Message.decode(bytes(data))
    assert info.value.field == "next payload"
    assert info.value.offset == 10


@pytest.mark.parametrize("version", [0, 2, 255])
def test_unsupported_version(version: int) -> None:
    data = bytes((version,)) + MSK_PLAIN[1:]
    with pytest.raises(UnsupportedValue) as info:
        Message.decode(data)
    assert (info.value.field, info.value.offset) == ("HDR version", 0)


def test_many_crypto_sessions_with_short_data() -> None:
    data = bytes.fromhex("0100000000000001ff00") + bytes(9 * 10 + 4)
    with pytest.raises(TruncatedPayload) as info:
        Message.decode(data)
    assert info.value.field is not None and info.value.field.startswith("CS ID map [10]")
    assert info.value.offset == 10 + 9 * 10 + 1


@pytest.mark.parametrize("map_type", [2, 3, 255])
def test_unknown_cs_id_map_type(map_type: int) -> None:
    data = bytearray(MSK_PLAIN)
    data[9] = map_type
    with pytest.raises(UnsupportedValue) as info:
        Message.decode(bytes(data))
    assert (info.value.field, info.value.offset) == ("HDR CS ID map type", 9)


@pytest.mark.parametrize("alg", [2, 3, 255])
def test_unknown_mac_alg(alg: int) -> None:
    data = bytearray(MSK_PLAIN)
    data[-21] = alg
    with pytest.raises(UnsupportedValue) as info:
        Message.decode(bytes(data))
    assert (info.value.field, info.value.offset) == ("KEMAC MAC alg", len(MSK_PLAIN) - 21)
    ack = bytearray(ACK)
    ack[-21] = alg
    with pytest.raises(UnsupportedValue) as info:
        Message.decode(bytes(ack))
    assert info.value.field == "V Auth alg"


def test_unknown_ts_type() -> None:
    data = bytearray(MSK_PLAIN)
    t = OFFSETS["msk"][2]  # T follows EXT
    assert data[t + 1] == 2
    data[t + 1] = 3
    with pytest.raises(UnsupportedValue) as info:
        Message.decode(bytes(data))
    assert (info.value.field, info.value.offset) == ("T TS type", t + 1)


def test_too_many_key_id_entries() -> None:
    entries = [KeyIdEntry(KeyIdType.MTK_ID, b"\x00\x01")] * 40
    msg = Message(Header(0, 1), (GeneralExtension.key_id(*entries),))
    with pytest.raises(LimitExceeded) as info:
        Message.decode(msg.encode())
    assert info.value.field == "EXT Key ID"
    assert info.value.offset is not None


def test_too_many_sp_params() -> None:
    sp = SecurityPolicy(0, 0, tuple(PolicyParam(1, b"\x10") for _ in range(MAX_SP_PARAMS + 1)))
    with pytest.raises(LimitExceeded):
        Message.decode(Message(Header(0, 1), (sp,)).encode())
    ok = SecurityPolicy(0, 0, sp.params[:MAX_SP_PARAMS])
    assert Message.decode(Message(Header(0, 1), (ok,)).encode()).payloads == (ok,)


def test_too_many_payloads() -> None:
    ok = Message(Header(0, 1), (Rand(b"x"),) * MAX_PAYLOADS)
    assert len(Message.decode(ok.encode()).payloads) == MAX_PAYLOADS
    bad = Message(Header(0, 1), (Rand(b"x"),) * (MAX_PAYLOADS + 1))
    with pytest.raises(LimitExceeded) as info:
        Message.decode(bad.encode())
    assert info.value.field == "next payload"


def test_message_longer_than_a_udp_datagram() -> None:
    header_len = len(Header(0, 1).encode(0))
    fits = Message(Header(0, 1), (Identity(0, bytes(MAX_MESSAGE_LEN - header_len - 4)),)).encode()
    assert len(fits) == MAX_MESSAGE_LEN == 65507
    assert Message.decode(fits).encode() == fits
    too_long = fits + b"\x00"
    with pytest.raises(LimitExceeded) as info:
        Message.decode(too_long)
    assert info.value.offset == 0
    with pytest.raises(LimitExceeded):
        envelope(too_long)


@pytest.mark.parametrize("data", ["not bytes", 12, None])
def test_non_bytes_input(data: object) -> None:
    with pytest.raises(MikeyDecodeError):
        Message.decode(data)  # type: ignore[arg-type]


# --- Key data ---------------------------------------------------------------------------------

KD = KeyData(KeyDataType.TEK, b"\x11" * 16)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", TruncatedPayload),
        (b"\x00\x40\x00\x00", UnsupportedValue),  # Type 4
        (b"\x00\x23\x00\x00", UnsupportedValue),  # KV 3
        (encode_key_data([KD]) + b"\x00", UnsupportedValue),  # trailing bytes
        (b"\x05" + encode_key_data([KD])[1:], UnsupportedValue),  # next payload 5
        (encode_key_data([KD] * (MAX_KEY_DATA + 1)), LimitExceeded),
        (b"\x00\x30\x00\x10" + bytes(16) + b"\x00\x0e" + bytes(3), TruncatedPayload),
    ],
    ids=["empty", "type4", "kv3", "trailing", "next5", "17-items", "short-salt"],
)
def test_decode_key_data_rejects(data: bytes, error: type[MikeyError]) -> None:
    with pytest.raises(error) as info:
        decode_key_data(data)
    assert info.value.offset is not None and info.value.field


def test_decode_key_data_accepts_sixteen() -> None:
    assert decode_key_data(encode_key_data([KD] * MAX_KEY_DATA)) == (KD,) * MAX_KEY_DATA


# --- authenticated but malformed content ---------------------------------------------------------


def _msk_payloads(*extra: object) -> list[object]:
    msg = Message.decode(MSK_PLAIN)
    return [*msg.payloads[:-1], *extra]


def _authentic_msk(plain: bytes, *, encr_alg: int = EncrAlg.AES_CM_128, extra: tuple = ()) -> bytes:
    header = Header(DataType.PSK_INIT, CSB, EmptyMap())
    return protect(
        header, _msk_payloads(*extra), MUK_BYTES, plain, counter=2, rand=RAND, encr_alg=encr_alg
    )


def _authentic_mtk(plain: bytes, *, encr_alg: int = EncrAlg.AES_CM_128) -> bytes:
    msg = Message.decode(MTK_DOWNLOAD)
    return protect(
        msg.header,
        msg.payloads[:-1],
        MSK_BYTES,
        plain,
        counter=3,
        rand=RAND,
        encr_alg=encr_alg,
    )


def _tgk(key: bytes = MSK_BYTES, kv: object = None, key_type: int = KeyDataType.TGK) -> bytes:
    kv = KvInterval(b"\x00\x01", b"\x00\x10") if kv is None else kv
    salt = SALT_BYTES if key_type in (1, 3) else None
    return encode_key_data([KeyData(key_type, key, salt, kv)])  # type: ignore[arg-type]


def test_protect_helper_builds_what_the_library_accepts() -> None:
    d = open_msk_message(envelope(_authentic_msk(_tgk())), MUK)
    assert (d.msk, d.valid_from, d.valid_to) == (MSK, MtkId(1), MtkId(16))


@pytest.mark.parametrize(
    ("plain", "encr_alg", "error"),
    [
        (_tgk(), EncrAlg.AES_KW_128, UnsupportedValue),
        (_tgk(), 7, UnsupportedValue),
        (
            encode_key_data([KeyData(0, MSK_BYTES, None, KvInterval(b"\0\1", b"\0\2"))] * 2),
            EncrAlg.AES_CM_128,
            ProfileViolation,
        ),
        (_tgk(key=MSK_BYTES[:15]), EncrAlg.AES_CM_128, ProfileViolation),
        (_tgk(kv=KvSpi(b"\x01" * 6)), EncrAlg.AES_CM_128, ProfileViolation),
        (_tgk(kv=KvInterval(b"\x00\x00\x01", b"\x00\x10")), EncrAlg.AES_CM_128, ProfileViolation),
        (_tgk(kv=KvInterval(b"\x00\x00", b"\x00\x10")), EncrAlg.AES_CM_128, ProfileViolation),
        (_tgk(kv=KvInterval(b"\x00\x10", b"\x00\x0f")), EncrAlg.AES_CM_128, ProfileViolation),
        (_tgk(key_type=KeyDataType.TEK), EncrAlg.AES_CM_128, ProfileViolation),
        (_tgk(key_type=KeyDataType.TEK_SALT), EncrAlg.AES_CM_128, ProfileViolation),
        (_tgk() + b"\x00", EncrAlg.AES_CM_128, UnsupportedValue),
        (b"", EncrAlg.AES_CM_128, TruncatedPayload),
    ],
    ids=[
        "aes-kw",
        "encr-7",
        "two-keys",
        "short-msk",
        "kv-spi",
        "vf-3-bytes",
        "vf-reserved",
        "vt-below-vf",
        "tek",
        "tek-salt",
        "trailing",
        "no-key-data",
    ],
)
def test_authenticated_but_malformed_msk_message(
    plain: bytes, encr_alg: int, error: type[MikeyError]
) -> None:
    env = envelope(_authentic_msk(plain, encr_alg=encr_alg))
    exc = only_mikey_errors(lambda: open_msk_message(env, MUK))
    assert isinstance(exc, error), exc


@pytest.mark.parametrize(
    ("plain", "error"),
    [
        (encode_key_data([KeyData(KeyDataType.TEK, MTK_BYTES[:8])]), ProfileViolation),
        (
            encode_key_data([KeyData(KeyDataType.TEK_SALT, MTK_BYTES, SALT_BYTES[:13])]),
            ProfileViolation,
        ),
        (encode_key_data([KeyData(KeyDataType.TEK, MTK_BYTES)] * 2), ProfileViolation),
    ],
    ids=["short-mtk", "short-salt", "two-keys"],
)
def test_authenticated_but_malformed_mtk_message(plain: bytes, error: type[MikeyError]) -> None:
    env = envelope(_authentic_mtk(plain))
    exc = only_mikey_errors(lambda: open_mtk_message(env, MSK))
    assert isinstance(exc, error), exc


@pytest.mark.parametrize(
    ("streaming", "key_type"),
    [(False, KeyDataType.TGK), (True, KeyDataType.TGK), (True, KeyDataType.TGK_SALT)],
    ids=["download-tgk", "streaming-tgk", "streaming-tgk-salt"],
)
def test_tgk_in_an_mtk_message_derives_the_tek(streaming: bool, key_type: int) -> None:
    # profile.md: a receiver that gets TGK / TGK+SALT derives the TEK (RFC 3830 §4.1.3).
    msg = Message.decode(MTK_STREAM if streaming else MTK_DOWNLOAD)
    salt = SALT_BYTES if key_type == KeyDataType.TGK_SALT else None
    plain = encode_key_data([KeyData(key_type, MTK_BYTES, salt)])
    counter = 2 if streaming else 3
    raw = protect(msg.header, msg.payloads[:-1], MSK_BYTES, plain, counter=counter, rand=RAND)
    d = open_mtk_message(envelope(raw), MSK)
    cs_id = profile.TGK_CS_ID_STREAMING if streaming else profile.TGK_CS_ID_DOWNLOAD
    assert d.mtk == Mtk(derive_tek(MTK_BYTES, cs_id, int(MSK_ID), RAND))
    assert d.mtk != Mtk(MTK_BYTES)
    if salt is not None:
        assert d.salt == SrtpSalt(salt)
    elif streaming:
        assert d.salt == SrtpSalt(derive_salt(MTK_BYTES, cs_id, int(MSK_ID), RAND))
    else:
        assert d.salt is None


def test_kemac_with_null_mac_is_never_accepted() -> None:
    # A KEMAC with MAC alg NULL carries no MAC at all: it must not pass as authenticated.
    msg = Message.decode(MSK_PLAIN)
    kemac = msg.payloads[-1]
    assert isinstance(kemac, Kemac)
    forged = Message(
        msg.header, (*msg.payloads[:-1], Kemac(kemac.encr_alg, kemac.encr_data, MacAlg.NULL, b""))
    ).encode()
    env = envelope(forged)
    assert env.kind is Kind.MSK
    with pytest.raises(ProfileViolation):
        open_msk_message(env, MUK)


def test_ack_with_null_verification_is_never_accepted() -> None:
    msg = Message.decode(ACK)
    forged = Message(msg.header, (*msg.payloads[:-1], Verification(MacAlg.NULL, b""))).encode()
    with pytest.raises(ProfileViolation):
        verify_ack(envelope(forged), envelope(MSK_ACK), MUK)


def test_ack_for_another_msk_message_is_rejected() -> None:
    other = msk_message(counter=9, ack=True)
    with pytest.raises(ProfileViolation):
        verify_ack(envelope(ACK), envelope(other), MUK)


@settings(max_examples=150, deadline=None)
@given(
    plain=st.binary(max_size=120),
    encr_alg=st.sampled_from([EncrAlg.NULL, EncrAlg.AES_CM_128, EncrAlg.AES_KW_128, 9]),
)
def test_authenticated_arbitrary_key_data_raises_only_mikey_errors(
    plain: bytes, encr_alg: int
) -> None:
    env_msk = envelope(_authentic_msk(plain, encr_alg=encr_alg))
    only_mikey_errors(lambda: open_msk_message(env_msk, MUK))
    env_mtk = envelope(_authentic_mtk(plain, encr_alg=encr_alg))
    only_mikey_errors(lambda: open_mtk_message(env_mtk, MSK))


@settings(max_examples=100, deadline=None)
@given(
    prot_type=st.integers(0, 255),
    params=st.lists(st.builds(PolicyParam, st.integers(0, 30), st.binary(max_size=6)), max_size=25),
)
def test_authenticated_arbitrary_security_policy(prot_type: int, params: list[PolicyParam]) -> None:
    sp = SecurityPolicy(0, prot_type, tuple(params))
    env = envelope(_authentic_msk(_tgk(), extra=(sp,)))
    exc = only_mikey_errors(lambda: open_msk_message(env, MUK))
    assert (exc is None) == (prot_type == 0)


# --- key material never in text ------------------------------------------------------------------


def test_reprs_never_show_key_material() -> None:
    env_msk = envelope(MSK_ACK)
    msk_d = open_msk_message(env_msk, MUK)
    env_mtk = envelope(MTK_STREAM)
    mtk_d = open_mtk_message(env_mtk, MSK)
    pull = open_solicited_pull(envelope(PULL), MUK)
    keys = message_keys(MUK_BYTES, CSB, RAND)
    key_data = decode_key_data(
        encode_key_data(
            [
                KeyData(KeyDataType.TEK_SALT, MTK_BYTES, SALT_BYTES, KvSpi(b"\x01" * 6)),
                KeyData(KeyDataType.TGK, MSK_BYTES, None, KvInterval(b"\0\1", b"\0\2")),
            ]
        )
    )
    kemac = Kemac(EncrAlg.NULL, encode_key_data(key_data), MacAlg.HMAC_SHA1_160, bytes(20))
    v = Verifier()
    v.add_muk(MUK_ID, MUK)
    accepted = v.receive(MSK_ACK)
    objects: list[object] = [
        env_msk,
        msk_d,
        env_mtk,
        mtk_d,
        pull,
        keys,
        kemac,
        *key_data,
        accepted,
        env_msk.message,
        Message.decode(MTK_STREAM),
    ]
    for obj in objects:
        for text in (repr(obj), str(obj)):
            assert_no_secret(text)
            if isinstance(obj, MessageKeys):
                for k in (obj.encr_key, obj.auth_key, obj.salt_key):
                    assert k.hex() not in text.lower()


def test_errors_with_the_wrong_key_never_show_key_material() -> None:
    for raw, opener in (
        (MSK_ACK, lambda e: open_msk_message(e, MUK2)),
        (PULL, lambda e: open_solicited_pull(e, MUK2)),
        (MTK_STREAM, lambda e: open_mtk_message(e, Msk(MUK_BYTES))),
    ):
        env = envelope(raw)
        exc = only_mikey_errors(lambda env=env, opener=opener: opener(env))
        assert isinstance(exc, MacMismatch)


# --- regressions: bugs found by these tests, fixed in broadcast/ --------------------------------


@pytest.mark.parametrize("which", [3, 4], ids=["IDi", "IDr"])
def test_empty_identity_into_verifier_is_a_mikey_error(which: int) -> None:
    msg = Message.decode(MSK_PLAIN)
    payloads = list(msg.payloads)
    assert isinstance(payloads[which], Identity)
    payloads[which] = Identity(payloads[which].id_type, b"")  # type: ignore[union-attr]
    data = Message(msg.header, tuple(payloads)).encode()  # unauthenticated: anyone can send it
    with pytest.raises(MikeyError):
        Verifier().receive(data)


@pytest.mark.parametrize(
    ("csb_id", "policy"),
    [
        (1 << 32, None),
        (-1, None),
        (CSB, SrtpPolicy(roc_transmission_rate=0x10000)),
        (CSB, SrtpPolicy(encr_alg=256)),
    ],
    ids=["csb-2^32", "csb-negative", "roc-rate-2^16", "encr-alg-256"],
)
def test_builder_rejects_out_of_range_values_with_mikey_encode_error(
    csb_id: int, policy: SrtpPolicy | None
) -> None:
    with pytest.raises(MikeyEncodeError):
        msk_message(csb_id=csb_id, policy=policy)


def test_non_rcc_policy_round_trips() -> None:
    policy = SrtpPolicy(srtp_auth_alg=SrtpAuthAlg.HMAC_SHA1)
    assert SrtpPolicy.from_sp(policy.to_sp()) == policy


def test_opaque_general_extension_is_not_mistaken_for_key_id() -> None:
    ext = GeneralExtension(GeneralExtType.VENDOR_ID, b"\x00\x03\x00\xf1\x10")
    decoded = Message.decode(Message(Header(0, 1), (ext,)).encode()).payloads[0]
    assert decoded == ext and decoded.key_ids == ()  # type: ignore[union-attr]


def test_next_payload_codes_are_the_rfc_ones() -> None:
    assert [
        int(p)
        for p in (
            PayloadType.KEMAC,
            PayloadType.T,
            PayloadType.ID,
            PayloadType.V,
            PayloadType.SP,
            PayloadType.RAND,
            PayloadType.ERR,
            PayloadType.KEY_DATA,
            PayloadType.GENERAL_EXT,
        )
    ] == [1, 5, 6, 9, 10, 11, 12, 20, 21]
