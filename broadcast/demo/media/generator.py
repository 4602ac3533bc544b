"""A deterministic media source: a moving colour-bar test pattern encoded as VP8 (RFC 7741 RTP
payload) and a 440 Hz tone encoded as Opus (RFC 7587), each packetised into RTP (RFC 3550).

Sans-IO like the core: :meth:`MediaGenerator.next_packets` returns the RTP packets of the next
media frame and its presentation time relative to the start; the caller paces them (the streaming
service sends them at that time, a test takes them as fast as it likes).
"""

from __future__ import annotations

import fractions
import math
import struct
from dataclasses import dataclass

import av
from aiortc.codecs.opus import OpusEncoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.rtp import RtpPacket

#: RTP clock rates [RFC 7741 §4.1: 90 kHz; RFC 7587 §4.1: 48 kHz].
VIDEO_CLOCK: int = 90_000
AUDIO_CLOCK: int = 48_000
AUDIO_FRAME_SAMPLES: int = 960  # 20 ms at 48 kHz
_BARS = (  # BT.601 Y, U, V of the 75 % colour bars
    (180, 128, 128),
    (162, 44, 142),
    (131, 156, 44),
    (112, 72, 58),
    (84, 184, 198),
    (65, 100, 212),
    (35, 212, 114),
    (16, 128, 128),
)


@dataclass(frozen=True)
class MediaGeneratorConfig:
    """What the generator produces: dynamic payload types per RFC 3551 §6, SSRCs fixed so that
    announcements and receivers can name the streams."""

    width: int = 320
    height: int = 240
    fps: int = 15
    video_pt: int = 96
    audio_pt: int = 111
    video_ssrc: int = 0x11110001
    audio_ssrc: int = 0x11110002
    audio: bool = True
    tone_hz: float = 440.0
    first_sequence: int = 0


@dataclass(frozen=True)
class RtpOut:
    """One RTP packet and when (seconds after the start of the media) it is due."""

    at: float
    ssrc: int
    packet: bytes


class MediaGenerator:
    """Interleaves video frames and audio frames in presentation order."""

    def __init__(self, config: MediaGeneratorConfig | None = None) -> None:
        self.config = c = config or MediaGeneratorConfig()
        if not (
            16 <= c.width <= 1920
            and 16 <= c.height <= 1080
            and c.width % 2 == 0
            and c.height % 2 == 0
            and 1 <= c.fps <= 60
        ):
            raise ValueError("video: even width 16..1920, even height 16..1080, fps 1..60")
        self._video = Vp8Encoder()
        self._audio = OpusEncoder()
        self._video_index = 0
        self._audio_index = 0
        first = c.first_sequence & 0xFFFF
        self._seq = {c.video_ssrc: first, c.audio_ssrc: first}

    def _next_seq(self, ssrc: int) -> int:
        s = self._seq[ssrc]
        self._seq[ssrc] = (s + 1) & 0xFFFF
        return s

    def _video_frame(self, index: int) -> av.VideoFrame:
        c = self.config
        frame = av.VideoFrame(c.width, c.height, "yuv420p")
        shift = (index * 4) % c.width
        bar_w = max(1, c.width // len(_BARS))
        row_y = bytearray(c.width)
        row_u = bytearray(c.width // 2)
        row_v = bytearray(c.width // 2)
        for x in range(c.width):
            y, u, v = _BARS[((x + shift) // bar_w) % len(_BARS)]
            row_y[x] = y
            if x % 2 == 0:
                row_u[x // 2] = u
                row_v[x // 2] = v
        for plane, row, lines in (
            (frame.planes[0], row_y, c.height),
            (frame.planes[1], row_u, c.height // 2),
            (frame.planes[2], row_v, c.height // 2),
        ):
            stride = plane.line_size
            padded = bytes(row) + bytes(stride - len(row))
            plane.update(padded * lines)
        frame.pts = index * (VIDEO_CLOCK // c.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        return frame

    def _audio_frame(self, index: int) -> av.AudioFrame:
        c = self.config
        frame = av.AudioFrame(format="s16", layout="mono", samples=AUDIO_FRAME_SAMPLES)
        start = index * AUDIO_FRAME_SAMPLES
        w = 2 * math.pi * c.tone_hz / AUDIO_CLOCK
        pcm = struct.pack(
            f"<{AUDIO_FRAME_SAMPLES}h",
            *(int(8000 * math.sin(w * (start + i))) for i in range(AUDIO_FRAME_SAMPLES)),
        )
        frame.planes[0].update(pcm)
        frame.sample_rate = AUDIO_CLOCK
        frame.pts = start
        frame.time_base = fractions.Fraction(1, AUDIO_CLOCK)
        return frame

    def next_packets(self) -> list[RtpOut]:
        """The RTP packets of the next frame (video or audio, whichever is due first)."""
        c = self.config
        video_at = self._video_index / c.fps
        audio_at = self._audio_index * AUDIO_FRAME_SAMPLES / AUDIO_CLOCK
        if c.audio and audio_at < video_at:
            audio = self._audio_frame(self._audio_index)
            self._audio_index += 1
            payloads, timestamp = self._audio.encode(audio)
            return [
                self._rtp(audio_at, c.audio_ssrc, c.audio_pt, (p, timestamp, True))
                for p in payloads
            ]
        frame = self._video_frame(self._video_index)
        self._video_index += 1
        key = self._video_index % c.fps == 1  # a key frame every second: late joiners decode
        payloads, timestamp = self._video.encode(frame, force_keyframe=key)
        last = len(payloads) - 1
        return [
            self._rtp(video_at, c.video_ssrc, c.video_pt, (p, timestamp, i == last))
            for i, p in enumerate(payloads)
        ]

    def _rtp(self, at: float, ssrc: int, pt: int, unit: tuple[bytes, int, bool]) -> RtpOut:
        payload, ts, marker = unit
        pkt = RtpPacket(
            payload_type=pt,
            marker=int(marker),
            sequence_number=self._next_seq(ssrc),
            timestamp=ts & 0xFFFFFFFF,
            ssrc=ssrc,
            payload=payload,
        )
        return RtpOut(at, ssrc, pkt.serialize())
