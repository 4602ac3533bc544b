"""The SRTP security policy as it travels in the SP payload of an MSK message.

RFC 3830 §6.10.1 parameter types plus RFC 4771 §5 (RCC modes and ROC transmission rate R);
RFC 4563 §7: for MBMS streaming the policy is delivered with the MSK.

Two sets of defaults, kept apart:

- what the BM-SC sends unless configured: ``SrtpPolicy()`` takes every field from the profile
  (``SRTP_DEFAULT_CIPHER``, ``SRTP_DEFAULT_AUTH_TAG_BITS``, ``SRTCP_AUTH_TAG_BITS``,
  ``SRTP_KEY_DERIVATION_RATE``, ``RCC_DEFAULT_MODE``, ``RCC_DEFAULT_RATE``, ``KEY_LEN``,
  ``SRTP_SALT_LEN``), read when the policy is made;
- what a receiver assumes for a parameter an SP payload leaves out: the RFC 3830 §6.10.1 and
  RFC 4771 §5 defaults below (``SrtpPolicy.from_sp``), whatever the profile says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, TypedDict

from broadcast import profile
from broadcast.proto.mikey.constants import ProtType, SrtpAuthAlg, SrtpEncrAlg, SrtpParam
from broadcast.proto.mikey.errors import MikeyEncodeError, ProfileViolation
from broadcast.proto.mikey.payloads import PolicyParam, SecurityPolicy

#: The cipher words of the profile and the ``[srtp]`` configuration and their SP encryption
#: algorithm (RFC 3830 Table 6.10.1.b).
SRTP_CIPHERS: dict[str, int] = {"aes-cm-128": SrtpEncrAlg.AES_CM, "null": SrtpEncrAlg.NULL}
#: The RFC 4771 ROC-carrying modes by name and their SP authentication algorithm (RFC 4771 §5).
RCC_MODES: dict[str, int] = {
    "RCCm1": SrtpAuthAlg.RCCM1,
    "RCCm2": SrtpAuthAlg.RCCM2,
    "RCCm3": SrtpAuthAlg.RCCM3,
}
#: The RCC word for "no RCC": plain RFC 3711 authentication.
RCC_OFF: Final = "off"

#: Session authentication key length n_a = 160 bits for HMAC-SHA1 (RFC 3711 §4.2.1, §8.2; also
#: the RFC 3830 §6.10.1 default).
SESSION_AUTH_KEY_LEN: Final = 20
#: Length of the ROC an RCC tag carries; the whole RCCm3 tag (RFC 4771 §2, §5).
ROC_TAG_LEN: Final = 4

# RFC 3830 §6.10.1 defaults of an SP payload parameter that is not present (receive side).
#: Session encryption key length: 16 bytes (AES-CM-128).
RFC3830_SESSION_ENCR_KEY_LEN: Final = 16
#: Session salt key length: 14 bytes (112 bits).
RFC3830_SESSION_SALT_KEY_LEN: Final = 14
#: Authentication tag length: 10 bytes (80 bits).
RFC3830_AUTH_TAG_LEN: Final = 10
#: Key derivation rate: 0 (keys derived once).
RFC3830_KEY_DERIVATION_RATE: Final = 0
#: ROC transmission rate R: 1 (RFC 4771 §5).
RFC4771_ROC_TRANSMISSION_RATE: Final = 1


class _Fields(TypedDict):
    encr_alg: int
    session_encr_key_len: int
    session_salt_key_len: int
    srtp_auth_alg: int
    srtcp_auth_alg: int
    session_auth_key_len: int
    srtp_auth_tag_len: int
    srtcp_auth_tag_len: int
    key_derivation_rate: int
    roc_transmission_rate: int
    srtp_encryption: bool
    srtcp_encryption: bool
    srtp_authentication: bool


def _fields(cipher: str, auth_tag_bits: int | None, rcc: str, roc_rate: int) -> _Fields:
    """The policy of the settings words (profile.md "Protection of the content").

    ``cipher`` a key of :data:`SRTP_CIPHERS`; ``auth_tag_bits`` the SRTP tag in bits, None for
    NULL authentication; ``rcc`` a key of :data:`RCC_MODES` or ``"off"``; ``roc_rate`` R. With
    RCCm1/RCCm2 the tag includes the 4-byte ROC (RFC 4771 §4); the RCCm3 tag is the ROC alone.
    SRTCP keeps HMAC-SHA1 with ``profile.SRTCP_AUTH_TAG_BITS`` (RFC 3711 §3.4, RFC 4771 §2).
    """
    try:
        encr_alg = SRTP_CIPHERS[cipher]
    except KeyError:
        raise ProfileViolation(f"SRTP cipher {cipher!r} unknown", field="SP encr alg") from None
    auth_alg: int
    if rcc == RCC_OFF:
        auth_alg = SrtpAuthAlg.NULL if auth_tag_bits is None else SrtpAuthAlg.HMAC_SHA1
        tag = (auth_tag_bits or 0) // 8
    elif rcc in RCC_MODES:
        auth_alg = RCC_MODES[rcc]
        tag = ROC_TAG_LEN if rcc == "RCCm3" else (auth_tag_bits or 0) // 8
    else:
        raise ProfileViolation(f"RCC mode {rcc!r} unknown", field="SP SRTP auth alg")
    aes = encr_alg == SrtpEncrAlg.AES_CM
    return _Fields(
        encr_alg=encr_alg,
        session_encr_key_len=profile.KEY_LEN,
        session_salt_key_len=profile.SRTP_SALT_LEN,
        srtp_auth_alg=auth_alg,
        srtcp_auth_alg=SrtpAuthAlg.HMAC_SHA1,
        session_auth_key_len=SESSION_AUTH_KEY_LEN,
        srtp_auth_tag_len=tag,
        srtcp_auth_tag_len=profile.SRTCP_AUTH_TAG_BITS // 8,
        key_derivation_rate=profile.SRTP_KEY_DERIVATION_RATE,
        roc_transmission_rate=roc_rate if rcc != RCC_OFF else RFC4771_ROC_TRANSMISSION_RATE,
        srtp_encryption=aes,
        srtcp_encryption=aes,
        srtp_authentication=auth_tag_bits is not None,
    )


def _profile() -> _Fields:
    """The profile's default policy, read now (so a changed profile value takes effect)."""
    return _fields(
        profile.SRTP_DEFAULT_CIPHER,
        profile.SRTP_DEFAULT_AUTH_TAG_BITS,
        profile.RCC_DEFAULT_MODE,
        profile.RCC_DEFAULT_RATE,
    )


@dataclass(frozen=True, slots=True)
class SrtpPolicy:
    """SRTP parameters of a streaming Key Group (defaults: the profile, profile.md "Protection of
    the content"; see the module doc).

    ``srtp_auth_alg`` may be an RCC mode (RFC 4771); SRTCP never uses RCC. Tag lengths are in
    bytes and, with RCC, include the 4-byte ROC.
    """

    encr_alg: int = field(default_factory=lambda: _profile()["encr_alg"])
    session_encr_key_len: int = field(default_factory=lambda: _profile()["session_encr_key_len"])
    session_salt_key_len: int = field(default_factory=lambda: _profile()["session_salt_key_len"])
    srtp_auth_alg: int = field(default_factory=lambda: _profile()["srtp_auth_alg"])
    srtcp_auth_alg: int = field(default_factory=lambda: _profile()["srtcp_auth_alg"])
    session_auth_key_len: int = field(default_factory=lambda: _profile()["session_auth_key_len"])
    srtp_auth_tag_len: int = field(default_factory=lambda: _profile()["srtp_auth_tag_len"])
    srtcp_auth_tag_len: int = field(default_factory=lambda: _profile()["srtcp_auth_tag_len"])
    key_derivation_rate: int = field(default_factory=lambda: _profile()["key_derivation_rate"])
    roc_transmission_rate: int = field(default_factory=lambda: _profile()["roc_transmission_rate"])
    srtp_encryption: bool = field(default_factory=lambda: _profile()["srtp_encryption"])
    srtcp_encryption: bool = field(default_factory=lambda: _profile()["srtcp_encryption"])
    srtp_authentication: bool = field(default_factory=lambda: _profile()["srtp_authentication"])

    @classmethod
    def of(cls, cipher: str, auth_tag_bits: int | None, rcc: str, roc_rate: int) -> SrtpPolicy:
        """The policy of the settings words: ``cipher`` ``"aes-cm-128"`` / ``"null"``,
        ``auth_tag_bits`` (None = NULL authentication), ``rcc`` an RCC mode or ``"off"``, R.

        ``SrtpPolicy.of(profile.SRTP_DEFAULT_CIPHER, ...)`` of the profile's words equals
        ``SrtpPolicy()``. Unknown words raise ``ProfileViolation``; combinations that cannot work
        are refused where the policy is used (``CryptoPolicy``).
        """
        return cls(**_fields(cipher, auth_tag_bits, rcc, roc_rate))

    @property
    def uses_rcc(self) -> bool:
        return self.srtp_auth_alg in RCC_MODES.values()

    def to_sp(self, policy_no: int | None = None) -> SecurityPolicy:
        """The SP payload; ``policy_no`` defaults to ``profile.SRTP_POLICY_NO``."""
        if policy_no is None:
            policy_no = profile.SRTP_POLICY_NO

        def p(t: int, v: int, n: int = 1) -> PolicyParam:
            if not isinstance(v, int) or not 0 <= v < (1 << (8 * n)):
                raise MikeyEncodeError(
                    f"SRTP policy parameter {SrtpParam(t).name} = {v!r} does not fit {n} bytes",
                    field="SP param value",
                )
            return PolicyParam(t, v.to_bytes(n, "big"))

        # General auth alg (type 2) states the non-RCC transform; 14/15 override it per RFC 4771.
        general_auth = SrtpAuthAlg.HMAC_SHA1 if self.uses_rcc else self.srtp_auth_alg
        params = [
            p(SrtpParam.ENCR_ALG, self.encr_alg),
            p(SrtpParam.SESSION_ENCR_KEY_LEN, self.session_encr_key_len),
            p(SrtpParam.AUTH_ALG, general_auth),
            p(SrtpParam.SESSION_AUTH_KEY_LEN, self.session_auth_key_len),
            p(SrtpParam.SESSION_SALT_KEY_LEN, self.session_salt_key_len),
            p(SrtpParam.SRTP_PRF, 0),  # AES-CM, the only SRTP PRF (RFC 3830 §6.10.1)
            p(SrtpParam.KEY_DERIVATION_RATE, self.key_derivation_rate, 4),
            p(SrtpParam.SRTP_ENCRYPTION, int(self.srtp_encryption)),
            p(SrtpParam.SRTCP_ENCRYPTION, int(self.srtcp_encryption)),
            p(SrtpParam.FEC_ORDER, 0),  # FEC-SRTP (RFC 3830 §6.10.1)
            p(SrtpParam.SRTP_AUTHENTICATION, int(self.srtp_authentication)),
            p(SrtpParam.AUTH_TAG_LEN, self.srtp_auth_tag_len),
            p(SrtpParam.SRTP_PREFIX_LEN, 0),  # the RFC 3830 §6.10.1 value for AES-CM / NULL
            p(SrtpParam.SRTP_AUTH_ALG, self.srtp_auth_alg),
            p(SrtpParam.SRTCP_AUTH_ALG, self.srtcp_auth_alg),
            p(SrtpParam.SRTP_AUTH_TAG_LEN, self.srtp_auth_tag_len),
            p(SrtpParam.SRTCP_AUTH_TAG_LEN, self.srtcp_auth_tag_len),
            # R matters only with RCC; always carried so that every policy round-trips.
            p(SrtpParam.ROC_TRANSMISSION_RATE, self.roc_transmission_rate, 2),
        ]
        return SecurityPolicy(policy_no, ProtType.SRTP, tuple(params))

    @classmethod
    def from_sp(cls, sp: SecurityPolicy) -> SrtpPolicy:
        """Read a policy; absent parameters take the RFC 3830 / RFC 4771 defaults."""
        if sp.prot_type != ProtType.SRTP:
            raise ProfileViolation(f"SP Prot type {sp.prot_type} is not SRTP", field="SP Prot type")

        def g(t: int, default: int) -> int:
            v = sp.get_int(t)
            return default if v is None else v

        general_auth = g(SrtpParam.AUTH_ALG, SrtpAuthAlg.HMAC_SHA1)
        general_tag = g(SrtpParam.AUTH_TAG_LEN, RFC3830_AUTH_TAG_LEN)
        return cls(
            encr_alg=g(SrtpParam.ENCR_ALG, SrtpEncrAlg.AES_CM),
            session_encr_key_len=g(SrtpParam.SESSION_ENCR_KEY_LEN, RFC3830_SESSION_ENCR_KEY_LEN),
            session_salt_key_len=g(SrtpParam.SESSION_SALT_KEY_LEN, RFC3830_SESSION_SALT_KEY_LEN),
            srtp_auth_alg=g(SrtpParam.SRTP_AUTH_ALG, general_auth),
            srtcp_auth_alg=g(SrtpParam.SRTCP_AUTH_ALG, general_auth),
            session_auth_key_len=g(SrtpParam.SESSION_AUTH_KEY_LEN, SESSION_AUTH_KEY_LEN),
            srtp_auth_tag_len=g(SrtpParam.SRTP_AUTH_TAG_LEN, general_tag),
            srtcp_auth_tag_len=g(SrtpParam.SRTCP_AUTH_TAG_LEN, general_tag),
            key_derivation_rate=g(SrtpParam.KEY_DERIVATION_RATE, RFC3830_KEY_DERIVATION_RATE),
            roc_transmission_rate=g(SrtpParam.ROC_TRANSMISSION_RATE, RFC4771_ROC_TRANSMISSION_RATE),
            srtp_encryption=bool(g(SrtpParam.SRTP_ENCRYPTION, 1)),
            srtcp_encryption=bool(g(SrtpParam.SRTCP_ENCRYPTION, 1)),
            srtp_authentication=bool(g(SrtpParam.SRTP_AUTHENTICATION, 1)),
        )
