"""The files the engine writes: created never through a symbolic link, key files private.
(Configuration files are read by :mod:`broadcast.config.reader`.)

Every file created is opened with ``O_NOFOLLOW`` (a symbolic link planted at the path is refused
with :class:`OSError` ``ELOOP`` instead of being followed to wherever it points) and
``O_CLOEXEC``.

- :func:`open_private`: files that hold key material or credentials (the UE key log, GBA key
  files, admin tokens). Created with mode 0600, and an existing file is set to 0600 too
  (``fchmod`` on the open descriptor), so key bytes never land in a file others can read.
- :func:`open_public`: files that hold no secret (a pcap of protected traffic, received content).
  Created with mode 0644; an existing file keeps its mode.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO, Final, TextIO

#: Mode of files with key material.
PRIVATE_MODE: Final = 0o600
#: Mode of files without secrets.
PUBLIC_MODE: Final = 0o644

_BASE_FLAGS: Final = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW


def _open_fd(path: str | Path, mode: int, *, append: bool) -> int:
    flags = _BASE_FLAGS | (os.O_APPEND if append else os.O_TRUNC)
    return os.open(path, flags, mode)


def open_private(path: str | Path, *, append: bool = False, encoding: str = "utf-8") -> TextIO:
    """A text file for key material, mode 0600 even if it existed (see the module doc);
    truncated, or appended to with ``append``."""
    fd = _open_fd(path, PRIVATE_MODE, append=append)
    try:
        os.fchmod(fd, PRIVATE_MODE)
        return os.fdopen(fd, "a" if append else "w", encoding=encoding)
    except BaseException:
        os.close(fd)
        raise


def open_public(path: str | Path, *, buffering: int = -1) -> BinaryIO:
    """A new binary file without secrets (mode 0644 when created), truncated; a symbolic link
    at ``path`` is refused."""
    fd = _open_fd(path, PUBLIC_MODE, append=False)
    try:
        return os.fdopen(fd, "wb", buffering=buffering)
    except BaseException:
        os.close(fd)
        raise


__all__ = [
    "PRIVATE_MODE",
    "PUBLIC_MODE",
    "open_private",
    "open_public",
]
