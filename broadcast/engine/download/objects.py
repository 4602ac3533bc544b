"""The transport objects of a protected carousel: DCF files and MIKEY MTK messages.

A file is turned into its transport object in one streaming pass, never held whole in memory:

    source file ─► DCF writer (AES-128-CBC under the MTK, profile.md "Protection of the content")
                ─► MD5 (Content-MD5 of the content, RFC 1864 / RFC 3926 §3.4.2)
                ─► optional gzip (FDT ``Content-Encoding: gzip``)
                ─► spool file (what the carousel reads, one source block at a time)

FDT lengths (RFC 3926 §3.4.2): ``Content-Length`` is the length of the content (the DCF, or the
file when confidentiality is off); when content encoded, ``Transfer-Length`` is the length of the
transport object (the gzip stream) and the FEC OTI is computed over it. ``Content-MD5`` digests the
content before content encoding, as receivers check it after decoding.

FEC (``fec`` argument): files use Compact No-Code (FEC Encoding ID 0, RFC 5445) or Raptor
(FEC Encoding ID 1, RFC 5053) with source blocks of up to 8192 symbols (:func:`file_oti`);
FDT Instances and MIKEY objects always use Compact No-Code.

The MIKEY MTK message is its own object in the same session (TS 33.246 §6.3.3.2.1, profile.md
Transport): ``Content-Type: application/mikey``, ``Content-Location:
mikey/<MSK ID>-<MTK ID>.mikey`` (:func:`broadcast.proto.flute.mikey_file`).
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import mimetypes
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, Final

from broadcast import profile
from broadcast.engine.download.scheduler import BytesSource, FileSource, ObjectSource
from broadcast.engine.keys.mtk import IssuedMtk
from broadcast.proto.dcf import DcfWriter, MbmsKeyId, mbms_headers
from broadcast.proto.flute import FdtFile, Oti, describe_object, get_scheme, mikey_file
from broadcast.proto.flute.fec import COMPACT_NO_CODE, RAPTOR
from broadcast.proto.keys import Mtk
from broadcast.time import Rand

#: Bytes read from a source file at a time (one AES-CBC update, one MD5 update, one write).
CHUNK_SIZE: Final = 1024 * 1024
#: The Content-Encoding token for gzip (RFC 9110 §8.4.1.3, RFC 1952).
GZIP: Final = "gzip"
_GZIP_WBITS: Final = 31
_GZIP_LEVEL: Final = 6


class ObjectKind(enum.Enum):
    MIKEY = "mikey"
    FILE = "file"


@dataclass(frozen=True, slots=True)
class Protection:
    """What a file is protected with: the MTK, its MBMS-Key-ID and the DCF header values."""

    key_id: MbmsKeyId
    mtk: Mtk = field(repr=False)
    bmsc_fqdn: str
    key_management_uri: str

    @classmethod
    def for_mtk(cls, issued: IssuedMtk, *, bmsc_fqdn: str, key_management_uri: str) -> Protection:
        return cls(issued.key_id, issued.mtk, bmsc_fqdn, key_management_uri)


@dataclass(frozen=True, slots=True)
class PreparedObject:
    """A transport object ready for the carousel: its FDT entry and where to read its bytes."""

    kind: ObjectKind
    fdt_file: FdtFile
    oti: Oti
    source: ObjectSource = field(repr=False)
    key_id: MbmsKeyId | None = None
    origin: str | None = None

    @property
    def toi(self) -> int:
        return self.fdt_file.toi

    @property
    def transfer_length(self) -> int:
        return self.oti.transfer_length


def make_oti(length: int, *, symbol_length: int, max_block_length: int, fec: int = 0) -> Oti:
    """The FEC OTI of an object of ``length`` transport bytes."""
    return get_scheme(fec).make_oti(length, symbol_length, max_block_length)


#: Raptor needs K >= 4 symbols (RFC 5053 §5.3.1.2 / this project's partition check): smaller
#: objects are sent with Compact No-Code.
RAPTOR_MIN_LENGTH: Final = 4


def file_oti(length: int, *, symbol_length: int, max_block_length: int, fec: int) -> Oti:
    """The FEC OTI of a file object of ``length`` transport bytes.

    ``fec`` 0: Compact No-Code, ``max_block_length`` symbols per block. ``fec`` 1: Raptor with up
    to :data:`~broadcast.profile.DOWNLOAD_RAPTOR_MAX_SOURCE_BLOCK_LENGTH` (8192) symbols per
    block, T shrunk for objects of fewer than 4 symbols; objects under 4 bytes fall back to
    Compact No-Code.
    """
    if fec == RAPTOR and length >= RAPTOR_MIN_LENGTH:
        return make_oti(
            length,
            symbol_length=symbol_length,
            max_block_length=profile.DOWNLOAD_RAPTOR_MAX_SOURCE_BLOCK_LENGTH,
            fec=RAPTOR,
        )
    if fec not in (COMPACT_NO_CODE, RAPTOR):
        raise ValueError(f"FEC Encoding ID {fec}: the carousel sends 0 or 1")
    return make_oti(length, symbol_length=symbol_length, max_block_length=max_block_length)


def prepare_mikey(
    toi: int, issued: IssuedMtk, *, symbol_length: int, max_block_length: int
) -> PreparedObject:
    """The MIKEY MTK message as its own object (``application/mikey``)."""
    oti = make_oti(
        len(issued.message), symbol_length=symbol_length, max_block_length=max_block_length
    )
    entry = mikey_file(toi, issued.msk_id, issued.mtk_id, issued.message, oti=oti)
    return PreparedObject(
        ObjectKind.MIKEY, entry, oti, BytesSource(issued.message), key_id=issued.key_id
    )


def guess_content_type(name: str) -> str:
    """The media type of a file from its name (``application/octet-stream`` if unknown)."""
    kind, _ = mimetypes.guess_type(name, strict=False)
    return kind or "application/octet-stream"


def _plain_chunks(f: BinaryIO, chunk: int) -> Iterator[bytes]:
    while True:
        data = f.read(chunk)
        if not data:
            return
        yield data


def prepare_file(
    toi: int,
    path: str | os.PathLike[str],
    *,
    content_location: str,
    spool_dir: str | os.PathLike[str],
    symbol_length: int,
    max_block_length: int,
    protection: Protection | None,
    gzip: bool = False,
    rand: Rand = os.urandom,
    chunk_size: int = CHUNK_SIZE,
    fec: int = COMPACT_NO_CODE,
) -> PreparedObject:
    """Protect (DCF) and optionally gzip ``path`` into the spool; return its carousel object.

    Raises ``OSError`` when the file cannot be read (or vanished) and
    :class:`~broadcast.proto.dcf.DcfWriteError` when it changed size while being read: the caller
    retries on its next scan.
    """
    src = os.fspath(path)
    spool = os.path.join(os.fspath(spool_dir), f"{toi}.obj")
    partial = spool + ".part"
    md5 = hashlib.md5(usedforsecurity=False)
    compressor = zlib.compressobj(_GZIP_LEVEL, zlib.DEFLATED, _GZIP_WBITS) if gzip else None
    content_length = transfer_length = 0
    plain_type = guess_content_type(content_location)
    try:
        with open(src, "rb") as f, open(partial, "wb") as out:
            size = os.fstat(f.fileno()).st_size
            if protection is not None:
                headers = mbms_headers(
                    key_id=protection.key_id,
                    bmsc_fqdn=protection.bmsc_fqdn,
                    key_management_uri=protection.key_management_uri,
                    content_type=plain_type,
                    rand=rand,
                )
                chunks: Iterator[bytes] = iter(
                    DcfWriter(
                        f,
                        headers,
                        protection.mtk,
                        plaintext_length=size,
                        rand=rand,
                        chunk_size=chunk_size,
                    )
                )
            else:
                chunks = _plain_chunks(f, chunk_size)
            for chunk in chunks:
                md5.update(chunk)
                content_length += len(chunk)
                encoded = compressor.compress(chunk) if compressor is not None else chunk
                if encoded:
                    out.write(encoded)
                    transfer_length += len(encoded)
            if compressor is not None:
                tail = compressor.flush()
                out.write(tail)
                transfer_length += len(tail)
        os.replace(partial, spool)
    except BaseException:
        for leftover in (partial, spool):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(leftover)
        raise
    oti = file_oti(
        transfer_length, symbol_length=symbol_length, max_block_length=max_block_length, fec=fec
    )
    entry = FdtFile(
        toi=toi,
        content_location=content_location,
        content_length=content_length,
        transfer_length=transfer_length if compressor is not None else None,
        content_type=profile.DOWNLOAD_DCF_CONTENT_TYPE if protection is not None else plain_type,
        content_encoding=GZIP if compressor is not None else None,
        content_md5=md5.digest(),
        fec=get_scheme(oti.fec_encoding_id).oti_to_fdt(oti),
    )
    return PreparedObject(
        ObjectKind.FILE,
        entry,
        oti,
        FileSource(spool, unlink_on_close=True),
        key_id=None if protection is None else protection.key_id,
        origin=src,
    )


def prepare_bytes(
    toi: int,
    data: bytes,
    *,
    content_location: str,
    content_type: str,
    symbol_length: int,
    max_block_length: int,
    fec: int = COMPACT_NO_CODE,
) -> PreparedObject:
    """An unprotected in-memory object (tests, small announcements)."""
    oti = file_oti(
        len(data), symbol_length=symbol_length, max_block_length=max_block_length, fec=fec
    )
    entry = describe_object(toi, data, content_location, content_type=content_type, oti=oti)
    return PreparedObject(ObjectKind.FILE, entry, oti, BytesSource(data))


__all__ = [
    "CHUNK_SIZE",
    "GZIP",
    "RAPTOR_MIN_LENGTH",
    "ObjectKind",
    "PreparedObject",
    "Protection",
    "file_oti",
    "guess_content_type",
    "make_oti",
    "prepare_bytes",
    "prepare_file",
    "prepare_mikey",
]
