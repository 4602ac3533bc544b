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

    [destination]                    # the shared table: the SGi-mb destination of the session
    address = "232.1.1.1"
    port = 4000

    [output]                         # the shared table (TTL, interface, source, GSO, GTP-U, ...:
    ttl = 1                          # broadcast.config.sections)
    interface = "eth0"
    source = "10.0.0.1"              # local address = source of the SSM source-filter

    [keys]                           # the shared table
    store = "keys.sqlite"            # the BM-SC's key store (its [keys] store)
    mcc = "001"                      # Key Domain ID = MCC || MNC, as the BM-SC's and the
    mnc = "01"                       # stream's [keys] say it (strings: leading zeros)
    # key_domain = "00f110"          # or the Key Domain ID in hex — one of the two forms only
    key_group = 256                  # download Key Group (streaming = false)

    [bmsc]                           # the BM-SC the UEs get the MSKs from (named in every DCF)
    fqdn = "bmsc.example.org"        # DCF ContentID domain (the BM-SC's [bmsc] fqdn)
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
else (:func:`broadcast.config.sections.key_domain`): ``mcc`` and ``mnc`` (strings of 3 and 2-3
digits, both together) or ``key_domain`` (its 6 hex digits), one form only; neither = MCC 001,
MNC 01 (the test PLMN). The Key Group (``key_group``, default
:data:`~broadcast.profile.DOWNLOAD_DEFAULT_KEY_GROUP`) must be a download group
(``streaming = false``) of that Key Domain in the store: with a BM-SC, one of its
``[[key_group]]`` tables; the carousel creates the Key Domain, the group and a CURRENT MSK when
they are missing (a run without a BM-SC). ``[keys] store`` is required while
``confidentiality`` is on.

The rules of every configuration file hold (:mod:`broadcast.config.reader`): **relative paths
are relative to the directory of the configuration file**; unknown tables and keys are refused
(a typo must not silently fall back to a default) with a
:class:`~broadcast.proto.errors.ConfigError` naming the file, the table and the key. Defaults
come from :mod:`broadcast.profile` ("Download defaults").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from broadcast import profile
from broadcast.config.output import OutputConfig
from broadcast.config.reader import Table, document, load
from broadcast.config.sections import (
    DEFAULT_KEY_DOMAIN,
    destination_section,
    key_group,
    keys_section,
    output_section,
)
from broadcast.proto.errors import ConfigError
from broadcast.proto.flute import FluteVersion
from broadcast.proto.flute.fec import COMPACT_NO_CODE, RAPTOR
from broadcast.proto.keys import KeyDomainId

#: The tables of a carousel file.
TABLES: Final = ("session", "destination", "output", "keys", "bmsc", "input")
#: ``[bmsc]`` defaults: the BM-SC named in the DCFs (ContentID domain, RightsIssuerURL).
DEFAULT_BMSC_FQDN: Final = "bmsc.example.org"
DEFAULT_KEY_MANAGEMENT_URI: Final = "http://bmsc.example.org" + profile.KEY_MANAGEMENT_PATH
#: ``[input] watch_interval`` default: seconds between two scans of the input directory
#: (polling; implementation tuning, not a protocol decision).
WATCH_INTERVAL_S: Final = 2.0
#: Largest accepted ``[session] repair_overhead`` (Raptor repair symbols per round as a share of
#: K): a sanity bound of the configuration, not a protocol decision.
MAX_REPAIR_OVERHEAD: Final = 4.0
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
    key_domain: KeyDomainId = DEFAULT_KEY_DOMAIN
    key_group: int = profile.DOWNLOAD_DEFAULT_KEY_GROUP
    bmsc_fqdn: str = DEFAULT_BMSC_FQDN
    key_management_uri: str = DEFAULT_KEY_MANAGEMENT_URI
    input_directory: Path | None = None
    input_files: tuple[Path, ...] = ()
    watch_interval: float = WATCH_INTERVAL_S
    content_base: str = ""
    spool_directory: Path | None = None

    def __post_init__(self) -> None:
        host, port = self.destination
        if not host or not 0 < port < 65536:
            raise ConfigError("needs an address and a port 1..65535", table="destination")
        _check(0 <= self.tsi < 1 << 48, "tsi", "must be 0..2^48-1")
        _check(1 <= self.symbol_length <= 0xFFFF, "symbol_length", "must be 1..65535")
        _check(
            1 <= self.max_source_block_length <= 0xFFFF,
            "max_source_block_length",
            "must be 1..65535",
        )
        _check(
            self.fec in FEC_SCHEMES, "fec", f"must be one of {', '.join(map(repr, FEC_SCHEMES))}"
        )
        _check(
            0 <= self.repair_overhead <= MAX_REPAIR_OVERHEAD,
            "repair_overhead",
            f"must be 0..{MAX_REPAIR_OVERHEAD:g} (a share of K)",
        )
        for name in ("bitrate_kbps", "repeat_interval", "grace_period", "mtk_period"):
            _check(getattr(self, name) >= 0, name, "must not be negative")
        _check(self.fdt_repeat_interval > 0, "fdt_repeat_interval", "must be positive")
        if self.watch_interval <= 0:
            raise ConfigError("must be positive", table="input", key="watch_interval")
        _check(self.fdt_expires >= 2, "fdt_expires", "must be at least 2 seconds")
        if self.confidentiality and self.store_path is None:
            raise ConfigError("is required when confidentiality is on", table="keys", key="store")
        if not 0 <= self.key_group <= 0xFFFF:
            raise ConfigError("must be 0..65535", table="keys", key="key_group")

    @property
    def fec_encoding_id(self) -> int:
        """The FEC Encoding ID of the files (0 Compact No-Code, 1 Raptor)."""
        return FEC_SCHEMES[self.fec]

    @property
    def bitrate(self) -> float | None:
        """Bits per second, ``None`` = unlimited."""
        return self.bitrate_kbps * 1000 if self.bitrate_kbps else None


def _check(ok: bool, key: str, message: str) -> None:
    if not ok:
        raise ConfigError(message, table="session", key=key)


def _session(t: Table) -> dict[str, Any]:
    kw: dict[str, Any] = {
        "name": t.text("name", "mbms-carousel"),
        "tsi": t.integer("tsi", 1, 0, (1 << 48) - 1),
        "flute_version": FluteVersion(t.integer("flute_version", 1, 1, 2)),
        "symbol_length": t.integer("symbol_length", profile.DOWNLOAD_SYMBOL_LENGTH, 1, 0xFFFF),
        "max_source_block_length": t.integer(
            "max_source_block_length", profile.DOWNLOAD_MAX_SOURCE_BLOCK_LENGTH, 1, 0xFFFF
        ),
        "fec": t.choice("fec", tuple(FEC_SCHEMES), profile.DOWNLOAD_FEC),
        "repair_overhead": t.number(
            "repair_overhead",
            profile.RAPTOR_REPAIR_OVERHEAD,
            0.0,
            MAX_REPAIR_OVERHEAD,
        ),
        "send_source_every_round": t.flag(
            "send_source_every_round", profile.DOWNLOAD_RAPTOR_SOURCE_EVERY_ROUND
        ),
        "bitrate_kbps": t.number("bitrate_kbps", 0.0),
        "repeat_interval": t.number("repeat_interval", profile.DOWNLOAD_REPEAT_INTERVAL_S),
        "fdt_repeat_interval": t.number(
            "fdt_repeat_interval", profile.DOWNLOAD_FDT_REPEAT_INTERVAL_S, above=True
        ),
        "fdt_expires": t.integer("fdt_expires", profile.DOWNLOAD_FDT_EXPIRES_S, 2, 1 << 31),
        "grace_period": t.number("grace_period", profile.DOWNLOAD_GRACE_PERIOD_S),
        "mtk_period": t.number("mtk_period", profile.DOWNLOAD_MTK_PERIOD_S),
        "gzip": t.flag("gzip", False),
        "confidentiality": t.flag("confidentiality", True),
        "sdp_path": t.path("sdp"),
    }
    t.done()
    return kw


def _keys(t: Table) -> dict[str, Any]:
    store, domain = keys_section(t, store=None)
    kw = {
        "store_path": store,
        "key_domain": domain,
        "key_group": key_group(t, profile.DOWNLOAD_DEFAULT_KEY_GROUP),
    }
    t.done()
    return kw


def _bmsc(t: Table) -> dict[str, Any]:
    kw = {
        "bmsc_fqdn": t.text("fqdn", DEFAULT_BMSC_FQDN),
        "key_management_uri": t.text("key_management_uri", DEFAULT_KEY_MANAGEMENT_URI),
    }
    t.done()
    return kw


def _input(t: Table) -> dict[str, Any]:
    files = t.strings("files") or []
    if not all(files):
        raise t.error("must be a list of paths (no empty one)", "files")
    kw = {
        "input_directory": t.path("directory"),
        "input_files": tuple(t.resolve(f) for f in files),
        "watch_interval": t.number("watch_interval", WATCH_INTERVAL_S, above=True),
        "content_base": t.text("content_base", ""),
        "spool_directory": t.path("spool"),
    }
    t.done()
    return kw


def carousel_config(root: Table) -> CarouselConfig:
    """A :class:`CarouselConfig` from the root table of a carousel file."""
    root.only(*TABLES)
    d = root.section("destination", required=True)
    destination = destination_section(d)
    d.done()
    kwargs = {
        **_session(root.section("session")),
        **_keys(root.section("keys")),
        **_bmsc(root.section("bmsc")),
        **_input(root.section("input")),
    }
    output = output_section(root.section("output"))
    root.done()
    return CarouselConfig(destination=destination, output=output, **kwargs)


def config_from_mapping(data: Mapping[str, Any], *, base: Path = Path()) -> CarouselConfig:
    """Build a :class:`CarouselConfig` from parsed TOML (paths relative to ``base``)."""
    return carousel_config(document(data, base=base))


def load_config(path: str | Path) -> CarouselConfig:
    """Read and validate a carousel TOML file."""
    return load(path, carousel_config)


__all__ = ["FEC_SCHEMES", "CarouselConfig", "carousel_config", "config_from_mapping", "load_config"]
