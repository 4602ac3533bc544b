"""The files the engine reads and writes: configuration read within a size cap; files created
never through a symbolic link, key files private.

:func:`read_toml` reads a TOML configuration file of at most ``max_bytes`` (1 MiB by default:
a configuration is never larger, and a hostile or mistaken path such as a device or a huge file
must not be read whole), UTF-8 (TOML v1.0.0: a TOML file is UTF-8), into a dict; every failure is a
:class:`TomlFileError` naming the file, which each command's loader turns into its own
configuration error.

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
import tomllib
from pathlib import Path
from typing import Any, BinaryIO, Final, TextIO

#: Mode of files with key material.
PRIVATE_MODE: Final = 0o600
#: Mode of files without secrets.
PUBLIC_MODE: Final = 0o644

#: Largest configuration file :func:`read_toml` reads by default.
MAX_TOML_BYTES: Final = 1 << 20

_BASE_FLAGS: Final = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW


class TomlFileError(ValueError):
    """A configuration file cannot be read, is too large, not UTF-8 or not TOML."""


def read_toml(path: str | Path, *, max_bytes: int = MAX_TOML_BYTES) -> dict[str, Any]:
    """The TOML document in ``path`` (at most ``max_bytes`` bytes) as a dict."""
    file = Path(path)
    try:
        with file.open("rb") as f:
            raw = f.read(max_bytes + 1)
    except OSError as exc:
        raise TomlFileError(f"cannot read {file}: {exc.strerror or exc}") from None
    if len(raw) > max_bytes:
        raise TomlFileError(f"{file} is larger than {max_bytes} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise TomlFileError(f"{file} is not UTF-8") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TomlFileError(f"{file}: not valid TOML: {exc}") from None


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
    "MAX_TOML_BYTES",
    "PRIVATE_MODE",
    "PUBLIC_MODE",
    "TomlFileError",
    "open_private",
    "open_public",
    "read_toml",
]
