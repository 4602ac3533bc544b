"""A decoded MIKEY message (RFC 3830, RFC 4563; TS 33.246 MBMS profile) as a tree of named fields
(:mod:`broadcast.proto.tree`), and the result of checking it with a key. Pure: bytes and keys in,
a tree out; printing it (text or JSON) is the caller's business (``mbms inspect``).

The tree shows the header (CS ID map included), every payload with its byte offset and, for an
MBMS message of the profile (MSK, MTK, solicited pull, ACK: :func:`broadcast.proto.mikey.envelope`),
its identifiers. With a key (the MUK for MSK messages, solicited pull and ACK, the MSK for MTK
messages) the MAC is verified and the decrypted key data shown by identifiers only (MSK ID, MTK
ID, validity, MKI, "salt present"); key bytes only with ``show_keys``.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from broadcast.proto.keys import Msk, MskId, Muk, srtp_mki
from broadcast.proto.mikey.constants import (
    CsIdMapType,
    DataType,
    EncrAlg,
    ErrorNo,
    GeneralExtType,
    IdType,
    KeyIdType,
    MacAlg,
    ProtType,
    SrtpAuthAlg,
    SrtpEncrAlg,
    SrtpParam,
    TsType,
)
from broadcast.proto.mikey.errors import MacMismatch, MikeyError
from broadcast.proto.mikey.mbms import (
    Envelope,
    Kind,
    envelope,
    open_msk_message,
    open_mtk_message,
    open_solicited_pull,
    verify_ack,
)
from broadcast.proto.mikey.message import Message
from broadcast.proto.mikey.payloads import (
    Certificate,
    ErrorPayload,
    GeneralExtension,
    Header,
    Identity,
    Kemac,
    KeyIdEntry,
    Payload,
    Rand,
    SecurityPolicy,
    SrtpCs,
    SrtpIdMap,
    Timestamp,
    Verification,
)
from broadcast.proto.mikey.srtp_policy import SrtpPolicy
from broadcast.proto.tree import Field, JsonValue, Section, enum_field, safe_text

MAC_FAILED: Final = "MAC does not verify with the given key"


class Check(enum.Enum):
    """What checking the message with a key found."""

    #: No key was given.
    NOT_CHECKED = "not checked"
    VERIFIED = "verified"
    #: The MAC does not verify with the key.
    BAD_MAC = "bad MAC"
    #: Not an MBMS message of the profile, or the key data cannot be opened.
    FAILED = "failed"
    #: A MIKEY ACK is checked against the MSK message it answers, which was not given.
    ANSWERS_NEEDED = "answers needed"


@dataclass(slots=True)
class Rendering:
    """The tree of one message, what the key check found and, unless verified or not checked,
    the sentence that says why (identifiers only, never key bytes)."""

    tree: Section
    check: Check = Check.NOT_CHECKED
    problem: str | None = None


def _msk_name(msk_id: MskId) -> str:
    return f"{msk_id.key_group:04x}/{msk_id.key_number:04x}"


def _plmn(value: bytes) -> tuple[str, str]:
    """MCC and MNC of a 3-byte TS 24.008 PLMN (non-BCD nibbles shown as hex digits)."""
    n = [f"{b & 0xF:X}{b >> 4:X}" for b in value]
    mcc = n[0] + n[1][0]
    mnc = n[2] if n[1][1] == "F" else n[2] + n[1][1]
    return mcc, mnc


def _payload_offsets(msg: Message) -> list[int] | None:
    """Where each payload starts (its next-payload byte), by re-encoding; None if that fails."""
    if msg.raw is None:
        return None
    try:
        at = len(msg.header.encode(0))
        offsets = []
        for p in msg.payloads:
            offsets.append(at)
            at += 1 + len(p.encode_body())
    except MikeyError:
        return None
    return offsets if at == len(msg.raw) else None


def _header(h: Header) -> Section:
    sec = Section("header", "HDR @0000")
    sec.field("version", "version", h.version)
    sec.add(enum_field("data_type", "data type", DataType, h.data_type))
    v_text = "1 (verification message requested)" if h.v else "0"
    sec.field("v", "V", h.v, v_text)
    prf = "MIKEY-1" if h.prf_func == 0 else "unknown"
    sec.add(
        Field("prf_func", "PRF func", {"code": h.prf_func, "name": prf}, f"{prf} ({h.prf_func})")
    )
    sec.field("csb_id", "CSB ID", f"{h.csb_id:08x}")
    sec.field("cs_count", "#CS", h.cs_map.cs_count)
    sec.add(enum_field("cs_id_map_type", "CS ID map type", CsIdMapType, h.cs_map.map_type))
    entries = sec.section("cs_id_map", "CS ID map entries", as_list=True)
    sessions: tuple[SrtpCs, ...] = h.cs_map.sessions if isinstance(h.cs_map, SrtpIdMap) else ()
    for i, cs in enumerate(sessions):
        entries.field(
            str(i),
            f"[{i}]",
            {"policy_no": cs.policy_no, "ssrc": f"{cs.ssrc:08x}", "roc": cs.roc},
            f"Policy_no {cs.policy_no}, SSRC {cs.ssrc:08x}, ROC {cs.roc}",
        )
    if not sessions:
        entries.label = "CS ID map entries: none"
    return sec


def _timestamp(p: Timestamp, sec: Section) -> None:
    sec.add(enum_field("ts_type", "TS type", TsType, p.ts_type))
    text = str(p.value)
    if p.ts_type in (TsType.NTP_UTC, TsType.NTP):
        seconds = (p.value >> 32) + (p.value & 0xFFFF_FFFF) / 2**32
        when = datetime(1900, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
        text = f"{p.value} ({p.value:016x}, NTP {when.isoformat()})"
    sec.field("ts_value", "TS value", p.value, text)


def _identity(p: Identity, sec: Section) -> None:
    sec.add(enum_field("id_type", "ID type", IdType, p.id_type))
    sec.field("id_len", "ID len", len(p.data))
    sec.field("id_text", "ID data", safe_text(p.data))
    sec.field("id_hex", "ID data hex", p.data.hex(), in_text=False)


def _named(enum: type[SrtpEncrAlg] | type[SrtpAuthAlg]) -> Callable[[int], str]:
    def name(v: int) -> str:
        try:
            return enum(v).name
        except ValueError:
            return "unknown"

    return name


def _on_off(v: int) -> str:
    return {0: "off", 1: "on"}.get(v, "unknown")


#: What the values of the SRTP policy parameters mean (RFC 3830 §6.10.1, RFC 4771 §5).
_SP_MEANINGS: Final[dict[int, Callable[[int], str]]] = {
    SrtpParam.ENCR_ALG: _named(SrtpEncrAlg),
    SrtpParam.AUTH_ALG: _named(SrtpAuthAlg),
    SrtpParam.SRTP_AUTH_ALG: _named(SrtpAuthAlg),
    SrtpParam.SRTCP_AUTH_ALG: _named(SrtpAuthAlg),
    SrtpParam.SRTP_PRF: lambda v: "AES_CM" if v == 0 else "unknown",
    SrtpParam.FEC_ORDER: lambda v: "FEC-SRTP" if v == 0 else "unknown",
    SrtpParam.SRTP_ENCRYPTION: _on_off,
    SrtpParam.SRTCP_ENCRYPTION: _on_off,
    SrtpParam.SRTP_AUTHENTICATION: _on_off,
}


def _security_policy(p: SecurityPolicy, sec: Section) -> None:
    sec.field("policy_no", "Policy no", p.policy_no)
    sec.add(enum_field("prot_type", "Prot type", ProtType, p.prot_type))
    params = sec.section("params", f"parameters ({len(p.params)})", as_list=True)
    for param in p.params:
        try:
            name: str | None = SrtpParam(param.type).name
        except ValueError:
            name = None
        label = f"{name or 'unknown'} ({param.type})"
        value: JsonValue
        meaning = None
        if 0 < len(param.value) <= 8:
            value = int.from_bytes(param.value, "big")
            describe = _SP_MEANINGS.get(param.type)
            meaning = describe(value) if describe is not None else None
            text = f"{value} ({meaning})" if meaning else str(value)
        else:
            value = param.value.hex()
            text = f"0x{value}" if value else "(empty)"
        params.field(
            str(param.type),
            label,
            {"type": param.type, "name": name, "value": value, "meaning": meaning},
            text,
        )


def _key_id_entry(e: KeyIdEntry) -> Field:
    try:
        type_name: str | None = KeyIdType(e.key_id_type).name
    except ValueError:
        type_name = None
    info: dict[str, JsonValue] = {"type": e.key_id_type, "name": type_name, "hex": e.value.hex()}
    labels: dict[int, str] = {
        KeyIdType.KEY_DOMAIN_ID: "Key Domain ID",
        KeyIdType.MSK_ID: "MSK ID",
        KeyIdType.MTK_ID: "MTK ID",
    }
    label = labels.get(e.key_id_type, f"Key ID type {e.key_id_type}")
    expected: dict[int, int] = {
        KeyIdType.KEY_DOMAIN_ID: 3,
        KeyIdType.MSK_ID: 4,
        KeyIdType.MTK_ID: 2,
    }
    text = e.value.hex()
    if e.key_id_type in expected and len(e.value) != expected[e.key_id_type]:
        text += f" (unexpected length {len(e.value)})"
    elif e.key_id_type == KeyIdType.KEY_DOMAIN_ID:
        mcc, mnc = _plmn(e.value)
        info |= {"mcc": mcc, "mnc": mnc}
        text = f"{e.value.hex().upper()} (MCC {mcc}, MNC {mnc})"
    elif e.key_id_type == KeyIdType.MSK_ID:
        msk_id = MskId.from_bytes(e.value)
        info |= {"key_group": msk_id.key_group, "key_number": msk_id.key_number}
        current = ", the current MSK" if msk_id.is_current_alias else ""
        text = (
            f"{_msk_name(msk_id)} (Key Group {msk_id.key_group:04x}, "
            f"Key Number {msk_id.key_number:04x}{current})"
        )
    return Field(type_name.lower() if type_name else f"type_{e.key_id_type}", label, info, text)


def _general_ext(p: GeneralExtension, sec: Section) -> None:
    sec.add(enum_field("ext_type", "EXT type", GeneralExtType, p.ext_type))
    if p.ext_type == GeneralExtType.KEY_ID:
        ids = sec.section("key_ids", "", as_list=True)
        for e in p.key_ids:
            ids.add(_key_id_entry(e))
    else:
        sec.field("length", "length", len(p.data))
        sec.field("data", "data", p.data.hex(), p.data.hex() or "(empty)")


_PAYLOAD_NAMES: Final[dict[type[Payload], tuple[str, str]]] = {
    Timestamp: ("T", "Timestamp"),
    Rand: ("RAND", "random"),
    Identity: ("ID", "identity"),
    Certificate: ("CERT", "certificate"),
    Kemac: ("KEMAC", "key data transport"),
    Verification: ("V", "verification"),
    ErrorPayload: ("ERR", "error"),
    SecurityPolicy: ("SP", "security policy"),
    GeneralExtension: ("EXT", "General Extension"),
}


def _payload(p: Payload, offset: int | None) -> Section:
    short, long = _PAYLOAD_NAMES[type(p)]
    where = f" @{offset:04x}" if offset is not None else ""
    sec = Section(short, f"{short} ({long}){where}")
    sec.field("payload", "payload", short, in_text=False)
    sec.field("offset", "offset", offset, in_text=False)
    if isinstance(p, Timestamp):
        _timestamp(p, sec)
    elif isinstance(p, Rand):
        sec.field("rand_len", "RAND len", len(p.value))
        sec.field("rand", "RAND", p.value.hex())
    elif isinstance(p, Identity):
        _identity(p, sec)
    elif isinstance(p, Certificate):
        sec.field("cert_type", "Cert type", p.cert_type)
        sec.field("cert_len", "Cert len", len(p.data))
        sec.field("cert", "Cert data", p.data.hex(), in_text=False)
    elif isinstance(p, Kemac):
        sec.add(enum_field("encr_alg", "Encr alg", EncrAlg, p.encr_alg))
        sec.field("encr_data_len", "Encr data len", len(p.encr_data))
        sec.add(enum_field("mac_alg", "MAC alg", MacAlg, p.mac_alg))
        sec.field("mac", "MAC", p.mac.hex(), p.mac.hex() or "(none)")
    elif isinstance(p, Verification):
        sec.add(enum_field("auth_alg", "Auth alg", MacAlg, p.auth_alg))
        sec.field("ver_data", "Ver data", p.data.hex(), p.data.hex() or "(none)")
    elif isinstance(p, ErrorPayload):
        sec.add(enum_field("error_no", "Error no", ErrorNo, p.error_no))
    elif isinstance(p, SecurityPolicy):
        _security_policy(p, sec)
    else:
        _general_ext(p, sec)
    return sec


_KEY_NEEDED: Final = {
    Kind.MSK: "the MUK of IDi/IDr",
    Kind.SOLICITED_PULL: "the MUK of IDi/IDr",
    Kind.MTK: "the MSK named by Key Domain ID and MSK ID",
    Kind.ACK: "the MUK, and the MSK message it answers (--answers)",
}


def _mbms(env: Envelope) -> Section:
    sec = Section("mbms", "MBMS")
    sec.field("kind", "kind", env.kind.value)
    mcc, mnc = _plmn(bytes(env.key_domain_id))
    sec.field(
        "key_domain_id",
        "Key Domain ID",
        str(env.key_domain_id),
        f"{env.key_domain_id} (MCC {mcc}, MNC {mnc})",
    )
    current = " = the current MSK of the Key Group" if env.msk_id.is_current_alias else ""
    sec.field("msk_id", "MSK ID", str(env.msk_id), f"{_msk_name(env.msk_id)}{current}")
    if env.mtk_id is not None:
        sec.field("mtk_id", "MTK ID", str(env.mtk_id))
    sec.field("counter", "COUNTER", env.counter)
    sec.field("csb_id", "CSB ID", f"{env.csb_id:08x}")
    sec.field("ack_requested", "ACK requested", env.ack_requested)
    if env.idi is not None:
        sec.field("idi", "IDi (BM-SC)", safe_text(env.idi))
    if env.idr is not None:
        sec.field("idr", "IDr (B-TID)", safe_text(env.idr))
    sec.field("key_needed", "key for --key", _KEY_NEEDED[env.kind])
    return sec


def _secret(sec: Section, key: str, label: str, secret: bytes, show: bool) -> None:
    if show:
        sec.field(key, label, secret.hex())
    else:
        sec.field(key, label, None, "hidden (--show-keys prints it)")


_POLICY_ENUMS: Final[dict[str, type[SrtpEncrAlg] | type[SrtpAuthAlg]]] = {
    "encr_alg": SrtpEncrAlg,
    "srtp_auth_alg": SrtpAuthAlg,
    "srtcp_auth_alg": SrtpAuthAlg,
}


def _srtp_policy(policy: SrtpPolicy) -> Section:
    """The SRTP policy as the library reads it from the SP payload (defaults filled in)."""
    sec = Section("srtp_policy", "SRTP policy (SP payload as applied)")
    for f in dataclasses.fields(policy):
        value = getattr(policy, f.name)
        enum = _POLICY_ENUMS.get(f.name)
        if enum is not None:
            sec.add(enum_field(f.name, f.name.replace("_", " "), enum, value))
        else:
            sec.field(f.name, f.name.replace("_", " "), value)
    return sec


def _check(
    env: Envelope, key: bytes, answers: bytes | None, show_keys: bool
) -> tuple[Section, Check, str | None]:
    sec = Section("verification", "Key check (--key)")
    try:
        if env.kind is Kind.MSK:
            msk = open_msk_message(env, Muk(key))
            sec.field("mac_verifies", "", True, "MAC verifies")
            sec.field(
                "summary",
                "",
                f"MSK {_msk_name(env.msk_id)} in Key Domain {env.key_domain_id}, "
                f"valid for MTK IDs {msk.valid_from}..{msk.valid_to}",
            )
            sec.field("valid_from", "valid from MTK ID", str(msk.valid_from))
            sec.field("valid_to", "valid to MTK ID", str(msk.valid_to))
            _secret(sec, "msk", "MSK", msk.msk.secret, show_keys)
            if msk.srtp_policy is not None:
                sec.add(_srtp_policy(msk.srtp_policy))
        elif env.kind is Kind.MTK:
            mtk = open_mtk_message(env, Msk(key))
            sec.field("mac_verifies", "", True, "MAC verifies")
            parts = [
                f"MTK {env.mtk_id} under MSK {_msk_name(env.msk_id)} "
                f"in Key Domain {env.key_domain_id}"
            ]
            parts.append("salt present" if mtk.salt is not None else "no salt (download)")
            if mtk.mki is not None:
                assert env.mtk_id is not None
                same = mtk.mki == srtp_mki(env.msk_id, env.mtk_id)
                parts.append(f"MKI {mtk.mki.hex()}" + ("" if same else " (NOT MSK ID ‖ MTK ID)"))
            sec.field("summary", "", ", ".join(parts))
            sec.field("salt_present", "salt present", mtk.salt is not None)
            sec.field("mki", "MKI", None if mtk.mki is None else mtk.mki.hex())
            _secret(sec, "mtk", "MTK", mtk.mtk.secret, show_keys)
            if mtk.salt is not None:
                _secret(sec, "salt", "SRTP master salt", mtk.salt.secret, show_keys)
        elif env.kind is Kind.SOLICITED_PULL:
            pull = open_solicited_pull(env, Muk(key))
            sec.field("mac_verifies", "", True, "MAC verifies")
            sec.field(
                "summary",
                "",
                f"solicited pull: the UE shall request the current MSK of Key Group "
                f"{pull.key_group:04x} in Key Domain {env.key_domain_id}",
            )
        else:
            if answers is None:
                return (
                    sec,
                    Check.ANSWERS_NEEDED,
                    (
                        "a MIKEY ACK is checked against the MSK message it answers: "
                        "give that message with --answers HEX|FILE|-"
                    ),
                )
            msk_env = envelope(answers)
            verify_ack(env, msk_env, Muk(key))
            sec.field("mac_verifies", "", True, "MAC verifies")
            sec.field(
                "summary",
                "",
                f"MIKEY ACK of the MSK {_msk_name(msk_env.msk_id)} message "
                f"(CSB ID {msk_env.csb_id:08x}, COUNTER {msk_env.counter})",
            )
    except MacMismatch:
        sec.field("mac_verifies", "", False, MAC_FAILED)
        return sec, Check.BAD_MAC, MAC_FAILED
    except MikeyError as exc:
        sec.field("mac_verifies", "", None, "key check failed")
        sec.field("error", "error", str(exc))
        return sec, Check.FAILED, f"key check failed: {exc}"
    return sec, Check.VERIFIED, None


def render_message(
    data: bytes, *, key: bytes | None = None, answers: bytes | None = None, show_keys: bool = False
) -> Rendering:
    """Decode ``data`` into a tree and, with ``key``, verify it (``answers``: the MSK message a
    MIKEY ACK answers). Raises ``MikeyError`` when the bytes are not a MIKEY message at all."""
    msg = Message.decode(data)
    tree = Section("message", "")
    tree.field("length", "MIKEY message", len(data), f"{len(data)} bytes")
    tree.field("hex", "hex", data.hex(), in_text=False)
    tree.add(_header(msg.header))
    payloads = tree.section("payloads", "", as_list=True)
    found = _payload_offsets(msg)
    offsets: list[int | None] = [None] * len(msg.payloads) if found is None else [*found]
    for p, at in zip(msg.payloads, offsets, strict=True):
        payloads.add(_payload(p, at))
    rendering = Rendering(tree)
    try:
        env = envelope(data)
    except MikeyError as exc:
        mb = tree.section("mbms", "MBMS")
        mb.field("kind", "kind", None, "not one of the MBMS messages of the profile")
        mb.field("reason", "reason", str(exc))
        if key is not None:
            rendering.check = Check.FAILED
            rendering.problem = f"not an MBMS message, the key cannot be checked: {exc}"
        tree.field("verification", "", None, in_text=False)
        return rendering
    tree.add(_mbms(env))
    if key is None:
        tree.field("verification", "", None, in_text=False)
        return rendering
    sec, rendering.check, rendering.problem = _check(env, key, answers, show_keys)
    tree.add(sec)
    return rendering


__all__ = ["MAC_FAILED", "Check", "Rendering", "render_message"]
