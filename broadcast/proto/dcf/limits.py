"""Bounds the DCF reader (and, for the header strings, the writer) enforces.

A hostile DCF can claim any length in its u16/u32/u64 fields. The reader compares every claimed
length with the bytes actually available and with these limits *before* it reads or allocates
anything of that length; only the header region (``ftyp`` and ``odhe``) is ever read into memory,
the ``odda`` payload is decrypted in bounded chunks.
"""

from __future__ import annotations

from dataclasses import dataclass

from broadcast.proto.dcf import constants as c


@dataclass(frozen=True, slots=True)
class DcfLimits:
    """Upper bounds on header sizes (bytes) and on the number of boxes a reader will visit."""

    #: ContentID (u16 field): ``cid:<uuid>@<fqdn>`` is well below this.
    max_content_id: int = 2048
    #: RightsIssuerURL (u16 field): the key management URI.
    max_rights_issuer_url: int = 2048
    #: TextualHeaders (u16 field): all ``Name:Value\\0`` strings together.
    max_textual_headers: int = 16 * 1024
    #: Whole ``ftyp`` box.
    max_ftyp_size: int = 1024
    #: Whole ``odhe`` box (ContentType, ``ohdr`` and its extended-header boxes); read into memory.
    max_odhe_size: int = 64 * 1024
    #: Boxes visited (top level plus children), against inputs made of many tiny boxes.
    max_boxes: int = 256

    def __post_init__(self) -> None:
        for name in ("max_content_id", "max_rights_issuer_url", "max_textual_headers"):
            value = getattr(self, name)
            if not isinstance(value, int) or not 0 <= value <= c.U16_MAX:
                raise ValueError(f"{name} must be 0..65535, got {value!r}")
        for name in ("max_ftyp_size", "max_odhe_size", "max_boxes"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")


DEFAULT_LIMITS = DcfLimits()
