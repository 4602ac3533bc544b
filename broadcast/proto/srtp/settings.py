"""The SRTP policy of a streaming Key Group in the words of every configuration file, and its
MIKEY form.

profile.md "Protection of the content": AES-CM-128 with HMAC-SHA1-80 by default (32-bit tags and
NULL transforms allowed), key derivation rate 0, RFC 4771 RCCm2 with R = 16 by default
(:mod:`broadcast.profile` "SRTP / RFC 4771 defaults"). The policy belongs to the Key Group: it is
kept with the Key Group record in the key store (:class:`~broadcast.proto.keys.store.KeyStore`),
set there by the BM-SC from its configuration, travels in the SP payload of the group's MSK
messages (RFC 4563 §7, :func:`srtp_policy` gives the
:class:`~broadcast.proto.mikey.srtp_policy.SrtpPolicy`), and the stream protecting the group's
session uses the very same value.

The four settings (the ``[srtp]`` table of ``mbms stream`` and ``mbms receive``, the
``[key_group.srtp]`` table of ``mbms serve``; tags in bits everywhere):

- ``cipher``: ``"aes-cm-128"`` (SRTP and SRTCP encrypted) or ``"null"`` (confidentiality off:
  NULL cipher for SRTP and SRTCP, profile.md "Announcement").
- ``auth_tag``: 80 or 32 (bits of the SRTP authentication tag in every packet; with RCCm1/RCCm2
  the ROC-carrying packets' tag is ROC (32 bits) || MAC truncated to the rest, RFC 4771 §4, so
  32 is refused there), or ``None`` (``"null"`` in TOML: integrity off, NULL SRTP
  authentication; with RCC only RCCm3 fits). SRTCP always keeps HMAC-SHA1-80 (RFC 3711 §3.4:
  SRTCP authentication is mandatory; RFC 4771 §2: never RCC).
- ``rcc``: ``"RCCm1"``, ``"RCCm2"``, ``"RCCm3"`` or ``"off"``; ``roc_rate``: R = 1..65535 (a ROC
  every R packets; no meaning with ``"off"``). RCCm3 carries the ROC without a MAC, so it needs
  ``auth_tag = None`` (its tag is the 4-byte ROC).

A combination that cannot work raises :class:`~broadcast.proto.errors.ConfigError` naming the
key (the table is filled in by the reader of the table).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from broadcast import profile
from broadcast.proto.errors import ConfigError
from broadcast.proto.mikey.srtp_policy import RCC_MODES, RCC_OFF, SRTP_CIPHERS, SrtpPolicy

CIPHERS: Final = tuple(SRTP_CIPHERS)
#: SRTP tag lengths in bits; ``None`` = the NULL authentication transform.
AUTH_TAGS: Final = (80, 32, None)
RCC_CHOICES: Final = (*RCC_MODES, RCC_OFF)
#: The settings in the order of every configuration file.
KEYS: Final = ("cipher", "auth_tag", "rcc", "roc_rate")


@dataclass(frozen=True, slots=True)
class SrtpConfig:
    """The SRTP policy of a Key Group (module doc); defaults: the profile's."""

    cipher: str = profile.SRTP_DEFAULT_CIPHER
    auth_tag: int | None = profile.SRTP_DEFAULT_AUTH_TAG_BITS
    rcc: str = profile.RCC_DEFAULT_MODE
    roc_rate: int = profile.RCC_DEFAULT_RATE

    def __post_init__(self) -> None:
        if self.cipher not in CIPHERS:
            raise ConfigError(
                f"must be one of {', '.join(map(_toml, CIPHERS))} (got {_toml(self.cipher)})",
                key="cipher",
            )
        if isinstance(self.auth_tag, bool) or self.auth_tag not in AUTH_TAGS:
            raise ConfigError(
                f'must be 80, 32 or "null" (got {_toml(self.auth_tag)})', key="auth_tag"
            )
        if self.rcc not in RCC_CHOICES:
            raise ConfigError(
                f"must be one of {', '.join(map(_toml, RCC_CHOICES))} (got {_toml(self.rcc)})",
                key="rcc",
            )
        if (
            isinstance(self.roc_rate, bool)
            or not isinstance(self.roc_rate, int)
            or not 1 <= self.roc_rate <= 0xFFFF
        ):
            raise ConfigError(f"must be 1..65535 (got {self.roc_rate!r})", key="roc_rate")
        if self.rcc == "RCCm3" and self.auth_tag is not None:
            raise ConfigError('RCCm3 has no MAC: set auth_tag = "null"', key="rcc")
        if self.rcc in ("RCCm1", "RCCm2"):
            if self.auth_tag is None:
                raise ConfigError(f"{self.rcc} needs a MAC: set auth_tag = 80", key="rcc")
            if self.auth_tag == 32:
                raise ConfigError(
                    f"{self.rcc} with a 32-bit tag leaves no MAC in ROC-carrying packets "
                    "(the tag is the 32-bit ROC): set auth_tag = 80",
                    key="auth_tag",
                )

    def value(self, key: str) -> str:
        """Setting ``key`` as it is written in TOML (``"off"``, ``80``, ``"null"``)."""
        return _toml(getattr(self, key))

    def differences(self, other: SrtpConfig) -> tuple[str, ...]:
        """The settings (in :data:`KEYS` order) in which ``other`` protects differently;
        ``roc_rate`` counts only where RCC is on."""
        out = [k for k in ("cipher", "auth_tag", "rcc") if getattr(self, k) != getattr(other, k)]
        if self.roc_rate != other.roc_rate and (self.rcc, other.rcc) != ("off", "off"):
            out.append("roc_rate")
        return tuple(out)

    def describe(self, keys: tuple[str, ...] = KEYS) -> str:
        """``rcc = "RCCm2", auth_tag = 80``: the named settings as TOML."""
        return ", ".join(f"{k} = {self.value(k)}" for k in keys)


def _toml(value: object) -> str:
    if value is None:
        return '"null"'
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


def srtp_policy(config: SrtpConfig) -> SrtpPolicy:
    """The policy as the MIKEY SP payload value (RFC 3830 §6.10.1, RFC 4771 §5): what the BM-SC
    puts into the MSK messages of the Key Group, and what the SRTP sender is built from
    (:meth:`~broadcast.proto.mikey.srtp_policy.SrtpPolicy.of`, the one mapping of the words)."""
    return SrtpPolicy.of(config.cipher, config.auth_tag, config.rcc, config.roc_rate)


__all__ = ["AUTH_TAGS", "CIPHERS", "KEYS", "RCC_CHOICES", "SrtpConfig", "srtp_policy"]
