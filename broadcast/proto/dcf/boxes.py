"""ISO BMFF box headers as used by the OMA DCF (OMA-TS-DRM-DCF-V2_0 §5, ISO/IEC 14496-12 §4.2).

A box is ``size u32 · type(4)`` (+ ``largesize u64`` when ``size`` = 1, + a 16-byte user type
when ``type`` = ``uuid``); a FullBox adds ``version u8 · flags u24``. Every DCF box (``odrm``,
``odhe``, ``ohdr``, ``odda``) is a FullBox of version 0.

Writer side: :func:`box_header` / :func:`full_box_header` build headers. Reader side:
:func:`read_box_header` parses one header and checks its size against the enclosing range before
anything of that size is read; :func:`read_full_box` does the same plus the version check.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from broadcast.proto.dcf import constants as c
from broadcast.proto.dcf._source import Source
from broadcast.proto.dcf.errors import (
    DcfBoxError,
    DcfLimitError,
    DcfTruncatedError,
    DcfUnsupportedError,
)


def fourcc(box_type: bytes) -> str:
    """Printable name of a box type (hex when it is not printable ASCII)."""
    if len(box_type) == 4 and all(0x20 <= b < 0x7F for b in box_type):
        return box_type.decode("ascii")
    return "0x" + box_type.hex()


def box_header(box_type: bytes, total_size: int, *, large: bool = False) -> bytes:
    """Header of a box of ``total_size`` bytes (header included).

    ``large`` writes the 64-bit form (``size`` = 1, ``largesize``) whatever the size; otherwise
    ``total_size`` must fit in 32 bits.
    """
    if len(box_type) != 4:
        raise ValueError("box type must be 4 bytes")
    if large:
        if not c.LARGE_BOX_HEADER <= total_size <= c.U64_MAX:
            raise ValueError(f"box size {total_size} out of range")
        return struct.pack(">I4sQ", 1, box_type, total_size)
    if not c.BOX_HEADER <= total_size <= c.U32_MAX:
        raise ValueError(f"box size {total_size} does not fit a 32-bit box header")
    return struct.pack(">I4s", total_size, box_type)


def full_box_header(
    box_type: bytes, total_size: int, *, large: bool = False, version: int = 0, flags: int = 0
) -> bytes:
    """Header of a FullBox: box header · version u8 · flags u24."""
    return box_header(box_type, total_size, large=large) + struct.pack(
        ">I", (version << 24) | (flags & 0xFF_FFFF)
    )


@dataclass(frozen=True, slots=True)
class BoxHeader:
    """A parsed box header. ``offset`` is where the box starts, ``size`` its total size."""

    type: bytes
    offset: int
    header_size: int
    size: int
    path: str

    @property
    def end(self) -> int:
        return self.offset + self.size

    @property
    def payload_offset(self) -> int:
        return self.offset + self.header_size

    @property
    def payload_size(self) -> int:
        return self.size - self.header_size


class BoxCounter:
    """Counts the boxes a parse visits and refuses more than ``limit`` of them."""

    __slots__ = ("count", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0

    def visit(self, path: str, offset: int) -> None:
        self.count += 1
        if self.count > self.limit:
            raise DcfLimitError(f"more than {self.limit} boxes", box=path, offset=offset)


def read_box_header(
    src: Source, offset: int, parent_end: int, parent_path: str, *, top_level: bool = False
) -> BoxHeader:
    """Parse the box header at ``offset`` and check that the box lies within ``parent_end``.

    At top level a box running past the end of the data is *truncated*; inside a parent it
    *overruns* the parent (a :class:`DcfBoxError`).
    """
    here = f"{parent_path}/?" if parent_path else "?"
    left = parent_end - offset
    if left < c.BOX_HEADER:
        if top_level:
            raise DcfTruncatedError(
                f"box header needs {c.BOX_HEADER} bytes, {left} left", box=here, offset=offset
            )
        raise DcfBoxError(
            f"{left} trailing bytes inside {parent_path} are not a box", box=here, offset=offset
        )
    size32, box_type = struct.unpack(">I4s", src.read_at(offset, c.BOX_HEADER, here))
    path = f"{parent_path}/{fourcc(box_type)}" if parent_path else fourcc(box_type)
    header_size = c.BOX_HEADER
    if size32 == 1:
        if left < c.LARGE_BOX_HEADER:
            err = DcfTruncatedError if top_level else DcfBoxError
            raise err(f"largesize needs 8 more bytes, {left - 8} left", box=path, offset=offset)
        (size,) = struct.unpack(">Q", src.read_at(offset + 8, 8, path))
        header_size = c.LARGE_BOX_HEADER
    elif size32 == 0:
        raise DcfUnsupportedError(
            "box size 0 (box extends to end of file) is not supported", box=path, offset=offset
        )
    else:
        size = size32
    if box_type == c.UUID:
        header_size += 16
    if size < header_size:
        raise DcfBoxError(
            f"box size {size} is smaller than its {header_size}-byte header",
            box=path,
            offset=offset,
        )
    if size > left:
        if top_level:
            raise DcfTruncatedError(
                f"box claims {size} bytes, {left} available", box=path, offset=offset
            )
        raise DcfBoxError(
            f"box claims {size} bytes, overrunning {parent_path or 'the data'} by {size - left}",
            box=path,
            offset=offset,
        )
    return BoxHeader(box_type, offset, header_size, size, path)


def read_full_box(src: Source, header: BoxHeader) -> int:
    """Check the FullBox version (must be 0) and return the flags; the header grows by 4."""
    if header.payload_size < c.FULL_BOX_EXTRA:
        raise DcfBoxError(
            f"FullBox of {header.size} bytes has no room for version and flags",
            box=header.path,
            offset=header.offset,
        )
    (word,) = struct.unpack(">I", src.read_at(header.payload_offset, 4, header.path))
    version = word >> 24
    if version != 0:
        raise DcfUnsupportedError(
            f"FullBox version {version} (only 0 is defined)", box=header.path, offset=header.offset
        )
    return int(word) & 0xFF_FFFF
