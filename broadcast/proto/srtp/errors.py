"""Typed SRTP/SRTCP errors (RFC 3711, RFC 4771).

Every error the package raises on bad input or exhausted state is a :class:`SrtpError`. Messages
carry only public facts (lengths, sequence numbers, SSRCs, MKIs — which travel in clear in every
packet) and never key material. Each class has a short ``reason`` used as the key of the
receiver's rejection statistics.
"""

from __future__ import annotations

from typing import ClassVar


class SrtpError(Exception):
    """Base of every SRTP error: the only exception ``unprotect``/``unprotect_rtcp`` let escape."""

    reason: ClassVar[str] = "srtp_error"


class MalformedPacket(SrtpError):
    """The bytes are not an RTP/RTCP (or SRTP/SRTCP) packet of the configured layout."""

    reason = "malformed"


class PacketTooShort(MalformedPacket):
    """Shorter than its header plus the MKI and tag the policy requires (RFC 3711 §3.1, §3.4)."""

    reason = "too_short"


class PacketTooLong(MalformedPacket):
    """The encrypted portion exceeds 2^16 AES blocks, the AES-CM limit per IV (RFC 3711 §4.1.1)."""

    reason = "too_long"


class BadVersion(MalformedPacket):
    """The RTP/RTCP version field is not 2 (RFC 3550 §5.1, §6.4.1)."""

    reason = "bad_version"


class PolicyMismatch(MalformedPacket):
    """An authenticated SRTCP packet whose E flag contradicts the policy (RFC 3711 §3.4)."""

    reason = "policy_mismatch"


class UnknownMki(SrtpError):
    """No master key with this MKI is held by the context (RFC 3711 §3.3.2 step 1)."""

    reason = "unknown_mki"


class AuthenticationFailed(SrtpError):
    """The authentication tag does not verify (RFC 3711 §3.3 step 5, RFC 4771 §2)."""

    reason = "auth_failed"


class ReplayedPacket(SrtpError):
    """The packet index was already received or lies behind the replay window (RFC 3711 §3.3.2)."""

    reason = "replayed"


class IndexOutOfRange(SrtpError):
    """The estimated packet index falls outside 0 .. 2^48-1 (RFC 3711 §3.3.1, Appendix A)."""

    reason = "index_out_of_range"


class RocUnknown(SrtpError):
    """The receiver does not know the ROC yet and this packet does not carry it (RFC 4771 §1)."""

    reason = "roc_unknown"


class KeyLifetimeExhausted(SrtpError):
    """A master key protected 2^48 SRTP or 2^31 SRTCP packets, or the index space is used up.

    RFC 3711 §9.2: the master key must be replaced; the caller switches to the next MKI.
    """

    reason = "key_exhausted"


class IndexReused(SrtpError):
    """Sender side: this RTP sequence number maps to an index already protected (key-stream reuse,
    RFC 3711 §9.1)."""

    reason = "index_reused"


class TooManyStreams(SrtpError):
    """The context already tracks its bounded number of SSRCs."""

    reason = "too_many_streams"


class KeyRingError(SrtpError, ValueError):
    """A master key cannot be added: wrong MKI length, or the MKI is bound to another key."""

    reason = "key_ring"


class UnsupportedPolicy(SrtpError, ValueError):
    """The SRTP policy uses a transform or a parameter this implementation does not support."""

    reason = "unsupported_policy"
