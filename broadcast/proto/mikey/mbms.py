"""The four MBMS MIKEY messages: builders and verifying parsers (TS 33.246 6.3.2-6.3.3, profile.md).

- MSK delivery (push or reply to a request): HDR · EXT(KDID, MSK ID) · T · RAND · IDi · IDr · {SP}
  · KEMAC, inkey = MUK, V = 1 when a MIKEY ACK is wanted.
- MTK delivery: HDR · EXT(KDID, MSK ID, MTK ID) · T · RAND · KEMAC, inkey = MSK, never V.
- BM-SC solicited pull: HDR · EXT(KDID, MSK ID with Key Number 0) · T · RAND · IDi · IDr ·
  KEMAC(encr data len 0, MAC only), inkey = MUK.
- MIKEY ACK: HDR(PSK verify, same CSB ID and map) · EXT · T (as received) · IDr · V.

``envelope(data)`` decodes a message and reads its public fields without any key so a receiver
can pick the key; ``open_*`` then verify the MAC (constant-time) and decrypt.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from broadcast import profile
from broadcast.proto.keys.ids import KeyDomainId, MskId, MtkId, MukId, srtp_mki
from broadcast.proto.keys.material import Msk, Mtk, Muk, SrtpSalt
from broadcast.proto.mikey.constants import (
    DataType,
    EncrAlg,
    GeneralExtType,
    KeyDataType,
    KeyIdType,
    MacAlg,
    TsType,
)
from broadcast.proto.mikey.errors import (
    MacMismatch,
    MikeyEncodeError,
    MikeyError,
    ProfileViolation,
    UnsupportedValue,
)
from broadcast.proto.mikey.message import Message
from broadcast.proto.mikey.payloads import (
    CsIdMap,
    EmptyMap,
    GeneralExtension,
    Header,
    Identity,
    Kemac,
    KeyData,
    KeyIdEntry,
    KvInterval,
    KvSpi,
    Payload,
    Rand,
    SecurityPolicy,
    SrtpCs,
    SrtpIdMap,
    Timestamp,
    Verification,
    decode_key_data,
    encode_key_data,
)
from broadcast.proto.mikey.prf import MessageKeys, derive_salt, derive_tek, message_keys
from broadcast.proto.mikey.srtp_policy import SrtpPolicy
from broadcast.proto.mikey.transforms import MAC_LEN, aes_cm, hmac_sha1_160, kemac_iv, mac_equal


class Kind(enum.Enum):
    MSK = "MSK delivery"
    MTK = "MTK delivery"
    SOLICITED_PULL = "BM-SC solicited pull"
    ACK = "MIKEY ACK"


@dataclass(frozen=True, slots=True)
class Envelope:
    """What anyone can read from an MBMS MIKEY message without a key."""

    kind: Kind
    message: Message
    key_domain_id: KeyDomainId
    msk_id: MskId
    mtk_id: MtkId | None
    counter: int
    csb_id: int
    rand: bytes | None
    idi: bytes | None
    idr: bytes | None
    ack_requested: bool

    @property
    def muk_id(self) -> MukId | None:
        if self.idi is None or self.idr is None:
            return None
        return MukId(self.idi, self.idr)


@dataclass(frozen=True, slots=True)
class MskDelivery:
    """A verified MSK message. ``valid_from``/``valid_to`` bound the MTK IDs under this MSK."""

    envelope: Envelope
    msk: Msk
    valid_from: MtkId
    valid_to: MtkId
    srtp_policy: SrtpPolicy | None


@dataclass(frozen=True, slots=True)
class MtkDelivery:
    """A verified MTK message; ``salt`` is present for streaming (SRTP master salt)."""

    envelope: Envelope
    mtk: Mtk
    salt: SrtpSalt | None
    mki: bytes | None
    srtp_sessions: tuple[SrtpCs, ...]


@dataclass(frozen=True, slots=True)
class SolicitedPull:
    """A verified solicited pull: the UE shall request the current MSK of ``key_group``."""

    envelope: Envelope

    @property
    def key_group(self) -> int:
        return self.envelope.msk_id.key_group


# --- building -----------------------------------------------------------------------------------


def _key_id_ext(kdid: KeyDomainId, msk_id: MskId, mtk_id: MtkId | None = None) -> GeneralExtension:
    entries = [
        KeyIdEntry(KeyIdType.KEY_DOMAIN_ID, bytes(kdid)),
        KeyIdEntry(KeyIdType.MSK_ID, bytes(msk_id)),
    ]
    if mtk_id is not None:
        entries.append(KeyIdEntry(KeyIdType.MTK_ID, bytes(mtk_id)))
    return GeneralExtension.key_id(*entries)


def _check_counter(counter: int) -> None:
    if not 0 < counter <= profile.COUNTER_MAX:
        raise ProfileViolation(f"COUNTER must be 1..2^32-1, got {counter}", field="T")


def _check_csb_id(csb_id: int) -> None:
    if not isinstance(csb_id, int) or not 0 <= csb_id <= 0xFFFF_FFFF:
        raise MikeyEncodeError(f"CSB ID must be 32 bits, got {csb_id!r}", field="HDR CSB ID")


def _check_rand(rand: bytes) -> None:
    if len(rand) != profile.RAND_LEN:
        raise ProfileViolation(f"RAND must be {profile.RAND_LEN} bytes", field="RAND")


def _protect(
    header: Header, payloads: list[Payload], keys: MessageKeys, key_data: bytes, counter: int
) -> bytes:
    """Append the KEMAC (AES-CM-128 over ``key_data``, HMAC-SHA-1-160 over all) and encode."""
    encr = aes_cm(keys.encr_key, kemac_iv(keys.salt_key, header.csb_id, counter), key_data)
    kemac = Kemac(EncrAlg.AES_CM_128, encr, MacAlg.HMAC_SHA1_160, bytes(MAC_LEN))
    unsigned = Message(header, (*payloads, kemac)).encode()
    body = unsigned[:-MAC_LEN]
    return body + hmac_sha1_160(keys.auth_key, body)


def build_msk_message(
    *,
    muk: Muk,
    muk_id: MukId,
    key_domain_id: KeyDomainId,
    msk_id: MskId,
    msk: Msk,
    valid_from: MtkId,
    valid_to: MtkId,
    counter: int,
    csb_id: int,
    rand: bytes,
    ack: bool,
    srtp_policy: SrtpPolicy | None = None,
) -> bytes:
    """MSK delivery message (profile.md "Payload order"; TS 33.246 6.3.2.3.1)."""
    if not isinstance(muk, Muk) or not isinstance(msk, Msk):
        raise ProfileViolation("an MSK message takes a Muk and an Msk", field="KEMAC")
    if msk_id.is_current_alias:
        raise ProfileViolation("an MSK message names a real Key Number, not 0", field="MSK ID")
    if valid_to < valid_from:
        raise ProfileViolation("MSK validity: VT below VF", field="KV")
    _check_counter(counter)
    _check_csb_id(csb_id)
    _check_rand(rand)
    cs_map: CsIdMap = SrtpIdMap() if srtp_policy is not None else EmptyMap()
    header = Header(DataType.PSK_INIT, csb_id, cs_map, v=ack, prf_func=profile.PRF_FUNC)
    payloads: list[Payload] = [
        _key_id_ext(key_domain_id, msk_id),
        Timestamp.counter(counter),
        Rand(rand),
        Identity(profile.IDI_TYPE, muk_id.idi),
        Identity(profile.IDR_TYPE, muk_id.idr),
    ]
    if srtp_policy is not None:
        payloads.append(srtp_policy.to_sp())
    key_data = encode_key_data(
        [KeyData(KeyDataType.TGK, msk.secret, None, KvInterval(bytes(valid_from), bytes(valid_to)))]
    )
    keys = message_keys(muk.secret, csb_id, rand)
    return _protect(header, payloads, keys, key_data, counter)


def build_mtk_message(
    *,
    msk: Msk,
    key_domain_id: KeyDomainId,
    msk_id: MskId,
    mtk_id: MtkId,
    mtk: Mtk,
    counter: int,
    rand: bytes,
    salt: SrtpSalt | None = None,
    srtp_sessions: tuple[SrtpCs, ...] = (),
) -> bytes:
    """MTK delivery message: streaming when ``salt`` is given (TEK+SALT, KV SPI = MKI, SRTP-ID
    map with the streams' ROCs), download otherwise (TEK, KV null, empty map). CSB ID = MSK ID."""
    if not isinstance(msk, Msk) or not isinstance(mtk, Mtk):
        raise ProfileViolation("an MTK message takes an Msk and an Mtk", field="KEMAC")
    if msk_id.is_current_alias:
        raise ProfileViolation("an MTK message names a real MSK Key Number", field="MSK ID")
    _check_counter(counter)
    _check_rand(rand)
    csb_id = int(msk_id)
    key: KeyData
    cs_map: CsIdMap
    if salt is not None:
        cs_map = SrtpIdMap(srtp_sessions)
        key = KeyData(
            KeyDataType.TEK_SALT, mtk.secret, salt.secret, KvSpi(srtp_mki(msk_id, mtk_id))
        )
    else:
        if srtp_sessions:
            raise ProfileViolation("download MTK messages carry no SRTP sessions", field="HDR")
        cs_map = EmptyMap()
        key = KeyData(KeyDataType.TEK, mtk.secret)
    header = Header(DataType.PSK_INIT, csb_id, cs_map, v=False, prf_func=profile.PRF_FUNC)
    payloads: list[Payload] = [
        _key_id_ext(key_domain_id, msk_id, mtk_id),
        Timestamp.counter(counter),
        Rand(rand),
    ]
    keys = message_keys(msk.secret, csb_id, rand)
    return _protect(header, payloads, keys, encode_key_data([key]), counter)


def build_solicited_pull(
    *,
    muk: Muk,
    muk_id: MukId,
    key_domain_id: KeyDomainId,
    key_group: int,
    counter: int,
    csb_id: int,
    rand: bytes,
) -> bytes:
    """BM-SC solicited pull (TS 33.246 6.3.2.2.4): Key Number 0, KEMAC with no key, MAC only."""
    if not isinstance(muk, Muk):
        raise ProfileViolation("a solicited pull is protected with a Muk", field="KEMAC")
    _check_counter(counter)
    _check_csb_id(csb_id)
    _check_rand(rand)
    header = Header(DataType.PSK_INIT, csb_id, EmptyMap(), v=False, prf_func=profile.PRF_FUNC)
    payloads: list[Payload] = [
        _key_id_ext(key_domain_id, MskId.current(key_group)),
        Timestamp.counter(counter),
        Rand(rand),
        Identity(profile.IDI_TYPE, muk_id.idi),
        Identity(profile.IDR_TYPE, muk_id.idr),
    ]
    keys = message_keys(muk.secret, csb_id, rand)
    return _protect(header, payloads, keys, b"", counter)


def _ack_mac_input(ack_body: bytes, idi: bytes, idr: bytes, ts: Timestamp) -> bytes:
    """Verification MAC input: message || Identity_i || Identity_r || Timestamp (§5.2)."""
    return ack_body + idi + idr + ts.value_bytes


def build_ack(msk_message: Envelope, muk: Muk) -> bytes:
    """MIKEY ACK for a received MSK message (RFC 3830 §5.2, §6.9; profile.md)."""
    if msk_message.kind is not Kind.MSK or msk_message.idi is None or msk_message.idr is None:
        raise ProfileViolation("only an MSK message is acknowledged", field="HDR")
    if msk_message.rand is None:
        raise ProfileViolation("the MSK message has no RAND", field="RAND")
    received = msk_message.message
    ext = received.first(GeneralExtension)
    ts = received.first(Timestamp)
    assert ext is not None and ts is not None  # guaranteed by envelope()
    header = Header(
        DataType.PSK_VERIFY,
        received.header.csb_id,
        received.header.cs_map,
        v=False,
        prf_func=received.header.prf_func,
    )
    placeholder = Verification(MacAlg.HMAC_SHA1_160, bytes(MAC_LEN))
    unsigned = Message(
        header, (ext, ts, Identity(profile.IDR_TYPE, msk_message.idr), placeholder)
    ).encode()
    body = unsigned[:-MAC_LEN]
    keys = message_keys(muk.secret, received.header.csb_id, msk_message.rand)
    return body + hmac_sha1_160(
        keys.auth_key, _ack_mac_input(body, msk_message.idi, msk_message.idr, ts)
    )


# --- parsing ------------------------------------------------------------------------------------


def envelope(data: bytes) -> Envelope:
    """Decode ``data`` and classify it as one of the four MBMS messages (no key needed)."""
    msg = Message.decode(data)
    ext = next(
        (
            e
            for e in msg.all(GeneralExtension)
            if e.ext_type == GeneralExtType.KEY_ID and e.msk_id is not None
        ),
        None,
    )
    ts = msg.first(Timestamp)
    if ext is None or ext.key_domain_id is None or ext.msk_id is None:
        raise ProfileViolation("no Key ID extension with Key Domain ID and MSK ID", field="EXT")
    if ts is None or ts.ts_type != TsType.COUNTER:
        raise ProfileViolation("T payload with a COUNTER is required", field="T")
    try:
        kdid = KeyDomainId(ext.key_domain_id)
        msk_id = MskId.from_bytes(ext.msk_id)
        mtk_id = MtkId.from_bytes(ext.mtk_id) if ext.mtk_id is not None else None
    except ValueError as exc:
        raise ProfileViolation(f"bad Key ID: {exc}", field="EXT Key ID") from None
    rand = msg.first(Rand)
    ids = msg.all(Identity)
    if any(not i.data for i in ids):
        raise ProfileViolation("an ID payload is empty", field="ID")
    kemac = msg.first(Kemac)
    h = msg.header
    idi = idr = None
    if h.data_type == DataType.PSK_VERIFY:
        if msg.first(Verification) is None or len(ids) != 1:
            raise ProfileViolation("an ACK carries IDr and a V payload", field="V")
        kind, idr = Kind.ACK, ids[0].data
    elif h.data_type == DataType.PSK_INIT:
        if kemac is None or msg.payloads[-1] is not kemac:
            raise ProfileViolation("the KEMAC payload must come last", field="KEMAC")
        if rand is None:
            raise ProfileViolation("RAND payload missing", field="RAND")
        if mtk_id is not None:
            kind = Kind.MTK
            if h.v:
                raise ProfileViolation("MTK messages never request a verification", field="HDR V")
        else:
            if len(ids) != 2:
                raise ProfileViolation("MSK messages carry IDi and IDr", field="ID")
            idi, idr = ids[0].data, ids[1].data
            if msk_id.is_current_alias:
                if kemac.encr_data:
                    raise ProfileViolation("a solicited pull carries no key", field="KEMAC")
                kind = Kind.SOLICITED_PULL
            else:
                kind = Kind.MSK
    else:
        raise UnsupportedValue(f"HDR data type {h.data_type} is not used by MBMS", field="HDR")
    return Envelope(
        kind,
        msg,
        kdid,
        msk_id,
        mtk_id,
        ts.value,
        h.csb_id,
        None if rand is None else rand.value,
        idi,
        idr,
        h.v,
    )


def _verify_kemac(env: Envelope, inkey: bytes) -> tuple[Kemac, MessageKeys]:
    kemac = env.message.first(Kemac)
    assert kemac is not None and env.rand is not None
    if kemac.mac_alg != MacAlg.HMAC_SHA1_160:
        raise ProfileViolation("KEMAC MAC alg must be HMAC-SHA-1-160", field="KEMAC MAC alg")
    keys = message_keys(inkey, env.csb_id, env.rand)
    expected = hmac_sha1_160(keys.auth_key, env.message.authenticated_bytes())
    if not mac_equal(expected, kemac.mac):
        raise MacMismatch(f"{env.kind.value} MAC does not verify", field="KEMAC MAC")
    return kemac, keys


def _decrypt(env: Envelope, kemac: Kemac, keys: MessageKeys) -> tuple[KeyData, ...]:
    if kemac.encr_alg == EncrAlg.AES_CM_128:
        plain = aes_cm(
            keys.encr_key, kemac_iv(keys.salt_key, env.csb_id, env.counter), kemac.encr_data
        )
    elif kemac.encr_alg == EncrAlg.NULL:
        plain = kemac.encr_data
    else:
        raise UnsupportedValue(f"KEMAC Encr alg {kemac.encr_alg}", field="KEMAC Encr alg")
    items = decode_key_data(plain)
    if len(items) != 1:
        raise ProfileViolation("exactly one Key data sub-payload expected", field="Key data")
    return items


def _expect(env: Envelope, kind: Kind) -> None:
    if env.kind is not kind:
        raise ProfileViolation(f"expected {kind.value}, got {env.kind.value}", field="HDR")


def open_msk_message(env: Envelope, muk: Muk) -> MskDelivery:
    """Verify and decrypt an MSK message with the MUK."""
    _expect(env, Kind.MSK)
    kemac, keys = _verify_kemac(env, muk.secret)
    (kd,) = _decrypt(env, kemac, keys)
    if kd.key_type != profile.MSK_KEY_DATA_TYPE:
        raise ProfileViolation(f"MSK key data type {kd.key_type}", field="Key data Type")
    if not isinstance(kd.kv, KvInterval):
        raise ProfileViolation("MSK key validity must be an MTK ID interval", field="Key data KV")
    try:
        msk = Msk(kd.key)
        vf, vt = MtkId.from_bytes(kd.kv.valid_from), MtkId.from_bytes(kd.kv.valid_to)
    except ValueError as exc:
        raise ProfileViolation(f"MSK key data: {exc}", field="Key data") from None
    if vt < vf:
        raise ProfileViolation("MSK validity: VT below VF", field="Key data KV")
    sp = env.message.first(SecurityPolicy)
    return MskDelivery(env, msk, vf, vt, None if sp is None else SrtpPolicy.from_sp(sp))


def open_mtk_message(env: Envelope, msk: Msk) -> MtkDelivery:
    """Verify and decrypt an MTK message with the MSK it names."""
    _expect(env, Kind.MTK)
    kemac, keys = _verify_kemac(env, msk.secret)
    (kd,) = _decrypt(env, kemac, keys)
    cs_map = env.message.header.cs_map
    streaming = isinstance(cs_map, SrtpIdMap)
    key, salt_bytes = kd.key, kd.salt
    if kd.key_type in (KeyDataType.TGK, KeyDataType.TGK_SALT):
        # RFC 3830 §4.1.3: the TEK (and, when not carried, the salt) derive from the TGK.
        assert env.rand is not None
        cs_id = profile.TGK_CS_ID_STREAMING if streaming else profile.TGK_CS_ID_DOWNLOAD
        key = derive_tek(kd.key, cs_id, env.csb_id, env.rand, profile.KEY_LEN)
        if salt_bytes is None and streaming:
            salt_bytes = derive_salt(kd.key, cs_id, env.csb_id, env.rand, profile.SRTP_SALT_LEN)
    try:
        mtk = Mtk(key)
        salt = SrtpSalt(salt_bytes) if salt_bytes is not None else None
    except ValueError as exc:
        raise ProfileViolation(f"MTK key data: {exc}", field="Key data") from None
    mki = kd.kv.spi if isinstance(kd.kv, KvSpi) else None
    sessions = cs_map.sessions if isinstance(cs_map, SrtpIdMap) else ()
    return MtkDelivery(env, mtk, salt, mki, sessions)


def open_solicited_pull(env: Envelope, muk: Muk) -> SolicitedPull:
    _expect(env, Kind.SOLICITED_PULL)
    _verify_kemac(env, muk.secret)
    return SolicitedPull(env)


def verify_ack(ack: Envelope, msk_message: Envelope, muk: Muk) -> None:
    """Check a MIKEY ACK against the MSK message it answers (same CSB ID, T, IDs; V MAC)."""
    _expect(ack, Kind.ACK)
    _expect(msk_message, Kind.MSK)
    if (ack.csb_id, ack.counter, ack.idr) != (
        msk_message.csb_id,
        msk_message.counter,
        msk_message.idr,
    ):
        raise ProfileViolation("ACK does not answer this MSK message", field="HDR CSB ID")
    v = ack.message.first(Verification)
    ts = ack.message.first(Timestamp)
    assert v is not None and ts is not None
    assert msk_message.rand is not None and msk_message.idi is not None
    assert msk_message.idr is not None
    if v.auth_alg != MacAlg.HMAC_SHA1_160:
        raise ProfileViolation("V Auth alg must be HMAC-SHA-1-160", field="V Auth alg")
    keys = message_keys(muk.secret, msk_message.csb_id, msk_message.rand)
    mac_input = _ack_mac_input(
        ack.message.authenticated_bytes(), msk_message.idi, msk_message.idr, ts
    )
    if not mac_equal(hmac_sha1_160(keys.auth_key, mac_input), v.data):
        raise MacMismatch("MIKEY ACK verification data does not verify", field="V Ver data")


__all__ = [
    "Envelope",
    "Kind",
    "MikeyError",
    "MskDelivery",
    "MtkDelivery",
    "SolicitedPull",
    "build_ack",
    "build_msk_message",
    "build_mtk_message",
    "build_solicited_pull",
    "envelope",
    "open_msk_message",
    "open_mtk_message",
    "open_solicited_pull",
    "verify_ack",
]
