"""Type stub of the Cython extension ``broadcast._native.mikey_batch`` (native/mikey_batch.pyx).

Batch MSK delivery messages: per UE, message = t0 · CSB ID · t1 · COUNTER · t2 · RAND · t3 ·
len(IDr) · IDr · t4 · AES-CM-128(key_data) · t5 · HMAC-SHA-1-160, keys from the UE's MUK
(RFC 3830 §4.1.4). Use ``broadcast.proto.mikey.batch.build_msk_messages``, which derives the
template from the pure-Python reference builder.
"""

from collections.abc import Sequence
from typing import Final

__all__ = ["MUK_LEN", "RAND_LEN", "TEMPLATE_SEGMENTS", "build_msk_batch"]

TEMPLATE_SEGMENTS: Final[int]
MUK_LEN: Final[int]
RAND_LEN: Final[int]

def build_msk_batch(
    template: Sequence[bytes],
    key_data: bytes,
    muks: Sequence[bytes],
    csb_ids: Sequence[int],
    counters: Sequence[int],
    rands: Sequence[bytes],
    idrs: Sequence[bytes],
) -> list[bytes]:
    """One protected MSK message per UE (GIL released for the crypto loop).

    ValueError/TypeError on bad input (nothing built); RuntimeError on a libcrypto failure.
    """
