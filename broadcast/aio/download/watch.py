"""Input files of the carousel: a watched directory and/or a fixed list, polled (no dependency).

A scan stats every input file; a file is identified by its name relative to the directory (or
its base name for listed files) and its state is (size, mtime in ns, inode). Comparing two scans
gives the files added, changed (any of the three differs — an editor that replaces a file gets a
new inode) and removed. Hidden files (a path component starting with ``.``) and anything that is
not a regular file are ignored; so are files that vanish while being scanned.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote


@dataclass(frozen=True, slots=True)
class FileState:
    """What a poll compares: size, modification time (ns) and inode."""

    size: int
    mtime_ns: int
    inode: int


@dataclass(frozen=True, slots=True)
class InputFile:
    """One input file: its name in the session and its path on disk."""

    name: str
    path: Path
    state: FileState


@dataclass(frozen=True, slots=True)
class Changes:
    added: tuple[InputFile, ...] = ()
    changed: tuple[InputFile, ...] = ()
    removed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)


def _state(path: Path) -> FileState | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return FileState(st.st_size, st.st_mtime_ns, st.st_ino)


def scan(directory: Path | None, files: Iterable[Path] = ()) -> dict[str, InputFile]:
    """The current input files by name (directory files first; a listed file of the same name
    replaces one found in the directory)."""
    found: dict[str, InputFile] = {}
    if directory is not None and directory.is_dir():
        for root, dirs, names in os.walk(directory):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(names):
                if name.startswith("."):
                    continue
                path = Path(root) / name
                state = _state(path)
                if state is not None:
                    rel = path.relative_to(directory).as_posix()
                    found[rel] = InputFile(rel, path, state)
    for path in files:
        state = _state(path)
        if state is not None:
            found[path.name] = InputFile(path.name, path, state)
    return found


def diff(old: dict[str, InputFile], new: dict[str, InputFile]) -> Changes:
    """What changed from scan ``old`` to scan ``new``."""
    added = tuple(f for name, f in new.items() if name not in old)
    changed = tuple(f for name, f in new.items() if name in old and old[name].state != f.state)
    removed = tuple(name for name in old if name not in new)
    return Changes(added, changed, removed)


def content_location(name: str, base: str = "") -> str:
    """The FDT ``Content-Location`` of an input file: ``base`` + the name, percent-encoded."""
    return base + quote(name, safe="/")


__all__ = ["Changes", "FileState", "InputFile", "content_location", "diff", "scan"]
