"""Configuration of a protected file carousel (``mbms carousel --config FILE``), TOML.

Example (``broadcast/config/examples/carousel.toml`` is a complete one)::

    [session]
    name = "daily-news"              # SDP s= line
    tsi = 1                          # Transport Session Identifier
    flute_version = 1                # 1 = RFC 3926 (MBMS), 2 = RFC 6726
    symbol_length = 1428             # encoding symbol length, bytes
    max_source_block_length = 64     # Compact No-Code symbols per source block
    fec = "compact-no-code"          # FEC of the files: "compact-no-code" or "raptor"
    repair_overhead = 0.2            # raptor: repair symbols per block and round, share of K
    send_source_every_round = true   # raptor: false = after the first round, repair symbols only
    bitrate_kbps = 2000              # total (IPv4+UDP) bitrate limit; 0 = unlimited
    repeat_interval = 10.0           # s between passes over each object
    fdt_repeat_interval = 1.0        # s between repeats of the FDT Instance
    fdt_expires = 120                # s: FDT Expires = now + this
    grace_period = 60.0              # s an old object is still sent after being replaced
    mtk_period = 600.0               # s between MTK rotations (0 = never)
    gzip = false                     # Content-Encoding gzip of the transport objects
    confidentiality = true           # DCF + MIKEY; false = plain files, no key management
    sdp = "carousel.sdp"             # where to write the session's SDP ("" = nowhere)

    [destination]                    # the SGi-mb destination of the FLUTE session
    address = "232.1.1.1"
    port = 4000

    [output]                         # socket options towards the MBMS gateway: the table
    ttl = 1                          # shared with streaming, see broadcast.config.output
    interface = "eth0"               # (GSO, GTP-U, send timeout, ...)
    source = "10.0.0.1"              # local address = source of the SSM source-filter

    [keys]
    store = "keys.sqlite"            # the BM-SC's SQLite key store (its `store`)
    mcc = "001"                      # Key Domain ID = MCC || MNC, as the BM-SC's [key_domain]
    mnc = "01"                       # and the stream's [keys] say it (strings: leading zeros)
    # key_domain = "00f110"          # or the Key Domain ID in hex — one of the two forms only
    key_group = 1                    # download Key Group (streaming = false)
    bmsc_fqdn = "bmsc.example.org"   # DCF ContentID domain
    key_management_uri = "http://bmsc.example.org/keymanagement"  # DCF RightsIssuerURL

    [input]
    directory = "outbox"             # watched: files added/changed/removed are followed
    files = ["extra/readme.txt"]     # and/or a fixed list
    watch_interval = 2.0             # s between directory polls (mtime, size, inode)
    content_base = ""                # prefix of every file's Content-Location
    spool = ""                       # spool directory for protected objects ("" = temporary)

FEC (``fec``): ``"compact-no-code"`` (FEC Encoding ID 0, RFC 5445) repeats the same source
symbols every round. ``"raptor"`` (FEC Encoding ID 1, RFC 5053, the MBMS FEC of TS 26.346) sends
each file in source blocks of up to 8192 symbols, every round its K source symbols and
R = ceil(K·``repair_overhead``) repair symbols (0 <= overhead <= 4) with new repair ESIs each
round; with ``send_source_every_round = false`` rounds after the first send K + R fresh repair
symbols instead — a receiver completes a block from any K or so symbols of any rounds. The SDP
then says ``a=FEC-declaration:0 encoding-id=1``; files under 4 bytes, FDT Instances and MIKEY
objects stay Compact No-Code (``max_source_block_length`` applies to those).

The Key Domain (TS 33.246 6.3.2.1: Key Domain ID = MCC || MNC, 3 bytes) is spelt as everywhere
else — ``mcc`` and ``mnc`` (strings of 3 and 2-3 digits, both required together), like the
BM-SC's ``[key_domain]`` and the stream's ``[keys]`` — or, alternatively, ``key_domain``: its 6
hex digits. Exactly one of the two forms; neither = MCC 001, MNC 01 (the test PLMN). The Key
Group (``key_group``, default :data:`~broadcast.profile.DOWNLOAD_DEFAULT_KEY_GROUP`) must be a
download group (``streaming = false``) of that Key Domain in the store: with a BM-SC, one of its
``[[key_group]]`` tables; the carousel creates the Key Domain, the group and a CURRENT MSK when
they are missing (a run without a BM-SC).

Relative paths are relative to the configuration file. Unknown keys are errors (a typo must not
silently fall back to a default). Defaults come from :mod:`broadcast.profile` ("Download
defaults").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from broadcast import profile
from broadcast.config.files import TomlFileError, read_toml
from broadcast.config.output import OutputConfig, OutputConfigError, output_config_from_mapping
from broadcast.proto.flute import FluteVersion
from broadcast.proto.flute.fec import COMPACT_NO_CODE, RAPTOR
from broadcast.proto.keys import InvalidIdentifier, KeyDomainId


class ConfigError(ValueError):
    """The carousel configuration is invalid; the message names the key."""


#: ``session.fec`` values and their FEC Encoding IDs (RFC 5052 §6.1 registry).
FEC_SCHEMES = {"compact-no-code": COMPACT_NO_CODE, "raptor": RAPTOR}


@dataclass(frozen=True, slots=True)
class CarouselConfig:
    """Everything a :class:`~broadcast.aio.download.service.CarouselService` needs."""

    destination: tuple[str, int]
    tsi: int = 1
    name: str = "mbms-carousel"
    flute_version: FluteVersion = FluteVersion.V1
    symbol_length: int = profile.DOWNLOAD_SYMBOL_LENGTH
    max_source_block_length: int = profile.DOWNLOAD_MAX_SOURCE_BLOCK_LENGTH
    fec: str = profile.DOWNLOAD_FEC
    repair_overhead: float = profile.RAPTOR_REPAIR_OVERHEAD
    send_source_every_round: bool = profile.DOWNLOAD_RAPTOR_SOURCE_EVERY_ROUND
    bitrate_kbps: float = 0.0
    repeat_interval: float = profile.DOWNLOAD_REPEAT_INTERVAL_S
    fdt_repeat_interval: float = profile.DOWNLOAD_FDT_REPEAT_INTERVAL_S
    fdt_expires: int = profile.DOWNLOAD_FDT_EXPIRES_S
    grace_period: float = profile.DOWNLOAD_GRACE_PERIOD_S
    mtk_period: float = profile.DOWNLOAD_MTK_PERIOD_S
    gzip: bool = False
    confidentiality: bool = True
    sdp_path: Path | None = None
    output: OutputConfig = field(default_factory=OutputConfig)
    store_path: Path | None = None
    key_domain: KeyDomainId = field(default_factory=lambda: KeyDomainId.from_plmn("001", "01"))
    key_group: int = profile.DOWNLOAD_DEFAULT_KEY_GROUP
    bmsc_fqdn: str = "bmsc.example.org"
    key_management_uri: str = "http://bmsc.example.org" + profile.KEY_MANAGEMENT_PATH
    input_directory: Path | None = None
    input_files: tuple[Path, ...] = ()
    watch_interval: float = profile.DOWNLOAD_WATCH_INTERVAL_S
    content_base: str = ""
    spool_directory: Path | None = None

    def __post_init__(self) -> None:
        host, port = self.destination
        if not host or not 0 < port < 65536:
            raise ConfigError("destination: an address and a port 1..65535")
        if not 0 <= self.tsi < 1 << 48:
            raise ConfigError("session.tsi: 0..2^48-1")
        if not 1 <= self.symbol_length <= 0xFFFF:
            raise ConfigError("session.symbol_length: 1..65535")
        if not 1 <= self.max_source_block_length <= 0xFFFF:
            raise ConfigError("session.max_source_block_length: 1..65535")
        if self.fec not in FEC_SCHEMES:
            raise ConfigError(f"session.fec: one of {', '.join(map(repr, FEC_SCHEMES))}")
        if not 0 <= self.repair_overhead <= profile.DOWNLOAD_RAPTOR_MAX_OVERHEAD:
            raise ConfigError(
                f"session.repair_overhead: 0..{profile.DOWNLOAD_RAPTOR_MAX_OVERHEAD:g} (share of K)"
            )
        for name in ("bitrate_kbps", "repeat_interval", "grace_period", "mtk_period"):
            if getattr(self, name) < 0:
                raise ConfigError(f"session.{name} must not be negative")
        if self.fdt_repeat_interval <= 0 or self.watch_interval <= 0:
            raise ConfigError("fdt_repeat_interval and watch_interval must be positive")
        if self.fdt_expires < 2:
            raise ConfigError("session.fdt_expires: at least 2 seconds")
        if self.confidentiality and self.store_path is None:
            raise ConfigError("keys.store is required when confidentiality is on")

    @property
    def fec_encoding_id(self) -> int:
        """The FEC Encoding ID of the files (0 Compact No-Code, 1 Raptor)."""
        return FEC_SCHEMES[self.fec]

    @property
    def bitrate(self) -> float | None:
        """Bits per second, ``None`` = unlimited."""
        return self.bitrate_kbps * 1000 if self.bitrate_kbps else None


_SECTIONS = {
    "session": {
        "name", "tsi", "flute_version", "symbol_length", "max_source_block_length",
        "fec", "repair_overhead", "send_source_every_round", "bitrate_kbps", "repeat_interval",
        "fdt_repeat_interval", "fdt_expires",
        "grace_period", "mtk_period", "gzip", "confidentiality", "sdp",
    },
    "destination": {"address", "port"},
    "keys": {
        "store", "key_domain", "mcc", "mnc", "key_group", "bmsc_fqdn", "key_management_uri",
    },
    "input": {"directory", "files", "watch_interval", "content_base", "spool"},
}  # fmt: skip


def _typed(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = table[key]
    if (
        isinstance(value, bool)
        and kind is not bool
        and bool not in (kind if isinstance(kind, tuple) else (kind,))
    ):
        raise ConfigError(f"{where}.{key}: expected a number, got a boolean")
    if not isinstance(value, kind):
        raise ConfigError(f"{where}.{key}: wrong type {type(value).__name__}")
    return value


def _key_domain(keys: dict[str, Any]) -> KeyDomainId | None:
    """``[keys]`` ``mcc``/``mnc`` or ``key_domain`` (hex): exactly one form (None: neither)."""
    plmn = [k for k in ("mcc", "mnc") if k in keys]
    if "key_domain" in keys:
        if plmn:
            raise ConfigError(
                "[keys]: the Key Domain is given twice — use mcc/mnc or key_domain (hex), not both"
            )
        try:
            return KeyDomainId.from_hex(_typed(keys, "key_domain", str, "keys"))
        except InvalidIdentifier as exc:
            raise ConfigError(f"keys.key_domain: {exc}") from None
    if not plmn:
        return None
    if len(plmn) == 1:
        missing = "mnc" if plmn == ["mcc"] else "mcc"
        raise ConfigError(f"keys.{missing} is missing: mcc and mnc go together")
    for key in plmn:
        if not isinstance(keys[key], str):
            raise ConfigError(
                f'keys.{key}: a string of digits (mcc = "001", mnc = "01"), '
                f"got {type(keys[key]).__name__}: leading zeros matter"
            )
    try:
        return KeyDomainId.from_plmn(keys["mcc"], keys["mnc"])
    except InvalidIdentifier as exc:
        raise ConfigError(f"keys.mcc/keys.mnc: {exc}") from None


def load_config(path: str | Path) -> CarouselConfig:
    """Read and validate a carousel TOML file."""
    file = Path(path)
    try:
        data = read_toml(file)
    except TomlFileError as exc:
        raise ConfigError(str(exc)) from None
    return config_from_mapping(data, base=file.parent)


def config_from_mapping(data: dict[str, Any], *, base: Path = Path()) -> CarouselConfig:
    """Build a :class:`CarouselConfig` from parsed TOML (paths relative to ``base``)."""
    for section, value in data.items():
        if section == "output":
            continue  # checked by broadcast.sgimb (the [output] table shared with streaming)
        if section not in _SECTIONS:
            raise ConfigError(f"unknown section [{section}]")
        if not isinstance(value, dict):
            raise ConfigError(f"[{section}] must be a table")
        unknown = set(value) - _SECTIONS[section]
        if unknown:
            raise ConfigError(f"[{section}]: unknown key(s) {', '.join(sorted(unknown))}")
    session = data.get("session", {})
    dest = data.get("destination", {})
    keys = data.get("keys", {})
    inputs = data.get("input", {})
    if "address" not in dest or "port" not in dest:
        raise ConfigError("[destination] needs address and port")

    def path(value: Any, where: str) -> Path:
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{where}: expected a path")
        p = Path(value)
        return p if p.is_absolute() else base / p

    kwargs: dict[str, Any] = {
        "destination": (
            _typed(dest, "address", str, "destination"),
            _typed(dest, "port", int, "destination"),
        )
    }
    number = (int, float)
    for key, kind in (
        ("name", str),
        ("tsi", int),
        ("symbol_length", int),
        ("max_source_block_length", int),
        ("fec", str),
        ("repair_overhead", number),
        ("send_source_every_round", bool),
        ("bitrate_kbps", number),
        ("repeat_interval", number),
        ("fdt_repeat_interval", number),
        ("fdt_expires", int),
        ("grace_period", number),
        ("mtk_period", number),
        ("gzip", bool),
        ("confidentiality", bool),
    ):
        if key in session:
            kwargs[key] = _typed(session, key, kind, "session")
    if "flute_version" in session:
        version = _typed(session, "flute_version", int, "session")
        if version not in (1, 2):
            raise ConfigError("session.flute_version: 1 or 2")
        kwargs["flute_version"] = FluteVersion(version)
    if session.get("sdp"):
        kwargs["sdp_path"] = path(session["sdp"], "session.sdp")
    try:
        kwargs["output"] = output_config_from_mapping(data.get("output"))
    except OutputConfigError as exc:
        raise ConfigError(str(exc)) from None
    if "store" in keys:
        kwargs["store_path"] = path(keys["store"], "keys.store")
    key_domain = _key_domain(keys)
    if key_domain is not None:
        kwargs["key_domain"] = key_domain
    for key, kind in (("key_group", int), ("bmsc_fqdn", str), ("key_management_uri", str)):
        if key in keys:
            kwargs[key] = _typed(keys, key, kind, "keys")
    if not 0 <= kwargs.get("key_group", 0) <= 0xFFFF:
        raise ConfigError("keys.key_group: 0..65535")
    if "directory" in inputs:
        kwargs["input_directory"] = path(inputs["directory"], "input.directory")
    if "files" in inputs:
        files = _typed(inputs, "files", list, "input")
        kwargs["input_files"] = tuple(path(f, "input.files") for f in files)
    if "watch_interval" in inputs:
        kwargs["watch_interval"] = _typed(inputs, "watch_interval", number, "input")
    if "content_base" in inputs:
        kwargs["content_base"] = _typed(inputs, "content_base", str, "input")
    if inputs.get("spool"):
        kwargs["spool_directory"] = path(inputs["spool"], "input.spool")
    try:
        return CarouselConfig(**kwargs)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(str(exc)) from None


__all__ = ["FEC_SCHEMES", "CarouselConfig", "ConfigError", "config_from_mapping", "load_config"]
