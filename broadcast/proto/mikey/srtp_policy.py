"""The SRTP security policy as it travels in the SP payload of an MSK message.

RFC 3830 §6.10.1 parameter types plus RFC 4771 §5 (RCC modes and ROC transmission rate R);
RFC 4563 §7: for MBMS streaming the policy is delivered with the MSK.
"""

from __future__ import annotations

from dataclasses import dataclass

from broadcast import profile
from broadcast.proto.mikey.constants import ProtType, SrtpAuthAlg, SrtpEncrAlg, SrtpParam
from broadcast.proto.mikey.errors import MikeyEncodeError, ProfileViolation
from broadcast.proto.mikey.payloads import PolicyParam, SecurityPolicy

RCC_MODES: dict[str, int] = {
    "RCCm1": SrtpAuthAlg.RCCM1,
    "RCCm2": SrtpAuthAlg.RCCM2,
    "RCCm3": SrtpAuthAlg.RCCM3,
}


@dataclass(frozen=True, slots=True)
class SrtpPolicy:
    """SRTP parameters of a streaming Key Group (defaults: profile.md "Protection of the content").

    ``srtp_auth_alg`` may be an RCC mode (RFC 4771); SRTCP never uses RCC. Tag lengths are in
    bytes and, with RCC, include the 4-byte ROC.
    """

    encr_alg: int = SrtpEncrAlg.AES_CM
    session_encr_key_len: int = 16
    session_salt_key_len: int = 14
    srtp_auth_alg: int = RCC_MODES[profile.RCC_DEFAULT_MODE]
    srtcp_auth_alg: int = SrtpAuthAlg.HMAC_SHA1
    session_auth_key_len: int = 20
    srtp_auth_tag_len: int = 10
    srtcp_auth_tag_len: int = 10
    key_derivation_rate: int = 0
    roc_transmission_rate: int = profile.RCC_DEFAULT_RATE
    srtp_encryption: bool = True
    srtcp_encryption: bool = True
    srtp_authentication: bool = True

    @property
    def uses_rcc(self) -> bool:
        return self.srtp_auth_alg in RCC_MODES.values()

    def to_sp(self, policy_no: int = profile.SRTP_POLICY_NO) -> SecurityPolicy:
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
            p(SrtpParam.SRTP_PRF, 0),
            p(SrtpParam.KEY_DERIVATION_RATE, self.key_derivation_rate, 4),
            p(SrtpParam.SRTP_ENCRYPTION, int(self.srtp_encryption)),
            p(SrtpParam.SRTCP_ENCRYPTION, int(self.srtcp_encryption)),
            p(SrtpParam.FEC_ORDER, 0),
            p(SrtpParam.SRTP_AUTHENTICATION, int(self.srtp_authentication)),
            p(SrtpParam.AUTH_TAG_LEN, self.srtp_auth_tag_len),
            p(SrtpParam.SRTP_PREFIX_LEN, 0),
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
        """Read a policy; absent parameters take RFC 3830 / RFC 4771 defaults."""
        if sp.prot_type != ProtType.SRTP:
            raise ProfileViolation(f"SP Prot type {sp.prot_type} is not SRTP", field="SP Prot type")

        def g(t: int, default: int) -> int:
            v = sp.get_int(t)
            return default if v is None else v

        general_auth = g(SrtpParam.AUTH_ALG, SrtpAuthAlg.HMAC_SHA1)
        general_tag = g(SrtpParam.AUTH_TAG_LEN, 10)
        return cls(
            encr_alg=g(SrtpParam.ENCR_ALG, SrtpEncrAlg.AES_CM),
            session_encr_key_len=g(SrtpParam.SESSION_ENCR_KEY_LEN, 16),
            session_salt_key_len=g(SrtpParam.SESSION_SALT_KEY_LEN, 14),
            srtp_auth_alg=g(SrtpParam.SRTP_AUTH_ALG, general_auth),
            srtcp_auth_alg=g(SrtpParam.SRTCP_AUTH_ALG, general_auth),
            session_auth_key_len=g(SrtpParam.SESSION_AUTH_KEY_LEN, 20),
            srtp_auth_tag_len=g(SrtpParam.SRTP_AUTH_TAG_LEN, general_tag),
            srtcp_auth_tag_len=g(SrtpParam.SRTCP_AUTH_TAG_LEN, general_tag),
            key_derivation_rate=g(SrtpParam.KEY_DERIVATION_RATE, 0),
            roc_transmission_rate=g(SrtpParam.ROC_TRANSMISSION_RATE, 1),
            srtp_encryption=bool(g(SrtpParam.SRTP_ENCRYPTION, 1)),
            srtcp_encryption=bool(g(SrtpParam.SRTCP_ENCRYPTION, 1)),
            srtp_authentication=bool(g(SrtpParam.SRTP_AUTHENTICATION, 1)),
        )
