"""Streaming DCF writer (OMA-TS-DRM-DCF-V2_0 single-object DCF), sans-IO core.

Output layout (profile.md "Protection of the content" → Download)::

    ftyp   size 20: major brand 'odcf', minor version 2, compatible brands ['odcf']
    odrm   FullBox v0, 64-bit size (size = 1 + largesize)
      odhe FullBox v0, 32-bit size: ContentTypeLength u8 · ContentType
        ohdr FullBox v0, 32-bit size: AES_128_CBC · RFC 2630 · PlaintextLength u64 ·
             ContentIDLength · RightsIssuerURLLength · TextualHeadersLength · strings
      odda FullBox v0, 64-bit size: EncryptedDataLength u64 · IV(16) ‖ AES-128-CBC ciphertext

Box size decision: ``odrm`` and ``odda`` *always* carry a 64-bit size (as Bento4 ``mp4dcf``
does), whatever the content length: they are the two boxes that may exceed 4 GiB, and a fixed
header layout means every length field sits at an offset known before the first byte is
written. ``ftyp``, ``odhe`` and ``ohdr`` are bounded by the header limits and use 32-bit sizes.

Length decision: the layout puts PlaintextLength and the box sizes *before* the data, so the
writer needs the plaintext length up front. :class:`DcfWriter` takes it (and fails with
:class:`DcfWriteError` when the source yields a different number of bytes). When the length is
not known (``plaintext_length=None``) the writer emits zero placeholders and
:meth:`DcfWriter.length_patches` gives the four (offset, bytes) fixes; :meth:`DcfWriter.write_to`
applies them itself and therefore then requires a seekable output. :func:`protect_stream` first
tries to measure a seekable input instead.

Randomness: the IV is drawn from ``rand(16)`` when the writer is built (after the 16 bytes that
:func:`~broadcast.proto.dcf.mbms.mbms_headers` draws for the ContentID uuid).
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Iterable, Iterator, Mapping
from typing import BinaryIO, Protocol, TypeGuard, runtime_checkable

from broadcast.proto.dcf import constants as c
from broadcast.proto.dcf.boxes import box_header, full_box_header
from broadcast.proto.dcf.cipher import CbcEncryptor, encrypted_data_length, key_bytes, padded_length
from broadcast.proto.dcf.errors import DcfWriteError
from broadcast.proto.dcf.headers import (
    DcfHeaders,
    encode_headers,
    odhe_box,
    plaintext_length_offset_in_odhe,
)
from broadcast.proto.dcf.keyid import MbmsKeyId
from broadcast.proto.dcf.limits import DEFAULT_LIMITS, DcfLimits
from broadcast.proto.dcf.mbms import draw, mbms_headers
from broadcast.proto.keys import InvalidKeyMaterial, SecretBytes
from broadcast.time import Rand

#: Largest plaintext length written: keeps every derived size within a u64.
MAX_PLAINTEXT_LENGTH = (1 << 63) - 1


@runtime_checkable
class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class Writable(Protocol):
    def write(self, data: bytes, /) -> int | None: ...


class _Seekable(Protocol):
    def seek(self, offset: int, whence: int = 0, /) -> int: ...

    def tell(self) -> int: ...


class _SeekableWritable(Writable, _Seekable, Protocol):
    pass


def _seekable(f: object) -> TypeGuard[_Seekable]:
    seekable = getattr(f, "seekable", None)
    try:
        return bool(seekable()) if callable(seekable) else False
    except (OSError, ValueError):
        return False


def _seekable_writer(f: Writable) -> TypeGuard[_SeekableWritable]:
    return _seekable(f)


def ftyp_box() -> bytes:
    """``ftyp``: major brand ``odcf``, minor version 2, compatible brands [``odcf``]."""
    body = c.BRAND_ODCF + struct.pack(">I", c.MINOR_VERSION) + c.BRAND_ODCF
    return box_header(c.FTYP, c.BOX_HEADER + len(body)) + body


class DcfWriter:
    """Encrypts a plaintext into a DCF, yielding it in chunks of about ``chunk_size`` bytes.

    ``source`` is a readable binary file object (read in ``chunk_size`` pieces to its end) or an
    iterable of bytes chunks (large chunks are cut to ``chunk_size``). It must hold exactly
    ``plaintext_length`` bytes. Memory use is a few chunks whatever the content size. A writer
    is single-use: iterate it once, or call :meth:`write_to` once.

    A length mismatch is found only when the source runs out (or over), after earlier chunks
    were yielded: on :class:`DcfWriteError` discard what was produced, it is not a valid DCF.
    """

    def __init__(
        self,
        source: BinaryIO | Readable | Iterable[bytes | bytearray | memoryview],
        headers: DcfHeaders,
        key: SecretBytes | bytes,
        *,
        plaintext_length: int | None,
        rand: Rand = os.urandom,
        chunk_size: int = c.DEFAULT_CHUNK_SIZE,
        limits: DcfLimits = DEFAULT_LIMITS,
    ) -> None:
        if isinstance(source, bytes | bytearray | memoryview):
            source = [source]
        if plaintext_length is not None and (
            not isinstance(plaintext_length, int)
            or not 0 <= plaintext_length <= MAX_PLAINTEXT_LENGTH
        ):
            raise DcfWriteError(f"plaintext length {plaintext_length!r} out of range")
        if not isinstance(chunk_size, int) or chunk_size < c.AES_BLOCK:
            raise DcfWriteError("chunk_size must be an int of at least 16")
        try:
            self._key = key_bytes(key)
        except InvalidKeyMaterial as exc:
            raise DcfWriteError(str(exc)) from None
        self._source = source
        self._declared = plaintext_length
        self._chunk = chunk_size
        self._encoded = encode_headers(headers, limits)
        self.headers = headers
        self._iv = draw(rand, c.IV_LEN, "IV")
        self._started = False
        self._actual: int | None = None

        placeholder = plaintext_length or 0
        self._ftyp = ftyp_box()
        self._odhe = odhe_box(self._encoded, placeholder)
        self._odrm_offset = len(self._ftyp)
        self._odhe_offset = self._odrm_offset + c.LARGE_BOX_HEADER + c.FULL_BOX_EXTRA
        self._odda_offset = self._odhe_offset + len(self._odhe)
        self._odda_header_len = c.LARGE_BOX_HEADER + c.FULL_BOX_EXTRA + c.ODDA_FIXED

    # --- layout ---------------------------------------------------------------------------------

    def _sizes(self, plaintext_length: int) -> tuple[int, int, int]:
        """(odrm size, odda size, EncryptedDataLength) for ``plaintext_length``."""
        edl = encrypted_data_length(plaintext_length)
        odda = self._odda_header_len + edl
        odrm = c.LARGE_BOX_HEADER + c.FULL_BOX_EXTRA + len(self._odhe) + odda
        return odrm, odda, edl

    def _head(self, plaintext_length: int) -> bytes:
        odrm, odda, edl = self._sizes(plaintext_length)
        return b"".join(
            (
                self._ftyp,
                full_box_header(c.ODRM, odrm, large=True),
                self._odhe,
                full_box_header(c.ODDA, odda, large=True),
                struct.pack(">Q", edl),
                self._iv,
            )
        )

    @property
    def header_size(self) -> int:
        """Bytes before the ciphertext: ftyp · odrm header · odhe · odda header · IV."""
        return self._odda_offset + self._odda_header_len + c.IV_LEN

    @property
    def total_size(self) -> int | None:
        """Size of the whole DCF; known up front when the plaintext length is (e.g. for an FDT
        Content-Length), else once the writer has run."""
        length = self._declared if self._declared is not None else self._actual
        return None if length is None else self.header_size + padded_length(length)

    @property
    def plaintext_length(self) -> int | None:
        return self._declared if self._declared is not None else self._actual

    def length_patches(self) -> list[tuple[int, bytes]]:
        """(offset from the DCF start, bytes) to overwrite once the length is known.

        Empty when the length was declared. Call after the writer has run.
        """
        if self._declared is not None:
            return []
        if self._actual is None:
            raise DcfWriteError("the plaintext length is known only after the writer has run")
        odrm, odda, edl = self._sizes(self._actual)
        ct_len = len(self._encoded.content_type)
        return [
            (self._odrm_offset + c.BOX_HEADER, struct.pack(">Q", odrm)),
            (
                self._odhe_offset + plaintext_length_offset_in_odhe(ct_len),
                struct.pack(">Q", self._actual),
            ),
            (self._odda_offset + c.BOX_HEADER, struct.pack(">Q", odda)),
            (self._odda_offset + c.LARGE_BOX_HEADER + c.FULL_BOX_EXTRA, struct.pack(">Q", edl)),
        ]

    # --- data -----------------------------------------------------------------------------------

    def _pieces(self) -> Iterator[bytes | memoryview]:
        source = self._source
        if isinstance(source, Readable):
            while True:
                piece = source.read(self._chunk)
                if not piece:
                    return
                if not isinstance(piece, bytes | bytearray | memoryview):
                    raise DcfWriteError("the plaintext file must be opened in binary mode")
                yield piece
        else:
            for chunk in source:
                if not isinstance(chunk, bytes | bytearray | memoryview):
                    raise DcfWriteError("plaintext chunks must be bytes-like")
                view = memoryview(chunk).cast("B")
                for i in range(0, len(view), self._chunk):
                    yield view[i : i + self._chunk]

    def __iter__(self) -> Iterator[bytes]:
        if self._started:
            raise DcfWriteError("a DcfWriter is single-use")
        self._started = True
        yield self._head(self._declared or 0)
        encryptor = CbcEncryptor(self._key, self._iv)
        count = 0
        for piece in self._pieces():
            count += len(piece)
            if self._declared is not None and count > self._declared:
                raise DcfWriteError(
                    f"the plaintext is longer than the declared {self._declared} bytes"
                )
            out = encryptor.update(piece)
            if out:
                yield out
        if self._declared is not None and count != self._declared:
            raise DcfWriteError(f"the plaintext has {count} bytes, {self._declared} were declared")
        self._actual = count
        yield encryptor.finalize()

    def write_to(self, dst: BinaryIO | Writable) -> int:
        """Write the whole DCF to ``dst``; returns the number of bytes written.

        With an undeclared length, ``dst`` must be seekable: the length fields are patched in
        place at the end and the position is left at the end of the DCF.
        """
        if self._declared is not None:
            total = 0
            for chunk in self:
                dst.write(chunk)
                total += len(chunk)
            return total
        if not _seekable_writer(dst):
            raise DcfWriteError(
                "the plaintext length is unknown and the output is not seekable: "
                "declare plaintext_length"
            )
        start = dst.tell()
        total = 0
        for chunk in self:
            dst.write(chunk)
            total += len(chunk)
        for offset, data in self.length_patches():
            dst.seek(start + offset)
            dst.write(data)
        dst.seek(start + total)
        return total


def _remaining_length(src: object) -> int | None:
    """Bytes from the current position to the end of a seekable file, else None."""
    if not _seekable(src):
        return None
    pos = src.tell()
    end = src.seek(0, io.SEEK_END)
    src.seek(pos)
    return end - pos


def protect_bytes(
    data: bytes | bytearray | memoryview,
    *,
    key: SecretBytes | bytes,
    key_id: MbmsKeyId,
    bmsc_fqdn: str,
    key_management_uri: str,
    content_type: str,
    rand: Rand = os.urandom,
    extra_textual_headers: Mapping[str, str] | None = None,
) -> bytes:
    """The MBMS download DCF of ``data`` in one piece (rand: 16 bytes uuid, then 16 bytes IV)."""
    headers = mbms_headers(
        key_id=key_id,
        bmsc_fqdn=bmsc_fqdn,
        key_management_uri=key_management_uri,
        content_type=content_type,
        rand=rand,
        extra_textual_headers=extra_textual_headers,
    )
    writer = DcfWriter([data], headers, key, plaintext_length=len(data), rand=rand)
    return b"".join(writer)


def protect_stream(
    src: BinaryIO | Readable,
    dst: BinaryIO | Writable,
    *,
    key: SecretBytes | bytes,
    key_id: MbmsKeyId,
    bmsc_fqdn: str,
    key_management_uri: str,
    content_type: str,
    plaintext_length: int | None = None,
    rand: Rand = os.urandom,
    extra_textual_headers: Mapping[str, str] | None = None,
    chunk_size: int = c.DEFAULT_CHUNK_SIZE,
) -> int:
    """Encrypt ``src`` (read to its end) into an MBMS download DCF written to ``dst``.

    The plaintext length is, in order: ``plaintext_length``; measured when ``src`` is seekable;
    else patched in place, which needs a seekable ``dst`` (else :class:`DcfWriteError`).
    Returns the number of bytes written.
    """
    if plaintext_length is None:
        plaintext_length = _remaining_length(src)
    headers = mbms_headers(
        key_id=key_id,
        bmsc_fqdn=bmsc_fqdn,
        key_management_uri=key_management_uri,
        content_type=content_type,
        rand=rand,
        extra_textual_headers=extra_textual_headers,
    )
    writer = DcfWriter(
        src, headers, key, plaintext_length=plaintext_length, rand=rand, chunk_size=chunk_size
    )
    return writer.write_to(dst)
