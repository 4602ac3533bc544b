"""The MBMS profile of the DCF headers [P] (profile.md, "Protection of the content" → Download).

- ContentID = ``cid:<uuid>@<BM-SC FQDN>``, the uuid a random (version 4) UUID per DCF;
- RightsIssuerURL = the key management URI announced for the service (where MSKs are requested);
- textual header ``MBMS-Key-ID:<hex Key Domain ID ‖ MSK ID ‖ MTK ID>`` (18 lower-case hex digits),
  written first, then any extra headers the caller adds;
- EncryptionMethod AES_128_CBC, PaddingScheme RFC 2630, key = the MTK.

Randomness comes from an injectable ``rand(n) -> bytes`` (default :func:`os.urandom`) so tests are
deterministic; :func:`mbms_headers` draws 16 bytes for the uuid.
"""

from __future__ import annotations

import os
import string
import uuid
from collections.abc import Mapping

from broadcast import profile
from broadcast.proto.dcf.errors import DcfWriteError
from broadcast.proto.dcf.headers import DcfHeaders
from broadcast.proto.dcf.keyid import MbmsKeyId
from broadcast.time import Rand

_LDH = frozenset(string.ascii_letters + string.digits + "-.")


def draw(rand: Rand, n: int, what: str) -> bytes:
    """``rand(n)``, checked to be ``n`` bytes."""
    out = rand(n)
    if not isinstance(out, bytes) or len(out) != n:
        raise DcfWriteError(f"rand({n}) for the {what} did not return {n} bytes")
    return out


def content_id(content_uuid: uuid.UUID, bmsc_fqdn: str) -> str:
    """``cid:<uuid>@<bmsc fqdn>`` (the uuid in its canonical lower-case 8-4-4-4-12 form)."""
    if not bmsc_fqdn or not _LDH.issuperset(bmsc_fqdn) or len(bmsc_fqdn) > 253:
        raise DcfWriteError(f"BM-SC FQDN {bmsc_fqdn[:64]!r} is not a host name")
    return f"{profile.DCF_CONTENT_ID_PREFIX}{content_uuid}@{bmsc_fqdn}"


def new_content_id(bmsc_fqdn: str, rand: Rand = os.urandom) -> str:
    """A fresh ContentID: a version 4 UUID from 16 bytes of ``rand``."""
    return content_id(uuid.UUID(bytes=draw(rand, 16, "ContentID uuid"), version=4), bmsc_fqdn)


def mbms_headers(
    *,
    key_id: MbmsKeyId,
    bmsc_fqdn: str,
    key_management_uri: str,
    content_type: str,
    rand: Rand = os.urandom,
    extra_textual_headers: Mapping[str, str] | None = None,
) -> DcfHeaders:
    """The headers of an MBMS download DCF protected with the MTK named by ``key_id``."""
    extra = dict(extra_textual_headers or {})
    name = profile.DCF_MBMS_KEY_ID_HEADER
    if any(other.casefold() == name.casefold() for other in extra):
        raise DcfWriteError(f"{name} is set from key_id, not as an extra header")
    if not key_management_uri:
        raise DcfWriteError("the key management URI (RightsIssuerURL) must not be empty")
    textual = {name: key_id.header_value(), **extra}
    return DcfHeaders(
        content_type=content_type,
        content_id=new_content_id(bmsc_fqdn, rand),
        rights_issuer_url=key_management_uri,
        textual_headers=textual,
    )
