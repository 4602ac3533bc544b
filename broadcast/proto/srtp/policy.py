"""The crypto policy of one SRTP/SRTCP context, normalised and validated.

Built from the MIKEY :class:`~broadcast.proto.mikey.srtp_policy.SrtpPolicy` (RFC 3830 §6.10.1 with
the RFC 4771 §4 parameters 13-19) or directly. Supported: AES-CM-128 or NULL cipher (RFC 3711
§4.1.1, §4.1.3), HMAC-SHA1 or NULL authentication (§4.2), and for SRTP only the RFC 4771
ROC-carrying transforms RCCm1/RCCm2/RCCm3 with ROC transmission rate R. AES-f8 is not supported.

``CryptoPolicy()`` is the profile's transforms without RCC (``profile.SRTP_DEFAULT_CIPHER``,
``SRTP_DEFAULT_AUTH_TAG_BITS``, ``SRTCP_AUTH_TAG_BITS``, ``SRTP_KEY_DERIVATION_RATE``, ``KEY_LEN``,
``SRTP_SALT_LEN``, read when the policy is made); the profile's whole default, RCC mode and R
included, is ``CryptoPolicy.from_srtp_policy(SrtpPolicy())``. The RFC 4568 suites
(:meth:`CryptoPolicy.aes_cm_128_hmac_sha1_80`, ``_32``) are fixed by that RFC, not by the profile.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import Final

from broadcast import profile
from broadcast.proto.mikey.constants import SrtpAuthAlg, SrtpEncrAlg
from broadcast.proto.mikey.srtp_policy import (
    RFC3830_SESSION_SALT_KEY_LEN,
    RFC4771_ROC_TRANSMISSION_RATE,
    ROC_TAG_LEN,
    SESSION_AUTH_KEY_LEN,
    SRTP_CIPHERS,
    SrtpPolicy,
)
from broadcast.proto.srtp.errors import UnsupportedPolicy

#: Largest key_derivation_rate, RFC 3711 §4.3.1 ("zero or a power of 2 ... in [1..2^24]").
MAX_KEY_DERIVATION_RATE: Final = 1 << 24
#: HMAC-SHA1 output length (RFC 2104): the longest MAC tag.
HMAC_SHA1_LEN: Final = 20
#: Length of the ROC carried in an RCC tag (RFC 4771 §2).
ROC_LEN: Final = ROC_TAG_LEN
#: The only session encryption key length implemented: AES-128 (RFC 3711 §4.1.1).
AES_128_KEY_LEN: Final = 16


class Cipher(IntEnum):
    """Encryption transform (values as RFC 3830 Table 6.10.1.b)."""

    NULL = SrtpEncrAlg.NULL
    AES_CM = SrtpEncrAlg.AES_CM


class Auth(IntEnum):
    """Integrity transform (RFC 3830 Table 6.10.1.c, RFC 4771 Table 1)."""

    NULL = SrtpAuthAlg.NULL
    HMAC_SHA1 = SrtpAuthAlg.HMAC_SHA1
    RCCM1 = SrtpAuthAlg.RCCM1
    RCCM2 = SrtpAuthAlg.RCCM2
    RCCM3 = SrtpAuthAlg.RCCM3

    @property
    def is_rcc(self) -> bool:
        return self in (Auth.RCCM1, Auth.RCCM2, Auth.RCCM3)


def _profile_cipher() -> Cipher:
    """The SRTP cipher of ``profile.SRTP_DEFAULT_CIPHER``, read now."""
    try:
        return Cipher(SRTP_CIPHERS[profile.SRTP_DEFAULT_CIPHER])
    except (KeyError, ValueError):
        raise UnsupportedPolicy(
            f"profile SRTP cipher {profile.SRTP_DEFAULT_CIPHER!r} not supported"
        ) from None


@dataclass(frozen=True, slots=True)
class CryptoPolicy:
    """One direction's SRTP + SRTCP transforms. Lengths are in bytes.

    ``srtp_tag_len`` includes the 4-byte ROC for RCC modes (RFC 4771 §4); RCCm3 requires 4.
    ``roc_rate`` is R (RFC 4771 §2), used only by RCC modes. ``srtcp_encrypt`` sets the SRTCP
    E flag (RFC 3711 §3.4).
    """

    srtp_cipher: Cipher = field(default_factory=_profile_cipher)
    srtcp_encrypt: bool = field(default_factory=lambda: _profile_cipher() is Cipher.AES_CM)
    srtp_auth: Auth = Auth.HMAC_SHA1
    srtp_tag_len: int = field(default_factory=lambda: profile.SRTP_DEFAULT_AUTH_TAG_BITS // 8)
    srtcp_auth: Auth = Auth.HMAC_SHA1
    srtcp_tag_len: int = field(default_factory=lambda: profile.SRTCP_AUTH_TAG_BITS // 8)
    roc_rate: int = RFC4771_ROC_TRANSMISSION_RATE
    key_derivation_rate: int = field(default_factory=lambda: profile.SRTP_KEY_DERIVATION_RATE)
    enc_key_len: int = field(default_factory=lambda: profile.KEY_LEN)
    auth_key_len: int = SESSION_AUTH_KEY_LEN
    salt_len: int = field(default_factory=lambda: profile.SRTP_SALT_LEN)

    def __post_init__(self) -> None:
        if self.enc_key_len != AES_128_KEY_LEN:
            raise UnsupportedPolicy("only AES-128 session keys (16 bytes) are supported")
        if self.salt_len != profile.SRTP_SALT_LEN:
            raise UnsupportedPolicy("the session salt must be 14 bytes (RFC 3711 §4.1.1)")
        if not 16 <= self.auth_key_len <= 64:
            raise UnsupportedPolicy("session auth key length must be 16..64 bytes")
        kdr = self.key_derivation_rate
        if kdr < 0 or kdr > MAX_KEY_DERIVATION_RATE or (kdr and kdr & (kdr - 1)):
            raise UnsupportedPolicy("key_derivation_rate must be 0 or a power of 2 up to 2^24")
        if self.srtcp_auth.is_rcc:
            raise UnsupportedPolicy("RCC transforms SHALL NOT be used with SRTCP (RFC 4771 §2)")
        if not 1 <= self.roc_rate <= 0xFFFF:
            raise UnsupportedPolicy("ROC transmission rate R must be 1..65535 (RFC 4771 §4)")
        _check_tag(self.srtp_auth, self.srtp_tag_len, "SRTP")
        _check_tag(self.srtcp_auth, self.srtcp_tag_len, "SRTCP")

    # -- per-packet layout ----------------------------------------------------------------------
    def carries_roc(self, seq: int) -> bool:
        """True when this SRTP packet's tag carries the ROC: RCC and SEQ ≡ 0 mod R (RFC 4771 §2)."""
        return self.srtp_auth.is_rcc and seq % self.roc_rate == 0

    def srtp_tag_len_for(self, seq: int) -> int:
        """Tag length of the SRTP packet with this SEQ (RFC 3711 §3.1; RFC 4771 §3, §5)."""
        auth = self.srtp_auth
        if auth is Auth.NULL:
            return 0
        if auth is Auth.HMAC_SHA1 or auth is Auth.RCCM2:
            return self.srtp_tag_len
        # RCCm1 / RCCm3: only ROC-carrying packets have a tag.
        return self.srtp_tag_len if seq % self.roc_rate == 0 else 0

    @property
    def srtcp_tag(self) -> int:
        """SRTCP tag length (0 with NULL authentication)."""
        return 0 if self.srtcp_auth is Auth.NULL else self.srtcp_tag_len

    # -- constructors -----------------------------------------------------------------------------
    @classmethod
    def aes_cm_128_hmac_sha1_80(cls) -> CryptoPolicy:
        """RFC 4568 §6.2.1 AES_CM_128_HMAC_SHA1_80: AES-CM-128, 80-bit SRTP and SRTCP tags,
        key derivation rate 0, 160-bit auth keys, 112-bit salt (the profile's transforms by
        default, but fixed here whatever the profile says)."""
        return cls(
            srtp_cipher=Cipher.AES_CM,
            srtcp_encrypt=True,
            srtp_auth=Auth.HMAC_SHA1,
            srtp_tag_len=10,
            srtcp_auth=Auth.HMAC_SHA1,
            srtcp_tag_len=10,
            roc_rate=RFC4771_ROC_TRANSMISSION_RATE,
            key_derivation_rate=0,
            enc_key_len=AES_128_KEY_LEN,
            auth_key_len=SESSION_AUTH_KEY_LEN,
            salt_len=RFC3830_SESSION_SALT_KEY_LEN,
        )

    @classmethod
    def aes_cm_128_hmac_sha1_32(cls) -> CryptoPolicy:
        """RFC 4568 §6.2.2 AES_CM_128_HMAC_SHA1_32: 4-byte SRTP tags, SRTCP keeps 10 bytes."""
        return replace(cls.aes_cm_128_hmac_sha1_80(), srtp_tag_len=4)

    @classmethod
    def from_srtp_policy(cls, policy: SrtpPolicy) -> CryptoPolicy:
        """Map the MIKEY SP policy (RFC 3830 §6.10.1, RFC 4771 §4) onto the transforms.

        - encr alg NULL, or SRTP encryption off (type 8) -> NULL cipher for SRTP; SRTCP encryption
          off (type 9) -> E = 0. AES-f8 is rejected.
        - SRTP authentication off (type 10) turns HMAC-SHA1 into NULL; it contradicts RCCm1/RCCm2
          (rejected) and leaves RCCm3 (which has no MAC) as is.
        """
        if policy.encr_alg not in (SrtpEncrAlg.NULL, SrtpEncrAlg.AES_CM):
            raise UnsupportedPolicy(f"SRTP encryption algorithm {policy.encr_alg} not supported")
        aes = policy.encr_alg == SrtpEncrAlg.AES_CM
        try:
            srtp_auth = Auth(policy.srtp_auth_alg)
            srtcp_auth = Auth(policy.srtcp_auth_alg)
        except ValueError as exc:
            raise UnsupportedPolicy("unknown SRTP/SRTCP authentication algorithm") from exc
        if not policy.srtp_authentication:
            if srtp_auth in (Auth.RCCM1, Auth.RCCM2):
                raise UnsupportedPolicy("SRTP authentication off contradicts RCCm1/RCCm2")
            if srtp_auth is Auth.HMAC_SHA1:
                srtp_auth = Auth.NULL
        return cls(
            srtp_cipher=Cipher.AES_CM if aes and policy.srtp_encryption else Cipher.NULL,
            srtcp_encrypt=aes and policy.srtcp_encryption,
            srtp_auth=srtp_auth,
            srtp_tag_len=policy.srtp_auth_tag_len,
            srtcp_auth=srtcp_auth,
            srtcp_tag_len=policy.srtcp_auth_tag_len,
            roc_rate=policy.roc_transmission_rate if srtp_auth.is_rcc else 1,
            key_derivation_rate=policy.key_derivation_rate,
            enc_key_len=policy.session_encr_key_len,
            auth_key_len=policy.session_auth_key_len,
            salt_len=policy.session_salt_key_len,
        )


def _check_tag(auth: Auth, tag_len: int, what: str) -> None:
    if auth is Auth.NULL:
        return
    if auth is Auth.HMAC_SHA1:
        if not 4 <= tag_len <= HMAC_SHA1_LEN:
            raise UnsupportedPolicy(f"{what} HMAC-SHA1 tag length must be 4..20 bytes")
    elif auth is Auth.RCCM3:
        if tag_len != ROC_LEN:
            raise UnsupportedPolicy("RCCm3 tag length MUST be 4 (RFC 4771 §5)")
    elif not ROC_LEN <= tag_len <= ROC_LEN + HMAC_SHA1_LEN:
        raise UnsupportedPolicy(f"{what} RCC tag length must be 4..24 bytes (RFC 4771 §4)")
