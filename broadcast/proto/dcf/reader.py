"""DCF reader (OMA-TS-DRM-DCF-V2_0 single-object DCF): parse, verify, decrypt — sans-IO core.

:func:`parse_dcf` takes the DCF bytes or a seekable binary file and checks, before anything is
decrypted:

- structure: the first box is ``ftyp`` with brand ``odcf`` (major or compatible); exactly one
  ``odrm`` (FullBox v0) at top level, holding one ``odhe`` and, after it, one ``odda``; ``odhe``
  holds exactly one ``ohdr``. Every box size is consistent with its header and lies within its
  parent; children tile their parent exactly. Unknown boxes (at top level, inside ``odrm``,
  ``odhe``, or as ``ohdr`` extended headers) are skipped only when well-formed in that sense;
  a box of size 0 ("to end of file") is refused.
- lengths: EncryptedDataLength fills the ``odda`` box exactly, equals 16 (IV) + a whole number
  of blocks, and equals 16 + 16·(⌊PlaintextLength/16⌋ + 1) (AES_128_CBC with RFC 2630 padding).
- headers: the :mod:`~broadcast.proto.dcf.headers` text rules, limits from :class:`DcfLimits`, and a
  well-formed ``MBMS-Key-ID`` when present.

Memory stays bounded whatever the claimed lengths: every length is compared with the bytes
actually there (and with the limits) before it is read; only ``ftyp`` and ``odhe`` are read
whole; the ciphertext is decrypted chunk by chunk. Every problem with the input is a
:class:`~broadcast.proto.dcf.errors.DcfError`.

Wrong-key detection (what it can and cannot promise). Decryption first decrypts the last block
alone (:meth:`DcfReader.check_key`) and requires it to end in exactly the RFC 2630 padding that
PlaintextLength implies: p = 16 − (PlaintextLength mod 16) bytes (1 ≤ p ≤ 16), each of value p.
AES_128_CBC carries no integrity check, so this is the only key check there is, and it is a
probabilistic one:

- a wrong key makes that block practically random, which passes with probability 256^−p per
  file: 1/256 when PlaintextLength ≡ 15 (mod 16), 2^−16 when ≡ 14, …, 2^−128 when
  PlaintextLength is a multiple of 16. So the check rejects a wrong key with probability
  1 − 1/256 at worst per file; over many files of unconstrained lengths that worst case counts;
- damage to the ciphertext: a damaged last block randomises the padding and is caught with the
  same odds; bits changed in the block before it are caught when they fall on the padding bytes
  (CBC carries them there unchanged); damage anywhere else garbles the plaintext undetected;
- a rejected key raises :class:`DcfKeyError` before a single plaintext byte is produced (nothing
  is written by :meth:`DcfReader.decrypt_to`);
- a wrong key that passes by chance makes the reader return PlaintextLength bytes of garbage
  without any error: nothing in the DCF can tell them from the plaintext. The FLUTE
  ``Content-MD5`` of the FDT does not help here: it digests the DCF as sent (the ciphertext), so
  it catches damage in transport, not a wrong key. A caller that must never accept a wrong
  plaintext has to check the plaintext against something it trusts (a digest of the plaintext
  from an authenticated source, the file format's own integrity checks). In the MBMS flow a
  wrong key is unlikely to begin with: the MTK is chosen by the DCF's ``MBMS-Key-ID`` and
  arrives in a MIKEY message whose MAC the UE verified (TS 33.246 §6.3.3).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO

from broadcast.proto.dcf import constants as c
from broadcast.proto.dcf._source import BytesSource, FileSource, Source
from broadcast.proto.dcf.boxes import BoxCounter, BoxHeader, read_box_header, read_full_box
from broadcast.proto.dcf.cipher import (
    CbcDecryptor,
    check_padding,
    encrypted_data_length,
    key_bytes,
    padded_length,
)
from broadcast.proto.dcf.errors import (
    DcfBoxError,
    DcfKeyError,
    DcfLengthError,
    DcfLimitError,
    DcfTruncatedError,
    DcfUnsupportedError,
)
from broadcast.proto.dcf.headers import DcfHeaders, ParsedOdhe, parse_odhe
from broadcast.proto.dcf.keyid import MbmsKeyId
from broadcast.proto.dcf.limits import DEFAULT_LIMITS, DcfLimits
from broadcast.proto.keys import SecretBytes

DcfInput = bytes | bytearray | memoryview | BinaryIO


class DcfReader:
    """A parsed and verified DCF; decrypt it with :meth:`decrypt` or, in bounded memory,
    :meth:`iter_decrypt`. A file given here must stay open (and unchanged) while decrypting."""

    def __init__(self, data: DcfInput, *, limits: DcfLimits = DEFAULT_LIMITS) -> None:
        src: Source
        if isinstance(data, bytes | bytearray | memoryview):
            src = BytesSource(data)
        else:
            src = FileSource(data)
        self._src = src
        self._limits = limits
        self._counter = BoxCounter(limits.max_boxes)
        self._odhe: ParsedOdhe | None = None
        self._odda: BoxHeader | None = None
        self._edl = 0
        self._parse()
        assert self._odhe is not None and self._odda is not None
        self.headers: DcfHeaders = self._odhe.headers
        self.plaintext_length: int = self._odhe.plaintext_length
        self.mbms_key_id: MbmsKeyId | None = self._odhe.mbms_key_id
        self.encrypted_data_length: int = self._edl
        #: Offset of EncryptedData (IV ‖ ciphertext) from the start of the DCF.
        self.data_offset: int = self._odda.payload_offset + c.FULL_BOX_EXTRA + c.ODDA_FIXED
        self.iv: bytes = src.read_at(self.data_offset, c.IV_LEN, self._odda.path)

    # --- header views ---------------------------------------------------------------------------

    @property
    def content_type(self) -> str:
        return self.headers.content_type

    @property
    def content_id(self) -> str:
        return self.headers.content_id

    @property
    def rights_issuer_url(self) -> str:
        return self.headers.rights_issuer_url

    @property
    def textual_headers(self) -> dict[str, str]:
        return dict(self.headers.textual_headers)

    @property
    def encryption_method(self) -> int:
        return self.headers.encryption_method

    @property
    def padding_scheme(self) -> int:
        return self.headers.padding_scheme

    @property
    def total_size(self) -> int:
        return self._src.end

    def __repr__(self) -> str:
        key_id = "none" if self.mbms_key_id is None else self.mbms_key_id.header_value()
        return (
            f"<DcfReader {self.content_type!r} {self.content_id!r} "
            f"{self.plaintext_length} bytes, MBMS-Key-ID {key_id}>"
        )

    # --- parsing --------------------------------------------------------------------------------

    def _parse(self) -> None:
        src, end = self._src, self._src.end
        first = read_box_header(src, 0, end, "", top_level=True)
        self._counter.visit(first.path, 0)
        if first.type != c.FTYP:
            raise DcfBoxError("the first box must be ftyp", box=first.path, offset=0)
        self._parse_ftyp(first)
        pos = first.end
        odrm_seen = False
        while pos < end:
            box = read_box_header(src, pos, end, "", top_level=True)
            self._counter.visit(box.path, pos)
            if box.type == c.FTYP:
                raise DcfBoxError("second ftyp box", box=box.path, offset=pos)
            if box.type == c.ODRM:
                if odrm_seen:
                    raise DcfUnsupportedError(
                        "more than one odrm box (multipart DCF) is not supported",
                        box=box.path,
                        offset=pos,
                    )
                odrm_seen = True
                self._parse_odrm(box)
            pos = box.end
        if not odrm_seen:
            raise DcfTruncatedError("the data ends before an odrm box", box="odrm", offset=end)

    def _parse_ftyp(self, ftyp: BoxHeader) -> None:
        if ftyp.size > self._limits.max_ftyp_size:
            raise DcfLimitError(
                f"ftyp box of {ftyp.size} bytes exceeds {self._limits.max_ftyp_size}",
                box=ftyp.path,
                offset=ftyp.offset,
            )
        n = ftyp.payload_size
        if n < 8 or n % 4:
            raise DcfBoxError(
                f"ftyp payload of {n} bytes is not brand · version · brands",
                box=ftyp.path,
                offset=ftyp.offset,
            )
        body = self._src.read_at(ftyp.payload_offset, n, ftyp.path)
        brands = [body[:4]] + [body[i : i + 4] for i in range(8, n, 4)]
        if c.BRAND_ODCF not in brands:
            raise DcfUnsupportedError(
                f"brand {body[:4]!r} and no compatible 'odcf' brand: not a DCF",
                box=ftyp.path,
                offset=ftyp.offset,
            )

    def _parse_odrm(self, odrm: BoxHeader) -> None:
        src = self._src
        read_full_box(src, odrm)
        pos = odrm.payload_offset + c.FULL_BOX_EXTRA
        while pos < odrm.end:
            child = read_box_header(src, pos, odrm.end, odrm.path)
            self._counter.visit(child.path, pos)
            if child.type == c.ODHE:
                if self._odhe is not None:
                    raise DcfBoxError("second odhe box", box=child.path, offset=pos)
                if self._odda is not None:
                    raise DcfBoxError("odhe after odda", box=child.path, offset=pos)
                self._parse_odhe(child)
            elif child.type == c.ODDA:
                if self._odda is not None:
                    raise DcfBoxError("second odda box", box=child.path, offset=pos)
                if self._odhe is None:
                    raise DcfBoxError("odda before odhe", box=child.path, offset=pos)
                self._parse_odda(child)
            pos = child.end
        if self._odhe is None or self._odda is None:
            missing = "odhe" if self._odhe is None else "odda"
            raise DcfBoxError(f"no {missing} box", box=odrm.path, offset=odrm.offset)

    def _parse_odhe(self, odhe: BoxHeader) -> None:
        if odhe.size > self._limits.max_odhe_size:
            raise DcfLimitError(
                f"odhe box of {odhe.size} bytes exceeds {self._limits.max_odhe_size}",
                box=odhe.path,
                offset=odhe.offset,
            )
        data = self._src.read_at(odhe.offset, odhe.size, odhe.path)
        self._odhe = parse_odhe(data, odhe, self._limits, self._counter)

    def _parse_odda(self, odda: BoxHeader) -> None:
        assert self._odhe is not None
        read_full_box(self._src, odda)
        field = odda.payload_offset + c.FULL_BOX_EXTRA
        available = odda.end - field - c.ODDA_FIXED
        if available < 0:
            raise DcfBoxError("no room for EncryptedDataLength", box=odda.path, offset=odda.offset)
        (edl,) = struct.unpack(">Q", self._src.read_at(field, c.ODDA_FIXED, odda.path))
        if edl != available:
            raise DcfLengthError(
                f"EncryptedDataLength {edl} but the box holds {available} bytes of data",
                box=odda.path,
                offset=field,
            )
        if edl < c.IV_LEN + c.AES_BLOCK or (edl - c.IV_LEN) % c.AES_BLOCK:
            raise DcfLengthError(
                f"EncryptedDataLength {edl} is not a 16-byte IV plus whole AES blocks",
                box=odda.path,
                offset=field,
            )
        plaintext_length = self._odhe.plaintext_length
        if edl != encrypted_data_length(plaintext_length):
            raise DcfLengthError(
                f"PlaintextLength {plaintext_length} needs EncryptedDataLength "
                f"{encrypted_data_length(plaintext_length)} with RFC 2630 padding, found {edl}",
                box=odda.path,
                offset=field,
            )
        self._odda = odda
        self._edl = edl

    # --- decryption -----------------------------------------------------------------------------

    def check_key(self, key: SecretBytes | bytes) -> None:
        """Raise :class:`DcfKeyError` unless the last block decrypts to the expected padding."""
        assert self._odda is not None
        raw = key_bytes(key)
        last = self.data_offset + self._edl - c.AES_BLOCK
        path = self._odda.path
        check_padding(
            raw,
            self._src.read_at(last - c.AES_BLOCK, c.AES_BLOCK, path),
            self._src.read_at(last, c.AES_BLOCK, path),
            padded_length(self.plaintext_length) - self.plaintext_length,
            box_offset=self._odda.offset,
        )

    def iter_decrypt(
        self, key: SecretBytes | bytes, chunk_size: int = c.DEFAULT_CHUNK_SIZE
    ) -> Iterator[bytes]:
        """Yield the plaintext in chunks of about ``chunk_size`` bytes.

        The key is checked (:meth:`check_key`) before the first chunk is produced.
        """
        assert self._odda is not None
        self.check_key(key)
        step = max(c.AES_BLOCK, chunk_size - chunk_size % c.AES_BLOCK)
        decryptor = CbcDecryptor(key_bytes(key), self.iv, box_offset=self._odda.offset)
        pos = self.data_offset + c.IV_LEN
        end = self.data_offset + self._edl
        produced = 0
        while pos < end:
            n = min(step, end - pos)
            out = decryptor.update(self._src.read_at(pos, n, self._odda.path))
            pos += n
            if out:
                produced += len(out)
                yield out
        tail = decryptor.finalize()
        produced += len(tail)
        if produced != self.plaintext_length:
            raise DcfKeyError(offset=self._odda.offset)
        if tail:
            yield tail

    def decrypt(self, key: SecretBytes | bytes) -> bytes:
        """The whole plaintext (``plaintext_length`` bytes in memory)."""
        return b"".join(self.iter_decrypt(key))


def parse_dcf(data: DcfInput, *, limits: DcfLimits = DEFAULT_LIMITS) -> DcfReader:
    """Parse and verify a DCF (bytes, or a seekable binary file positioned at its start)."""
    return DcfReader(data, limits=limits)
