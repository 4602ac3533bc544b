"""Configuration of the reference UE: the TOML file of ``mbms receive --config FILE``.

Every key, its type and default (``broadcast/config/examples/ue.toml`` is a complete example).
Relative paths are relative to the directory of the configuration file. Unknown sections or keys and
wrong types are errors (:class:`~broadcast.engine.ue.errors.UeConfigError` names the key).

``[announcement]`` — the User Service's announcement (TS 33.246 6.3.2.2.2)
    ``protection`` (path, required): the ``application/mbms-protection-description+xml`` file.
    ``sdp`` (list of paths, required): the session descriptions; the protection description
    names each by its file name (``session-description`` attribute).

``[streaming]`` — where the streaming sessions are received
    ``listen_address`` (IP address, none): receive a unicast session here instead of at the SDP's
    destination (e.g. the loopback demo's per-UE copy). MTK messages are expected on
    ``mikey_port`` at the same address. Multicast sessions always bind the group.
    ``interface_address`` (IPv4 address, none): the local interface to join multicast groups on
    (none: the kernel picks by its routes).
    ``mikey_port`` (integer, 2269): UDP port of the MTK messages.
    ``rtcp`` (boolean, true): also receive SRTCP on the RTCP port.

``[download]`` — where the FLUTE download sessions are received
    ``listen_address`` (IP address, none): as for streaming.
    ``output_dir`` (path, none): write each received file there (by its Content-Location).

``[srtp]`` — the SRTP policy while no MSK has brought one (an MSK message carries the policy of
its Key Group; MSKs given below do not): the same keys as ``[srtp]`` of ``mbms stream``
(``cipher``, ``auth_tag``, ``rcc``, ``roc_rate``). Default: the profile's policy (AES-CM-128,
HMAC-SHA1-80, RCCm2 R = 16), with the NULL cipher when the announcement says confidentiality
off and NULL authentication when it says integrity off.

``[[msk]]`` — MSKs given directly, for tests and integrators without a BM-SC
    ``key_domain_id`` (6 hex digits, required); ``msk_id`` (8 hex digits: Key Group || Key
    Number, Key Number not 0, required); ``key`` (32 hex digits) or ``key_file`` (a file holding
    them), exactly one; ``valid_from`` / ``valid_to`` (MTK IDs, 1 / 65535).

``[output]``
    ``keylog`` (path, none): write every MSK and MTK learnt to this file (mode 0600); the
    ``--keylog`` option overrides it. The only place key bytes are ever written.
    ``report_json`` (path, none): write the final report as JSON; ``--report-json`` overrides it.

``[msk_client]`` — the MSK procedures (TS 33.246 6.3.2.2-6.3.2.3,
:mod:`broadcast.aio.ue.key_management`); without this table the UE only uses the ``[[msk]]`` given.
    ``key_file`` (path, required): the UE's GBA credentials for the BM-SC — B-TID, Ks_(ext)_NAF,
    BM-SC FQDN, lifetime — as ``mbms gba add --key-file`` writes them (JSON; the file must not be
    accessible by group or others: mode 0600; :mod:`broadcast.config.gba_key`).
    ``listen`` (IP address, required): where MSK pushes and solicited pulls arrive (UDP), and the
    source address of the MSK requests (the BM-SC pushes to the address a request came from
    unless the subscription names another).
    ``port`` (integer, 2269): the UDP port of the pushes.
    ``key_management_uri`` (http(s) URI, none): where MSK requests go; default: the
    announcement's key management server.
    ``http_source`` (IP address, none): another source address for the MSK requests.
    ``request_timeout`` (seconds, 10): one MSK request's time limit.
    ``rerequest_interval`` (seconds, 5): least time between two re-requests of one Key Group
    after missed MSK updates seen in the traffic.
    ``retry_max`` (seconds, 30): longest wait between attempts of a failed initial request.
"""

from __future__ import annotations

import ipaddress
import math
import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from broadcast import profile
from broadcast.config.files import MAX_TOML_BYTES, TomlFileError, read_toml
from broadcast.config.gba_key import GbaCredentials, load_gba_key
from broadcast.config.srtp import SrtpConfig
from broadcast.config.stream import ConfigError, srtp_config
from broadcast.engine.ue.errors import UeConfigError
from broadcast.engine.ue.service_keys import SOURCE_CONFIG, MskEntry
from broadcast.proto.keys.errors import InvalidIdentifier, InvalidKeyMaterial
from broadcast.proto.keys.ids import KeyDomainId, MskId, MtkId
from broadcast.proto.keys.material import Msk

#: Largest configuration file read [P].
MAX_CONFIG_BYTES: Final = MAX_TOML_BYTES
_SECTIONS: Final = ("announcement", "streaming", "download", "srtp", "msk", "output", "msk_client")
_HEX: Final = frozenset(string.hexdigits)
#: Default least time between two re-requests for one Key Group after missed updates [P].
REREQUEST_INTERVAL_S: Final = 5.0
#: Default longest wait between two attempts of a failed MSK request [P].
RETRY_MAX_S: Final = 30.0


@dataclass(frozen=True, slots=True)
class MskClientSettings:
    """``[msk_client]`` (see the module doc). ``repr`` shows no key byte."""

    credentials: GbaCredentials
    listen: str
    port: int = profile.MIKEY_UDP_PORT
    key_management_uri: str | None = None
    http_source: str | None = None
    request_timeout: float = 10.0
    rerequest_interval: float = REREQUEST_INTERVAL_S
    retry_max: float = RETRY_MAX_S


@dataclass(frozen=True, slots=True)
class UeConfig:
    """The UE's settings (see the module doc). ``srtp`` None = the default policy."""

    protection_file: Path
    sdp_files: tuple[Path, ...]
    msks: tuple[MskEntry, ...] = ()
    listen_address: str | None = None
    interface_address: str | None = None
    mikey_port: int = profile.MIKEY_UDP_PORT
    rtcp: bool = True
    download_listen_address: str | None = None
    download_output_dir: Path | None = None
    srtp: SrtpConfig | None = None
    keylog: Path | None = None
    report_json: Path | None = None
    msk_client: MskClientSettings | None = None


class _Table:
    """One TOML table: typed getters that remember which keys were read."""

    def __init__(self, data: object, name: str) -> None:
        if not isinstance(data, Mapping):
            raise UeConfigError(f"[{name}] must be a table")
        self.data: Mapping[str, Any] = data
        self.name = name
        self.used: set[str] = set()

    def get(self, key: str, kind: type | tuple[type, ...], what: str) -> Any:
        self.used.add(key)
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise UeConfigError(f"{self.name}.{key} must be {what}")
        if not isinstance(value, kind):
            raise UeConfigError(f"{self.name}.{key} must be {what}")
        return value

    def text(self, key: str, required: bool = False) -> str | None:
        value = self.get(key, str, "a string")
        if value is None and required:
            raise UeConfigError(f"{self.name}.{key} is required")
        return None if value == "" else value

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self.get(key, int, "an integer")
        if value is None:
            return default
        if not low <= value <= high:
            raise UeConfigError(f"{self.name}.{key} must be {low}..{high}")
        return value  # type: ignore[no-any-return]

    def flag(self, key: str, default: bool) -> bool:
        value = self.get(key, bool, "true or false")
        return default if value is None else bool(value)

    def path(self, key: str, base: Path, required: bool = False) -> Path | None:
        text = self.text(key, required)
        return None if text is None else base / text

    def address(self, key: str) -> str | None:
        text = self.text(key)
        if text is None:
            return None
        try:
            return str(ipaddress.ip_address(text))
        except ValueError:
            raise UeConfigError(f"{self.name}.{key} must be an IP address") from None

    def seconds(self, key: str, default: float, low: float, high: float) -> float:
        value = self.get(key, (int, float), "a number of seconds")
        if value is None:
            return default
        if not math.isfinite(value) or not low <= value <= high:
            raise UeConfigError(f"{self.name}.{key} must be {low:g}..{high:g} seconds")
        return float(value)

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise UeConfigError(f"unknown key(s) in [{self.name}]: {', '.join(unknown)}")


def _hex_key(text: str, what: str) -> bytes:
    digits = "".join(text.split())
    if not digits or not set(digits) <= _HEX or len(digits) != 2 * profile.KEY_LEN:
        # Never echo the value: it is (meant to be) a key.
        raise UeConfigError(f"{what} must be {2 * profile.KEY_LEN} hex digits")
    return bytes.fromhex(digits)


def _msk(t: _Table, base: Path) -> MskEntry:
    where = t.name
    try:
        kdid_text = t.text("key_domain_id", required=True) or ""
        msk_text = t.text("msk_id", required=True) or ""
        if len(kdid_text) != 6 or not set(kdid_text) <= _HEX:
            raise UeConfigError(f"{where}.key_domain_id must be 6 hex digits")
        if len(msk_text) != 8 or not set(msk_text) <= _HEX:
            raise UeConfigError(f"{where}.msk_id must be 8 hex digits")
        kdid = KeyDomainId.from_hex(kdid_text)
        msk_id = MskId.from_hex(msk_text)
        if msk_id.is_current_alias:
            raise UeConfigError(f"{where}.msk_id: Key Number 0 means 'current', name a real MSK")
        key_text = t.text("key")
        key_file = t.path("key_file", base)
        if (key_text is None) == (key_file is None):
            raise UeConfigError(f"{where}: give exactly one of key and key_file")
        if key_file is not None:
            try:
                with key_file.open("rb") as f:
                    raw = f.read(4096)
                key_text = raw.decode("ascii")
            except (OSError, UnicodeDecodeError):
                raise UeConfigError(f"{where}.key_file {key_file} cannot be read as hex") from None
        assert key_text is not None
        key = _hex_key(key_text, f"{where}.key")
        vf = t.integer("valid_from", profile.MTK_ID_MIN, profile.MTK_ID_MIN, profile.MTK_ID_MAX)
        vt = t.integer("valid_to", profile.MTK_ID_MAX, profile.MTK_ID_MIN, profile.MTK_ID_MAX)
        if vt < vf:
            raise UeConfigError(f"{where}: valid_to is below valid_from")
        t.done()
        return MskEntry(kdid, msk_id, Msk(key), MtkId(vf), MtkId(vt), None, SOURCE_CONFIG)
    except (InvalidIdentifier, InvalidKeyMaterial) as exc:
        raise UeConfigError(f"{where}: {exc}") from None


def _srtp(data: object) -> SrtpConfig:
    """``[srtp]``: the same keys and checks as ``[srtp]`` of ``mbms stream``."""
    try:
        return srtp_config(data)
    except ConfigError as exc:
        raise UeConfigError(str(exc)) from None


def _uri(text: str, where: str) -> str:
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        host = None
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not host
        or any(c.isspace() for c in text)
    ):
        raise UeConfigError(f"{where} must be an http(s) URI with a host")
    return text


def _msk_client(t: _Table, base: Path) -> MskClientSettings:
    key_file = t.path("key_file", base, required=True)
    assert key_file is not None
    listen = t.address("listen")
    if listen is None:
        raise UeConfigError("msk_client.listen is required (where MSK pushes arrive)")
    uri_text = t.text("key_management_uri")
    settings = MskClientSettings(
        credentials=load_gba_key(key_file),
        listen=listen,
        port=t.integer("port", profile.MIKEY_UDP_PORT, 1, 0xFFFF),
        key_management_uri=None
        if uri_text is None
        else _uri(uri_text, "msk_client.key_management_uri"),
        http_source=t.address("http_source"),
        request_timeout=t.seconds("request_timeout", 10.0, 0.1, 600.0),
        rerequest_interval=t.seconds("rerequest_interval", REREQUEST_INTERVAL_S, 0.0, 86400.0),
        retry_max=t.seconds("retry_max", RETRY_MAX_S, 1.0, 86400.0),
    )
    t.done()
    return settings


def config_from_dict(data: Mapping[str, Any], base: Path) -> UeConfig:
    """Build the configuration from parsed TOML; relative paths are taken from ``base``."""
    for name in data:
        if name not in _SECTIONS:
            raise UeConfigError(f"unknown section [{name}]")
    ann = _Table(data.get("announcement", {}), "announcement")
    protection = ann.path("protection", base, required=True)
    sdp_raw = ann.get("sdp", list, "a list of paths")
    if not sdp_raw or not all(isinstance(p, str) and p for p in sdp_raw):
        raise UeConfigError("announcement.sdp must be a non-empty list of paths")
    ann.done()
    st = _Table(data.get("streaming", {}), "streaming")
    listen = st.address("listen_address")
    interface = st.address("interface_address")
    mikey_port = st.integer("mikey_port", profile.MIKEY_UDP_PORT, 1, 0xFFFF)
    rtcp = st.flag("rtcp", True)
    st.done()
    dl = _Table(data.get("download", {}), "download")
    dl_listen = dl.address("listen_address")
    dl_out = dl.path("output_dir", base)
    dl.done()
    srtp = _srtp(data["srtp"]) if "srtp" in data else None
    raw_msks = data.get("msk", [])
    if not isinstance(raw_msks, list):
        raise UeConfigError("msk must be an array of tables: [[msk]]")
    msks = tuple(_msk(_Table(m, f"msk[{i}]"), base) for i, m in enumerate(raw_msks))
    if len({m.key for m in msks}) != len(msks):
        raise UeConfigError("the same MSK is given twice in [[msk]]")
    out = _Table(data.get("output", {}), "output")
    keylog = out.path("keylog", base)
    report_json = out.path("report_json", base)
    out.done()
    msk_client = (
        _msk_client(_Table(data["msk_client"], "msk_client"), base)
        if "msk_client" in data
        else None
    )
    assert protection is not None
    return UeConfig(
        protection_file=protection,
        sdp_files=tuple(base / p for p in sdp_raw),
        msks=msks,
        listen_address=listen,
        interface_address=interface,
        mikey_port=mikey_port,
        rtcp=rtcp,
        download_listen_address=dl_listen,
        download_output_dir=dl_out,
        srtp=srtp,
        keylog=keylog,
        report_json=report_json,
        msk_client=msk_client,
    )


def load_config(path: str | Path) -> UeConfig:
    """Read ``path`` (TOML, at most 1 MiB) into a :class:`UeConfig`."""
    file = Path(path)
    try:
        data = read_toml(file, max_bytes=MAX_CONFIG_BYTES)
    except TomlFileError as exc:
        raise UeConfigError(str(exc)) from None
    return config_from_dict(data, file.parent)
