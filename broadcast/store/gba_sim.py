"""A local BSF simulator and GBA credential store in SQLite (TS 33.220 4.5.2, Annex B).

``bootstrap(impi)`` plays the BSF side of a GBA run: it draws Ks (256 bits, as CK || IK) and
RAND, forms the B-TID = base64(RAND) "@" BSF domain name, and keeps the bootstrapping context
with its lifetime. As a :class:`~broadcast.proto.msk.gba.GbaKeySource` it then answers the BM-SC's
Zn question: Ks_(ext)_NAF for (B-TID, NAF-ID), computed with the TS 33.220 KDF. A real BSF is out
of scope; the table lives in the BM-SC store file by default (own table, own connection).

Tables: ``gba_bootstrap`` (B-TID, IMPI, Ks, RAND, created/expires). Ks never leaves this module
except through :meth:`SQLiteGbaStore.ue_material` (the UE side of a test or demo).
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from typing import Final

from broadcast import profile
from broadcast.proto.keys.material import SessionKey
from broadcast.proto.msk.errors import GbaError
from broadcast.proto.msk.gba import GbaMiss, NafKey, check_fqdn, check_nai, ks_ext_naf
from broadcast.store._db import Database
from broadcast.time import Rand, UnixS

_SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS gba_bootstrap (
        b_tid TEXT PRIMARY KEY,
        impi TEXT NOT NULL,
        ks BLOB NOT NULL CHECK (length(ks) = 32),
        rand BLOB NOT NULL CHECK (length(rand) = 16),
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS gba_bootstrap_impi ON gba_bootstrap (impi)",
)


@dataclass(frozen=True, slots=True)
class Bootstrap:
    """A bootstrapping context as the BSF keeps it (no key bytes in the repr)."""

    b_tid: str
    impi: str
    rand: bytes
    created_at: UnixS
    expires_at: UnixS

    def is_expired(self, now_unix: UnixS) -> bool:
        return now_unix >= self.expires_at


class SQLiteGbaStore:
    """BSF simulator + local credential store; a :class:`~broadcast.proto.msk.gba.GbaKeySource`."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        bsf_domain: str = profile.BSF_DEFAULT_DOMAIN,
        rand: Rand = os.urandom,
    ) -> None:
        self._db = Database(path, _SCHEMA, error=GbaError)
        self._bsf_domain = check_fqdn(bsf_domain)
        self._rand = rand

    def close(self) -> None:
        self._db.close()

    # --- BSF side ---------------------------------------------------------------------------
    def bootstrap(
        self, impi: str, *, now_unix: UnixS, lifetime: int = profile.GBA_KEY_LIFETIME_S
    ) -> Bootstrap:
        """Run a (simulated) GBA bootstrap for ``impi`` at ``now_unix`` (whole seconds): new Ks,
        RAND and B-TID, durable, valid for ``lifetime`` seconds."""
        check_nai(impi, "IMPI")
        if lifetime <= 0:
            raise GbaError("the key lifetime must be positive")
        for _ in range(8):
            rand = self._rand(profile.GBA_RAND_LEN)
            ks = self._rand(profile.GBA_KS_LEN)
            if len(rand) != profile.GBA_RAND_LEN or len(ks) != profile.GBA_KS_LEN:
                raise GbaError("the random source returned the wrong length")
            b_tid = f"{base64.b64encode(rand).decode('ascii')}@{self._bsf_domain}"
            with self._db.write() as conn:
                if conn.execute("SELECT 1 FROM gba_bootstrap WHERE b_tid = ?", (b_tid,)).fetchone():
                    continue  # RAND collision: draw again
                conn.execute(
                    "INSERT INTO gba_bootstrap (b_tid, impi, ks, rand, created_at, expires_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (b_tid, impi, ks, rand, now_unix, now_unix + lifetime),
                )
            return Bootstrap(b_tid, impi, rand, now_unix, UnixS(now_unix + lifetime))
        raise GbaError("could not draw a fresh RAND")

    def list_bootstraps(self, impi: str | None = None) -> list[Bootstrap]:
        with self._db.read() as conn:
            if impi is None:
                rows = conn.execute(
                    "SELECT b_tid, impi, rand, created_at, expires_at FROM gba_bootstrap "
                    "ORDER BY impi, created_at"
                ).fetchall()
            else:
                rows = conn.execute(
                    "SELECT b_tid, impi, rand, created_at, expires_at FROM gba_bootstrap "
                    "WHERE impi = ? ORDER BY created_at",
                    (impi,),
                ).fetchall()
        return [Bootstrap(r[0], r[1], bytes(r[2]), r[3], r[4]) for r in rows]

    def purge_expired(self, now_unix: UnixS) -> int:
        with self._db.write() as conn:
            return conn.execute(
                "DELETE FROM gba_bootstrap WHERE expires_at <= ?", (now_unix,)
            ).rowcount

    def _context(self, b_tid: str) -> tuple[str, SessionKey, bytes, UnixS] | None:
        row = self._db.one(
            "SELECT impi, ks, rand, expires_at FROM gba_bootstrap WHERE b_tid = ?", (b_tid,)
        )
        if row is None:
            return None
        impi, ks, rand, expires_at = row
        assert isinstance(ks, bytes) and isinstance(rand, bytes) and isinstance(expires_at, int)
        return str(impi), SessionKey(ks), rand, UnixS(expires_at)

    def ue_material(self, b_tid: str, naf: bytes) -> NafKey:
        """What the UE derives on its side of the same run (tests, demos): Ks_(ext)_NAF."""
        ctx = self._context(b_tid)
        if ctx is None:
            raise GbaError(f"unknown B-TID {b_tid!r}")
        impi, ks, rand, expires_at = ctx
        return NafKey(b_tid, impi, ks_ext_naf(ks, rand, impi, naf), expires_at)

    # --- NAF side (Zn) ------------------------------------------------------------------------
    def naf_key(self, b_tid: str, naf: bytes, now_unix: UnixS) -> NafKey | GbaMiss:
        if not isinstance(b_tid, str) or not 0 < len(b_tid) <= 253:
            return GbaMiss.UNKNOWN
        ctx = self._context(b_tid)
        if ctx is None:
            return GbaMiss.UNKNOWN
        impi, ks, rand, expires_at = ctx
        if now_unix >= expires_at:
            return GbaMiss.EXPIRED
        return NafKey(b_tid, impi, ks_ext_naf(ks, rand, impi, naf), expires_at)
