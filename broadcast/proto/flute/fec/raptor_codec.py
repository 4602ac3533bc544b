"""Raptor (RFC 5053) encoding and decoding of one source block on whole symbols.

Thin, checked wrappers around ``broadcast._native.raptor``:

- :class:`BlockEncoder` — the systematic encoder (§5.4): the L intermediate symbols solve
  A·C = D (§5.4.2.4); any ESI is then LTEnc[K, C, Trip[K, ESI]] (§5.4.3), which gives the source
  symbols back unchanged for ESI < K and repair symbols for ESI >= K. The elimination schedule
  for ESIs 0..K-1 depends only on K and is cached.
- :func:`decode_block` — the decoder (§5.5): from any set of received encoding symbols, the
  source symbols, or :class:`RaptorDecodeFailure` when the set does not determine them
  (rank(A) < L, §5.5.2.1) — the caller waits for more symbols.
- :class:`BlockDecoder` — the receive-side accumulator of one block: it stores each distinct
  symbol once (bounded), retries the decode as symbols arrive and frees them once decoded.

Symbols here are whole T-byte symbols; sub-block interleaving and padding live one level up
(:mod:`broadcast.proto.flute.fec.raptor`).
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from functools import lru_cache
from typing import Final

from broadcast._native import raptor as _native
from broadcast.proto.flute.errors import BadSymbol, ConflictingSymbol, FecError
from broadcast.proto.flute.fec.raptor_params import check_k, code_parameters

Bytes = bytes | bytearray | memoryview

#: Highest Encoding Symbol ID (16 bits, §3.1).
MAX_ESI: Final = 0xFFFF
#: A block decoder keeps at most K + this many distinct symbols [P]: with random losses the
#: decoding failure probability beyond K + 64 symbols is negligible (about 2^-64), so a block
#: that still fails is being fed bad ESIs; the bound caps memory and work per block.
MAX_EXTRA_SYMBOLS: Final = 64
#: Bookkeeping charged per stored symbol (ESI entry and index) in :attr:`BlockDecoder.held`.
SYMBOL_OVERHEAD: Final = 64


class RaptorDecodeFailure(FecError):
    """The received symbols do not determine the source block (rank(A) < L, RFC 5053 §5.5.2):
    more encoding symbols are needed."""

    reason = "raptor_need_more_symbols"


def _check_symbol_length(t: int) -> None:
    if not 1 <= t <= 0xFFFF:
        raise BadSymbol(f"symbol length T = {t} outside 1..65535", field="T")


def _esi_array(esis: Sequence[int]) -> array[int]:
    for esi in esis:
        if not 0 <= esi <= MAX_ESI:
            raise BadSymbol(f"ESI {esi} is not a 16-bit value", field="ESI")
    return array("I", esis)


@lru_cache(maxsize=8)
def _encoder_schedule(k: int) -> _native.Schedule:
    schedule = _native.build_schedule(k, array("I", range(k)))
    if schedule is None:  # J(K) makes A invertible for every K (§5.4.2.4.2, §5.7)
        raise AssertionError(f"RFC 5053 matrix A singular for K = {k}: tables are corrupt")
    return schedule


class BlockEncoder:
    """The encoding symbols of one source block of K symbols of T bytes (RFC 5053 §5.4)."""

    def __init__(self, k: int, t: int, source: Bytes) -> None:
        check_k(k)
        _check_symbol_length(t)
        if len(source) != k * t:
            raise BadSymbol(
                f"a block of {k} symbols of {t} bytes, got {len(source)}", field="block"
            )
        self.k = k
        self.t = t
        self._source = bytes(source)
        self._c = bytearray(code_parameters(k).L * t)
        _encoder_schedule(k).solve(self._source, t, self._c)

    @property
    def intermediate(self) -> bytes:
        """The L intermediate symbols C[0..L-1] (§5.4.2.4), concatenated."""
        return bytes(self._c)

    def symbols(self, esis: Sequence[int]) -> bytes:
        """LTEnc[K, C, Trip[K, X]] for each ESI X, concatenated (T bytes each)."""
        out = bytearray(len(esis) * self.t)
        _native.lt_encode(self.k, self._c, self.t, _esi_array(esis), out)
        return bytes(out)

    def symbol(self, esi: int) -> bytes:
        """One encoding symbol: source symbol ``esi`` if ``esi`` < K (verbatim), else repair."""
        if 0 <= esi < self.k:
            return self._source[esi * self.t : (esi + 1) * self.t]
        return self.symbols([esi])


def decode_block(k: int, t: int, esis: Sequence[int], symbols: Bytes) -> bytearray:
    """The K source symbols (K·T bytes) from encoding symbols ``symbols`` (T bytes each, in the
    order of the distinct ``esis``). Raises :class:`RaptorDecodeFailure` if they are not enough.
    """
    check_k(k)
    _check_symbol_length(t)
    size = memoryview(symbols).nbytes
    if size != len(esis) * t:
        raise BadSymbol(f"{len(esis)} symbols of {t} bytes, got {size}", field="symbols")
    if len(set(esis)) != len(esis):
        raise BadSymbol("ESIs must be distinct", field="ESI")
    esi_array = _esi_array(esis)
    if len(esis) < k:
        raise RaptorDecodeFailure(
            f"{len(esis)} symbols received, a block of K = {k} needs at least K", field="K"
        )
    view = memoryview(symbols).cast("B")
    try:  # release the view even on failure: a bytearray caller must stay resizable
        return _solve_block(k, t, esis, esi_array, view)
    finally:
        view.release()


def _solve_block(
    k: int, t: int, esis: Sequence[int], esi_array: array[int], view: memoryview
) -> bytearray:
    out = bytearray(k * t)
    have = bytearray(k)
    for j, esi in enumerate(esis):
        if esi < k:
            out[esi * t : (esi + 1) * t] = view[j * t : (j + 1) * t]
            have[esi] = 1
    missing = [i for i in range(k) if not have[i]]
    if not missing:
        return out
    schedule = _native.build_schedule(k, esi_array)
    if schedule is None:
        raise RaptorDecodeFailure(
            f"{len(esis)} symbols do not determine the block of K = {k} (rank(A) < L)",
            field="symbols",
        )
    c = bytearray(schedule.L * t)
    schedule.solve(view, t, c)
    rebuilt = bytearray(len(missing) * t)
    _native.lt_encode(k, c, t, array("I", missing), rebuilt)
    for j, esi in enumerate(missing):
        out[esi * t : (esi + 1) * t] = rebuilt[j * t : (j + 1) * t]
    return out


class BlockDecoder:
    """Collects the encoding symbols of one source block and decodes it as soon as it can.

    Each distinct ESI is stored once (a repeat must be identical, else
    :class:`ConflictingSymbol`); at most K + :data:`MAX_EXTRA_SYMBOLS` are kept. A decode is
    tried once K symbols are in, after every new symbol for the next 8, then after every quarter
    of the surplus — so a block that cannot be decoded costs O(log) attempts, not one per packet.
    """

    def __init__(self, k: int, t: int) -> None:
        check_k(k)
        _check_symbol_length(t)
        self.k = k
        self.t = t
        self.attempts = 0
        self._esis: list[int] = []
        self._slot: dict[int, int] = {}
        self._data = bytearray()
        self._sources = 0
        self._next_attempt = k
        self._result: bytearray | None = None

    @property
    def count(self) -> int:
        """Distinct symbols held (0 once decoded)."""
        return len(self._esis)

    @property
    def result(self) -> bytearray | None:
        """The K source symbols (K·T bytes) once decoded."""
        return self._result

    @property
    def held(self) -> int:
        """Bytes of symbol data and bookkeeping held."""
        if self._result is not None:
            return len(self._result)
        return len(self._data) + SYMBOL_OVERHEAD * len(self._esis)

    @property
    def full(self) -> bool:
        """No more symbols will be stored."""
        return self._result is not None or len(self._esis) >= self.k + MAX_EXTRA_SYMBOLS

    def check(self, esi: int, symbol: Bytes) -> bool:
        """Whether :meth:`add` would store the symbol; raises if it conflicts or is malformed."""
        if not 0 <= esi <= MAX_ESI:
            raise BadSymbol(f"ESI {esi} is not a 16-bit value", field="ESI")
        if len(symbol) != self.t:
            raise BadSymbol(f"symbol of {len(symbol)} bytes, T = {self.t}", field="symbol")
        if self._result is not None:
            if esi < self.k and self._result[esi * self.t : (esi + 1) * self.t] != symbol:
                raise ConflictingSymbol(
                    f"source symbol ESI {esi} differs from the decoded block",
                    field="encoding symbol",
                )
            return False
        slot = self._slot.get(esi)
        if slot is not None:
            if self._data[slot * self.t : (slot + 1) * self.t] != symbol:
                raise ConflictingSymbol(
                    f"symbol ESI {esi} differs from the one received", field="encoding symbol"
                )
            return False
        return not self.full

    def add(self, esi: int, symbol: Bytes) -> bool:
        """Store a new symbol (and try to decode); False if it was a repeat or not stored."""
        if not self.check(esi, symbol):
            return False
        self._slot[esi] = len(self._esis)
        self._esis.append(esi)
        self._data += symbol
        if esi < self.k:
            self._sources += 1
        if self._sources == self.k or len(self._esis) >= self._next_attempt:
            self._attempt()
        return True

    def _attempt(self) -> None:
        self.attempts += 1
        try:
            result = decode_block(self.k, self.t, self._esis, self._data)
        except RaptorDecodeFailure:
            surplus = len(self._esis) - self.k
            self._next_attempt = len(self._esis) + (1 if surplus < 8 else surplus // 4)
            return
        self._result = result
        self._esis, self._slot, self._data = [], {}, bytearray()
