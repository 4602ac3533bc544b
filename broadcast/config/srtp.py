"""The SRTP policy of a streaming session, as configured and as MIKEY carries it.

profile.md "Protection of the content": AES-CM-128 with HMAC-SHA1-80 by default (32-bit tags and
NULL transforms allowed), key derivation rate 0, RFC 4771 RCCm2 with R = 16 by default. The
policy travels in the SP payload of the group's MSK messages (RFC 4563 §7): the BM-SC takes it
from :func:`srtp_policy` (an :class:`~broadcast.proto.mikey.srtp_policy.SrtpPolicy`), and the
stream's SRTP sender is built from the very same value, so the two can never disagree.

Mapping of :class:`SrtpConfig` (``[srtp]`` in the TOML config):

- ``cipher``: ``"aes-cm-128"`` (SRTP and SRTCP encrypted) or ``"null"`` (confidentiality off:
  NULL cipher for SRTP and SRTCP, profile.md "Announcement").
- ``auth_tag``: 80 or 32 (bits of the SRTP authentication tag in every packet; with RCCm1/RCCm2
  the ROC-carrying packets' tag is ROC (32 bits) || MAC truncated to the rest, RFC 4771 §4, so
  32 is refused there), or ``None`` ("null": integrity off, NULL SRTP authentication; with RCC
  only RCCm3 fits). SRTCP always keeps HMAC-SHA1-80 (RFC 3711 §3.4: SRTCP authentication is
  mandatory; RFC 4771 §2: never RCC).
- ``rcc``: ``"RCCm1"``, ``"RCCm2"``, ``"RCCm3"`` or ``"off"``; ``roc_rate``: R = 1..65535. RCCm3
  carries the ROC without a MAC, so it needs ``auth_tag = None`` (its tag is the 4-byte ROC).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from broadcast import profile
from broadcast.proto.mikey.constants import SrtpAuthAlg, SrtpEncrAlg
from broadcast.proto.mikey.srtp_policy import RCC_MODES, SrtpPolicy

CIPHERS: Final = ("aes-cm-128", "null")
AUTH_TAGS: Final = (80, 32, None)
RCC_CHOICES: Final = (*RCC_MODES, "off")
#: SRTCP tag: HMAC-SHA1-80 whatever the SRTP tag (RFC 4568 AES_CM_128_HMAC_SHA1_32 does the same).
SRTCP_TAG_BYTES: Final = 10
#: RFC 4771 §5: the RCCm3 tag is the ROC alone.
ROC_TAG_BYTES: Final = 4


class PolicyConfigError(ValueError):
    """An SRTP setting or a combination of settings that cannot work."""


@dataclass(frozen=True, slots=True)
class SrtpConfig:
    """The ``[srtp]`` settings (see the module doc)."""

    cipher: str = "aes-cm-128"
    auth_tag: int | None = 80
    rcc: str = profile.RCC_DEFAULT_MODE
    roc_rate: int = profile.RCC_DEFAULT_RATE

    def __post_init__(self) -> None:
        if self.cipher not in CIPHERS:
            raise PolicyConfigError(f"srtp.cipher must be one of {', '.join(CIPHERS)}")
        if self.auth_tag not in AUTH_TAGS or isinstance(self.auth_tag, bool):
            raise PolicyConfigError('srtp.auth_tag must be 80, 32 or "null"')
        if self.rcc not in RCC_CHOICES:
            raise PolicyConfigError(f"srtp.rcc must be one of {', '.join(RCC_CHOICES)}")
        if (
            isinstance(self.roc_rate, bool)
            or not isinstance(self.roc_rate, int)
            or not 1 <= self.roc_rate <= 0xFFFF
        ):
            raise PolicyConfigError("srtp.roc_rate (R) must be 1..65535")
        if self.rcc == "RCCm3" and self.auth_tag is not None:
            raise PolicyConfigError('RCCm3 has no MAC: set srtp.auth_tag = "null"')
        if self.rcc in ("RCCm1", "RCCm2"):
            if self.auth_tag is None:
                raise PolicyConfigError(f"{self.rcc} needs a MAC: srtp.auth_tag 80")
            if self.auth_tag == 32:
                raise PolicyConfigError(
                    f"{self.rcc} with a 32-bit tag leaves no MAC in ROC-carrying packets "
                    "(the tag is the 32-bit ROC): use srtp.auth_tag 80"
                )


def srtp_policy(config: SrtpConfig) -> SrtpPolicy:
    """The session's SRTP policy as the MIKEY SP payload value (RFC 3830 §6.10.1, RFC 4771 §5):
    what the BM-SC puts into the MSK messages of the session's Key Group."""
    aes = config.cipher == "aes-cm-128"
    rcc = config.rcc != "off"
    auth_alg: int
    if config.rcc == "RCCm3":
        auth_alg, tag = SrtpAuthAlg.RCCM3, ROC_TAG_BYTES
    elif rcc:
        auth_alg, tag = RCC_MODES[config.rcc], (config.auth_tag or 0) // 8
    elif config.auth_tag is None:
        auth_alg, tag = SrtpAuthAlg.NULL, 0
    else:
        auth_alg, tag = SrtpAuthAlg.HMAC_SHA1, config.auth_tag // 8
    return SrtpPolicy(
        encr_alg=SrtpEncrAlg.AES_CM if aes else SrtpEncrAlg.NULL,
        srtp_auth_alg=auth_alg,
        srtcp_auth_alg=SrtpAuthAlg.HMAC_SHA1,
        srtp_auth_tag_len=tag,
        srtcp_auth_tag_len=SRTCP_TAG_BYTES,
        key_derivation_rate=0,
        roc_transmission_rate=config.roc_rate if rcc else 1,
        srtp_encryption=aes,
        srtcp_encryption=aes,
        srtp_authentication=config.auth_tag is not None,
    )


__all__ = ["PolicyConfigError", "SrtpConfig", "srtp_policy"]
