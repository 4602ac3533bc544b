"""Depacketise and decode what a UE decrypted (RFC 7741 VP8, RFC 7587 Opus): counts decoded video
and audio frames, so a demo can prove the payloads survived protection intact."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiortc.codecs.opus import OpusDecoder
from aiortc.codecs.vpx import Vp8Decoder, VpxPayloadDescriptor
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtp import RtpPacket

_MAX_FRAME_BYTES = 4 << 20  # a VP8 frame larger than this is not ours: drop it


@dataclass
class MediaCheckStats:
    video_frames: int = 0
    audio_frames: int = 0
    undecodable: int = 0
    incomplete: int = 0


@dataclass
class _Assembly:
    timestamp: int = -1
    next_seq: int = -1
    data: bytearray = field(default_factory=bytearray)
    broken: bool = False


class MediaCheck:
    """Feed decrypted RTP packets (in order, as a UE gets them); read :attr:`stats`."""

    def __init__(self, video_pt: int = 96, audio_pt: int = 111) -> None:
        self.video_pt = video_pt
        self.audio_pt = audio_pt
        self.stats = MediaCheckStats()
        self._vp8 = Vp8Decoder()
        self._opus = OpusDecoder()
        self._frames: dict[int, _Assembly] = {}

    def feed(self, rtp: bytes) -> None:
        try:
            pkt = RtpPacket.parse(rtp)
        except ValueError:
            self.stats.undecodable += 1
            return
        if pkt.payload_type == self.audio_pt:
            self._decode_audio(pkt)
        elif pkt.payload_type == self.video_pt:
            self._video(pkt)

    def _decode_audio(self, pkt: RtpPacket) -> None:
        try:
            frames = self._opus.decode(JitterFrame(pkt.payload, pkt.timestamp))
        except Exception:  # the codec's errors are not typed; count them
            self.stats.undecodable += 1
            return
        self.stats.audio_frames += len(frames)

    def _video(self, pkt: RtpPacket) -> None:
        a = self._frames.setdefault(pkt.ssrc, _Assembly())
        try:
            descriptor, data = VpxPayloadDescriptor.parse(pkt.payload)
        except ValueError:
            self.stats.undecodable += 1
            a.broken = True
            return
        if descriptor.partition_start and descriptor.partition_id == 0:
            if a.data and not a.broken:
                self.stats.incomplete += 1  # previous frame never saw its marker
            a.timestamp, a.data, a.broken = pkt.timestamp, bytearray(), False
        elif pkt.timestamp != a.timestamp or pkt.sequence_number != a.next_seq:
            a.broken = True  # lost the start or a middle packet of this frame
        a.next_seq = (pkt.sequence_number + 1) & 0xFFFF
        if len(a.data) + len(data) > _MAX_FRAME_BYTES:
            a.broken = True
        elif not a.broken:
            a.data += data
        if pkt.marker:
            if a.broken or not a.data:
                self.stats.incomplete += 1
            else:
                self._decode_video(bytes(a.data), a.timestamp)
            a.data, a.broken = bytearray(), False

    def _decode_video(self, data: bytes, timestamp: int) -> None:
        try:
            frames = self._vp8.decode(JitterFrame(data, timestamp))
        except Exception:  # libvpx errors are not typed; count them
            self.stats.undecodable += 1
            return
        if frames:
            self.stats.video_frames += len(frames)
        else:
            self.stats.undecodable += 1
