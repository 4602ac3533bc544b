"""Constants of the OMA DRM v2 DCF format (OMA-TS-DRM-DCF-V2_0) and of the MBMS profile of it.

profile.md "Protection of the content" → Download: ``ftyp`` (brand ``odcf``) · ``odrm`` {``odhe``
{content type, ``ohdr``}, ``odda``}; EncryptionMethod AES_128_CBC (1), PaddingScheme RFC 2630 (1),
a random 16-byte IV prepended to the ciphertext, key = MTK. The [P] items (EncryptionMethod and
PaddingScheme written and accepted, textual header name, ContentID scheme) are project decisions
and live in ``broadcast.profile``; the DCF code reads them there at each call.
"""

from __future__ import annotations

from typing import Final

from broadcast import profile

# --- Box types (four-character codes) -----------------------------------------------------------
FTYP: Final = b"ftyp"
#: OMA DRM Container box (FullBox) holding one DRM-protected object.
ODRM: Final = b"odrm"
#: Discrete Media Headers box (FullBox): ContentType + the Common Headers box.
ODHE: Final = b"odhe"
#: Common Headers box (FullBox): encryption parameters, ContentID, RightsIssuerURL, headers.
OHDR: Final = b"ohdr"
#: Content Object box (FullBox): EncryptedDataLength + EncryptedData.
ODDA: Final = b"odda"
#: ISO BMFF extended-type box: the 16-byte user type follows the box header.
UUID: Final = b"uuid"

# --- File type box -------------------------------------------------------------------------------
#: Major brand and the only compatible brand written; a reader wants ``odcf`` in either.
BRAND_ODCF: Final = b"odcf"
#: ``ftyp`` minor version written (as Bento4 mp4dcf writes it).
MINOR_VERSION: Final = 2

# --- ohdr field values (OMNA DCF registry) ------------------------------------------------------
ENCRYPTION_NULL: Final = 0
ENCRYPTION_AES_128_CBC: Final = 1
ENCRYPTION_AES_128_CTR: Final = 2
PADDING_NONE: Final = 0
#: RFC 2630 padding (= PKCS#7 for 16-byte blocks).
PADDING_RFC_2630: Final = 1
#: The (EncryptionMethod, PaddingScheme) pairs this package implements (``cipher``): the profile's
#: ``DCF_ENCRYPTION_METHOD`` / ``DCF_PADDING_SCHEME`` must name one of them.
IMPLEMENTED_ENCRYPTION: Final = frozenset({(ENCRYPTION_AES_128_CBC, PADDING_RFC_2630)})

# --- AES-128-CBC ---------------------------------------------------------------------------------
AES_BLOCK: Final = 16
KEY_LEN: Final = 16
IV_LEN: Final = 16

# --- Box header sizes ----------------------------------------------------------------------------
BOX_HEADER: Final = 8  # size u32 · type
LARGE_BOX_HEADER: Final = 16  # size u32 = 1 · type · largesize u64
FULL_BOX_EXTRA: Final = 4  # version u8 · flags u24
#: ohdr fixed fields: EncryptionMethod u8 · PaddingScheme u8 · PlaintextLength u64 ·
#: ContentIDLength u16 · RightsIssuerURLLength u16 · TextualHeadersLength u16.
OHDR_FIXED: Final = 1 + 1 + 8 + 2 + 2 + 2
#: odda fixed field: EncryptedDataLength u64.
ODDA_FIXED: Final = 8
U16_MAX: Final = 0xFFFF
U32_MAX: Final = 0xFFFF_FFFF
U64_MAX: Final = 0xFFFF_FFFF_FFFF_FFFF

# --- MBMS profile of the DCF [P]: decided in broadcast.profile ----------------------------------
#: The profile's header name and ContentID prefix as imported, for callers that name them; the
#: DCF code itself reads ``profile.DCF_MBMS_KEY_ID_HEADER`` / ``DCF_CONTENT_ID_PREFIX`` per call.
MBMS_KEY_ID_HEADER: Final = profile.DCF_MBMS_KEY_ID_HEADER
CONTENT_ID_PREFIX: Final = profile.DCF_CONTENT_ID_PREFIX

#: Default size of the chunks the writer yields and the reader decrypts (a multiple of 16).
DEFAULT_CHUNK_SIZE: Final = 64 * 1024
