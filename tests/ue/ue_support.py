"""A tiny BM-SC streaming sender built from the sans-IO core (SrtpSender + build_mtk_message),
and shared keys / identifiers for the tests/ue modules (not a test module)."""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from broadcast.engine.ue.service_keys import MskEntry
from broadcast.proto.announce.protection import protection_description
from broadcast.proto.announce.sdp import RtpMap, streaming_sdp
from broadcast.proto.keys import KeyDomainId, Msk, MskId, Mtk, MtkId, SrtpSalt, srtp_mki
from broadcast.proto.mikey import SrtpPolicy, build_mtk_message
from broadcast.proto.mikey.payloads import SrtpCs
from broadcast.proto.srtp import SrtpSender

KDID = KeyDomainId.from_plmn("001", "01")
KEY_GROUP = 0x0102
MSK_ID = MskId(KEY_GROUP, 7)
MSK2_ID = MskId(KEY_GROUP, 8)
# Random-looking, distinct keys: their hex must never appear in logs.
MSK_BYTES = bytes.fromhex("3a9e51c07b2d48f6a1e0c9d7b5f34a82")
MSK2_BYTES = bytes.fromhex("5f0c8a2e9d417b36c2e8a0f4d6b19e73")
SSRC = 0x5EED1234
POLICY = SrtpPolicy()  # the profile default: AES-CM-128, RCCm2 R = 16, 80-bit tags


def counter_rand(seed: int = 1) -> Callable[[int], bytes]:
    """Deterministic ``rand(n)`` for the UE under test."""
    state = [seed]

    def rand(n: int) -> bytes:
        out = b""
        while len(out) < n:
            state[0] += 1
            out += state[0].to_bytes(8, "big")
        return out[:n]

    return rand


def msk_entry(msk_id: MskId = MSK_ID, key: bytes = MSK_BYTES, **kw: object) -> MskEntry:
    return MskEntry(KDID, msk_id, Msk(key), **kw)  # type: ignore[arg-type]


def rtp_packet(seq: int, ts: int, ssrc: int = SSRC, pt: int = 96, payload: bytes = b"") -> bytes:
    body = payload or bytes((seq + i) & 0xFF for i in range(40))
    return struct.pack("!BBHII", 0x80, pt, seq & 0xFFFF, ts & 0xFFFF_FFFF, ssrc) + body


def rtcp_sr(ssrc: int = SSRC) -> bytes:
    """A minimal RTCP sender report (RFC 3550 §6.4.1), no report blocks."""
    return struct.pack("!BBHIIIIII", 0x80, 200, 6, ssrc, 0, 0, 0, 0, 0)


@dataclass
class MtkKey:
    msk_id: MskId
    mtk_id: MtkId
    mtk: Mtk
    salt: SrtpSalt

    @property
    def mki(self) -> bytes:
        return srtp_mki(self.msk_id, self.mtk_id)


@dataclass
class StreamSender:
    """Protects RTP with the current MTK and builds the MTK messages announcing each MTK."""

    policy: SrtpPolicy = POLICY
    msks: dict[MskId, Msk] = field(
        default_factory=lambda: {MSK_ID: Msk(MSK_BYTES), MSK2_ID: Msk(MSK2_BYTES)}
    )
    ssrc: int = SSRC
    initial_roc: int = 0
    seq: int = 0
    counters: dict[MskId, int] = field(default_factory=dict)
    keys: list[MtkKey] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.srtp = SrtpSender(self.policy, key_capacity=8)
        self.srtp.set_roc(self.ssrc, self.initial_roc)

    def new_mtk(self, msk_id: MskId = MSK_ID, mtk_id: int | None = None) -> MtkKey:
        prev = [k.mtk_id.value for k in self.keys if k.msk_id == msk_id]
        key = MtkKey(
            msk_id,
            MtkId(mtk_id if mtk_id is not None else (max(prev) + 1 if prev else 1)),
            Mtk(os.urandom(16)),
            SrtpSalt(os.urandom(14)),
        )
        self.keys.append(key)
        if key.mki not in self.srtp.keys:  # a test may re-use an MTK ID for a forged message
            self.srtp.keys.add(key.mki, key.mtk, key.salt)
        return key

    def mtk_message(
        self,
        key: MtkKey,
        *,
        counter: int | None = None,
        msk: Msk | None = None,
        sessions: tuple[SrtpCs, ...] | None = None,
    ) -> bytes:
        if counter is None:
            counter = self.counters.get(key.msk_id, 0) + 1
        self.counters[key.msk_id] = max(counter, self.counters.get(key.msk_id, 0))
        return build_mtk_message(
            msk=msk if msk is not None else self.msks[key.msk_id],
            key_domain_id=KDID,
            msk_id=key.msk_id,
            mtk_id=key.mtk_id,
            mtk=key.mtk,
            counter=counter,
            rand=os.urandom(16),
            salt=key.salt,
            srtp_sessions=(
                (SrtpCs(0, self.ssrc, self.srtp.roc(self.ssrc)),) if sessions is None else sessions
            ),
        )

    def packet(self, key: MtkKey) -> bytes:
        rtp = rtp_packet(self.seq, self.seq * 3000, self.ssrc)
        self.seq = (self.seq + 1) & 0xFFFF
        return self.srtp.protect(rtp, key.mki)

    def rtcp(self, key: MtkKey) -> bytes:
        return self.srtp.protect_rtcp(rtcp_sr(self.ssrc), key.mki)


# --- loopback helpers -----------------------------------------------------------------------------


def udp_rx_queue(host: str, port: int) -> int | None:
    """Bytes waiting in the receive queue of the UDP socket bound to ``host:port`` (from
    /proc/net/udp), or None when no such socket is bound. Reading it disturbs nothing."""
    a, b, c, d = (int(x) for x in host.split("."))
    local = f"{(d << 24) | (c << 16) | (b << 8) | a:08X}:{port:04X}"
    with open("/proc/net/udp", encoding="ascii") as f:
        next(f)
        for line in f:
            fields = line.split()
            if fields[1] == local:
                return int(fields[4].split(":")[1], 16)
    return None


# --- announcement files ---------------------------------------------------------------------


def write_announcement(
    directory: Path,
    host: str,
    *,
    confidentiality: bool = True,
    integrity: bool = True,
    uicc: bool = False,
    rtp_port: int = 5004,
) -> tuple[Path, Path]:
    """A protection description and one streaming SDP (``stream.sdp``) in ``directory``."""
    sdp = streaming_sdp(address=host, media=[("video", rtp_port, RtpMap(96, "VP8", 90000))])
    sdp_path = directory / "stream.sdp"
    sdp_path.write_bytes(sdp.to_bytes())
    protection = protection_description(
        bmsc_fqdn="bmsc.example.org",
        key_domain_id=KDID,
        sessions=[("stream.sdp", KEY_GROUP)],
        confidentiality=confidentiality,
        integrity=integrity,
        uicc_key_management_required=uicc,
    )
    xml_path = directory / "protection.xml"
    xml_path.write_bytes(protection.to_xml())
    return xml_path, sdp_path
