"""MIKEY payloads: encode and decode each one (RFC 3830 §6, RFC 4563 §4-§5, RFC 4771 §5).

Every payload but HDR starts with a next-payload byte; that byte belongs to the message layer
(``broadcast.proto.mikey.message``), so the classes here encode and decode the *body* that follows
it. Lengths are validated on both sides: the encoder refuses values its field cannot hold
(``MikeyEncodeError``), the decoder refuses anything that runs past the end or uses an unknown
type (``MikeyDecodeError`` subclasses naming field and offset).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Final

from broadcast.proto.mikey.constants import (
    MAC_LENGTHS,
    CsIdMapType,
    GeneralExtType,
    KeyDataType,
    KeyIdType,
    KvType,
    PayloadType,
    TsType,
)
from broadcast.proto.mikey.errors import LimitExceeded, MikeyEncodeError, UnsupportedValue
from broadcast.proto.mikey.reader import Reader

MIKEY_VERSION: Final = 1
#: Bounds that keep decoding memory and time bounded on hostile input.
MAX_KEY_DATA: Final = 16
MAX_SP_PARAMS: Final = 64
MAX_KEY_ID_ENTRIES: Final = 16


def _check(value: int, bits: int, name: str) -> int:
    if not isinstance(value, int) or not 0 <= value < (1 << bits):
        raise MikeyEncodeError(f"{name} must fit in {bits} bits, got {value!r}", field=name)
    return value


def _check_len(data: bytes, bits: int, name: str) -> bytes:
    if len(data) >= (1 << bits):
        raise MikeyEncodeError(
            f"{name} is {len(data)} bytes, at most {(1 << bits) - 1}", field=name
        )
    return data


# --- HDR (§6.1) ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SrtpCs:
    """One SRTP-ID CS ID map entry: Policy_no (8), SSRC (32), ROC (32) (§6.1.1)."""

    policy_no: int
    ssrc: int
    roc: int

    def encode(self) -> bytes:
        return (
            bytes((_check(self.policy_no, 8, "Policy_no"),))
            + _check(self.ssrc, 32, "SSRC").to_bytes(4, "big")
            + _check(self.roc, 32, "ROC").to_bytes(4, "big")
        )


@dataclass(frozen=True, slots=True)
class SrtpIdMap:
    """CS ID map type 0 (SRTP-ID): #CS entries of 9 bytes."""

    sessions: tuple[SrtpCs, ...] = ()
    map_type: ClassVar[int] = CsIdMapType.SRTP_ID

    @property
    def cs_count(self) -> int:
        return len(self.sessions)

    def encode_info(self) -> bytes:
        return b"".join(cs.encode() for cs in self.sessions)


@dataclass(frozen=True, slots=True)
class EmptyMap:
    """CS ID map type 1 (Empty map, RFC 4563 §5): no map info; policy conveyed outside MIKEY."""

    cs_count: int = 0
    map_type: ClassVar[int] = CsIdMapType.EMPTY

    def encode_info(self) -> bytes:
        return b""


CsIdMap = SrtpIdMap | EmptyMap


@dataclass(frozen=True, slots=True)
class Header:
    """Common Header payload (§6.1)."""

    data_type: int
    csb_id: int
    cs_map: CsIdMap = field(default_factory=EmptyMap)
    v: bool = False
    prf_func: int = 0
    version: int = MIKEY_VERSION

    def encode(self, next_payload: int) -> bytes:
        return (
            bytes(
                (
                    _check(self.version, 8, "version"),
                    _check(self.data_type, 8, "data type"),
                    _check(next_payload, 8, "next payload"),
                    (0x80 if self.v else 0) | _check(self.prf_func, 7, "PRF func"),
                )
            )
            + _check(self.csb_id, 32, "CSB ID").to_bytes(4, "big")
            + bytes((_check(self.cs_map.cs_count, 8, "#CS"), self.cs_map.map_type))
            + self.cs_map.encode_info()
        )

    @classmethod
    def decode(cls, r: Reader) -> tuple[Header, int]:
        """Decode HDR; returns it and the first next-payload code."""
        at = r.offset
        version = r.u8("HDR version")
        if version != MIKEY_VERSION:
            raise UnsupportedValue(f"MIKEY version {version}", field="HDR version", offset=at)
        data_type = r.u8("HDR data type")
        next_payload = r.u8("HDR next payload")
        vp = r.u8("HDR V/PRF func")
        csb_id = r.u32("HDR CSB ID")
        n_cs = r.u8("HDR #CS")
        at = r.offset
        map_type = r.u8("HDR CS ID map type")
        cs_map: CsIdMap
        if map_type == CsIdMapType.SRTP_ID:
            sessions = []
            for i in range(n_cs):
                sessions.append(
                    SrtpCs(
                        r.u8(f"CS ID map [{i}] Policy_no"),
                        r.u32(f"CS ID map [{i}] SSRC"),
                        r.u32(f"CS ID map [{i}] ROC"),
                    )
                )
            cs_map = SrtpIdMap(tuple(sessions))
        elif map_type == CsIdMapType.EMPTY:
            cs_map = EmptyMap(n_cs)
        else:
            raise UnsupportedValue(
                f"CS ID map type {map_type} not supported", field="HDR CS ID map type", offset=at
            )
        header = cls(data_type, csb_id, cs_map, bool(vp & 0x80), vp & 0x7F, version)
        return header, next_payload


# --- Information payloads -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Timestamp:
    """T payload (§6.6): NTP-UTC / NTP (64 bits) or COUNTER (32 bits)."""

    ts_type: int
    value: int
    TYPE: ClassVar[int] = PayloadType.T
    _LENGTHS: ClassVar[dict[int, int]] = {TsType.NTP_UTC: 8, TsType.NTP: 8, TsType.COUNTER: 4}

    @classmethod
    def counter(cls, value: int) -> Timestamp:
        return cls(TsType.COUNTER, value)

    @property
    def value_bytes(self) -> bytes:
        """The TS value as transported (4 bytes for COUNTER, 8 for NTP)."""
        n = self._LENGTHS.get(self.ts_type)
        if n is None:
            raise MikeyEncodeError(f"TS type {self.ts_type} unknown", field="TS type")
        return _check(self.value, 8 * n, "TS value").to_bytes(n, "big")

    @property
    def prf_value(self) -> int:
        """The 64-bit timestamp for the PRF / KEMAC IV (COUNTER zero-padded, §6.6)."""
        return self.value

    def encode_body(self) -> bytes:
        return bytes((_check(self.ts_type, 8, "TS type"),)) + self.value_bytes

    @classmethod
    def decode_body(cls, r: Reader) -> Timestamp:
        at = r.offset
        ts_type = r.u8("T TS type")
        n = cls._LENGTHS.get(ts_type)
        if n is None:
            raise UnsupportedValue(f"TS type {ts_type} unknown", field="T TS type", offset=at)
        return cls(ts_type, int.from_bytes(r.take(n, "T TS value"), "big"))


@dataclass(frozen=True, slots=True)
class Rand:
    """RAND payload (§6.11): length (8) · RAND."""

    value: bytes
    TYPE: ClassVar[int] = PayloadType.RAND

    def __repr__(self) -> str:
        return f"Rand({self.value.hex()})"

    def encode_body(self) -> bytes:
        return bytes((len(_check_len(self.value, 8, "RAND len")),)) + self.value

    @classmethod
    def decode_body(cls, r: Reader) -> Rand:
        n = r.u8("RAND len")
        return cls(r.take(n, "RAND"))


@dataclass(frozen=True, slots=True)
class Identity:
    """ID payload (§6.7): ID type (8) · length (16) · data. Type 0 NAI, 1 URI."""

    id_type: int
    data: bytes
    TYPE: ClassVar[int] = PayloadType.ID

    def encode_body(self) -> bytes:
        return (
            bytes((_check(self.id_type, 8, "ID type"),))
            + len(_check_len(self.data, 16, "ID len")).to_bytes(2, "big")
            + self.data
        )

    @classmethod
    def decode_body(cls, r: Reader) -> Identity:
        id_type = r.u8("ID type")
        n = r.u16("ID len")
        return cls(id_type, r.take(n, "ID data"))


@dataclass(frozen=True, slots=True)
class Certificate:
    """CERT payload (§6.7): Cert type (8) · length (16) · data (kept opaque)."""

    cert_type: int
    data: bytes
    TYPE: ClassVar[int] = PayloadType.CERT

    def encode_body(self) -> bytes:
        return (
            bytes((_check(self.cert_type, 8, "Cert type"),))
            + len(_check_len(self.data, 16, "Cert len")).to_bytes(2, "big")
            + self.data
        )

    @classmethod
    def decode_body(cls, r: Reader) -> Certificate:
        cert_type = r.u8("Cert type")
        n = r.u16("Cert len")
        return cls(cert_type, r.take(n, "Cert data"))


def _mac_len(alg: int, name: str, at: int) -> int:
    n = MAC_LENGTHS.get(alg)
    if n is None:
        raise UnsupportedValue(f"{name} {alg} unknown", field=name, offset=at)
    return n


@dataclass(frozen=True, slots=True)
class Kemac:
    """Key data transport payload (§6.2): Encr alg · Encr data len (16) · Encr data · MAC alg · MAC.

    ``encr_data`` holds the (encrypted) Key data sub-payloads; see
    ``broadcast.proto.mikey.keydata``.
    """

    encr_alg: int
    encr_data: bytes
    mac_alg: int
    mac: bytes
    TYPE: ClassVar[int] = PayloadType.KEMAC

    def __repr__(self) -> str:
        return (
            f"Kemac(encr_alg={self.encr_alg}, encr_data=<{len(self.encr_data)} bytes>, "
            f"mac_alg={self.mac_alg}, mac={self.mac.hex()})"
        )

    def encode_body(self) -> bytes:
        want = MAC_LENGTHS.get(self.mac_alg)
        if want is None or len(self.mac) != want:
            raise MikeyEncodeError(f"MAC alg {self.mac_alg} with a {len(self.mac)}-byte MAC")
        return (
            bytes((_check(self.encr_alg, 8, "Encr alg"),))
            + len(_check_len(self.encr_data, 16, "Encr data len")).to_bytes(2, "big")
            + self.encr_data
            + bytes((_check(self.mac_alg, 8, "MAC alg"),))
            + self.mac
        )

    @classmethod
    def decode_body(cls, r: Reader) -> Kemac:
        encr_alg = r.u8("KEMAC Encr alg")
        n = r.u16("KEMAC Encr data len")
        encr_data = r.take(n, "KEMAC Encr data")
        at = r.offset
        mac_alg = r.u8("KEMAC MAC alg")
        mac = r.take(_mac_len(mac_alg, "KEMAC MAC alg", at), "KEMAC MAC")
        return cls(encr_alg, encr_data, mac_alg, mac)


@dataclass(frozen=True, slots=True)
class Verification:
    """V payload (§6.9): Auth alg (8) · Ver data (length implied by the algorithm)."""

    auth_alg: int
    data: bytes
    TYPE: ClassVar[int] = PayloadType.V

    def encode_body(self) -> bytes:
        want = MAC_LENGTHS.get(self.auth_alg)
        if want is None or len(self.data) != want:
            raise MikeyEncodeError(f"Auth alg {self.auth_alg} with {len(self.data)} bytes")
        return bytes((self.auth_alg,)) + self.data

    @classmethod
    def decode_body(cls, r: Reader) -> Verification:
        at = r.offset
        alg = r.u8("V Auth alg")
        return cls(alg, r.take(_mac_len(alg, "V Auth alg", at), "V Ver data"))


@dataclass(frozen=True, slots=True)
class ErrorPayload:
    """ERR payload (§6.12): Error no (8) · reserved (16)."""

    error_no: int
    TYPE: ClassVar[int] = PayloadType.ERR

    def encode_body(self) -> bytes:
        return bytes((_check(self.error_no, 8, "Error no"), 0, 0))

    @classmethod
    def decode_body(cls, r: Reader) -> ErrorPayload:
        error_no = r.u8("ERR Error no")
        r.take(2, "ERR reserved")
        return cls(error_no)


@dataclass(frozen=True, slots=True)
class PolicyParam:
    """One SP policy parameter TLV: type (8) · length (8) · value."""

    type: int
    value: bytes

    def encode(self) -> bytes:
        return (
            bytes((_check(self.type, 8, "SP param type"),))
            + bytes((len(_check_len(self.value, 8, "SP param len")),))
            + self.value
        )


@dataclass(frozen=True, slots=True)
class SecurityPolicy:
    """SP payload (§6.10): Policy no (8) · Prot type (8) · Policy param length (16) · TLVs."""

    policy_no: int
    prot_type: int
    params: tuple[PolicyParam, ...] = ()
    TYPE: ClassVar[int] = PayloadType.SP

    def get(self, param_type: int) -> bytes | None:
        for p in self.params:
            if p.type == param_type:
                return p.value
        return None

    def get_int(self, param_type: int) -> int | None:
        raw = self.get(param_type)
        return None if raw is None else int.from_bytes(raw, "big")

    def encode_body(self) -> bytes:
        body = b"".join(p.encode() for p in self.params)
        return (
            bytes((_check(self.policy_no, 8, "Policy no"), _check(self.prot_type, 8, "Prot type")))
            + len(_check_len(body, 16, "Policy param length")).to_bytes(2, "big")
            + body
        )

    @classmethod
    def decode_body(cls, r: Reader) -> SecurityPolicy:
        policy_no = r.u8("SP Policy no")
        prot_type = r.u8("SP Prot type")
        n = r.u16("SP Policy param length")
        sub = r.sub(n, "SP Policy params")
        params: list[PolicyParam] = []
        while sub.remaining:
            if len(params) >= MAX_SP_PARAMS:
                raise LimitExceeded(
                    f"more than {MAX_SP_PARAMS} SP parameters", field="SP", offset=sub.offset
                )
            t = sub.u8("SP param type")
            ln = sub.u8("SP param length")
            params.append(PolicyParam(t, sub.take(ln, "SP param value")))
        return cls(policy_no, prot_type, tuple(params))


@dataclass(frozen=True, slots=True)
class KeyIdEntry:
    """RFC 4563 Key ID sub-payload: Key ID Type (8) · Key ID Length (8) · Key ID."""

    key_id_type: int
    value: bytes

    def __repr__(self) -> str:
        return f"KeyIdEntry({self.key_id_type}, {self.value.hex()})"


def _decode_key_ids(sub: Reader) -> tuple[KeyIdEntry, ...]:
    """The run of Key ID sub-payloads ``type(1) len(1) value`` filling ``sub`` (RFC 4563 §4)."""
    entries: list[KeyIdEntry] = []
    while sub.remaining:
        if len(entries) >= MAX_KEY_ID_ENTRIES:
            raise LimitExceeded(
                f"more than {MAX_KEY_ID_ENTRIES} Key IDs", field="EXT Key ID", offset=sub.offset
            )
        t = sub.u8("EXT Key ID Type")
        ln = sub.u8("EXT Key ID Length")
        entries.append(KeyIdEntry(t, sub.take(ln, "EXT Key ID")))
    return tuple(entries)


@dataclass(frozen=True, slots=True)
class GeneralExtension:
    """General Extension payload (§6.15): Type (8) · Length (16) · Data.

    Type 3 (Key ID, RFC 4563) is decoded into ``key_ids``; every other type keeps ``data`` as
    opaque bytes and re-encodes them unchanged (:meth:`key_id_entries` reads such data as Key ID
    sub-payloads on request). An extension built with ``key_ids`` encodes them as Key ID
    sub-payloads whatever its type.
    """

    ext_type: int
    data: bytes = b""
    key_ids: tuple[KeyIdEntry, ...] = ()
    TYPE: ClassVar[int] = PayloadType.GENERAL_EXT

    @classmethod
    def key_id(
        cls, *entries: KeyIdEntry, ext_type: int = GeneralExtType.KEY_ID
    ) -> GeneralExtension:
        return cls(ext_type, key_ids=entries)

    def key_id_entries(self) -> tuple[KeyIdEntry, ...]:
        """The Key ID sub-payloads: ``key_ids`` when decoded or given, else ``data`` read as Key
        ID sub-payloads (``MikeyDecodeError`` when it is not a run of them)."""
        if self.key_ids or self.ext_type == GeneralExtType.KEY_ID:
            return self.key_ids
        return _decode_key_ids(Reader(self.data))

    def find(self, key_id_type: int) -> bytes | None:
        for e in self.key_ids:
            if e.key_id_type == key_id_type:
                return e.value
        return None

    @property
    def key_domain_id(self) -> bytes | None:
        return self.find(KeyIdType.KEY_DOMAIN_ID)

    @property
    def msk_id(self) -> bytes | None:
        return self.find(KeyIdType.MSK_ID)

    @property
    def mtk_id(self) -> bytes | None:
        return self.find(KeyIdType.MTK_ID)

    def _data(self) -> bytes:
        if self.ext_type != GeneralExtType.KEY_ID and not self.key_ids:
            return self.data
        return b"".join(
            bytes((_check(e.key_id_type, 8, "Key ID Type"),))
            + bytes((len(_check_len(e.value, 8, "Key ID Length")),))
            + e.value
            for e in self.key_ids
        )

    def encode_body(self) -> bytes:
        data = self._data()
        return (
            bytes((_check(self.ext_type, 8, "EXT type"),))
            + len(_check_len(data, 16, "EXT length")).to_bytes(2, "big")
            + data
        )

    @classmethod
    def decode_body(cls, r: Reader) -> GeneralExtension:
        ext_type = r.u8("EXT type")
        n = r.u16("EXT length")
        sub = r.sub(n, "EXT data")
        if ext_type != GeneralExtType.KEY_ID:
            return cls(ext_type, sub.take(n, "EXT data"))
        return cls(ext_type, key_ids=_decode_key_ids(sub))


Payload = (
    Timestamp
    | Rand
    | Identity
    | Certificate
    | Kemac
    | Verification
    | ErrorPayload
    | SecurityPolicy
    | GeneralExtension
)

PAYLOAD_CLASSES: dict[int, type[Payload]] = {
    cls.TYPE: cls
    for cls in (
        Timestamp,
        Rand,
        Identity,
        Certificate,
        Kemac,
        Verification,
        ErrorPayload,
        SecurityPolicy,
        GeneralExtension,
    )
}


# --- Key data sub-payloads (§6.13), carried in the KEMAC Encr data ------------------------------


@dataclass(frozen=True, slots=True)
class KvSpi:
    """KV data for KV type 1: SPI length (8) · SPI (for SRTP the MKI)."""

    spi: bytes
    kv_type: ClassVar[int] = KvType.SPI

    def encode(self) -> bytes:
        return bytes((len(_check_len(self.spi, 8, "SPI Length")),)) + self.spi


@dataclass(frozen=True, slots=True)
class KvInterval:
    """KV data for KV type 2: VF length (8) · Valid From · VT length (8) · Valid To."""

    valid_from: bytes
    valid_to: bytes
    kv_type: ClassVar[int] = KvType.INTERVAL

    def encode(self) -> bytes:
        return (
            bytes((len(_check_len(self.valid_from, 8, "VF Length")),))
            + self.valid_from
            + bytes((len(_check_len(self.valid_to, 8, "VT Length")),))
            + self.valid_to
        )


Kv = KvSpi | KvInterval | None


@dataclass(frozen=True, slots=True)
class KeyData:
    """Key data sub-payload: Type (4) · KV (4) · key len (16) · key · [salt len · salt] · [KV].

    ``key`` and ``salt`` are secrets: ``repr`` never shows them.
    """

    key_type: int
    key: bytes
    salt: bytes | None = None
    kv: Kv = None

    def __repr__(self) -> str:
        salt = "none" if self.salt is None else f"<{len(self.salt)} bytes>"
        key = f"<{len(self.key)} bytes>"
        return f"KeyData(type={self.key_type}, key={key}, salt={salt}, kv={self.kv!r})"

    @property
    def kv_type(self) -> int:
        return KvType.NULL if self.kv is None else self.kv.kv_type

    def encode(self, next_payload: int) -> bytes:
        _check(self.key_type, 4, "Key data Type")
        has_salt = self.key_type in (KeyDataType.TGK_SALT, KeyDataType.TEK_SALT)
        if has_salt != (self.salt is not None):
            raise MikeyEncodeError("salt must be given exactly for TGK+SALT / TEK+SALT")
        out = bytes((next_payload, (self.key_type << 4) | self.kv_type))
        out += len(_check_len(self.key, 16, "Key data len")).to_bytes(2, "big") + self.key
        if self.salt is not None:
            out += len(_check_len(self.salt, 16, "Salt len")).to_bytes(2, "big") + self.salt
        if self.kv is not None:
            out += self.kv.encode()
        return out


def encode_key_data(items: tuple[KeyData, ...] | list[KeyData]) -> bytes:
    """Chain Key data sub-payloads; each names the next (20) or Last (0)."""
    out = b""
    for i, kd in enumerate(items):
        nxt = PayloadType.KEY_DATA if i + 1 < len(items) else PayloadType.LAST
        out += kd.encode(nxt)
    return out


def decode_key_data(data: bytes, base: int = 0) -> tuple[KeyData, ...]:
    """Decode the chain of Key data sub-payloads in a decrypted KEMAC Encr data field."""
    r = Reader(data, base=base)
    items: list[KeyData] = []
    nxt: int = PayloadType.KEY_DATA
    while nxt == PayloadType.KEY_DATA:
        if len(items) >= MAX_KEY_DATA:
            raise LimitExceeded(
                f"more than {MAX_KEY_DATA} Key data", field="Key data", offset=r.offset
            )
        nxt = r.u8("Key data next payload")
        at = r.offset
        tv = r.u8("Key data Type/KV")
        key_type, kv_type = tv >> 4, tv & 0xF
        if key_type > KeyDataType.TEK_SALT:
            raise UnsupportedValue(f"Key data Type {key_type}", field="Key data Type", offset=at)
        key = r.take(r.u16("Key data len"), "Key data")
        salt = None
        if key_type in (KeyDataType.TGK_SALT, KeyDataType.TEK_SALT):
            salt = r.take(r.u16("Salt len"), "Salt data")
        kv: Kv
        if kv_type == KvType.NULL:
            kv = None
        elif kv_type == KvType.SPI:
            kv = KvSpi(r.take(r.u8("SPI Length"), "SPI"))
        elif kv_type == KvType.INTERVAL:
            vf = r.take(r.u8("VF Length"), "Valid From")
            kv = KvInterval(vf, r.take(r.u8("VT Length"), "Valid To"))
        else:
            raise UnsupportedValue(f"KV type {kv_type}", field="Key data KV", offset=at)
        items.append(KeyData(key_type, key, salt, kv))
        if nxt not in (PayloadType.KEY_DATA, PayloadType.LAST):
            raise UnsupportedValue(
                f"Key data next payload {nxt}", field="Key data next payload", offset=at - 1
            )
    if r.remaining:
        raise UnsupportedValue(
            f"{r.remaining} bytes after the last Key data", field="KEMAC Encr data", offset=r.offset
        )
    return tuple(items)
