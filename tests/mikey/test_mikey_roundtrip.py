"""Round trips under hypothesis: payloads, messages, the MBMS messages and the SRTP policy."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broadcast import profile
from broadcast.proto.keys import KeyDomainId, Msk, MskId, Mtk, MtkId, Muk, MukId, SrtpSalt, srtp_mki
from broadcast.proto.mikey import (
    Kind,
    MacMismatch,
    SrtpPolicy,
    build_ack,
    build_msk_message,
    build_mtk_message,
    build_solicited_pull,
    envelope,
    open_msk_message,
    open_mtk_message,
    open_solicited_pull,
    verify_ack,
)
from broadcast.proto.mikey.constants import (
    GeneralExtType,
    KeyDataType,
    ProtType,
    SrtpAuthAlg,
    SrtpEncrAlg,
    SrtpParam,
    TsType,
)
from broadcast.proto.mikey.message import MAX_PAYLOADS, Message
from broadcast.proto.mikey.payloads import (
    MAX_KEY_DATA,
    MAX_KEY_ID_ENTRIES,
    Certificate,
    EmptyMap,
    ErrorPayload,
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
    SrtpCs,
    SrtpIdMap,
    Timestamp,
    Verification,
    decode_key_data,
    encode_key_data,
)
from broadcast.proto.mikey.reader import Reader
from broadcast.proto.mikey.srtp_policy import RCC_MODES

SETTINGS = settings(max_examples=300, deadline=None)
MBMS_SETTINGS = settings(max_examples=100, deadline=None)

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFF_FFFF)
u64 = st.integers(0, 0xFFFF_FFFF_FFFF_FFFF)
small = st.binary(max_size=40)

# --- payload strategies ---------------------------------------------------------------------

timestamps = st.one_of(
    st.builds(Timestamp, st.just(TsType.NTP_UTC), u64),
    st.builds(Timestamp, st.just(TsType.NTP), u64),
    st.builds(Timestamp, st.just(TsType.COUNTER), u32),
)
rands = st.builds(Rand, st.binary(max_size=255))
identities = st.builds(Identity, u8, st.binary(max_size=300))
certificates = st.builds(Certificate, u8, st.binary(max_size=300))
kemacs = st.one_of(
    st.builds(Kemac, u8, st.binary(max_size=200), st.just(0), st.just(b"")),
    st.builds(Kemac, u8, st.binary(max_size=200), st.just(1), st.binary(min_size=20, max_size=20)),
)
verifications = st.one_of(
    st.builds(Verification, st.just(0), st.just(b"")),
    st.builds(Verification, st.just(1), st.binary(min_size=20, max_size=20)),
)
errors = st.builds(ErrorPayload, u8)
policy_params = st.builds(PolicyParam, u8, st.binary(max_size=40))
security_policies = st.builds(
    SecurityPolicy, u8, u8, st.lists(policy_params, max_size=12).map(tuple)
)
key_id_entries = st.builds(KeyIdEntry, u8, st.binary(max_size=255))
key_id_exts = st.lists(key_id_entries, max_size=MAX_KEY_ID_ENTRIES).map(
    lambda es: GeneralExtension.key_id(*es)
)
opaque_exts = st.builds(
    GeneralExtension, u8.filter(lambda t: t != GeneralExtType.KEY_ID), st.binary(max_size=300)
)
ext_payloads = st.one_of(key_id_exts, opaque_exts)

non_mac_payloads = st.one_of(
    timestamps,
    rands,
    identities,
    certificates,
    errors,
    security_policies,
    ext_payloads,
)
all_payloads = st.one_of(non_mac_payloads, kemacs, verifications)

srtp_cs = st.builds(SrtpCs, u8, u32, u32)
cs_maps = st.one_of(
    st.builds(SrtpIdMap, st.lists(srtp_cs, max_size=6).map(tuple)),
    st.builds(EmptyMap, u8),
)
headers = st.builds(
    Header,
    data_type=u8,
    csb_id=u32,
    cs_map=cs_maps,
    v=st.booleans(),
    prf_func=st.integers(0, 0x7F),
)


@st.composite
def key_data(draw: st.DrawFn) -> KeyData:
    key_type = draw(st.sampled_from(list(KeyDataType)))
    salt = draw(st.binary(max_size=30)) if key_type in (1, 3) else None
    kv = draw(
        st.one_of(
            st.none(),
            st.builds(KvSpi, st.binary(max_size=255)),
            st.builds(KvInterval, st.binary(max_size=255), st.binary(max_size=255)),
        )
    )
    return KeyData(key_type, draw(st.binary(max_size=64)), salt, kv)


# --- payload round trips --------------------------------------------------------------------


@SETTINGS
@given(all_payloads)
def test_every_payload_body_round_trips(payload: object) -> None:
    body = payload.encode_body()  # type: ignore[attr-defined]
    r = Reader(body)
    decoded = type(payload).decode_body(r)  # type: ignore[attr-defined]
    assert decoded == payload
    assert r.remaining == 0
    assert decoded.encode_body() == body


@pytest.mark.parametrize(
    ("ts", "wire"),
    [
        (Timestamp(TsType.NTP_UTC, 0xC8E350EA00000000), "00c8e350ea00000000"),
        (Timestamp(TsType.NTP, 1), "010000000000000001"),
        (Timestamp.counter(0xFFFFFFFF), "02ffffffff"),
    ],
)
def test_timestamp_wire_format_per_type(ts: Timestamp, wire: str) -> None:
    assert ts.encode_body().hex() == wire
    assert Timestamp.decode_body(Reader(bytes.fromhex(wire))) == ts


@SETTINGS
@given(st.lists(key_data(), min_size=1, max_size=MAX_KEY_DATA))
def test_key_data_chains_round_trip(items: list[KeyData]) -> None:
    raw = encode_key_data(items)
    assert decode_key_data(raw) == tuple(items)
    # Each sub-payload names the next one (20) and the last one says Last (0).
    assert raw[0] == (20 if len(items) > 1 else 0)


@pytest.mark.parametrize("key_type", list(KeyDataType))
@pytest.mark.parametrize(
    "kv", [None, KvSpi(b"\x01\x02\x03\x04\x05\x06"), KvInterval(b"\0\1", b"\0\2")]
)
def test_key_data_every_type_and_kv_combination(
    key_type: int, kv: KvSpi | KvInterval | None
) -> None:
    salt = b"\x5a" * 14 if key_type in (KeyDataType.TGK_SALT, KeyDataType.TEK_SALT) else None
    kd = KeyData(key_type, b"\xa5" * 16, salt, kv)
    raw = encode_key_data([kd, kd])
    assert raw[1] == (key_type << 4) | kd.kv_type
    assert decode_key_data(raw) == (kd, kd)


# --- message round trips --------------------------------------------------------------------


@st.composite
def messages(draw: st.DrawFn) -> Message:
    payloads = draw(st.lists(non_mac_payloads, max_size=MAX_PAYLOADS - 1))
    tail = draw(st.one_of(st.none(), kemacs, verifications))
    if tail is not None:
        payloads.append(tail)
    return Message(draw(headers), tuple(payloads))


@SETTINGS
@given(messages())
def test_message_round_trips(msg: Message) -> None:
    raw = msg.encode()
    decoded = Message.decode(raw)
    assert decoded == msg
    assert decoded.raw == raw
    assert decoded.encode() == raw
    tail = msg.payloads[-1] if msg.payloads else None
    if isinstance(tail, Kemac):
        assert decoded.auth_end == len(raw) - len(tail.mac)
    elif isinstance(tail, Verification):
        assert decoded.auth_end == len(raw) - len(tail.data)
    else:
        assert decoded.auth_end is None


def test_message_with_no_payload_round_trips() -> None:
    msg = Message(Header(0, 1), ())
    raw = msg.encode()
    assert raw[2] == 0  # next payload = Last
    assert Message.decode(raw) == msg


# --- MBMS messages: build -> envelope -> open -----------------------------------------------

keys16 = st.binary(min_size=16, max_size=16)
rand16 = st.binary(min_size=16, max_size=16)
counters = st.integers(1, profile.COUNTER_MAX)
mtk_ids = st.integers(profile.MTK_ID_MIN, profile.MTK_ID_MAX).map(MtkId)
real_msk_ids = st.builds(MskId, u16, st.integers(1, 0xFFFF))
kdids = st.binary(min_size=3, max_size=3).map(KeyDomainId)
muk_ids = st.builds(MukId, st.binary(min_size=1, max_size=40), st.binary(min_size=1, max_size=40))


@st.composite
def srtp_policies(draw: st.DrawFn, *, rcc_only: bool = False) -> SrtpPolicy:
    rcc = rcc_only or draw(st.booleans())
    if rcc:
        auth = draw(st.sampled_from(list(RCC_MODES.values())))
    else:
        auth = draw(st.sampled_from([SrtpAuthAlg.NULL, SrtpAuthAlg.HMAC_SHA1]))
    rate = draw(u16)
    return SrtpPolicy(
        encr_alg=draw(st.sampled_from(list(SrtpEncrAlg))),
        session_encr_key_len=draw(u8),
        session_salt_key_len=draw(u8),
        srtp_auth_alg=auth,
        srtcp_auth_alg=draw(st.sampled_from([SrtpAuthAlg.NULL, SrtpAuthAlg.HMAC_SHA1])),
        session_auth_key_len=draw(u8),
        srtp_auth_tag_len=draw(u8),
        srtcp_auth_tag_len=draw(u8),
        key_derivation_rate=draw(u32),
        roc_transmission_rate=rate,
        srtp_encryption=draw(st.booleans()),
        srtcp_encryption=draw(st.booleans()),
        srtp_authentication=draw(st.booleans()),
    )


@MBMS_SETTINGS
@given(
    muk=keys16,
    muk_id=muk_ids,
    kdid=kdids,
    msk_id=real_msk_ids,
    msk=keys16,
    bounds=st.tuples(mtk_ids, mtk_ids).map(sorted),
    counter=counters,
    csb_id=u32,
    rand=rand16,
    ack=st.booleans(),
    policy=st.one_of(st.none(), srtp_policies()),
)
def test_msk_message_round_trip(
    muk: bytes,
    muk_id: MukId,
    kdid: KeyDomainId,
    msk_id: MskId,
    msk: bytes,
    bounds: list[MtkId],
    counter: int,
    csb_id: int,
    rand: bytes,
    ack: bool,
    policy: SrtpPolicy | None,
) -> None:
    vf, vt = bounds
    raw = build_msk_message(
        muk=Muk(muk),
        muk_id=muk_id,
        key_domain_id=kdid,
        msk_id=msk_id,
        msk=Msk(msk),
        valid_from=vf,
        valid_to=vt,
        counter=counter,
        csb_id=csb_id,
        rand=rand,
        ack=ack,
        srtp_policy=policy,
    )
    env = envelope(raw)
    assert env.kind is Kind.MSK
    assert (env.key_domain_id, env.msk_id, env.mtk_id) == (kdid, msk_id, None)
    assert (env.counter, env.csb_id, env.rand) == (counter, csb_id, rand)
    assert (env.idi, env.idr, env.muk_id) == (muk_id.idi, muk_id.idr, muk_id)
    assert env.ack_requested is ack
    cs_map = env.message.header.cs_map
    assert cs_map == (SrtpIdMap() if policy is not None else EmptyMap())

    delivery = open_msk_message(env, Muk(muk))
    assert delivery.msk == Msk(msk)
    assert (delivery.valid_from, delivery.valid_to) == (vf, vt)
    assert delivery.srtp_policy == policy
    assert delivery.envelope is env

    ack_raw = build_ack(env, Muk(muk))
    ack_env = envelope(ack_raw)
    assert ack_env.kind is Kind.ACK
    assert (ack_env.csb_id, ack_env.counter, ack_env.idr) == (csb_id, counter, muk_id.idr)
    assert (ack_env.key_domain_id, ack_env.msk_id) == (kdid, msk_id)
    assert ack_env.message.header.cs_map == cs_map
    verify_ack(ack_env, env, Muk(muk))
    other = bytes(b ^ 0xFF for b in muk)
    with pytest.raises(MacMismatch):
        verify_ack(ack_env, env, Muk(other))


@MBMS_SETTINGS
@given(
    msk=keys16,
    kdid=kdids,
    msk_id=real_msk_ids,
    mtk_id=mtk_ids,
    mtk=keys16,
    counter=counters,
    rand=rand16,
    salt=st.binary(min_size=14, max_size=14),
    sessions=st.lists(srtp_cs, max_size=8).map(tuple),
)
def test_streaming_mtk_message_round_trip(
    msk: bytes,
    kdid: KeyDomainId,
    msk_id: MskId,
    mtk_id: MtkId,
    mtk: bytes,
    counter: int,
    rand: bytes,
    salt: bytes,
    sessions: tuple[SrtpCs, ...],
) -> None:
    raw = build_mtk_message(
        msk=Msk(msk),
        key_domain_id=kdid,
        msk_id=msk_id,
        mtk_id=mtk_id,
        mtk=Mtk(mtk),
        counter=counter,
        rand=rand,
        salt=SrtpSalt(salt),
        srtp_sessions=sessions,
    )
    env = envelope(raw)
    assert env.kind is Kind.MTK
    assert (env.key_domain_id, env.msk_id, env.mtk_id) == (kdid, msk_id, mtk_id)
    assert (env.counter, env.csb_id, env.rand) == (counter, int(msk_id), rand)
    assert (env.idi, env.idr, env.muk_id, env.ack_requested) == (None, None, None, False)
    d = open_mtk_message(env, Msk(msk))
    assert d.mtk == Mtk(mtk)
    assert d.salt == SrtpSalt(salt)
    assert d.mki == srtp_mki(msk_id, mtk_id)
    assert d.srtp_sessions == sessions


@MBMS_SETTINGS
@given(
    msk=keys16,
    kdid=kdids,
    msk_id=real_msk_ids,
    mtk_id=mtk_ids,
    mtk=keys16,
    counter=counters,
    rand=rand16,
)
def test_download_mtk_message_round_trip(
    msk: bytes,
    kdid: KeyDomainId,
    msk_id: MskId,
    mtk_id: MtkId,
    mtk: bytes,
    counter: int,
    rand: bytes,
) -> None:
    raw = build_mtk_message(
        msk=Msk(msk),
        key_domain_id=kdid,
        msk_id=msk_id,
        mtk_id=mtk_id,
        mtk=Mtk(mtk),
        counter=counter,
        rand=rand,
    )
    env = envelope(raw)
    assert env.kind is Kind.MTK
    assert (env.key_domain_id, env.msk_id, env.mtk_id) == (kdid, msk_id, mtk_id)
    assert (env.counter, env.csb_id, env.rand) == (counter, int(msk_id), rand)
    assert env.message.header.cs_map == EmptyMap()
    d = open_mtk_message(env, Msk(msk))
    assert (d.mtk, d.salt, d.mki, d.srtp_sessions) == (Mtk(mtk), None, None, ())


@MBMS_SETTINGS
@given(
    muk=keys16,
    muk_id=muk_ids,
    kdid=kdids,
    key_group=u16,
    counter=counters,
    csb_id=u32,
    rand=rand16,
)
def test_solicited_pull_round_trip(
    muk: bytes,
    muk_id: MukId,
    kdid: KeyDomainId,
    key_group: int,
    counter: int,
    csb_id: int,
    rand: bytes,
) -> None:
    raw = build_solicited_pull(
        muk=Muk(muk),
        muk_id=muk_id,
        key_domain_id=kdid,
        key_group=key_group,
        counter=counter,
        csb_id=csb_id,
        rand=rand,
    )
    env = envelope(raw)
    assert env.kind is Kind.SOLICITED_PULL
    assert (env.key_domain_id, env.msk_id, env.mtk_id) == (kdid, MskId.current(key_group), None)
    assert (env.counter, env.csb_id, env.rand, env.muk_id) == (counter, csb_id, rand, muk_id)
    kemac = env.message.first(Kemac)
    assert kemac is not None and kemac.encr_data == b""
    assert open_solicited_pull(env, Muk(muk)).key_group == key_group


# --- SRTP policy ------------------------------------------------------------------------------


@SETTINGS
@given(srtp_policies(), u8)
def test_srtp_policy_sp_round_trip(policy: SrtpPolicy, policy_no: int) -> None:
    sp = policy.to_sp(policy_no)
    assert (sp.policy_no, sp.prot_type) == (policy_no, ProtType.SRTP)
    # Through the wire as well.
    decoded = SecurityPolicy.decode_body(Reader(sp.encode_body()))
    assert decoded == sp
    assert SrtpPolicy.from_sp(decoded) == policy


@pytest.mark.parametrize("mode", sorted(RCC_MODES))
@pytest.mark.parametrize("rate", [1, 16, 0xFFFF])
def test_srtp_policy_rcc_modes_and_roc_rate(mode: str, rate: int) -> None:
    policy = SrtpPolicy(srtp_auth_alg=RCC_MODES[mode], roc_transmission_rate=rate)
    assert policy.uses_rcc
    sp = policy.to_sp()
    assert sp.get_int(SrtpParam.SRTP_AUTH_ALG) == RCC_MODES[mode]
    # The general auth alg states the non-RCC transform (RFC 4771 types 14/15 override it).
    assert sp.get_int(SrtpParam.AUTH_ALG) == SrtpAuthAlg.HMAC_SHA1
    assert sp.get(SrtpParam.ROC_TRANSMISSION_RATE) == rate.to_bytes(2, "big")
    assert SrtpPolicy.from_sp(sp) == policy


def test_srtp_policy_defaults_follow_the_profile() -> None:
    policy = SrtpPolicy()
    assert policy.srtp_auth_alg == RCC_MODES[profile.RCC_DEFAULT_MODE] == SrtpAuthAlg.RCCM2
    assert policy.roc_transmission_rate == profile.RCC_DEFAULT_RATE == 16
    sp = policy.to_sp()
    assert sp.policy_no == profile.SRTP_POLICY_NO
    assert sp.get(SrtpParam.KEY_DERIVATION_RATE) == bytes(4)
    assert sp.get(SrtpParam.AUTH_TAG_LEN) == b"\x0a"


def test_srtp_policy_always_carries_the_roc_rate() -> None:
    sp = SrtpPolicy(srtp_auth_alg=SrtpAuthAlg.HMAC_SHA1, roc_transmission_rate=7).to_sp()
    assert sp.get(SrtpParam.ROC_TRANSMISSION_RATE) == b"\x00\x07"
    assert SrtpPolicy.from_sp(sp).roc_transmission_rate == 7


def test_srtp_policy_from_sp_applies_rfc_defaults() -> None:
    policy = SrtpPolicy.from_sp(SecurityPolicy(0, ProtType.SRTP, ()))
    assert policy.srtp_auth_alg == SrtpAuthAlg.HMAC_SHA1
    assert policy.roc_transmission_rate == 1  # RFC 4771 default R
    assert (policy.srtp_auth_tag_len, policy.srtcp_auth_tag_len) == (10, 10)
