"""Type stub of the Cython extension ``broadcast._native.raptor`` (native/raptor.pyx).

RFC 5053 Raptor for one source block: parameters and generators (§5.4.2.3, §5.4.4), the
elimination schedule of the constraint matrix (§5.5.2), the solve on symbol bytes, LT encoding of
any ESI, and the sub-block byte permutation (§5.3.1.2). Use
``broadcast.proto.flute.fec.raptor_codec``, which checks arguments, raises the typed FLUTE errors
and caches the encoder's schedule per K.
"""

from typing import Final

from typing_extensions import Buffer

__all__ = [
    "K_MAX",
    "K_MIN",
    "MAX_ESI",
    "MAX_ROWS",
    "Schedule",
    "block_to_symbols",
    "build_schedule",
    "lt_encode",
    "lt_indices",
    "parameters",
    "symbols_to_block",
    "systematic_index",
    "triple",
]

K_MIN: Final[int]
K_MAX: Final[int]
MAX_ESI: Final[int]
MAX_ROWS: Final[int]

class Schedule:
    """The solution order of one matrix A (K and a list of ESIs); independent of symbol values."""

    @property
    def K(self) -> int: ...
    @property
    def L(self) -> int: ...
    @property
    def rows(self) -> int: ...
    @property
    def inactivated(self) -> int: ...
    @property
    def row_operations(self) -> int: ...
    def solve(self, symbols: Buffer, T: int, out: Buffer) -> None: ...

def systematic_index(K: int) -> int: ...
def parameters(K: int) -> tuple[int, int, int, int, int, int]: ...
def triple(K: int, esi: int) -> tuple[int, int, int]: ...
def lt_indices(K: int, esi: int) -> list[int]: ...
def build_schedule(K: int, esis: Buffer) -> Schedule | None: ...
def lt_encode(K: int, intermediate: Buffer, T: int, esis: Buffer, out: Buffer) -> None: ...
def block_to_symbols(
    block: Buffer, symbols: Buffer, K: int, T: int, tl: int, nl: int, ts: int, ns: int
) -> None: ...
def symbols_to_block(
    symbols: Buffer, block: Buffer, K: int, T: int, tl: int, nl: int, ts: int, ns: int
) -> None: ...
