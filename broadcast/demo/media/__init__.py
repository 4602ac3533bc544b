"""Real media for the demo and the stream generator: a VP8 test pattern and an Opus tone packetised
as RTP (RFC 7741, RFC 7587) with aiortc/PyAV, and a checker that depacketises and decodes what a UE
decrypted — proof that SRTP protection leaves codec payloads intact."""

from broadcast.demo.media.check import MediaCheck, MediaCheckStats
from broadcast.demo.media.generator import MediaGenerator, MediaGeneratorConfig, RtpOut

__all__ = ["MediaCheck", "MediaCheckStats", "MediaGenerator", "MediaGeneratorConfig", "RtpOut"]
