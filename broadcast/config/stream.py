"""Configuration of a protected stream session: the TOML file of ``mbms stream --config FILE``.

Every key, its type and default (``broadcast/config/examples/stream.toml`` is a complete example).
Relative paths are relative to the directory of the configuration file. Unknown keys and wrong
types are errors (:class:`ConfigError` names the key), so a typo never goes unnoticed.

``[session]``
    ``name`` (string, required): session name (SDP ``s=``, logs, default CNAME).
    ``destination`` (string, required): IPv4 address of the session; SRTP goes to ``port``, SRTCP
    to ``port + 1`` and the MIKEY MTK messages to ``mikey_port`` at this same address
    (TS 33.246 6.3.3.2.2).
    ``port`` (integer, required): RTP destination port, even, 2..65534 (RFC 3550 §11).
    ``mikey_port`` (integer, 2269): UDP port of the MTK messages (profile ``MIKEY_UDP_PORT``).
    ``media`` ("video" | "audio", "video"): SDP media type.
    ``payload_type`` (integer 0..127, 96): RTP payload type (SDP and generator).
    ``encoding`` (string, "H264"): encoding name of ``a=rtpmap``.
    ``clock_rate`` (integer, 90000): RTP clock rate (``a=rtpmap``, generator, sender reports).
    ``channels`` (integer, none): audio channels for ``a=rtpmap``.
    ``sdp`` (path, "<name>.sdp"): where the session's SDP is written; "" = do not write it.
    ``max_streams`` (integer 1..1024, 16): most SSRCs protected in the session.

``[output]`` — how datagrams leave (SGi-mb; read by
``broadcast.config.output.output_config_from_mapping``,
    whose module ``broadcast.config.output`` is the reference for these keys)
    ``ttl`` (integer 0..255, 1): IP multicast TTL (also the SDP ``c=`` TTL for multicast).
    ``interface`` (string, none): outgoing multicast interface (name or IPv4 address).
    ``source`` (string, none): local source address to bind.
    ``source_port`` (integer, 0): local source port to bind (0 = any).
    ``multicast_loop`` (boolean, true): also deliver multicast to local listeners.
    ``gso`` (boolean, true), ``native`` (boolean, true): batched native send path (UDP GSO).
    ``send_timeout`` (seconds, 0.05): how long a blocked send may wait for buffer space.
    ``sndbuf`` (integer, 0 = system default): SO_SNDBUF bytes.
    ``[output.gtpu]`` (table, none): send every datagram as a GTP-U G-PDU: ``endpoint``,
    ``port`` (2152), ``teid``, ``sequence_numbers``.

``[keys]``
    ``store`` (path, required): the SQLite key store (shared with the BM-SC).
    ``mcc`` / ``mnc`` (strings of 3 / 2-3 digits, required): Key Domain ID = MCC || MNC.
    ``key_group`` (integer 0..65535, required): the Key Group whose CURRENT MSK protects the MTKs.
    ``standalone`` (boolean, true): create the Key Domain, the streaming Key Group and a CURRENT
    MSK (random key) when missing — for a run without a BM-SC.

``[srtp]`` (``broadcast.config.srtp``)
    ``cipher`` ("aes-cm-128" | "null", "aes-cm-128").
    ``auth_tag`` (80 | 32 | "null", 80): SRTP authentication tag bits.
    ``rcc`` ("RCCm1" | "RCCm2" | "RCCm3" | "off", "RCCm2"): RFC 4771 ROC-carrying mode.
    ``roc_rate`` (integer 1..65535, 16): R, a ROC every R packets.

``[mtk]`` (``broadcast.engine.streaming.schedule``; defaults from ``broadcast.profile``)
    ``period`` (seconds, 10): a new MTK this often (time mode).
    ``period_packets`` (integer, 0): > 0 = a new MTK after this many packets instead.
    ``lead`` (seconds, 2): the next MTK's message goes out this long before the switch.
    ``interval`` (seconds, 0.5): re-send interval of the current (and upcoming) MTK message.
    ``retry`` (seconds, 1): retry interval after a failed MTK creation.

``[ingest]``
    ``source`` ("generator" | "udp" | "pcap", "generator").
    ``max_batch`` (integer 1..4096, 256): datagrams handed over at once.
    udp: ``listen`` ("host:port", "127.0.0.1:5004"); ``rtcp_port`` (integer, none): also read
    RTCP on this port of the same host (ffmpeg sends RTCP to RTP port + 1).
    pcap: ``file`` (path, required); ``udp_port`` (integer, none = every UDP datagram): RTP
    datagrams go to this port and RTCP to the next; ``pace`` (boolean, true): keep the captured
    timing; ``loop`` (boolean, false): start over at the end.
    generator: ``ssrcs`` (list of integers, [0x4D424D53]); ``rate`` (packets/s per SSRC, 50);
    ``payload_size`` (bytes, 1000); ``first_seq`` (0..65535, 0); ``first_timestamp`` (0);
    ``count`` (packets per SSRC, 0 = no end); ``seed`` (integer, 0).

``[rtcp]``
    ``mode`` ("generate" | "forward" | "off", "generate"): make RTCP sender reports, forward the
    ingest's RTCP, or send none. Protected with the current MTK, sent to ``port + 1``.
    ``interval`` (seconds, 5): sender report interval (generate).
    ``cname`` (string, "<name>@mbms"): SDES CNAME of generated reports.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TypeVar

from broadcast import profile
from broadcast.config.files import MAX_TOML_BYTES, TomlFileError, read_toml
from broadcast.config.output import OutputConfig, OutputConfigError, output_config_from_mapping
from broadcast.config.srtp import SrtpConfig
from broadcast.engine.streaming.generator import DEFAULT_SSRC, GeneratorConfig
from broadcast.engine.streaming.schedule import MtkTiming
from broadcast.proto.keys.errors import InvalidIdentifier
from broadcast.proto.keys.ids import KeyDomainId

Address = tuple[str, int]

#: Datagrams handed over per wake-up / per batch at most.
MAX_BATCH: Final = 256


@dataclass(frozen=True, slots=True)
class UdpIngestConfig:
    """``source = "udp"``: listen on ``listen`` (RTP, or RTP+RTCP multiplexed) and optionally
    on ``rtcp_port`` of the same address."""

    listen: Address = ("127.0.0.1", 5004)
    rtcp_port: int | None = None
    max_batch: int = MAX_BATCH
    #: One recvmmsg per wake-up (False: a recv per datagram).
    recv_batch: bool = True


@dataclass(frozen=True, slots=True)
class PcapIngestConfig:
    """``source = "pcap"``: replay the UDP datagrams of ``file``."""

    file: Path = Path("input.pcap")
    udp_port: int | None = None
    pace: bool = True
    loop: bool = False
    max_batch: int = MAX_BATCH


IngestConfig = UdpIngestConfig | PcapIngestConfig | GeneratorConfig

MEDIA_TYPES: Final = ("video", "audio")
RTCP_MODES: Final = ("generate", "forward", "off")
SOURCES: Final = ("generator", "udp", "pcap")
#: Size cap of a configuration file.
MAX_CONFIG_BYTES: Final = MAX_TOML_BYTES


class ConfigError(ValueError):
    """The configuration is unusable; the text names the key."""


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """``[session]``."""

    name: str
    destination: str
    port: int
    mikey_port: int = profile.MIKEY_UDP_PORT
    media: str = "video"
    payload_type: int = 96
    encoding: str = "H264"
    clock_rate: int = 90000
    channels: int | None = None
    sdp: Path | None = None
    max_streams: int = 16

    @property
    def rtp_dest(self) -> tuple[str, int]:
        return (self.destination, self.port)

    @property
    def rtcp_dest(self) -> tuple[str, int]:
        return (self.destination, self.port + 1)

    @property
    def mikey_dest(self) -> tuple[str, int]:
        return (self.destination, self.mikey_port)

    @property
    def multicast(self) -> bool:
        return ipaddress.IPv4Address(self.destination).is_multicast


@dataclass(frozen=True, slots=True)
class KeysConfig:
    """``[keys]``."""

    store: Path
    key_domain: KeyDomainId
    key_group: int
    standalone: bool = True


@dataclass(frozen=True, slots=True)
class RtcpConfig:
    """``[rtcp]``."""

    mode: str = "generate"
    interval: float = profile.STREAM_RTCP_SR_INTERVAL_S
    cname: str | None = None


@dataclass(frozen=True, slots=True)
class StreamConfig:
    """A whole session (one TOML file)."""

    session: SessionConfig
    keys: KeysConfig
    output: OutputConfig = field(default_factory=OutputConfig)
    srtp: SrtpConfig = field(default_factory=SrtpConfig)
    mtk: MtkTiming = field(default_factory=MtkTiming)
    ingest: IngestConfig = field(default_factory=GeneratorConfig)
    rtcp: RtcpConfig = field(default_factory=RtcpConfig)

    @property
    def cname(self) -> str:
        return self.rtcp.cname or f"{self.session.name}@mbms"


# --- reading ------------------------------------------------------------------------------------

_T = TypeVar("_T")


class _Table:
    """One TOML table: typed getters that name the key in errors, and an unknown-key check."""

    def __init__(self, data: Any, name: str) -> None:
        if not isinstance(data, dict):
            raise ConfigError(f"[{name}] must be a table")
        self.data: dict[str, Any] = data
        self.name = name
        self.used: set[str] = set()

    def key(self, k: str) -> str:
        return f"{self.name}.{k}"

    def _get(self, k: str, types: type | tuple[type, ...], what: str) -> Any:
        self.used.add(k)
        if k not in self.data:
            return None
        v = self.data[k]
        if isinstance(v, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
            raise ConfigError(f"{self.key(k)} must be {what}, got {v!r}")
        if not isinstance(v, types):
            raise ConfigError(f"{self.key(k)} must be {what}, got {v!r}")
        return v

    def has(self, k: str) -> bool:
        return k in self.data

    def text(self, k: str, default: str | None = None, *, required: bool = False) -> str | None:
        v = self._get(k, str, "a string")
        if v is None and required:
            raise ConfigError(f"{self.key(k)} is required")
        return default if v is None else str(v)

    def integer(
        self, k: str, default: int | None, lo: int, hi: int, *, required: bool = False
    ) -> int | None:
        v = self._get(k, int, "an integer")
        if v is None:
            if required:
                raise ConfigError(f"{self.key(k)} is required")
            return default
        if not lo <= v <= hi:
            raise ConfigError(f"{self.key(k)} must be {lo}..{hi}, got {v}")
        return int(v)

    def number(self, k: str, default: float, *, positive: bool = True) -> float:
        v = self._get(k, (int, float), "a number")
        if v is None:
            return default
        v = float(v)
        if not math.isfinite(v) or v < 0 or (positive and v == 0):
            sign = "positive" if positive else ">= 0"
            raise ConfigError(f"{self.key(k)} must be a {sign} number")
        return v

    def flag(self, k: str, default: bool) -> bool:
        v = self._get(k, bool, "true or false")
        return default if v is None else bool(v)

    def choice(self, k: str, choices: tuple[str, ...], default: str) -> str:
        v = self.text(k, default)
        if v not in choices:
            raise ConfigError(f"{self.key(k)} must be one of {', '.join(choices)}, got {v!r}")
        return v

    def path(self, k: str, base: Path, default: Path | None = None) -> Path | None:
        v = self.text(k)
        if v is None:
            return default
        p = Path(v).expanduser()
        return p if p.is_absolute() else base / p

    def done(self, hint: str = "") -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise ConfigError(f"unknown key(s) in [{self.name}]{hint}: {', '.join(unknown)}")


def _ipv4(text: str, key: str) -> str:
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        raise ConfigError(f"{key} must be an IPv4 address, got {text!r}") from None


def _host_port(text: str, key: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 0xFFFF:
        raise ConfigError(f"{key} must be host:port, got {text!r}")
    return _ipv4(host, key), int(port)


def _req(v: _T | None) -> _T:
    assert v is not None
    return v


def _session(t: _Table, base: Path) -> SessionConfig:
    name = _req(t.text("name", required=True))
    if not name or not name.isprintable():
        raise ConfigError("session.name must be a non-empty printable string")
    port = _req(t.integer("port", None, 2, 65534, required=True))
    if port % 2:
        raise ConfigError("session.port must be even (RTCP goes to port + 1, RFC 3550 §11)")
    sdp_text = t.text("sdp")
    if sdp_text == "":
        sdp: Path | None = None
    else:
        sdp = t.path("sdp", base, base / f"{name}.sdp")
    media = t.choice("media", MEDIA_TYPES, "video")
    encoding = _req(t.text("encoding", "H264"))
    if not encoding or not encoding.replace("-", "").replace("_", "").isalnum():
        raise ConfigError("session.encoding must be an encoding name like H264 or opus")
    session = SessionConfig(
        name=name,
        destination=_ipv4(_req(t.text("destination", required=True)), "session.destination"),
        port=port,
        mikey_port=_req(t.integer("mikey_port", profile.MIKEY_UDP_PORT, 1, 65535)),
        media=media,
        payload_type=_req(t.integer("payload_type", 96, 0, 127)),
        encoding=encoding,
        clock_rate=_req(t.integer("clock_rate", 90000, 1, 0xFFFF_FFFF)),
        channels=t.integer("channels", None, 1, 255),
        sdp=sdp,
        max_streams=_req(t.integer("max_streams", 16, 1, 1024)),
    )
    t.done()
    return session


def output_config(data: Any) -> OutputConfig:
    """``[output]`` -> :class:`~broadcast.config.output.OutputConfig` (the SGi-mb parser)."""
    try:
        return output_config_from_mapping(data)
    except OutputConfigError as exc:
        raise ConfigError(str(exc)) from None


def _keys(t: _Table, base: Path) -> KeysConfig:
    store = t.path("store", base)
    if store is None:
        raise ConfigError("keys.store is required")
    try:
        domain = KeyDomainId.from_plmn(
            _req(t.text("mcc", required=True)), _req(t.text("mnc", required=True))
        )
    except InvalidIdentifier as exc:
        raise ConfigError(f"keys.mcc/keys.mnc: {exc}") from None
    cfg = KeysConfig(
        store=store,
        key_domain=domain,
        key_group=_req(t.integer("key_group", None, 0, 0xFFFF, required=True)),
        standalone=t.flag("standalone", True),
    )
    t.done()
    return cfg


def srtp_config(data: Any) -> SrtpConfig:
    """``[srtp]`` -> :class:`~broadcast.config.srtp.SrtpConfig` (keys in the module doc);
    also the UE's ``[srtp]`` (``broadcast.config.ue``). :class:`ConfigError` names the key."""
    t = _Table(data, "srtp")
    tag: int | None
    raw = t.data.get("auth_tag", 80)
    t.used.add("auth_tag")
    if raw == "null":
        tag = None
    elif isinstance(raw, int) and not isinstance(raw, bool) and raw in (80, 32):
        tag = raw
    else:
        raise ConfigError(f'srtp.auth_tag must be 80, 32 or "null", got {raw!r}')
    try:
        cfg = SrtpConfig(
            cipher=_req(t.text("cipher", "aes-cm-128")),
            auth_tag=tag,
            rcc=_req(t.text("rcc", profile.RCC_DEFAULT_MODE)),
            roc_rate=_req(t.integer("roc_rate", profile.RCC_DEFAULT_RATE, 1, 0xFFFF)),
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    t.done()
    return cfg


def _mtk(t: _Table) -> MtkTiming:
    try:
        cfg = MtkTiming(
            period=t.number("period", profile.STREAM_MTK_PERIOD_S),
            period_packets=_req(t.integer("period_packets", 0, 0, 1 << 48)),
            lead=t.number("lead", profile.STREAM_MTK_LEAD_S, positive=False),
            interval=t.number("interval", profile.STREAM_MTK_RESEND_INTERVAL_S),
            retry=t.number("retry", profile.STREAM_MTK_RETRY_S),
        )
    except ValueError as exc:
        raise ConfigError(f"[mtk]: {exc}") from None
    t.done()
    return cfg


def _ingest(t: _Table, base: Path, session: SessionConfig) -> IngestConfig:
    source = t.choice("source", SOURCES, "generator")
    max_batch = _req(t.integer("max_batch", MAX_BATCH, 1, 4096))
    cfg: IngestConfig
    if source == "udp":
        cfg = UdpIngestConfig(
            listen=_host_port(_req(t.text("listen", "127.0.0.1:5004")), "ingest.listen"),
            rtcp_port=t.integer("rtcp_port", None, 1, 65535),
            max_batch=max_batch,
        )
    elif source == "pcap":
        file = t.path("file", base)
        if file is None:
            raise ConfigError("ingest.file is required with source = pcap")
        cfg = PcapIngestConfig(
            file=file,
            udp_port=t.integer("udp_port", None, 1, 65534),
            pace=t.flag("pace", True),
            loop=t.flag("loop", False),
            max_batch=max_batch,
        )
    else:
        raw = t._get("ssrcs", list, "a list of integers")
        ssrcs = (DEFAULT_SSRC,) if raw is None else raw
        if not all(isinstance(s, int) and not isinstance(s, bool) for s in ssrcs):
            raise ConfigError("ingest.ssrcs must be a list of integers")
        try:
            cfg = GeneratorConfig(
                ssrcs=tuple(ssrcs),
                rate=t.number("rate", 50.0),
                payload_size=_req(t.integer("payload_size", 1000, 0, 1 << 20)),
                payload_type=session.payload_type,
                clock_rate=session.clock_rate,
                first_seq=_req(t.integer("first_seq", 0, 0, 0xFFFF)),
                first_timestamp=_req(t.integer("first_timestamp", 0, 0, 0xFFFF_FFFF)),
                count=_req(t.integer("count", 0, 0, 1 << 48)),
                seed=_req(t.integer("seed", 0, -(1 << 63), (1 << 63) - 1)),
            )
        except ValueError as exc:
            raise ConfigError(f"[ingest]: {exc}") from None
    t.done(f" for source = {source}")
    return cfg


def _rtcp(t: _Table) -> RtcpConfig:
    cfg = RtcpConfig(
        mode=t.choice("mode", RTCP_MODES, "generate"),
        interval=t.number("interval", profile.STREAM_RTCP_SR_INTERVAL_S),
        cname=t.text("cname"),
    )
    if cfg.cname is not None and not 0 < len(cfg.cname.encode()) <= 255:
        raise ConfigError("rtcp.cname must be 1..255 bytes")
    t.done()
    return cfg


_SECTIONS: Final = ("session", "output", "keys", "srtp", "mtk", "ingest", "rtcp")


def config_from_mapping(data: Mapping[str, Any], base_dir: Path = Path()) -> StreamConfig:
    """A :class:`StreamConfig` from parsed TOML (``base_dir`` anchors relative paths)."""
    unknown = sorted(set(data) - set(_SECTIONS))
    if unknown:
        raise ConfigError(f"unknown section(s): {', '.join(unknown)}")
    for required in ("session", "keys"):
        if required not in data:
            raise ConfigError(f"[{required}] is required")
    session = _session(_Table(data["session"], "session"), base_dir)
    return StreamConfig(
        session=session,
        keys=_keys(_Table(data["keys"], "keys"), base_dir),
        output=output_config(data.get("output")),
        srtp=srtp_config(data.get("srtp", {})),
        mtk=_mtk(_Table(data.get("mtk", {}), "mtk")),
        ingest=_ingest(_Table(data.get("ingest", {}), "ingest"), base_dir, session),
        rtcp=_rtcp(_Table(data.get("rtcp", {}), "rtcp")),
    )


def load_config(path: str | Path) -> StreamConfig:
    """Read and check a TOML session file (ConfigError with the key or line on any problem)."""
    p = Path(path)
    try:
        data = read_toml(p, max_bytes=MAX_CONFIG_BYTES)
    except TomlFileError as exc:
        raise ConfigError(str(exc)) from None
    return config_from_mapping(data, p.resolve().parent)


__all__ = [
    "ConfigError",
    "KeysConfig",
    "RtcpConfig",
    "SessionConfig",
    "StreamConfig",
    "config_from_mapping",
    "load_config",
    "output_config",
    "srtp_config",
]
