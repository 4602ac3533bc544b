"""broadcast.config.files: key files are 0600 (even when they existed), nothing follows a symlink;
broadcast.config.reader: configuration files are read within a size cap, by every loader."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pytest

from broadcast.config.bmsc import load as load_bmsc_config
from broadcast.config.carousel import load_config as load_carousel_config
from broadcast.config.files import PRIVATE_MODE, PUBLIC_MODE, open_private, open_public
from broadcast.config.reader import read_toml
from broadcast.config.stream import load_config
from broadcast.config.ue import load_config as load_ue_config
from broadcast.proto.errors import ConfigError


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


def test_read_toml_reads_a_bounded_utf8_document(tmp_path: Path) -> None:
    good = tmp_path / "c.toml"
    good.write_text('[session]\nname = "é"\n', encoding="utf-8")
    assert read_toml(good) == {"session": {"name": "é"}}
    big = tmp_path / "big.toml"
    big.write_bytes(b"# " + b"x" * 100 + b"\n")
    assert read_toml(big, max_bytes=103) == {}
    with pytest.raises(ConfigError, match=r"big\.toml: is larger than 102 bytes"):
        read_toml(big, max_bytes=102)
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b'name = "\xe9"\n')
    with pytest.raises(ConfigError, match="is not UTF-8"):
        read_toml(latin)
    bad = tmp_path / "bad.toml"
    bad.write_text("[session\n")
    with pytest.raises(ConfigError, match=r"bad\.toml: not valid TOML"):
        read_toml(bad)
    with pytest.raises(ConfigError, match=r"missing\.toml: cannot read"):
        read_toml(tmp_path / "missing.toml")
    assert issubclass(ConfigError, ValueError)


def test_config_loaders_share_read_toml(tmp_path: Path) -> None:
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b'name = "\xe9"\n')
    for load in (load_config, load_ue_config, load_bmsc_config, load_carousel_config):
        with pytest.raises(ConfigError, match=r"latin\.toml: is not UTF-8") as info:
            load(latin)
        assert info.value.file == str(latin)
