"""``--keylog``: exact lines, lower-case hex, mode 0600, no symlinks."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from broadcast.aio.ue.keylog import KeyLog
from broadcast.proto.keys import KeyDomainId, Msk, MskId, Mtk, MtkId, SrtpSalt

KDID = KeyDomainId.from_plmn("001", "01")
MSK = bytes.fromhex("A0A1A2A3A4A5A6A7A8A9AAABACADAEAF")
MTK = bytes.fromhex("B0B1B2B3B4B5B6B7B8B9BABBBCBDBEBF")
SALT = bytes.fromhex("C0C1C2C3C4C5C6C7C8C9CACBCCCD")


def test_lines_are_exact(tmp_path: Path) -> None:
    path = tmp_path / "keys.log"
    with KeyLog(path) as log:
        log.msk(KDID, MskId(0x0102, 0xABCD), Msk(MSK))
        log.mtk(KDID, MskId(0x0102, 0xABCD), MtkId(0x00EF), Mtk(MTK), SrtpSalt(SALT))
        log.mtk(KDID, MskId(0x0102, 0xABCD), MtkId(0x0100), Mtk(MTK), None)
        assert log.lines == 3
    assert path.read_text(encoding="ascii").splitlines() == [
        "MSK 00f110 0102abcd a0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
        "MTK 00f110 0102abcd 00ef b0b1b2b3b4b5b6b7b8b9babbbcbdbebf c0c1c2c3c4c5c6c7c8c9cacbcccd",
        "MTK 00f110 0102abcd 0100 b0b1b2b3b4b5b6b7b8b9babbbcbdbebf -",
    ]
    assert "a0a1" not in repr(log)


def test_file_mode_is_0600_even_with_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        path = tmp_path / "new.log"
        KeyLog(path).close()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        # An existing, world-readable file is tightened and appended to.
        existing = tmp_path / "old.log"
        existing.write_text("earlier\n")
        existing.chmod(0o644)
        with KeyLog(existing) as log:
            log.msk(KDID, MskId(1, 1), Msk(MSK))
        assert stat.S_IMODE(existing.stat().st_mode) == 0o600
        assert existing.read_text().splitlines()[0] == "earlier"
    finally:
        os.umask(old)


def test_a_symlink_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("")
    link = tmp_path / "link.log"
    link.symlink_to(target)
    with pytest.raises(OSError):
        KeyLog(link)


def test_writing_after_close_is_an_error(tmp_path: Path) -> None:
    log = KeyLog(tmp_path / "k.log")
    log.close()
    with pytest.raises(ValueError, match="closed"):
        log.msk(KDID, MskId(1, 1), Msk(MSK))
