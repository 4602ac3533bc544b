"""Type stub of the Cython extension ``broadcast._native.mikey_batch`` (native/mikey_batch.pyx).

Batch MSK delivery messages: per UE, message = t0 · CSB ID · t1 · TS value · t2 · RAND · t3 ·
len(IDr) · IDr · t4 · KEMAC Encr data(key_data) · t5 · HMAC-SHA-1-160, keys from the UE's MUK
(RFC 3830 §4.1.4). Use ``broadcast.proto.mikey.batch.build_msk_messages``, which derives the
template from the pure-Python reference builder and passes the profile's choices.
"""

from collections.abc import Sequence
from typing import Final

__all__ = ["TEMPLATE_SEGMENTS", "build_msk_batch"]

TEMPLATE_SEGMENTS: Final[int]

def build_msk_batch(
    template: Sequence[bytes],
    key_data: bytes,
    muks: Sequence[bytes],
    csb_ids: Sequence[int],
    counters: Sequence[int],
    rands: Sequence[bytes],
    idrs: Sequence[bytes],
    *,
    muk_len: int | None = None,
    rand_len: int | None = None,
    ts_type: int | None = None,
    encr_alg: int | None = None,
    mac_alg: int | None = None,
) -> list[bytes]:
    """One protected MSK message per UE (GIL released for the crypto loop).

    The keyword arguments are the profile's choices (None: ``broadcast.profile`` at the call):
    MUK length, RAND length, TS type, KEMAC Encr alg (0 NULL, 1 AES-CM-128) and MAC alg
    (1 HMAC-SHA-1-160). ValueError/TypeError on bad input (nothing built); RuntimeError on a
    libcrypto failure.
    """
