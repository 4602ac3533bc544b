"""Sans-IO SRTP/SRTCP (RFC 3711) with the RFC 4771 ROC-carrying transforms, for MBMS streaming.

profile.md "Protection of the content": AES-CM-128 + HMAC-SHA1-80 by default (32-bit tags and
NULL transforms allowed), key derivation rate 0, master key = MTK, master salt from the MTK
message, a 6-byte MKI (MSK ID || MTK ID) in every SRTP/SRTCP packet, RCCm2 with R = 16 for late
joiners. Pure Python over the ``cryptography`` package; no sockets, clocks or threads.

- :class:`SrtpSender` — ``protect(rtp, mki)``, ``protect_rtcp(rtcp, mki)``
- :class:`SrtpReceiver` — ``unprotect(srtp) -> (rtp, mki)``, ``unprotect_rtcp(srtcp)``
- :class:`CryptoPolicy` — the transforms (from a MIKEY ``SrtpPolicy`` or directly)
- :class:`KeyRing` — the master keys of a context by MKI (``sender.keys`` / ``receiver.keys``)
- :func:`derive_session_keys` — RFC 3711 §4.3 key derivation
"""

from broadcast.proto.srtp.errors import (
    AuthenticationFailed,
    BadVersion,
    IndexOutOfRange,
    IndexReused,
    KeyLifetimeExhausted,
    KeyRingError,
    MalformedPacket,
    PacketTooLong,
    PacketTooShort,
    PolicyMismatch,
    ReplayedPacket,
    RocUnknown,
    SrtpError,
    TooManyStreams,
    UnknownMki,
    UnsupportedPolicy,
)
from broadcast.proto.srtp.keyring import KeyRing, KeyUsage, MasterKey
from broadcast.proto.srtp.keys import SessionKeys, derive_session_keys
from broadcast.proto.srtp.policy import Auth, Cipher, CryptoPolicy
from broadcast.proto.srtp.receiver import SrtpReceiver
from broadcast.proto.srtp.sender import SrtpSender
from broadcast.proto.srtp.stats import ReceiverStats

__all__ = [
    "Auth",
    "AuthenticationFailed",
    "BadVersion",
    "Cipher",
    "CryptoPolicy",
    "IndexOutOfRange",
    "IndexReused",
    "KeyLifetimeExhausted",
    "KeyRing",
    "KeyRingError",
    "KeyUsage",
    "MalformedPacket",
    "MasterKey",
    "PacketTooLong",
    "PacketTooShort",
    "PolicyMismatch",
    "ReceiverStats",
    "ReplayedPacket",
    "RocUnknown",
    "SessionKeys",
    "SrtpError",
    "SrtpReceiver",
    "SrtpSender",
    "TooManyStreams",
    "UnknownMki",
    "UnsupportedPolicy",
    "derive_session_keys",
]
