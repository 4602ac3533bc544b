"""Type stub of the Cython extension ``broadcast._native.srtp_batch`` (native/srtp_batch.pyx).

Batch SRTP (not SRTCP) protect/unprotect under ONE set of session keys and ONE MKI, indices
supplied by the caller. Use ``broadcast.srtp.batch`` (``SrtpBatchSender``, ``unprotect_batch``),
which does the per-SSRC index accounting and raises the typed ``SrtpError``s.
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
    "protect_batch",
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
