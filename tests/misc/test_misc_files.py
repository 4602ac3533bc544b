"""broadcast.files: key files are 0600 (even when they existed), nothing follows a symlink."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pytest

from broadcast.files import PRIVATE_MODE, PUBLIC_MODE, open_private, open_public


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_private_file_is_0600_new_or_existing(tmp_path: Path) -> None:
    new = tmp_path / "new.key"
    with open_private(new) as f:
        f.write("secret\n")
    assert _mode(new) == PRIVATE_MODE == 0o600
    old = tmp_path / "old.key"
    old.write_text("older\n")
    old.chmod(0o644)
    with open_private(old) as f:  # truncated, and no longer readable by others
        f.write("x\n")
    assert _mode(old) == 0o600 and old.read_text() == "x\n"
    with open_private(old, append=True, encoding="ascii") as f:
        f.write("y\n")
    assert old.read_text() == "x\ny\n"


def test_public_file_is_0644_and_keeps_an_existing_mode(tmp_path: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        new = tmp_path / "cap.pcap"
        with open_public(new, buffering=1 << 16) as f:
            f.write(b"\x01\x02")
        assert _mode(new) == PUBLIC_MODE == 0o644 and new.read_bytes() == b"\x01\x02"
        new.chmod(0o600)
        with open_public(new) as f:
            f.write(b"\x03")
        assert _mode(new) == 0o600 and new.read_bytes() == b"\x03"  # truncated, mode kept
    finally:
        os.umask(old_umask)


@pytest.mark.parametrize("opener", [open_private, open_public])
def test_a_symlink_is_refused(tmp_path: Path, opener: Callable[[Path], IO[Any]]) -> None:
    target = tmp_path / "target"
    target.write_text("keep")
    target.chmod(0o644)
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(OSError) as err:
        opener(link)
    assert err.value.errno == errno.ELOOP
    assert target.read_text() == "keep" and _mode(target) == 0o644  # neither emptied nor chmod-ed


def test_descriptors_are_not_inherited(tmp_path: Path) -> None:
    with open_private(tmp_path / "a") as f, open_public(tmp_path / "b") as g:
        assert not os.get_inheritable(f.fileno()) and not os.get_inheritable(g.fileno())
