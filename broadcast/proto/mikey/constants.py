"""MIKEY code points (RFC 3830 §6, RFC 4563, RFC 4771, RFC 6043)."""

from __future__ import annotations

from enum import IntEnum


class DataType(IntEnum):
    """HDR data type (RFC 3830 §6.1)."""

    PSK_INIT = 0
    PSK_VERIFY = 1
    PK_INIT = 2
    PK_VERIFY = 3
    DH_INIT = 4
    DH_RESP = 5
    ERROR = 6


class PayloadType(IntEnum):
    """Next-payload codes (RFC 3830 §6.1)."""

    LAST = 0
    KEMAC = 1
    PKE = 2
    DH = 3
    SIGN = 4
    T = 5
    ID = 6
    CERT = 7
    CHASH = 8
    V = 9
    SP = 10
    RAND = 11
    ERR = 12
    KEY_DATA = 20
    GENERAL_EXT = 21


class CsIdMapType(IntEnum):
    SRTP_ID = 0
    EMPTY = 1  # RFC 4563 §5
    GENERIC_ID = 2  # RFC 6043


class TsType(IntEnum):
    NTP_UTC = 0
    NTP = 1
    COUNTER = 2


class IdType(IntEnum):
    NAI = 0
    URI = 1


class EncrAlg(IntEnum):
    NULL = 0
    AES_CM_128 = 1
    AES_KW_128 = 2


class MacAlg(IntEnum):
    NULL = 0
    HMAC_SHA1_160 = 1


MAC_LENGTHS: dict[int, int] = {MacAlg.NULL: 0, MacAlg.HMAC_SHA1_160: 20}


class KeyDataType(IntEnum):
    TGK = 0
    TGK_SALT = 1
    TEK = 2
    TEK_SALT = 3


class KvType(IntEnum):
    NULL = 0
    SPI = 1
    INTERVAL = 2


class ProtType(IntEnum):
    SRTP = 0


class SrtpParam(IntEnum):
    """SRTP policy parameter types (RFC 3830 §6.10.1, RFC 4771 §5)."""

    ENCR_ALG = 0
    SESSION_ENCR_KEY_LEN = 1
    AUTH_ALG = 2
    SESSION_AUTH_KEY_LEN = 3
    SESSION_SALT_KEY_LEN = 4
    SRTP_PRF = 5
    KEY_DERIVATION_RATE = 6
    SRTP_ENCRYPTION = 7
    SRTCP_ENCRYPTION = 8
    FEC_ORDER = 9
    SRTP_AUTHENTICATION = 10
    AUTH_TAG_LEN = 11
    SRTP_PREFIX_LEN = 12
    ROC_TRANSMISSION_RATE = 13
    SRTP_AUTH_ALG = 14
    SRTCP_AUTH_ALG = 15
    SRTP_SESSION_AUTH_KEY_LEN = 16
    SRTCP_SESSION_AUTH_KEY_LEN = 17
    SRTP_AUTH_TAG_LEN = 18
    SRTCP_AUTH_TAG_LEN = 19


class SrtpEncrAlg(IntEnum):
    NULL = 0
    AES_CM = 1
    AES_F8 = 2


class SrtpAuthAlg(IntEnum):
    NULL = 0
    HMAC_SHA1 = 1
    RCCM1 = 2  # RFC 4771
    RCCM2 = 3
    RCCM3 = 4


class GeneralExtType(IntEnum):
    VENDOR_ID = 0
    SDP_IDS = 1
    KEY_ID = 3  # RFC 4563
    OMA_BCAST = 5


class KeyIdType(IntEnum):
    """RFC 4563 §4 Key ID Types."""

    KEY_DOMAIN_ID = 0
    MSK_ID = 1
    MTK_ID = 2


class ErrorNo(IntEnum):
    AUTH_FAILURE = 0
    INVALID_TS = 1
    INVALID_PRF = 2
    INVALID_MAC = 3
    INVALID_EA = 4
    INVALID_HA = 5
    INVALID_DH = 6
    INVALID_ID = 7
    INVALID_CERT = 8
    INVALID_SP = 9
    INVALID_SPPAR = 10
    INVALID_DT = 11
    UNSPECIFIED = 12
