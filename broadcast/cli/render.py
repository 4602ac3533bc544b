"""Output of the ``mbms`` commands: a tree of named fields (:mod:`broadcast.proto.tree`) printed
as indented text or JSON, and hex dumps of message bytes."""

from __future__ import annotations

import json

from broadcast.proto.tree import JsonValue


def dumps(value: JsonValue) -> str:
    return json.dumps(value, indent=2, ensure_ascii=True)


def hexdump(data: bytes, width: int = 16) -> list[str]:
    """``offset  hex bytes  |ascii|`` lines, offsets in hex."""
    lines = []
    for at in range(0, len(data), width):
        chunk = data[at : at + width]
        half = width // 2
        hex_part = " ".join(f"{b:02x}" for b in chunk[:half])
        if len(chunk) > half:
            hex_part += "  " + " ".join(f"{b:02x}" for b in chunk[half:])
        ascii_part = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)
        lines.append(f"{at:04x}  {hex_part:<{3 * width + 1}} |{ascii_part}|")
    return lines


__all__ = ["dumps", "hexdump"]
