"""A decoded message as one tree of named fields (``Section`` / ``Field``), pure data.

A decoder view (e.g. :mod:`broadcast.proto.mikey.render`) builds the tree once; a command renders
it with :func:`to_text` or :func:`to_json`, so both outputs always carry the same fields.
Everything taken from message bytes goes through :func:`safe_text` first: message bytes are
untrusted and must not reach a terminal as control characters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Final

JsonValue = str | int | bool | None | list["JsonValue"] | dict[str, "JsonValue"]

_INDENT: Final = "  "


@dataclass(slots=True)
class Field:
    """A named value. ``value`` goes to JSON; ``text`` (default ``str(value)``) to the text tree.

    An empty ``label`` prints ``text`` alone on its line; ``in_text=False`` keeps the field out of
    the text tree (JSON-only detail such as the full message hex, shown as a dump instead).
    """

    key: str
    label: str
    value: JsonValue
    text: str | None = None
    in_text: bool = True

    def display(self) -> str:
        if self.text is not None:
            return self.text
        if isinstance(self.value, bool):
            return "yes" if self.value else "no"
        return "-" if self.value is None else str(self.value)


@dataclass(slots=True)
class Section:
    """A group of nodes. JSON: an object keyed by the children's keys, or a list when ``as_list``
    (then every child is a ``Section`` and becomes one object of the list)."""

    key: str
    label: str
    children: list[Node] = field(default_factory=list)
    as_list: bool = False

    def add(self, node: Node) -> Node:
        self.children.append(node)
        return node

    def field(
        self,
        key: str,
        label: str,
        value: JsonValue,
        text: str | None = None,
        *,
        in_text: bool = True,
    ) -> None:
        self.children.append(Field(key, label, value, text, in_text))

    def section(self, key: str, label: str, *, as_list: bool = False) -> Section:
        sec = Section(key, label, as_list=as_list)
        self.children.append(sec)
        return sec


Node = Field | Section


def to_json(node: Node) -> JsonValue:
    if isinstance(node, Field):
        return node.value
    if node.as_list:
        return [to_json(child) for child in node.children]
    return {child.key: to_json(child) for child in node.children}


def to_text(node: Node, depth: int = 0) -> list[str]:
    pad = _INDENT * depth
    if isinstance(node, Field):
        if not node.in_text:
            return []
        return [f"{pad}{node.label}: {node.display()}" if node.label else f"{pad}{node.display()}"]
    lines = [f"{pad}{node.label}"] if node.label else []
    inner = depth + 1 if node.label else depth
    for child in node.children:
        lines.extend(to_text(child, inner))
    return lines


# --- value formatting ---------------------------------------------------------------------------


def enum_field(key: str, label: str, enum: type[IntEnum], code: int) -> Field:
    """A code point: JSON ``{"code": 7, "name": "X"}``, text ``X (7)`` or ``unknown (7)``."""
    try:
        name: str | None = enum(code).name
    except ValueError:
        name = None
    return Field(key, label, {"code": code, "name": name}, f"{name or 'unknown'} ({code})")


def safe_text(data: bytes) -> str:
    """Bytes from a message as printable text: UTF-8 where valid, ``\\xNN`` escapes otherwise and
    for every control or otherwise non-printable character (no terminal escape injection)."""
    text = data.decode("utf-8", errors="backslashreplace")
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text
    )


__all__ = [
    "Field",
    "JsonValue",
    "Node",
    "Section",
    "enum_field",
    "safe_text",
    "to_json",
    "to_text",
]
