"""A deterministic RTP source: packets at a configured rate, payload size and type (RFC 3550).

For demos, tests and benchmarks when there is no real encoder. Each configured SSRC sends
``rate`` packets per second; packet k of an SSRC has SEQ = first_seq + k (mod 2^16), timestamp =
first_timestamp + round(k * clock_rate / rate) (mod 2^32) and a payload whose first 8 bytes are k
(big-endian) followed by bytes drawn once from ``random.Random(seed, ssrc)``. Same configuration,
same packets, byte for byte; starting SEQ near 65535 exercises the ROC wrap.

Sans-IO: :meth:`RtpGenerator.due` takes the elapsed time and returns the packets due by then.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Final

from broadcast.proto.rtp.rtp import MAX_DATAGRAM, RTP_FIXED_HEADER_LEN

#: Default SSRC ("MBMS" in ASCII).
DEFAULT_SSRC: Final = 0x4D424D53
#: Payload bytes that carry the packet number.
COUNTER_LEN: Final = 8


@dataclass(frozen=True, slots=True)
class GeneratorConfig:
    """The ``[ingest]`` settings of ``source = "generator"`` (see ``config``)."""

    ssrcs: tuple[int, ...] = (DEFAULT_SSRC,)
    rate: float = 50.0
    payload_size: int = 1000
    payload_type: int = 96
    clock_rate: int = 90000
    first_seq: int = 0
    first_timestamp: int = 0
    #: Packets per SSRC; 0 = no end.
    count: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.ssrcs or len(set(self.ssrcs)) != len(self.ssrcs):
            raise ValueError("generator SSRCs must be a non-empty list of distinct values")
        if any(not 0 <= s <= 0xFFFF_FFFF for s in self.ssrcs):
            raise ValueError("an SSRC is a 32-bit value")
        if not (isinstance(self.rate, int | float) and math.isfinite(self.rate) and self.rate > 0):
            raise ValueError("generator rate must be > 0 packets/s")
        if not COUNTER_LEN <= self.payload_size <= MAX_DATAGRAM - RTP_FIXED_HEADER_LEN:
            raise ValueError(
                f"generator payload_size must be {COUNTER_LEN}.."
                f"{MAX_DATAGRAM - RTP_FIXED_HEADER_LEN} bytes"
            )
        if not 0 <= self.payload_type <= 127:
            raise ValueError("RTP payload type must be 0..127")
        if not 1 <= self.clock_rate <= 0xFFFF_FFFF:
            raise ValueError("RTP clock rate must be a positive 32-bit value")
        if not 0 <= self.first_seq <= 0xFFFF:
            raise ValueError("first_seq must be 0..65535")
        if not 0 <= self.first_timestamp <= 0xFFFF_FFFF:
            raise ValueError("first_timestamp must be a 32-bit value")
        if self.count < 0:
            raise ValueError("count must be >= 0 (0 = no end)")


class RtpGenerator:
    """Packets of every SSRC, interleaved in send order (packet k of each SSRC, then k+1)."""

    def __init__(self, config: GeneratorConfig) -> None:
        self.config = config
        self._headers = [
            bytes((0x80, config.payload_type & 0x7F)) + b"\0\0\0\0\0\0" + ssrc.to_bytes(4, "big")
            for ssrc in config.ssrcs
        ]
        self._bodies = [
            random.Random(f"{config.seed}:{ssrc}").randbytes(config.payload_size - COUNTER_LEN)
            for ssrc in config.ssrcs
        ]
        #: Packets produced per SSRC so far.
        self.produced = 0

    @property
    def exhausted(self) -> bool:
        return 0 < self.config.count <= self.produced

    def packet(self, stream: int, k: int) -> bytes:
        """Packet number ``k`` of the ``stream``-th SSRC."""
        c = self.config
        seq = (c.first_seq + k) & 0xFFFF
        ts = (c.first_timestamp + round(k * c.clock_rate / c.rate)) & 0xFFFF_FFFF
        h = self._headers[stream]
        return (
            h[:2]
            + seq.to_bytes(2, "big")
            + ts.to_bytes(4, "big")
            + h[8:12]
            + k.to_bytes(COUNTER_LEN, "big")
            + self._bodies[stream]
        )

    def take(self, rounds: int) -> list[bytes]:
        """The next ``rounds`` packets of every SSRC (fewer at the configured end)."""
        end = self.produced + rounds
        if self.config.count:
            end = min(end, self.config.count)
        out = [
            self.packet(s, k) for k in range(self.produced, end) for s in range(len(self._headers))
        ]
        self.produced = max(self.produced, end)
        return out

    def due(self, elapsed: float, limit: int = 1 << 30) -> list[bytes]:
        """Packets due ``elapsed`` seconds after the start (packet k at k / rate), at most
        ``limit`` rounds at a time (the rest follow at the next call)."""
        rounds = math.floor(elapsed * self.config.rate) + 1 - self.produced
        return self.take(min(max(rounds, 0), limit)) if rounds > 0 else []

    def next_due(self) -> float | None:
        """Elapsed time of the next packet, None at the end."""
        return None if self.exhausted else self.produced / self.config.rate


__all__ = ["DEFAULT_SSRC", "GeneratorConfig", "RtpGenerator"]
