"""``--keylog FILE``: every MSK and MTK the UE learns, for debugging and for decrypting captures.

This is the one deliberate place where key bytes are written. It is off by default. The file is
created with mode 0600 (:func:`broadcast.config.files.open_private`: an existing file is reset to
0600 and appended to; a symbolic link is refused) and gets one line per key, lower-case hex, flushed
at once::

    MSK <key-domain-id> <msk-id> <key>
    MTK <key-domain-id> <msk-id> <mtk-id> <key> <salt or ->

(the SRTP master salt for streaming MTKs, ``-`` for download MTKs). With ``unique`` (a log shared
by several UEs, as in the loopback demo) a line already written is not written again (the most
recent :data:`MAX_REMEMBERED` lines are remembered by their SHA-256, not their text).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from pathlib import Path
from types import TracebackType
from typing import Final, TextIO

from broadcast.config.files import open_private
from broadcast.proto.keys.ids import KeyDomainId, MskId, MtkId
from broadcast.proto.keys.material import Msk, Mtk, SrtpSalt

#: Lines remembered by a ``unique`` key log.
MAX_REMEMBERED: Final = 4096


class KeyLog:
    """An append-only key log file (see the module doc)."""

    def __init__(self, path: str | Path, *, unique: bool = False) -> None:
        self.path = Path(path)
        self._seen: OrderedDict[bytes, None] | None = OrderedDict() if unique else None
        self._file: TextIO | None = open_private(self.path, append=True, encoding="ascii")
        self.lines = 0

    def _write(self, line: str) -> None:
        if self._file is None:
            raise ValueError("the key log is closed")
        if self._seen is not None:
            digest = hashlib.sha256(line.encode("ascii")).digest()
            if digest in self._seen:
                return
            self._seen[digest] = None
            while len(self._seen) > MAX_REMEMBERED:
                self._seen.popitem(last=False)
        self._file.write(line + "\n")
        self._file.flush()
        self.lines += 1

    def msk(self, key_domain_id: KeyDomainId, msk_id: MskId, msk: Msk) -> None:
        self._write(f"MSK {bytes(key_domain_id).hex()} {bytes(msk_id).hex()} {msk.secret.hex()}")

    def mtk(
        self,
        key_domain_id: KeyDomainId,
        msk_id: MskId,
        mtk_id: MtkId,
        mtk: Mtk,
        salt: SrtpSalt | None,
    ) -> None:
        salt_text = "-" if salt is None else salt.secret.hex()
        self._write(
            f"MTK {bytes(key_domain_id).hex()} {bytes(msk_id).hex()} {bytes(mtk_id).hex()} "
            f"{mtk.secret.hex()} {salt_text}"
        )

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> KeyLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<KeyLog {self.path} ({self.lines} lines)>"
