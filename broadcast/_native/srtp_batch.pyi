"""Type stub of the Cython extension ``broadcast._native.srtp_batch`` (native/srtp_batch.pyx).

Batch SRTP (not SRTCP) protect/unprotect under ONE set of session keys and ONE MKI, indices
supplied by the caller. Use ``broadcast.proto.srtp.batch`` (``SrtpBatchSender``,
``unprotect_batch``), which does the per-SSRC index accounting and raises the typed
``SrtpError``s.

HMAC-SHA-1 runs on one of two engines giving identical bytes: ``"sha-ni"`` (x86 SHA extensions,
four packets' MACs at once; the default where the CPU has them) or ``"openssl"`` (SHA1_Update on
copied SHA_CTX states).
"""

from collections.abc import Sequence
from typing import Final

__all__ = [
    "AUTH_HMAC_SHA1",
    "AUTH_NULL",
    "AUTH_RCCM1",
    "AUTH_RCCM2",
    "AUTH_RCCM3",
    "MAX_PAYLOAD",
    "estimate_indices",
    "protect_batch",
    "scan_rtp",
    "set_sha1_engine",
    "sha1_engine",
    "sha1_engines",
    "unprotect_batch",
]

AUTH_NULL: Final[int]
AUTH_HMAC_SHA1: Final[int]
AUTH_RCCM1: Final[int]
AUTH_RCCM2: Final[int]
AUTH_RCCM3: Final[int]
MAX_PAYLOAD: Final[int]

def protect_batch(
    k_e: bytes | None,
    k_s: bytes,
    k_a: bytes | None,
    mki: bytes,
    encrypt: bool,
    auth: int,
    tag_len: int,
    roc_rate: int,
    packets: Sequence[bytes],
    indices: Sequence[int],
) -> list[bytes]:
    """header || AES-CM payload || MKI || tag per packet (GIL released for the crypto loop).

    TypeError/ValueError on bad input (nothing built); RuntimeError on a libcrypto failure.
    """

def unprotect_batch(
    k_e: bytes | None,
    k_s: bytes,
    k_a: bytes | None,
    mki: bytes,
    encrypt: bool,
    auth: int,
    tag_len: int,
    roc_rate: int,
    packets: Sequence[bytes],
    indices: Sequence[int],
) -> list[bytes | None]:
    """RTP packets; None where the tag does not verify or the MKI differs."""

def sha1_engines() -> tuple[str, ...]:
    """Usable HMAC-SHA-1 engines: ``("openssl",)`` or ``("openssl", "sha-ni")``."""

def sha1_engine() -> str:
    """The engine the next batch uses."""

def set_sha1_engine(name: str) -> str:
    """Select an engine (tests, benchmarks); returns the previous one. ValueError if unusable."""

def scan_rtp(packets: Sequence[bytes], encrypt: bool) -> tuple[tuple[int, ...], bytes] | None:
    """``(ssrcs, slots)``: distinct SSRCs in order of appearance and each packet's slot byte;
    None if a packet is malformed / not exact bytes or there are more than 255 SSRCs."""

def estimate_indices(
    packets: Sequence[bytes], slots: bytes, highest: Sequence[int], base_roc: Sequence[int]
) -> tuple[list[int], list[tuple[int, int, int]]] | None:
    """Indices (RFC 3711 Appendix A) and per-slot ``(first, last, count)`` when every SSRC's
    indices strictly increase from ``highest[j]`` (-1: none yet, ROC ``base_roc[j]``); None
    when one does not or leaves 0..2^48-1."""
