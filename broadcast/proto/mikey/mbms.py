"""The four MBMS MIKEY messages: builders and verifying parsers (TS 33.246 6.3.2-6.3.3, profile.md).

- MSK delivery (push or reply to a request): HDR · EXT(KDID, MSK ID) · T · RAND · IDi · IDr · {SP}
  · KEMAC, inkey = MUK, V = 1 when a MIKEY ACK is wanted.
- MTK delivery: HDR · EXT(KDID, MSK ID, MTK ID) · T · RAND · KEMAC, inkey = MSK, never V.
- BM-SC solicited pull: HDR · EXT(KDID, MSK ID with Key Number 0) · T · RAND · IDi · IDr ·
  KEMAC(encr data len 0, MAC only), inkey = MUK.
- MIKEY ACK: HDR(PSK verify, same CSB ID and map) · EXT · T (as received) · IDr · V.

``envelope(data)`` decodes a message and reads its public fields without any key so a receiver
can pick the key; ``open_*`` then verify the MAC (constant-time) and decrypt.

Every choice the profile makes — KEMAC algorithms, key data types, TS type, ID types, CS ID map
types, the Key ID extension and its sub-payload types, RAND length, PRF — is read from
``broadcast.profile`` when a message is built or checked (never copied at import), and the
receive side refuses what the profile does not allow (KEMAC and V algorithms, TS type, ID types,
the MSK key data type) while keeping what RFC 3830 lets a receiver accept (a TGK or TGK+SALT in
an MTK message, either CS ID map type).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from broadcast import profile
from broadcast.proto.keys.ids import KeyDomainId, MskId, MtkId, MukId, srtp_mki
from broadcast.proto.keys.material import Msk, Mtk, Muk, SrtpSalt
from broadcast.proto.mikey.constants import CsIdMapType, DataType, KeyDataType
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
    Kv,
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
from broadcast.proto.mikey.transforms import kemac_encrypt, kemac_mac, mac_equal, mac_len


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
    """EXT(Key ID): Key Domain ID, MSK ID [, MTK ID] (profile.md "MIKEY" → EXT; RFC 4563 §4)."""
    entries = [
        KeyIdEntry(profile.KEY_ID_TYPE_KEY_DOMAIN_ID, bytes(kdid)),
        KeyIdEntry(profile.KEY_ID_TYPE_MSK_ID, bytes(msk_id)),
    ]
    if mtk_id is not None:
        entries.append(KeyIdEntry(profile.KEY_ID_TYPE_MTK_ID, bytes(mtk_id)))
    return GeneralExtension.key_id(*entries, ext_type=profile.KEY_ID_EXT_TYPE)


def _timestamp(counter: int) -> Timestamp:
    """T payload with the profile's TS type (profile.md "MIKEY" → T)."""
    return Timestamp(profile.TS_TYPE_COUNTER, counter)


def _cs_map(map_type: int, sessions: tuple[SrtpCs, ...] = ()) -> CsIdMap:
    """The CS ID map of ``map_type`` (a profile choice) holding ``sessions`` (RFC 3830 §6.1)."""
    if map_type == CsIdMapType.SRTP_ID:
        return SrtpIdMap(sessions)
    if map_type == CsIdMapType.EMPTY:
        if sessions:
            raise ProfileViolation(
                "an Empty CS ID map cannot carry SRTP crypto sessions", field="HDR CS ID map type"
            )
        return EmptyMap()
    raise UnsupportedValue(
        f"CS ID map type {map_type} is not implemented", field="HDR CS ID map type"
    )


def _key_data(key_type: int, key: bytes, salt: bytes | None, kv: Kv, what: str) -> KeyData:
    """One Key data sub-payload of the profile's ``key_type`` (RFC 3830 §6.13).

    The type decides whether a salt travels (TGK+SALT, TEK+SALT): a salt the type cannot carry,
    or a missing one it needs, is a ``ProfileViolation``.
    """
    if key_type not in tuple(KeyDataType):
        raise UnsupportedValue(f"{what}: key data type {key_type}", field="Key data Type")
    if (key_type in (KeyDataType.TGK_SALT, KeyDataType.TEK_SALT)) != (salt is not None):
        need = "needs a salt" if salt is None else "cannot carry the salt"
        raise ProfileViolation(f"{what}: key data type {key_type} {need}", field="Key data Type")
    return KeyData(key_type, key, salt, kv)


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
    """Append the KEMAC and encode: ``key_data`` encrypted with ``profile.KEMAC_ENCR_ALG``, the
    MAC (``profile.KEMAC_MAC_ALG``) over the whole message up to the MAC (RFC 3830 §5.1)."""
    encr_alg, mac_alg = profile.KEMAC_ENCR_ALG, profile.KEMAC_MAC_ALG
    encr = kemac_encrypt(encr_alg, keys, header.csb_id, counter, key_data)
    n = mac_len(mac_alg)
    kemac = Kemac(encr_alg, encr, mac_alg, bytes(n))
    unsigned = Message(header, (*payloads, kemac)).encode()
    body = unsigned[: len(unsigned) - n]
    return body + kemac_mac(mac_alg, keys.auth_key, body)


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
    """MSK delivery message (profile.md "MIKEY" → Payload order; TS 33.246 6.3.2.3.1)."""
    if not isinstance(muk, Muk) or not isinstance(msk, Msk):
        raise ProfileViolation("an MSK message takes a Muk and an Msk", field="KEMAC")
    if msk_id.is_current_alias:
        raise ProfileViolation("an MSK message names a real Key Number, not 0", field="MSK ID")
    if valid_to < valid_from:
        raise ProfileViolation("MSK validity: VT below VF", field="KV")
    _check_counter(counter)
    _check_csb_id(csb_id)
    _check_rand(rand)
    streaming = srtp_policy is not None
    map_type = profile.CS_ID_MAP_TYPE_STREAMING if streaming else profile.CS_ID_MAP_TYPE_NO_CS
    header = Header(DataType.PSK_INIT, csb_id, _cs_map(map_type), v=ack, prf_func=profile.PRF_FUNC)
    payloads: list[Payload] = [
        _key_id_ext(key_domain_id, msk_id),
        _timestamp(counter),
        Rand(rand),
        Identity(profile.IDI_TYPE, muk_id.idi),
        Identity(profile.IDR_TYPE, muk_id.idr),
    ]
    if srtp_policy is not None:
        payloads.append(srtp_policy.to_sp())
    kv = KvInterval(bytes(valid_from), bytes(valid_to))
    key_data = encode_key_data(
        [_key_data(profile.MSK_KEY_DATA_TYPE, msk.secret, None, kv, "MSK message")]
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
    """MTK delivery message: streaming when ``salt`` is given (key data type
    ``profile.MTK_STREAMING_KEY_DATA_TYPE``, KV SPI = MKI, CS ID map
    ``profile.CS_ID_MAP_TYPE_STREAMING`` with the streams' ROCs), download otherwise
    (``profile.MTK_DOWNLOAD_KEY_DATA_TYPE``, KV null, ``profile.CS_ID_MAP_TYPE_NO_CS``).
    CSB ID = MSK ID [P].

    The key is carried as given: were the profile to name TGK or TGK+SALT, the UE would use the
    TEK derived from it (RFC 3830 §4.1.3, :func:`~broadcast.proto.mikey.prf.derive_tek`), and
    the caller would have to protect the content with that TEK."""
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
        cs_map = _cs_map(profile.CS_ID_MAP_TYPE_STREAMING, srtp_sessions)
        mki = KvSpi(srtp_mki(msk_id, mtk_id))
        key_type = profile.MTK_STREAMING_KEY_DATA_TYPE
        key = _key_data(key_type, mtk.secret, salt.secret, mki, "streaming MTK message")
    else:
        if srtp_sessions:
            raise ProfileViolation("download MTK messages carry no SRTP sessions", field="HDR")
        cs_map = _cs_map(profile.CS_ID_MAP_TYPE_NO_CS)
        key_type = profile.MTK_DOWNLOAD_KEY_DATA_TYPE
        key = _key_data(key_type, mtk.secret, None, None, "download MTK message")
    header = Header(DataType.PSK_INIT, csb_id, cs_map, v=False, prf_func=profile.PRF_FUNC)
    payloads: list[Payload] = [
        _key_id_ext(key_domain_id, msk_id, mtk_id),
        _timestamp(counter),
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
    cs_map = _cs_map(profile.CS_ID_MAP_TYPE_NO_CS)
    header = Header(DataType.PSK_INIT, csb_id, cs_map, v=False, prf_func=profile.PRF_FUNC)
    payloads: list[Payload] = [
        _key_id_ext(key_domain_id, MskId.current(key_group)),
        _timestamp(counter),
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
    auth_alg = profile.ACK_AUTH_ALG
    n = mac_len(auth_alg)
    placeholder = Verification(auth_alg, bytes(n))
    unsigned = Message(
        header, (ext, ts, Identity(profile.IDR_TYPE, msk_message.idr), placeholder)
    ).encode()
    body = unsigned[: len(unsigned) - n]
    keys = message_keys(muk.secret, received.header.csb_id, msk_message.rand)
    return body + kemac_mac(
        auth_alg, keys.auth_key, _ack_mac_input(body, msk_message.idi, msk_message.idr, ts)
    )


# --- parsing ------------------------------------------------------------------------------------


def _key_ids(msg: Message) -> dict[int, bytes] | None:
    """The Key ID sub-payloads (first of each type) of the first EXT of the profile's type that
    names an MSK ID (profile.md "MIKEY" → EXT), or None."""
    for e in msg.all(GeneralExtension):
        if e.ext_type != profile.KEY_ID_EXT_TYPE:
            continue
        found: dict[int, bytes] = {}
        for entry in e.key_id_entries():
            found.setdefault(entry.key_id_type, entry.value)
        if profile.KEY_ID_TYPE_MSK_ID in found:
            return found
    return None


def _check_id_types(ids: list[Identity], types: tuple[int, ...]) -> None:
    """The ID payloads carry the profile's ID types: IDi ``IDI_TYPE``, IDr ``IDR_TYPE``."""
    for i, want in zip(ids, types, strict=True):
        if i.id_type != want:
            raise ProfileViolation(f"ID type {i.id_type}, the profile uses {want}", field="ID type")


def envelope(data: bytes) -> Envelope:
    """Decode ``data`` and classify it as one of the four MBMS messages (no key needed).

    Receive rules of the profile checked here: the Key ID extension and its sub-payload types,
    the TS type, the ID types.
    """
    msg = Message.decode(data)
    key_ids = _key_ids(msg)
    ts = msg.first(Timestamp)
    kdid_raw = None if key_ids is None else key_ids.get(profile.KEY_ID_TYPE_KEY_DOMAIN_ID)
    if key_ids is None or kdid_raw is None:
        raise ProfileViolation("no Key ID extension with Key Domain ID and MSK ID", field="EXT")
    if ts is None or ts.ts_type != profile.TS_TYPE_COUNTER:
        raise ProfileViolation(
            f"T payload with TS type {profile.TS_TYPE_COUNTER} (COUNTER) is required", field="T"
        )
    mtk_raw = key_ids.get(profile.KEY_ID_TYPE_MTK_ID)
    try:
        kdid = KeyDomainId(kdid_raw)
        msk_id = MskId.from_bytes(key_ids[profile.KEY_ID_TYPE_MSK_ID])
        mtk_id = MtkId.from_bytes(mtk_raw) if mtk_raw is not None else None
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
        _check_id_types(ids, (profile.IDR_TYPE,))
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
            _check_id_types(ids, (profile.IDI_TYPE, profile.IDR_TYPE))
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
    """The MAC check: MAC alg ``profile.KEMAC_MAC_ALG`` (receive rule), MAC over the message."""
    kemac = env.message.first(Kemac)
    assert kemac is not None and env.rand is not None
    if kemac.mac_alg != profile.KEMAC_MAC_ALG:
        raise ProfileViolation(
            f"KEMAC MAC alg {kemac.mac_alg}, the profile requires {profile.KEMAC_MAC_ALG}",
            field="KEMAC MAC alg",
        )
    keys = message_keys(inkey, env.csb_id, env.rand)
    expected = kemac_mac(kemac.mac_alg, keys.auth_key, env.message.authenticated_bytes())
    if not mac_equal(expected, kemac.mac):
        raise MacMismatch(f"{env.kind.value} MAC does not verify", field="KEMAC MAC")
    return kemac, keys


def _decrypt(env: Envelope, kemac: Kemac, keys: MessageKeys) -> tuple[KeyData, ...]:
    """Decrypt the key data: Encr alg ``profile.KEMAC_ENCR_ALG`` only (receive rule)."""
    if kemac.encr_alg != profile.KEMAC_ENCR_ALG:
        raise UnsupportedValue(
            f"KEMAC Encr alg {kemac.encr_alg}, the profile requires {profile.KEMAC_ENCR_ALG}",
            field="KEMAC Encr alg",
        )
    plain = kemac_encrypt(kemac.encr_alg, keys, env.csb_id, env.counter, kemac.encr_data)
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
    if v.auth_alg != profile.ACK_AUTH_ALG:
        raise ProfileViolation(
            f"V Auth alg {v.auth_alg}, the profile requires {profile.ACK_AUTH_ALG}",
            field="V Auth alg",
        )
    keys = message_keys(muk.secret, msk_message.csb_id, msk_message.rand)
    mac_input = _ack_mac_input(
        ack.message.authenticated_bytes(), msk_message.idi, msk_message.idr, ts
    )
    if not mac_equal(kemac_mac(v.auth_alg, keys.auth_key, mac_input), v.data):
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
