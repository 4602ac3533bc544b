"""Configuration of a protected stream session: the TOML file of ``mbms stream --config FILE``.

Every key, its type and default (``broadcast/config/examples/stream.toml`` is a complete example).
The rules of every configuration file hold (:mod:`broadcast.config.reader`): **relative paths are
relative to the directory of the configuration file**; unknown tables and keys and wrong types are
refused with a :class:`~broadcast.proto.errors.ConfigError` naming the file, the table and the key.

``[session]``
    ``name`` (string, required): session name (SDP ``s=``, logs, default CNAME).
    ``media`` ("video" | "audio", "video"): SDP media type.
    ``payload_type`` (integer 0..127, 96): RTP payload type (SDP and generator).
    ``encoding`` (string, "H264"): encoding name of ``a=rtpmap``.
    ``clock_rate`` (integer, 90000): RTP clock rate (``a=rtpmap``, generator, sender reports).
    ``channels`` (integer, none): audio channels for ``a=rtpmap``.
    ``sdp`` (path, "<name>.sdp"): where the session's SDP is written; "" = do not write it.
    ``max_streams`` (integer 1..1024, 16): most SSRCs protected in the session.

``[destination]`` (the shared table, :mod:`broadcast.config.sections`)
    ``address`` (IPv4 address, required): the session's address; SRTP goes to ``port``, SRTCP to
    ``port + 1`` and the MIKEY MTK messages to ``mikey_port`` at this same address
    (TS 33.246 6.3.3.2.2).
    ``port`` (integer, required): RTP destination port, even, 2..65534 (RFC 3550 §11).
    ``mikey_port`` (integer, 2269): UDP port of the MTK messages (profile ``MIKEY_UDP_PORT``).

``[output]`` — how datagrams leave (SGi-mb): the shared table, every key in
:mod:`broadcast.config.sections`: ``ttl``, ``interface``, ``source``, ``source_port``,
``multicast_loop``, ``gso``, ``native``, ``send_timeout``, ``sndbuf``, ``[output.gtpu]``.

``[keys]`` (the shared table, :mod:`broadcast.config.sections`)
    ``store`` (path, required): the SQLite key store (the BM-SC's ``[keys] store``).
    ``mcc`` / ``mnc`` (strings, "001" / "01"), or ``key_domain`` (hex): the Key Domain.
    ``key_group`` (integer 0..65535, required): the streaming Key Group whose CURRENT MSK
    protects the MTKs.
    ``standalone`` (boolean, true): create the Key Domain, the streaming Key Group (with this
    file's ``[srtp]`` policy) and a CURRENT MSK (random key) when missing — for a run without a
    BM-SC.

``[srtp]`` — the SRTP policy (the shared table: ``cipher``, ``auth_tag``, ``rcc``, ``roc_rate``,
:mod:`broadcast.config.sections`). The policy belongs to the Key Group: the key store keeps it
with the group (set by ``mbms serve`` from its ``[key_group.srtp]``), the BM-SC's MSK messages
give it to every UE, and the stream protects with it. Without ``[srtp]`` the stream takes the
group's policy; with it, the stream refuses to start when the two disagree (every UE would fail
to decrypt), naming both values.

``[mtk]`` (``broadcast.engine.streaming.schedule``; defaults from ``broadcast.profile``)
    ``period`` (seconds, 10): a new MTK this often (time mode).
    ``period_packets`` (integer, 0): > 0 = a new MTK after this many packets instead.
    ``lead`` (seconds, 2): the next MTK's message goes out this long before the switch.
    ``interval`` (seconds, 0.5): re-send interval of the current (and upcoming) MTK message.
    ``retry`` (seconds, 1): retry interval after a failed MTK creation.

``[ingest]``
    ``source`` ("generator" | "udp" | "pcap", "generator").
    ``max_batch`` (integer 1..4096, 256): datagrams handed over at once.
    udp: ``listen`` (IPv4 address, "127.0.0.1") and ``port`` (integer, 5004): where the RTP
    arrives; ``rtcp_port`` (integer, none): also read RTCP on this port of the same address
    (ffmpeg sends RTCP to RTP port + 1).
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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from broadcast import profile
from broadcast.config.output import OutputConfig
from broadcast.config.reader import REQUIRED, Table, document, load
from broadcast.config.sections import (
    destination_section,
    key_group,
    keys_section,
    output_section,
    srtp_section,
)
from broadcast.engine.streaming.generator import DEFAULT_SSRC, GeneratorConfig
from broadcast.engine.streaming.schedule import MTK_RETRY_S, MtkTiming
from broadcast.proto.errors import ConfigError
from broadcast.proto.keys.ids import KeyDomainId
from broadcast.proto.keys.store import KeyGroupRecord
from broadcast.proto.srtp.settings import SrtpConfig

Address = tuple[str, int]

#: Datagrams handed over per wake-up / per batch at most.
MAX_BATCH: Final = 256
#: The tables of a session file.
TABLES: Final = ("session", "destination", "output", "keys", "srtp", "mtk", "ingest", "rtcp")
#: Where the RTP arrives by default (``source = "udp"``).
UDP_LISTEN: Final = ("127.0.0.1", 5004)


@dataclass(frozen=True, slots=True)
class UdpIngestConfig:
    """``source = "udp"``: listen on ``listen`` (RTP, or RTP+RTCP multiplexed) and optionally
    on ``rtcp_port`` of the same address."""

    listen: Address = UDP_LISTEN
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


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """``[session]`` and ``[destination]``."""

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
    """A whole session (one TOML file). ``srtp`` None: the Key Group's policy (no ``[srtp]``);
    ``source``: the file it was read from (named in errors found later)."""

    session: SessionConfig
    keys: KeysConfig
    output: OutputConfig = field(default_factory=OutputConfig)
    srtp: SrtpConfig | None = None
    mtk: MtkTiming = field(default_factory=MtkTiming)
    ingest: IngestConfig = field(default_factory=GeneratorConfig)
    rtcp: RtcpConfig = field(default_factory=RtcpConfig)
    source: str | None = None

    @property
    def cname(self) -> str:
        return self.rtcp.cname or f"{self.session.name}@mbms"


# --- reading ------------------------------------------------------------------------------------


def _session(t: Table, d: Table) -> SessionConfig:
    name = t.text("name", REQUIRED)
    if not name or not name.isprintable():
        raise t.error(f"must be a non-empty printable string (got {name!r})", "name")
    address, port = destination_section(d)
    if not 2 <= port <= 65534 or port % 2:
        raise d.error(
            f"must be even, 2..65534: RTCP goes to port + 1, RFC 3550 §11 (got {port})", "port"
        )
    mikey_port = d.integer("mikey_port", profile.MIKEY_UDP_PORT, 1, 0xFFFF)
    d.done()
    if t.text("sdp") == "":
        sdp: Path | None = None
    else:
        sdp = t.path("sdp", t.base / f"{name}.sdp")
    media = t.choice("media", MEDIA_TYPES, "video")
    encoding = t.text("encoding", "H264")
    if not encoding or not encoding.replace("-", "").replace("_", "").isalnum():
        raise t.error(f"must be an encoding name like H264 or opus (got {encoding!r})", "encoding")
    session = SessionConfig(
        name=name,
        destination=address,
        port=port,
        mikey_port=mikey_port,
        media=media,
        payload_type=t.integer("payload_type", 96, 0, 127),
        encoding=encoding,
        clock_rate=t.integer("clock_rate", 90000, 1, 0xFFFF_FFFF),
        channels=t.integer("channels", None, 1, 255),
        sdp=sdp,
        max_streams=t.integer("max_streams", 16, 1, 1024),
    )
    t.done()
    return session


def _keys(t: Table) -> KeysConfig:
    store, domain = keys_section(t)
    assert store is not None
    cfg = KeysConfig(
        store=store,
        key_domain=domain,
        key_group=key_group(t, REQUIRED),
        standalone=t.flag("standalone", True),
    )
    t.done()
    return cfg


def _mtk(t: Table) -> MtkTiming:
    cfg = MtkTiming(
        period=t.number("period", profile.STREAM_MTK_PERIOD_S, above=True),
        period_packets=t.integer("period_packets", 0, 0, 1 << 48),
        lead=t.number("lead", profile.STREAM_MTK_LEAD_S),
        interval=t.number("interval", profile.STREAM_MTK_RESEND_INTERVAL_S, above=True),
        retry=t.number("retry", MTK_RETRY_S, above=True),
    )
    t.done()
    return cfg


def _ingest(t: Table, session: SessionConfig) -> IngestConfig:
    source = t.choice("source", SOURCES, "generator")
    max_batch = t.integer("max_batch", MAX_BATCH, 1, 4096)
    cfg: IngestConfig
    if source == "udp":
        cfg = UdpIngestConfig(
            listen=(
                t.address("listen", UDP_LISTEN[0]),
                t.integer("port", UDP_LISTEN[1], 0, 0xFFFF),
            ),
            rtcp_port=t.integer("rtcp_port", None, 1, 65535),
            max_batch=max_batch,
        )
    elif source == "pcap":
        file = t.path("file")
        if file is None:
            raise t.error('is required with source = "pcap"', "file")
        cfg = PcapIngestConfig(
            file=file,
            udp_port=t.integer("udp_port", None, 1, 65534),
            pace=t.flag("pace", True),
            loop=t.flag("loop", False),
            max_batch=max_batch,
        )
    else:
        ssrcs = t.integers("ssrcs", 0, 0xFFFF_FFFF)
        try:
            cfg = GeneratorConfig(
                ssrcs=(DEFAULT_SSRC,) if ssrcs is None else tuple(ssrcs),
                rate=t.number("rate", 50.0, above=True),
                payload_size=t.integer("payload_size", 1000, 0, 1 << 20),
                payload_type=session.payload_type,
                clock_rate=session.clock_rate,
                first_seq=t.integer("first_seq", 0, 0, 0xFFFF),
                first_timestamp=t.integer("first_timestamp", 0, 0, 0xFFFF_FFFF),
                count=t.integer("count", 0, 0, 1 << 48),
                seed=t.integer("seed", 0, -(1 << 63), (1 << 63) - 1),
            )
        except ValueError as exc:
            raise t.error(str(exc)) from None
    t.done(f'for source = "{source}"')
    return cfg


def _rtcp(t: Table) -> RtcpConfig:
    cfg = RtcpConfig(
        mode=t.choice("mode", RTCP_MODES, "generate"),
        interval=t.number("interval", profile.STREAM_RTCP_SR_INTERVAL_S, above=True),
        cname=t.text("cname"),
    )
    if cfg.cname is not None and not 0 < len(cfg.cname.encode()) <= 255:
        raise t.error("must be 1..255 bytes", "cname")
    t.done()
    return cfg


def stream_config(root: Table) -> StreamConfig:
    """A :class:`StreamConfig` from the root table of a session file."""
    root.only(*TABLES)
    session = _session(
        root.section("session", required=True), root.section("destination", required=True)
    )
    srtp = root.table("srtp")
    cfg = StreamConfig(
        session=session,
        keys=_keys(root.section("keys", required=True)),
        output=output_section(root.section("output")),
        srtp=None if srtp is None else srtp_section(srtp),
        mtk=_mtk(root.section("mtk")),
        ingest=_ingest(root.section("ingest"), session),
        rtcp=_rtcp(root.section("rtcp")),
        source=root.file,
    )
    root.done()
    return cfg


def config_from_mapping(data: Mapping[str, Any], base_dir: Path = Path()) -> StreamConfig:
    """A :class:`StreamConfig` from parsed TOML (``base_dir`` anchors relative paths)."""
    return stream_config(document(data, base=base_dir))


def load_config(path: str | Path) -> StreamConfig:
    """Read and check a TOML session file (ConfigError naming file, table and key)."""
    return load(path, stream_config)


def session_srtp(config: StreamConfig, group: KeyGroupRecord) -> SrtpConfig:
    """The SRTP policy the session runs with: its Key Group's (``group`` as the key store has
    it). A ``[srtp]`` table that disagrees is refused with both values, e.g. ``[srtp] rcc =
    "off" but Key Group 2 in bmsc.db has rcc = "RCCm2"``; so is a download Key Group."""
    store = config.keys.store.name
    if group.srtp is None:
        raise ConfigError(
            f"Key Group {group.key_group} in {store} is a download Key Group, not a streaming one",
            file=config.source,
            table="keys",
            key="key_group",
        )
    mine = config.srtp
    if mine is None:
        return group.srtp
    differ = mine.differences(group.srtp)
    if differ:
        here = mine.value(differ[0]) + "".join(f", {k} = {mine.value(k)}" for k in differ[1:])
        raise ConfigError(
            f"= {here} but Key Group {group.key_group} in {store} has "
            f"{group.srtp.describe(differ)} (the Key Group's policy is the one the UEs get: "
            "remove [srtp] or make it agree)",
            file=config.source,
            table="srtp",
            key=differ[0],
        )
    return group.srtp


__all__ = [
    "KeysConfig",
    "RtcpConfig",
    "SessionConfig",
    "StreamConfig",
    "config_from_mapping",
    "load_config",
    "session_srtp",
    "stream_config",
]
