"""Typed errors of the OMA DRM v2 DCF codec (OMA-TS-DRM-DCF-V2_0).

Every error the reader raises on malformed or hostile input is a :class:`DcfError`; nothing else
escapes ``parse_dcf`` / ``DcfReader.decrypt*``. Structural errors name the box (four-character
type, e.g. ``"odrm/odda"``) and the byte offset of that box or field, counted from the first byte
of the DCF. Messages carry only public facts (box types, offsets, lengths), never key material or
decrypted bytes.
"""

from __future__ import annotations


class DcfError(Exception):
    """Base of every DCF error."""


class DcfFormatError(DcfError, ValueError):
    """The bytes are not a well-formed DCF of the supported profile.

    ``box`` is the path of the box in which the problem was found (``"ftyp"``, ``"odrm/odhe/ohdr"``,
    ...) and ``offset`` the byte offset, from the start of the DCF, of that box or field.
    """

    def __init__(self, detail: str, *, box: str, offset: int) -> None:
        super().__init__(f"{box} at offset {offset}: {detail}")
        self.detail = detail
        self.box = box
        self.offset = offset


class DcfTruncatedError(DcfFormatError):
    """The data ends before a box or field does (a box claims more bytes than there are)."""


class DcfBoxError(DcfFormatError):
    """Box structure violated: bad size, a child overrunning its parent, a missing, misplaced or
    duplicated required box, or trailing bytes that are not a box."""


class DcfUnsupportedError(DcfFormatError):
    """Well-formed but outside what this codec supports: brand other than ``odcf``, FullBox
    version other than 0, EncryptionMethod other than AES_128_CBC, PaddingScheme other than
    RFC 2630, a multipart DCF (several ``odrm``), a box with size 0 ("to end of file")."""


class DcfLimitError(DcfFormatError):
    """A length exceeds a configured :class:`~broadcast.proto.dcf.limits.DcfLimits` bound; refused
    before anything of that length is read or allocated."""


class DcfLengthError(DcfFormatError):
    """EncryptedDataLength / PlaintextLength disagree with each other, with the ``odda`` box size
    or with the AES-128-CBC + RFC 2630 layout (16-byte IV + whole blocks of padded plaintext)."""


class DcfHeaderError(DcfFormatError):
    """A header string is invalid: ContentType, ContentID or RightsIssuerURL not valid text,
    TextualHeaders not NUL-terminated ``Name:Value`` strings, duplicated names, or a malformed
    ``MBMS-Key-ID`` value."""


class DcfKeyError(DcfError):
    """The RFC 2630 padding does not verify after decryption: wrong key or corrupted data.

    AES-128-CBC with PKCS#7 padding carries no integrity check, so a wrong key is detected with
    high probability (the padding must decrypt to exactly the value the PlaintextLength implies),
    not with certainty.
    """

    MESSAGE = "wrong key or corrupted data: padding does not verify"

    def __init__(self, *, box: str = "odrm/odda", offset: int = 0) -> None:
        super().__init__(self.MESSAGE)
        self.box = box
        self.offset = offset


class DcfWriteError(DcfError, ValueError):
    """The writer was given values it cannot encode (header strings out of range or invalid, a key
    of the wrong size) or a plaintext whose length differs from the declared one."""
