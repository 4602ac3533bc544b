"""A bounds-checked byte reader for the MIKEY decoder: every read names its field."""

from __future__ import annotations

from broadcast.proto.mikey.errors import TruncatedPayload


class Reader:
    """Reads ``data`` from ``pos``; offsets in errors are absolute (``base`` + position)."""

    __slots__ = ("base", "data", "end", "pos")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None, base: int = 0) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end
        self.base = base

    @property
    def offset(self) -> int:
        return self.base + self.pos

    @property
    def remaining(self) -> int:
        return self.end - self.pos

    def take(self, n: int, field: str) -> bytes:
        if n < 0 or self.pos + n > self.end:
            raise TruncatedPayload(
                f"{field} needs {n} bytes, {self.remaining} left", field=field, offset=self.offset
            )
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u8(self, field: str) -> int:
        return self.take(1, field)[0]

    def u16(self, field: str) -> int:
        return int.from_bytes(self.take(2, field), "big")

    def u32(self, field: str) -> int:
        return int.from_bytes(self.take(4, field), "big")

    def sub(self, n: int, field: str) -> Reader:
        """A reader over the next ``n`` bytes (consumed from this reader)."""
        start = self.pos
        self.take(n, field)
        return Reader(self.data, start, start + n, self.base)
