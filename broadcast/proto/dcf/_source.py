"""Random-access byte sources for the DCF reader: a bytes-like object or a seekable binary file.

Offsets are absolute: counted from the first byte of the DCF. A :class:`BytesSource` may also
stand for a window of the DCF (``base`` = the window's first offset), so that a header box read
into memory is parsed with the same code and reports the same offsets. Reads are only ever asked
for after the caller has checked the range against ``end``; a short read from a file (it shrank
underneath us) is still reported as :class:`DcfTruncatedError`.
"""

from __future__ import annotations

import io
from typing import BinaryIO, Protocol

from broadcast.proto.dcf.errors import DcfTruncatedError


class Source(Protocol):
    """Bytes ``start`` .. ``end`` of a DCF, readable at absolute offsets."""

    @property
    def start(self) -> int: ...

    @property
    def end(self) -> int: ...

    def read_at(self, offset: int, n: int, box: str) -> bytes: ...


class BytesSource:
    """A bytes-like object holding DCF bytes ``base`` .. ``base + len(data)``."""

    __slots__ = ("_base", "_view")

    def __init__(self, data: bytes | bytearray | memoryview, base: int = 0) -> None:
        self._view = memoryview(data).cast("B")
        self._base = base

    @property
    def start(self) -> int:
        return self._base

    @property
    def end(self) -> int:
        return self._base + len(self._view)

    def read_at(self, offset: int, n: int, box: str) -> bytes:
        local = offset - self._base
        if local < 0 or n < 0 or local + n > len(self._view):
            raise DcfTruncatedError(
                f"needs {n} bytes, {max(0, len(self._view) - local)} available",
                box=box,
                offset=offset,
            )
        return bytes(self._view[local : local + n])


class FileSource:
    """A seekable binary file; the DCF runs from the position at construction to end of file."""

    __slots__ = ("_base", "_file", "_size")

    def __init__(self, file: BinaryIO) -> None:
        if not file.seekable():
            raise ValueError("the DCF reader needs a seekable file (or the bytes themselves)")
        self._file = file
        self._base = file.tell()
        self._size = file.seek(0, io.SEEK_END) - self._base
        file.seek(self._base)
        if self._size < 0:
            raise ValueError("file position is past its end")

    @property
    def start(self) -> int:
        return 0

    @property
    def end(self) -> int:
        return self._size

    def read_at(self, offset: int, n: int, box: str) -> bytes:
        if offset < 0 or n < 0 or offset + n > self._size:
            raise DcfTruncatedError(
                f"needs {n} bytes, {max(0, self._size - offset)} available", box=box, offset=offset
            )
        self._file.seek(self._base + offset)
        data = self._file.read(n)
        if not isinstance(data, bytes | bytearray) or len(data) != n:
            got = len(data) if isinstance(data, bytes | bytearray) else 0
            raise DcfTruncatedError(
                f"file ended after {got} of {n} bytes (it changed while being read)",
                box=box,
                offset=offset,
            )
        return bytes(data)
