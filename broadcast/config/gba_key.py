"""The UE's GBA credentials for one BM-SC: the JSON key file that ``mbms gba add --key-file``
writes (TS 33.220 GBA_ME; TS 33.246 6.2.1, 6.3.2.2.1; profile.md "Keys from GBA").

A UE that has bootstrapped holds, for the BM-SC (a NAF): its B-TID, Ks_(ext)_NAF and the key
lifetime. The HTTP Digest password of the MSK request is base64(Ks_(ext)_NAF) and the MUK is its
first 128 bits (:mod:`broadcast.proto.msk.gba`); both are derived, never stored separately here.

The file is a JSON object (at most 64 KiB)::

    {"impi": "...", "b_tid": "<base64 RAND>@<BSF domain>", "bmsc_fqdn": "...",
     "expires_at": <unix seconds>, "ks_naf": "<64 hex digits>",
     "digest_password": "...", "muk": "<32 hex digits>"}

``digest_password`` and ``muk`` are optional; when present they must be the values derived from
``ks_naf`` (a file edited by hand is refused rather than half used). The file holds key material:
it must not be readable or writable by group or others (mode 0600, checked on the open file, as
ssh does for private keys). Errors are :class:`~broadcast.proto.errors.ConfigError` naming the
file and the field (as its ``key``), never a key byte.
"""

from __future__ import annotations

import hmac
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from broadcast import profile
from broadcast.config.files import open_private
from broadcast.proto.errors import ConfigError
from broadcast.proto.keys.material import SessionKey
from broadcast.proto.msk.errors import GbaError
from broadcast.proto.msk.gba import check_fqdn, check_nai, digest_password, muk_from_ks_naf
from broadcast.time import UnixS

#: Largest key file read.
MAX_KEY_FILE_BYTES: Final = 64 * 1024
#: Mode of a key file written here (and the only permission bits a read one may have).
KEY_FILE_MODE: Final = 0o600


@dataclass(frozen=True, slots=True)
class GbaCredentials:
    """B-TID and Ks_(ext)_NAF of one UE for one BM-SC (``repr`` shows no key byte)."""

    impi: str
    b_tid: str
    bmsc_fqdn: str
    #: Whole unix seconds (the key file's ``expires_at``).
    expires_at: UnixS
    ks_naf: SessionKey

    def is_expired(self, now_unix: UnixS) -> bool:
        return now_unix >= self.expires_at

    def to_json(self) -> dict[str, Any]:
        """The key file's object (contains the key: write it with :func:`write_gba_key`)."""
        return {
            "impi": self.impi,
            "b_tid": self.b_tid,
            "bmsc_fqdn": self.bmsc_fqdn,
            "expires_at": self.expires_at,
            "ks_naf": self.ks_naf.secret.hex(),
            "digest_password": digest_password(self.ks_naf),
            "muk": muk_from_ks_naf(self.ks_naf).secret.hex(),
        }


def _text(data: dict[str, Any], key: str, file: str | None) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise ConfigError("must be a non-empty string", file=file, key=key)
    return value


def parse_gba_key(raw: bytes, file: str | None = None) -> GbaCredentials:
    """The credentials in a key file's bytes (see the module doc); ``file`` names it in errors."""
    if len(raw) > MAX_KEY_FILE_BYTES:
        raise ConfigError(f"is larger than {MAX_KEY_FILE_BYTES} bytes", file=file)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ConfigError("is not a JSON document", file=file) from None
    if not isinstance(data, dict):
        raise ConfigError("must hold a JSON object", file=file)
    impi = _text(data, "impi", file)
    b_tid = _text(data, "b_tid", file)
    fqdn = _text(data, "bmsc_fqdn", file)
    for key, value in (("impi", impi), ("b_tid", b_tid), ("bmsc_fqdn", fqdn)):
        try:
            if key == "bmsc_fqdn":
                check_fqdn(value)
            else:
                check_nai(value, "IMPI" if key == "impi" else "B-TID")
        except GbaError as exc:
            raise ConfigError(str(exc), file=file, key=key) from None
    expires = data.get("expires_at")
    if isinstance(expires, bool) or not isinstance(expires, int) or not 0 < expires < 1 << 40:
        raise ConfigError("must be a positive number of unix seconds", file=file, key="expires_at")
    ks_text = data.get("ks_naf")
    if (
        not isinstance(ks_text, str)
        or len(ks_text) != 2 * profile.GBA_KS_LEN
        or any(c not in "0123456789abcdefABCDEF" for c in ks_text)
    ):
        # Never echo the value: it is (meant to be) a key.
        raise ConfigError(f"must be {2 * profile.GBA_KS_LEN} hex digits", file=file, key="ks_naf")
    ks_naf = SessionKey(bytes.fromhex(ks_text))
    password = data.get("digest_password")
    if password is not None and not (
        isinstance(password, str)
        and hmac.compare_digest(password.encode(), digest_password(ks_naf).encode())
    ):
        raise ConfigError("is not base64(ks_naf)", file=file, key="digest_password")
    muk = data.get("muk")
    if muk is not None and not (
        isinstance(muk, str)
        and hmac.compare_digest(muk.lower().encode(), muk_from_ks_naf(ks_naf).secret.hex().encode())
    ):
        raise ConfigError("is not the first 128 bits of ks_naf", file=file, key="muk")
    return GbaCredentials(impi, b_tid, fqdn, UnixS(expires), ks_naf)


def load_gba_key(path: str | Path) -> GbaCredentials:
    """Read a key file; refuses one that group or others may read or write."""
    file = Path(path)
    where = str(file)
    try:
        fd = os.open(file, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise ConfigError(f"cannot read the GBA key file: {exc.strerror}", file=where) from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise ConfigError("the GBA key file is not a regular file", file=where)
        if st.st_mode & 0o077:
            raise ConfigError(
                "the GBA key file is accessible by group or others "
                f"(mode {stat.S_IMODE(st.st_mode):04o}); chmod 600 it",
                file=where,
            )
        raw = f.read(MAX_KEY_FILE_BYTES + 1)
    return parse_gba_key(raw, where)


def write_gba_key(path: str | Path, credentials: GbaCredentials) -> None:
    """Write ``credentials`` as a key file, mode 0600 (an existing file is replaced; a symbolic
    link at ``path`` is refused)."""
    with open_private(path) as f:
        json.dump(credentials.to_json(), f, indent=2)
        f.write("\n")


__all__ = [
    "KEY_FILE_MODE",
    "GbaCredentials",
    "load_gba_key",
    "parse_gba_key",
    "write_gba_key",
]
