"""``mbms inspect``: decode MIKEY messages into a readable tree, check them with a key, and show
sample MBMS messages built with fixed demo keys.

``mbms inspect mikey HEX|FILE|- [--key HEX] [--answers HEX|FILE|-] [--show-keys] [--json]``
``mbms inspect sample [--kind msk|mtk|pull|ack|all] [--show-keys] [--json]``

Exit codes: 0 decoded (and, with ``--key``, verified); 1 the input cannot be read or decoded
(the message names the field and byte offset) or cannot be checked; 2 the MAC does not verify
with the given key; 64 command-line usage error.

Key bytes are never printed unless ``--show-keys`` is given: the decrypted key data is shown by
its identifiers only (MSK ID, MTK ID, validity, MKI, "salt present").
"""

from __future__ import annotations

import argparse
import dataclasses
import string
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO, Final, TypeVar

from broadcast.cli.render import (
    Field,
    JsonValue,
    Section,
    dumps,
    enum_field,
    hexdump,
    safe_text,
    to_json,
    to_text,
)
from broadcast.proto.keys import KeyDomainId, Msk, MskId, Mtk, MtkId, Muk, MukId, SrtpSalt, srtp_mki
from broadcast.proto.mikey import (
    Envelope,
    Kind,
    MacMismatch,
    Message,
    MikeyError,
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

_P = TypeVar("_P", bound=argparse.ArgumentParser)

EXIT_OK: Final = 0
EXIT_MALFORMED: Final = 1
EXIT_BAD_MAC: Final = 2
EXIT_USAGE: Final = 64

MIKEY_DESCRIPTION: Final = """\
Decode one MIKEY message into a tree of named fields; with --key, verify its MAC and show the
decrypted key data by identifiers only (key bytes only with --show-keys).

exit codes: 0 decoded (and verified with --key); 1 input unreadable or not a valid MIKEY
message (the error names the field and byte offset), or the key cannot be checked; 2 the MAC
does not verify with the given key; 64 usage error."""
MAC_FAILED: Final = "MAC does not verify with the given key"
#: Read at most this much input (a MIKEY message is at most 65507 bytes; hex text is longer).
MAX_INPUT: Final = 1 << 20
KEY_LEN: Final = 16

# --- demo-only constants ------------------------------------------------------------------------
# DEMO ONLY. Public, fixed keys so that ``mbms inspect sample`` prints the same bytes every time
# and anyone can re-check them. Never use them to protect anything.
DEMO_MUK: Final = bytes(range(0x00, 0x10))  # 000102...0f, the UE's MUK
DEMO_MSK: Final = bytes(range(0x10, 0x20))  # 101112...1f, MSK 0001/0001
DEMO_MTK: Final = bytes(range(0x20, 0x30))  # 202122...2f, MTK 0003
DEMO_SALT: Final = bytes(range(0x30, 0x3E))  # 303132...3d, SRTP master salt (14 bytes)
DEMO_KEY_DOMAIN: Final = KeyDomainId.from_plmn("001", "01")  # 00F110, the test PLMN
DEMO_MSK_ID: Final = MskId(1, 1)
DEMO_MTK_ID: Final = MtkId(3)
DEMO_VALID_FROM: Final = MtkId(1)
DEMO_VALID_TO: Final = MtkId(1000)
DEMO_MUK_ID: Final = MukId.of("bmsc.example.org", "ZGVtby1idGlk@bsf.example.org")
DEMO_SSRC: Final = 0x5EED5EED
DEMO_MSK_CSB_ID: Final = 0x1A2B3C4D
DEMO_PULL_CSB_ID: Final = 0x5A6B7C8D


class InputError(Exception):
    """The input is neither readable nor hex; the text says where (no key material in it)."""


# --- reading input ------------------------------------------------------------------------------

_HEX: Final = frozenset(string.hexdigits)
_SEPARATORS: Final = frozenset(string.whitespace + ":")


def parse_hex(text: str, what: str) -> bytes:
    """Hex digits with optional whitespace / colons (and a leading ``0x``) to bytes.

    Errors name the offending character's offset in ``text`` but never echo ``text`` itself
    (it may be a key).
    """
    start = len(text) - len(text.lstrip())
    if text[start : start + 2] in ("0x", "0X"):
        start += 2
    digits: list[str] = []
    last = 0
    for i in range(start, len(text)):
        c = text[i]
        if c in _HEX:
            digits.append(c)
            last = i
        elif c not in _SEPARATORS:
            raise InputError(f"invalid hex digit {c!r} at offset {i} of the {what}")
    if not digits:
        raise InputError(f"the {what} holds no hex digits")
    if len(digits) % 2:
        raise InputError(
            f"odd number of hex digits ({len(digits)}) in the {what}: "
            f"the digit at offset {last} has no pair"
        )
    return bytes.fromhex("".join(digits))


def _looks_like_hex_text(data: bytes) -> bool:
    # A MIKEY message starts with version 0x01, never with a printable character, so a file of
    # hex digits is never a binary message.
    if not data.isascii():
        return False
    text = data.decode("ascii").strip()
    if text[:2] in ("0x", "0X"):
        text = text[2:]
    return bool(text) and set(text) <= _HEX | _SEPARATORS


def _read_limited(stream: BinaryIO, what: str) -> bytes:
    data = stream.read(MAX_INPUT + 1)
    if len(data) > MAX_INPUT:
        raise InputError(f"{what} is larger than {MAX_INPUT} bytes; not a MIKEY message")
    return data


def load_input(spec: str, stdin: BinaryIO | None = None) -> bytes:
    """``-`` = stdin, an existing file = its bytes, otherwise a hex string. A file or stdin that
    holds hex text is accepted too."""
    what = "input"
    if spec == "-":
        data = _read_limited(stdin if stdin is not None else sys.stdin.buffer, "standard input")
        what = "standard input"
    else:
        path = Path(spec)
        try:
            is_file = path.is_file()
        except OSError:  # e.g. a long hex string is too long for a file name
            is_file = False
        if not is_file:
            try:
                return parse_hex(spec, "argument")
            except InputError as exc:
                raise InputError(f"neither an existing file nor hex ({exc})") from None
        what = f"file {spec}"
        try:
            with path.open("rb") as f:
                data = _read_limited(f, what)
        except OSError as exc:
            raise InputError(f"cannot read {spec}: {exc.strerror}") from None
    if _looks_like_hex_text(data):
        return parse_hex(data.decode("ascii"), f"hex text of the {what}")
    return data


def key_argument(text: str) -> bytes:
    """argparse type of ``--key``: 16 bytes in hex. Errors never repeat the value."""
    try:
        key = parse_hex(text, "key")
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if len(key) != KEY_LEN:
        raise argparse.ArgumentTypeError(
            f"the key must be {KEY_LEN} bytes ({2 * KEY_LEN} hex digits), got {len(key)} bytes"
        )
    return key


# --- the decoded tree ---------------------------------------------------------------------------


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


# --- checking with a key ------------------------------------------------------------------------


@dataclass(slots=True)
class Report:
    """The tree to print, the exit code and, when not 0, the line for stderr."""

    tree: Section
    exit_code: int = EXIT_OK
    problem: str | None = None


def _check(
    env: Envelope, key: bytes, answers: bytes | None, show_keys: bool
) -> tuple[Section, int, str | None]:
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
                    EXIT_USAGE,
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
        return sec, EXIT_BAD_MAC, MAC_FAILED
    except MikeyError as exc:
        sec.field("mac_verifies", "", None, "key check failed")
        sec.field("error", "error", str(exc))
        return sec, EXIT_MALFORMED, f"key check failed: {exc}"
    return sec, EXIT_OK, None


def inspect_message(
    data: bytes, *, key: bytes | None = None, answers: bytes | None = None, show_keys: bool = False
) -> Report:
    """Decode ``data`` into a tree and, with ``key``, verify it. Raises ``MikeyError`` when the
    bytes are not a MIKEY message at all."""
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
    report = Report(tree)
    try:
        env = envelope(data)
    except MikeyError as exc:
        mb = tree.section("mbms", "MBMS")
        mb.field("kind", "kind", None, "not one of the MBMS messages of the profile")
        mb.field("reason", "reason", str(exc))
        if key is not None:
            report.exit_code = EXIT_MALFORMED
            report.problem = f"not an MBMS message, the key cannot be checked: {exc}"
        tree.field("verification", "", None, in_text=False)
        return report
    tree.add(_mbms(env))
    if key is None:
        tree.field("verification", "", None, in_text=False)
        return report
    sec, report.exit_code, report.problem = _check(env, key, answers, show_keys)
    tree.add(sec)
    return report


# --- commands -----------------------------------------------------------------------------------


def _error_json(message: str, exc: MikeyError | None = None) -> str:
    err: dict[str, JsonValue] = {"message": message}
    if exc is not None:
        err |= {"field": exc.field, "offset": exc.offset}
    return dumps({"error": err})


def run_mikey(args: argparse.Namespace) -> int:
    out, err = sys.stdout, sys.stderr
    prog = "mbms inspect mikey"
    if args.input == "-" and args.answers == "-":
        print(f"{prog}: error: only one of INPUT and --answers can be '-'", file=err)
        return EXIT_USAGE
    try:
        data = load_input(args.input)
        answers = None if args.answers is None else load_input(args.answers)
        report = inspect_message(data, key=args.key, answers=answers, show_keys=args.show_keys)
    except InputError as exc:
        print(f"{prog}: {exc}", file=err)
        if args.json:
            print(_error_json(str(exc)), file=out)
        return EXIT_MALFORMED
    except MikeyError as exc:
        print(f"{prog}: not a valid MIKEY message: {exc}", file=err)
        if args.json:
            print(_error_json(str(exc), exc), file=out)
        return EXIT_MALFORMED
    except Exception as exc:  # a library bug on hostile input: say so, never a traceback
        text = f"internal error while decoding ({type(exc).__name__}); please report it"
        print(f"{prog}: {text}", file=err)
        if args.json:
            print(_error_json(text), file=out)
        return EXIT_MALFORMED
    if args.json:
        print(dumps(to_json(report.tree)), file=out)
    else:
        if args.hexdump:
            print("\n".join(hexdump(data)), file=out)
        print("\n".join(to_text(report.tree)), file=out)
    if report.problem is not None:
        prefix = "" if report.exit_code == EXIT_BAD_MAC else f"{prog}: "
        print(f"{prefix}{report.problem}", file=err)
    return report.exit_code


@dataclass(frozen=True, slots=True)
class Sample:
    kind: str
    title: str
    data: bytes
    key: bytes
    key_name: str
    answers: bytes | None = None


def build_samples() -> dict[str, Sample]:
    """The sample MBMS messages, built with the DEMO_* constants (identical bytes every run)."""
    msk = build_msk_message(
        muk=Muk(DEMO_MUK),
        muk_id=DEMO_MUK_ID,
        key_domain_id=DEMO_KEY_DOMAIN,
        msk_id=DEMO_MSK_ID,
        msk=Msk(DEMO_MSK),
        valid_from=DEMO_VALID_FROM,
        valid_to=DEMO_VALID_TO,
        counter=7,
        csb_id=DEMO_MSK_CSB_ID,
        rand=bytes(range(0xA0, 0xB0)),
        ack=True,
        srtp_policy=SrtpPolicy(),
    )
    mtk = build_mtk_message(
        msk=Msk(DEMO_MSK),
        key_domain_id=DEMO_KEY_DOMAIN,
        msk_id=DEMO_MSK_ID,
        mtk_id=DEMO_MTK_ID,
        mtk=Mtk(DEMO_MTK),
        counter=3,
        rand=bytes(range(0xB0, 0xC0)),
        salt=SrtpSalt(DEMO_SALT),
        srtp_sessions=(SrtpCs(0, DEMO_SSRC, 0),),
    )
    pull = build_solicited_pull(
        muk=Muk(DEMO_MUK),
        muk_id=DEMO_MUK_ID,
        key_domain_id=DEMO_KEY_DOMAIN,
        key_group=DEMO_MSK_ID.key_group,
        counter=8,
        csb_id=DEMO_PULL_CSB_ID,
        rand=bytes(range(0xC0, 0xD0)),
    )
    ack = build_ack(envelope(msk), Muk(DEMO_MUK))
    return {
        "msk": Sample(
            "msk",
            "MSK delivery: MSK 0001/0001 to one UE, streaming Key Group (SRTP policy), "
            "MIKEY ACK requested",
            msk,
            DEMO_MUK,
            "DEMO_MUK",
        ),
        "mtk": Sample(
            "mtk",
            "MTK delivery (streaming): MTK 0003 under MSK 0001/0001, with SRTP salt and MKI",
            mtk,
            DEMO_MSK,
            "DEMO_MSK",
        ),
        "pull": Sample(
            "pull",
            "BM-SC solicited pull: ask the UE to request the current MSK of Key Group 0001",
            pull,
            DEMO_MUK,
            "DEMO_MUK",
        ),
        "ack": Sample(
            "ack",
            "MIKEY ACK: the UE's answer to the MSK delivery sample",
            ack,
            DEMO_MUK,
            "DEMO_MUK",
            answers=msk,
        ),
    }


def run_sample(args: argparse.Namespace) -> int:
    out = sys.stdout
    samples = build_samples()
    chosen = list(samples.values()) if args.kind == "all" else [samples[args.kind]]
    reports = [
        inspect_message(s.data, key=s.key, answers=s.answers, show_keys=args.show_keys)
        for s in chosen
    ]
    status = max(r.exit_code for r in reports)
    if args.json:
        items: list[JsonValue] = []
        for s, r in zip(chosen, reports, strict=True):
            item: dict[str, JsonValue] = {"sample": s.kind, "title": s.title, "key": s.key_name}
            if args.show_keys:
                item["key_hex"] = s.key.hex()
            tree = to_json(r.tree)
            assert isinstance(tree, dict)
            items.append(item | tree)
        print(dumps(items), file=out)
        return status
    print(
        "Sample MBMS MIKEY messages built with fixed DEMO-ONLY keys (DEMO_MUK, DEMO_MSK, ... in "
        "broadcast/cli/inspect_cmd.py); each is decoded and checked with its key.",
        file=out,
    )
    for n, (s, r) in enumerate(zip(chosen, reports, strict=True), 1):
        key_text = f"{s.key_name} = {s.key.hex()}" if args.show_keys else s.key_name
        print(f"\n=== Sample {n}/{len(chosen)}: {s.title} ===", file=out)
        print(f"{len(s.data)} bytes, checked with --key {key_text}", file=out)
        print("\n".join(hexdump(s.data)), file=out)
        print("", file=out)
        print("\n".join(to_text(r.tree)), file=out)
        if r.problem is not None:
            print(r.problem, file=sys.stderr)
    return status


# --- argparse wiring ----------------------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction[_P]) -> None:
    """Add ``inspect`` with its ``mikey`` and ``sample`` subcommands to the ``mbms`` parser."""
    inspect = subparsers.add_parser(
        "inspect",
        help="decode and check MIKEY messages",
        description="Decode MIKEY messages (RFC 3830 / RFC 4563, MBMS profile) into a tree.",
    )
    sub = inspect.add_subparsers(dest="inspect_command", required=True, metavar="WHAT")

    mikey = sub.add_parser(
        "mikey",
        help="decode one MIKEY message",
        description=MIKEY_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    mikey.add_argument(
        "input",
        metavar="HEX|FILE|-",
        help="the message as hex (spaces and colons allowed), a file (binary or hex text), "
        "or - for standard input",
    )
    mikey.add_argument(
        "--key",
        type=key_argument,
        metavar="HEX",
        help="16-byte key to verify the MAC with: the MUK for MSK messages, solicited pull and "
        "ACK, the MSK for MTK messages",
    )
    mikey.add_argument(
        "--answers",
        metavar="HEX|FILE|-",
        help="for a MIKEY ACK: the MSK message it answers (needed to check it with --key)",
    )
    mikey.add_argument(
        "--show-keys", action="store_true", help="also print decrypted key and salt bytes"
    )
    mikey.add_argument("--json", action="store_true", help="print JSON instead of text")
    mikey.add_argument("--hexdump", action="store_true", help="print a hex dump before the tree")
    mikey.set_defaults(handler=run_mikey)

    sample = sub.add_parser(
        "sample",
        help="build sample MBMS messages with demo keys and inspect them",
        description="Build MSK, MTK, solicited-pull and ACK messages with fixed demo-only keys, "
        "show their bytes and the decoded, verified tree.",
    )
    sample.add_argument(
        "--kind", choices=("msk", "mtk", "pull", "ack", "all"), default="all", help="default all"
    )
    sample.add_argument(
        "--show-keys", action="store_true", help="also print the demo keys and decrypted keys"
    )
    sample.add_argument("--json", action="store_true", help="print JSON instead of text")
    sample.set_defaults(handler=run_sample)
