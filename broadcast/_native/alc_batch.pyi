"""Type stub of the Cython extension ``broadcast._native.alc_batch`` (native/alc_batch.pyx).

Batch ALC packetizing for Compact No-Code FEC (RFC 5445): one call builds every packet of a
source block. Use ``broadcast.proto.flute.blocks`` (``BlockPacketizer``),
which encodes the LCT headers, checks the OTI and packetizes other FEC schemes in Python.
"""

from typing import Final

__all__ = ["MAX_SYMBOLS", "PAYLOAD_ID_LENGTH", "build_block"]

MAX_SYMBOLS: Final[int]
PAYLOAD_ID_LENGTH: Final[int]

def build_block(
    header: bytes,
    closing: bytes,
    sbn: int,
    block: bytes | bytearray | memoryview,
    symbol_length: int,
    last_block: bool = False,
    first_esi: int = 0,
) -> list[bytes]: ...
