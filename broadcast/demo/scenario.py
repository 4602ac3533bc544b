"""What the demo sets up in its fresh working directory, before anything runs.

* sample files for the carousel (seeded, so a seed gives the same bytes): a short text, an XML
  programme guide, a 150 kB image-like blob and a 1.2 MB clip — their sizes and MD5s are what
  every UE must reproduce;
* the configurations of the BM-SC (two Key Groups: the stream's, streaming, whose MSK messages
  carry the stream's SRTP policy, and the carousel's), of the stream and of the carousel, all on
  one SQLite store file (key store + BM-SC tables + GBA simulator);
* per UE: GBA credentials made by the BSF simulator (a bootstrap: B-TID, Ks_(ext)_NAF for the
  BM-SC's NAF-ID), written as the key file ``mbms gba add --key-file`` writes, a subscription to
  both Key Groups, and the UE's TOML configuration (``ue-<i>/ue.toml``) — the demo's UEs read
  exactly what ``mbms receive --config`` would;
* the announcement: both session descriptions and the protection description, whose key
  management URI is the BM-SC's actual address (known once it listens).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from pathlib import Path

from broadcast.aio import clock
from broadcast.aio.download.service import carousel_sdp
from broadcast.config.carousel import CarouselConfig
from broadcast.config.gba_key import GbaCredentials, write_gba_key
from broadcast.config.output import OutputConfig
from broadcast.config.stream import KeysConfig, RtcpConfig, SessionConfig, StreamConfig
from broadcast.demo.plan import DOWNLOAD_KEY_GROUP, FLUTE_PORT, RTP_PORT, STREAM_KEY_GROUP, Plan
from broadcast.demo.timeline import Timeline
from broadcast.engine.bmsc.settings import (
    BmscConfig,
    HttpConfig,
    KeyGroupConfig,
    PushConfig,
    RateLimitConfig,
)
from broadcast.engine.streaming.schedule import MtkTiming
from broadcast.proto.announce.protection import protection_description
from broadcast.proto.keys.ids import KeyDomainId
from broadcast.proto.msk.gba import naf_id
from broadcast.proto.msk.store import Subscription
from broadcast.proto.srtp.settings import SrtpConfig
from broadcast.store.bmsc import SQLiteBmscStore
from broadcast.store.gba_sim import SQLiteGbaStore
from broadcast.time import UnixS

#: The stream's RTP payload types (the media generator's) and SRTP policy.
VIDEO_PT = 96
AUDIO_PT = 111
SRTP = SrtpConfig()
STREAM_SDP = "stream.sdp"
CAROUSEL_SDP = "carousel.sdp"
CAROUSEL_TSI = 1


@dataclass(frozen=True, slots=True)
class SampleFile:
    """One carousel input: name, size and MD5 (hex) of its bytes."""

    name: str
    size: int
    md5: str


@dataclass(frozen=True, slots=True)
class UeSetup:
    """One UE's identity and files."""

    index: int
    impi: str
    b_tid: str
    directory: Path
    config_file: Path
    output_dir: Path
    push: tuple[str, int]
    media_host: str


def _text(rng: random.Random, lines: int) -> bytes:
    words = ("mbms", "broadcast", "key", "stream", "carousel", "MSK", "MTK", "FLUTE", "SRTP")
    return "".join(
        " ".join(rng.choice(words) for _ in range(rng.randint(4, 12))) + "\n" for _ in range(lines)
    ).encode("ascii")


def make_sample_files(directory: Path, seed: int) -> list[SampleFile]:
    """Write the carousel's inputs into ``directory`` (created); the same seed, the same bytes."""
    rng = random.Random(f"mbms-demo-files/{seed}")
    guide = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<programme>\n'
        + b"".join(
            f'  <item start="{h:02d}:00" title="Demo {h}"/>\n'.encode("ascii") for h in range(24)
        )
        + _text(rng, 120)
        + b"</programme>\n"
    )
    contents = {
        "readme.txt": _text(rng, 30),
        "programme.xml": guide,
        "poster.bin": rng.randbytes(150_000),
        "episode.bin": rng.randbytes(1_200_000),
    }
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for name, data in contents.items():
        (directory / name).write_bytes(data)
        out.append(
            SampleFile(name, len(data), hashlib.md5(data, usedforsecurity=False).hexdigest())
        )
    return out


def bmsc_config(store: Path, *, plan: Plan) -> BmscConfig:
    """The BM-SC: HTTP on the plan's address (ephemeral port), pushes from the same address
    (ACK timeout 1 s, doubling, 6 attempts), two Key Groups rotated on demand by the demo."""
    return BmscConfig(
        store=str(store),
        key_groups=(
            KeyGroupConfig(STREAM_KEY_GROUP, streaming=True, srtp=SRTP),
            KeyGroupConfig(DOWNLOAD_KEY_GROUP),
        ),
        http=HttpConfig(listen=plan.bmsc_host, port=0),
        rate_limit=RateLimitConfig(rate=50.0, burst=100),
        push=PushConfig(
            source=plan.bmsc_host, delay=0.2, ack_timeout=1.0, backoff=2.0, max_attempts=6
        ),
    )


def stream_config(
    store: Path, key_domain: KeyDomainId, timeline: Timeline, *, plan: Plan
) -> StreamConfig:
    """The protected stream: VP8 (+ the Opus tone, a second SSRC in the same RTP session) to the
    nominal destination, keys and SRTP policy from the BM-SC's store (no ``[srtp]``: the stream
    takes its Key Group's), MTK timing from the timeline. The RTP comes
    from the demo's media source, handed to the service as its ingest object
    (``StreamService(config, ingest=...)``): ``ingest`` stays at its default, unused."""
    return StreamConfig(
        session=SessionConfig(
            name="mbms-demo-stream",
            destination=plan.stream_nominal,
            port=RTP_PORT,
            media="video",
            payload_type=VIDEO_PT,
            encoding="VP8",
            clock_rate=90000,
            sdp=None,
        ),
        keys=KeysConfig(
            store=store, key_domain=key_domain, key_group=STREAM_KEY_GROUP, standalone=False
        ),
        output=OutputConfig(source=plan.bmsc_host),
        mtk=MtkTiming(
            period=timeline.stream_mtk_period,
            lead=timeline.stream_mtk_lead,
            interval=timeline.stream_mtk_interval,
        ),
        rtcp=RtcpConfig(mode="generate", interval=min(5.0, timeline.duration / 4)),
    )


def carousel_config(
    *,
    store: Path,
    key_domain: KeyDomainId,
    bmsc_fqdn: str,
    key_management_uri: str,
    inputs: Path,
    spool: Path,
    timeline: Timeline,
    fec: str,
    plan: Plan,
) -> CarouselConfig:
    """The protected carousel: the sample files, back to back at the timeline's bitrate."""
    return CarouselConfig(
        destination=(plan.carousel_nominal, FLUTE_PORT),
        tsi=CAROUSEL_TSI,
        name="mbms-demo-carousel",
        fec=fec,
        bitrate_kbps=timeline.carousel_kbps,
        repeat_interval=0.0,
        fdt_repeat_interval=timeline.fdt_interval,
        grace_period=timeline.carousel_grace,
        mtk_period=timeline.carousel_mtk_period,
        store_path=store,
        key_domain=key_domain,
        key_group=DOWNLOAD_KEY_GROUP,
        bmsc_fqdn=bmsc_fqdn,
        key_management_uri=key_management_uri,
        input_directory=inputs,
        watch_interval=timeline.watch_interval,
        spool_directory=spool,
        output=OutputConfig(source=plan.bmsc_host),
    )


def write_announcement(
    directory: Path,
    *,
    stream_sdp: str,
    carousel: CarouselConfig,
    bmsc_fqdn: str,
    key_domain: KeyDomainId,
    key_management_uri: str,
    plan: Plan,
) -> None:
    """protection.xml, stream.sdp and carousel.sdp in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / STREAM_SDP).write_text(stream_sdp, encoding="utf-8", newline="")
    (directory / CAROUSEL_SDP).write_text(
        carousel_sdp(carousel, source=plan.bmsc_host, session_id=int(clock.unix())).to_text(),
        encoding="utf-8",
        newline="",
    )
    description = protection_description(
        bmsc_fqdn=bmsc_fqdn,
        key_domain_id=key_domain,
        sessions=[(STREAM_SDP, STREAM_KEY_GROUP), (CAROUSEL_SDP, DOWNLOAD_KEY_GROUP)],
        key_management_uri=key_management_uri,
    )
    (directory / "protection.xml").write_bytes(description.to_xml())


UE_TOML = """\
# Reference UE {index} of the loopback demo: `mbms receive --config {config}` runs the same UE.
[announcement]
protection = "../announcement/protection.xml"
sdp = ["../announcement/{stream_sdp}", "../announcement/{carousel_sdp}"]

[streaming]
# This UE's copy of the stream (the demo's fan-out models point-to-multipoint on loopback).
listen = "{media_host}"

[download]
listen = "{media_host}"
output_dir = "received"

[msk_client]
# GBA credentials from the BSF simulator (mode 0600), as `mbms gba add --key-file` writes them.
key_file = "gba.json"
# MSK pushes arrive here; MSK requests leave from here (the BM-SC pushes back to it).
listen = "{push_host}"
port = {push_port}
"""


def enrol_ues(
    count: int,
    *,
    workdir: Path,
    gba: SQLiteGbaStore,
    store: SQLiteBmscStore,
    config: BmscConfig,
    now_unix: UnixS,
    plan: Plan,
) -> list[UeSetup]:
    """Bootstrap, subscribe and configure UEs 1..count at their ``plan`` addresses (see the
    module doc)."""
    ues = []
    naf = naf_id(config.fqdn)
    for i in range(1, count + 1):
        addr = plan.ue_addresses(i)
        impi = f"ue{i}@demo.mnc001.mcc001.3gppnetwork.org"
        boot = gba.bootstrap(impi, now_unix=UnixS(int(now_unix)), lifetime=config.gba.key_lifetime)
        key = gba.ue_material(boot.b_tid, naf)
        directory = workdir / f"ue-{i}"
        directory.mkdir(parents=True, exist_ok=True)
        write_gba_key(
            directory / "gba.json",
            GbaCredentials(impi, boot.b_tid, config.fqdn, key.expires_at, key.ks_naf),
        )
        for group in (STREAM_KEY_GROUP, DOWNLOAD_KEY_GROUP):
            store.add_subscription(
                Subscription(impi, config.key_domain, group, addr.push[0], addr.push[1])
            )
        config_file = directory / "ue.toml"
        config_file.write_text(
            UE_TOML.format(
                index=i,
                config=config_file,
                stream_sdp=STREAM_SDP,
                carousel_sdp=CAROUSEL_SDP,
                media_host=addr.media_host,
                push_host=addr.push[0],
                push_port=addr.push[1],
            ),
            encoding="utf-8",
        )
        ues.append(
            UeSetup(
                i,
                impi,
                boot.b_tid,
                directory,
                config_file,
                directory / "received",
                addr.push,
                addr.media_host,
            )
        )
    return ues


__all__ = [
    "AUDIO_PT",
    "CAROUSEL_SDP",
    "STREAM_SDP",
    "VIDEO_PT",
    "SampleFile",
    "UeSetup",
    "bmsc_config",
    "carousel_config",
    "enrol_ues",
    "make_sample_files",
    "stream_config",
    "write_announcement",
]
