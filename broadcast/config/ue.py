"""Configuration of the reference UE: the TOML file of ``mbms receive --config FILE``.

Every key, its type and default (``broadcast/config/examples/ue.toml`` is a complete example).
The rules of every configuration file hold (:mod:`broadcast.config.reader`): **relative paths are
relative to the directory of the configuration file**; unknown tables and keys and wrong types are
refused with a :class:`~broadcast.proto.errors.ConfigError` naming the file, the table and the
key.

``[announcement]`` — the User Service's announcement (TS 33.246 6.3.2.2.2)
    ``protection`` (path, required): the ``application/mbms-protection-description+xml`` file.
    ``sdp`` (list of paths, required): the session descriptions; the protection description
    names each by its file name (``session-description`` attribute).

``[streaming]`` — where the streaming sessions are received
    ``listen`` (IP address, none): receive a unicast session here instead of at the SDP's
    destination (e.g. the loopback demo's per-UE copy). MTK messages are expected on
    ``mikey_port`` at the same address. Multicast sessions always bind the group.
    ``interface`` (IPv4 address, none): the local interface (one of its addresses) to join
    multicast groups on (none: the kernel picks by its routes).
    ``mikey_port`` (integer, 2269): UDP port of the MTK messages.
    ``rtcp`` (boolean, true): also receive SRTCP on the RTCP port.

``[download]`` — where the FLUTE download sessions are received
    ``listen`` (IP address, none): as for streaming.
    ``output_dir`` (path, none): write each received file there (by its Content-Location).

``[srtp]`` — the SRTP policy of the sessions while no MSK has brought one (an MSK message from
the BM-SC carries the policy of its Key Group and replaces this; the MSKs given below carry
none): the shared table of ``mbms stream`` (``cipher``, ``auth_tag``, ``rcc``, ``roc_rate``,
:mod:`broadcast.config.sections`). Default: the profile's policy (AES-CM-128, HMAC-SHA1-80,
RCCm2 R = 16), with the NULL cipher when the announcement says confidentiality off and NULL
authentication (no RCC) when it says integrity off. A ``[srtp]`` that contradicts the
announcement (a cipher with confidentiality off, a tag with integrity off, or the reverse) is
refused when the UE starts, naming both.

``[[msk]]`` — MSKs given directly, for tests and integrators without a BM-SC
    ``mcc`` / ``mnc`` or ``key_domain`` (6 hex digits): the MSK's Key Domain, as in ``[keys]``
    of the other files (default MCC 001, MNC 01); ``msk_id`` (8 hex digits: Key Group || Key
    Number, Key Number not 0, required); ``key`` (32 hex digits) or ``key_file`` (a file holding
    them), exactly one; ``valid_from`` / ``valid_to`` (MTK IDs, 1 / 65535).

``[report]``
    ``keylog`` (path, none): write every MSK and MTK learnt to this file (mode 0600); the
    ``--keylog`` option overrides it. The only place key bytes are ever written.
    ``json`` (path, none): write the final report as JSON; ``--report-json`` overrides it.

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

import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from broadcast import profile
from broadcast.config.gba_key import GbaCredentials, load_gba_key
from broadcast.config.reader import REQUIRED, Table, document, load
from broadcast.config.sections import key_domain, srtp_section
from broadcast.engine.ue.service_keys import SOURCE_CONFIG, MskEntry
from broadcast.proto.errors import ConfigError
from broadcast.proto.keys.errors import InvalidIdentifier, InvalidKeyMaterial
from broadcast.proto.keys.ids import MskId, MtkId
from broadcast.proto.keys.material import Msk
from broadcast.proto.srtp.settings import SrtpConfig

_HEX: Final = frozenset(string.hexdigits)
#: The tables of a UE file.
TABLES: Final = ("announcement", "streaming", "download", "srtp", "msk", "report", "msk_client")
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
    """The UE's settings (see the module doc). ``srtp`` None = the default policy; ``source``:
    the file it was read from (named in errors found later)."""

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
    source: str | None = None


def _hex_key(text: str, t: Table) -> bytes:
    digits = "".join(text.split())
    if not digits or not set(digits) <= _HEX or len(digits) != 2 * profile.KEY_LEN:
        # Never echo the value: it is (meant to be) a key.
        raise t.error(f"must be {2 * profile.KEY_LEN} hex digits", "key")
    return bytes.fromhex(digits)


def _msk(t: Table) -> MskEntry:
    kdid = key_domain(t)
    msk_text = t.text("msk_id", REQUIRED)
    if len(msk_text) != 8 or not set(msk_text) <= _HEX:
        raise t.error(f"must be 8 hex digits: Key Group || Key Number (got {msk_text!r})", "msk_id")
    msk_id = MskId.from_hex(msk_text)
    if msk_id.is_current_alias:
        raise t.error("Key Number 0 means 'current', name a real MSK", "msk_id")
    key_text = t.text("key", secret=True)
    key_file = t.path("key_file")
    if (key_text is None) == (key_file is None):
        raise t.error("give exactly one of key and key_file")
    if key_file is not None:
        try:
            with key_file.open("rb") as f:
                raw = f.read(4096)
            key_text = raw.decode("ascii")
        except (OSError, UnicodeDecodeError):
            raise t.error(f"{key_file} cannot be read as hex", "key_file") from None
    assert key_text is not None
    key = _hex_key(key_text, t)
    vf = t.integer("valid_from", profile.MTK_ID_MIN, profile.MTK_ID_MIN, profile.MTK_ID_MAX)
    vt = t.integer("valid_to", profile.MTK_ID_MAX, profile.MTK_ID_MIN, profile.MTK_ID_MAX)
    if vt < vf:
        raise t.error(f"is below valid_from ({vt} < {vf})", "valid_to")
    t.done()
    try:
        return MskEntry(kdid, msk_id, Msk(key), MtkId(vf), MtkId(vt), None, SOURCE_CONFIG)
    except (InvalidIdentifier, InvalidKeyMaterial) as exc:
        raise t.error(str(exc)) from None


def _uri(t: Table, key: str) -> str | None:
    text = t.text(key)
    if text is None:
        return None
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
        raise t.error(f"must be an http(s) URI with a host (got {text!r})", key)
    return text


def _msk_client(t: Table) -> MskClientSettings:
    key_file = t.path("key_file", REQUIRED)
    listen = t.address("listen", REQUIRED, ipv4=False)
    settings = MskClientSettings(
        credentials=load_gba_key(key_file),
        listen=listen,
        port=t.integer("port", profile.MIKEY_UDP_PORT, 1, 0xFFFF),
        key_management_uri=_uri(t, "key_management_uri"),
        http_source=t.address("http_source", ipv4=False),
        request_timeout=t.number("request_timeout", 10.0, 0.1, 600.0),
        rerequest_interval=t.number("rerequest_interval", REREQUEST_INTERVAL_S, 0.0, 86400.0),
        retry_max=t.number("retry_max", RETRY_MAX_S, 1.0, 86400.0),
    )
    t.done()
    return settings


def ue_config(root: Table) -> UeConfig:
    """A :class:`UeConfig` from the root table of a UE file."""
    root.only(*TABLES)
    ann = root.section("announcement")
    protection = ann.path("protection", REQUIRED)
    sdp = ann.strings("sdp")
    if not sdp or not all(sdp):
        raise ann.error("is required: a non-empty list of paths", "sdp")
    ann.done()
    st = root.section("streaming")
    listen = st.address("listen", ipv4=False)
    interface = st.address("interface")
    mikey_port = st.integer("mikey_port", profile.MIKEY_UDP_PORT, 1, 0xFFFF)
    rtcp = st.flag("rtcp", True)
    st.done()
    dl = root.section("download")
    dl_listen = dl.address("listen", ipv4=False)
    dl_out = dl.path("output_dir")
    dl.done()
    srtp = root.table("srtp")
    msks = tuple(_msk(t) for t in root.array("msk"))
    if len({m.key for m in msks}) != len(msks):
        raise ConfigError("the same MSK is given twice", file=root.file, table="msk")
    report = root.section("report")
    keylog = report.path("keylog")
    report_json = report.path("json")
    report.done()
    client = root.table("msk_client")
    cfg = UeConfig(
        protection_file=protection,
        sdp_files=tuple(ann.resolve(p) for p in sdp),
        msks=msks,
        listen_address=listen,
        interface_address=interface,
        mikey_port=mikey_port,
        rtcp=rtcp,
        download_listen_address=dl_listen,
        download_output_dir=dl_out,
        srtp=None if srtp is None else srtp_section(srtp),
        keylog=keylog,
        report_json=report_json,
        msk_client=None if client is None else _msk_client(client),
        source=root.file,
    )
    root.done()
    return cfg


def config_from_dict(data: Mapping[str, Any], base: Path) -> UeConfig:
    """Build the configuration from parsed TOML; relative paths are taken from ``base``."""
    return ue_config(document(data, base=base))


def load_config(path: str | Path) -> UeConfig:
    """Read ``path`` (TOML, at most 1 MiB) into a :class:`UeConfig`."""
    return load(path, ue_config)


def ue_srtp(
    srtp: SrtpConfig | None,
    *,
    confidentiality: bool,
    integrity: bool,
    announcement: str = "the announcement",
    source: str | None = None,
) -> SrtpConfig:
    """The policy until an MSK brings one (module doc ``[srtp]``): the configured ``srtp``
    when it agrees with the announcement's confidentiality and integrity, else ConfigError
    naming both (``source``: the configuration file); without ``[srtp]`` the profile's policy
    fitted to the announcement."""
    if srtp is None:
        return SrtpConfig(
            cipher=profile.SRTP_DEFAULT_CIPHER if confidentiality else "null",
            auth_tag=profile.SRTP_DEFAULT_AUTH_TAG_BITS if integrity else None,
            rcc=profile.RCC_DEFAULT_MODE if integrity else "off",
        )
    for key, on, what, announced in (
        ("cipher", srtp.cipher != "null", "confidentiality", confidentiality),
        ("auth_tag", srtp.auth_tag is not None, "integrity", integrity),
    ):
        if on != announced:
            said = "on" if announced else "off"
            raise ConfigError(
                f"= {srtp.value(key)} but {announcement} says {what} {said}",
                file=source,
                table="srtp",
                key=key,
            )
    return srtp
