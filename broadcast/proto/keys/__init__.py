"""The MBMS key model: identifiers, key material and the durable key store."""

from broadcast.proto.keys.errors import (
    CounterExhausted,
    DuplicateKey,
    InvalidIdentifier,
    InvalidKeyMaterial,
    KeyModelError,
    KeyStateError,
    KeyStoreError,
    MtkIdExhausted,
    UnknownKey,
)
from broadcast.proto.keys.ids import KeyDomainId, MskId, MtkId, MukId, parse_srtp_mki, srtp_mki
from broadcast.proto.keys.material import Msk, Mtk, Muk, SecretBytes, SessionKey, SrtpSalt
from broadcast.proto.keys.store import KeyGroupRecord, KeyStore, MskRecord, MskState, MukRecord

__all__ = [
    "CounterExhausted",
    "DuplicateKey",
    "InvalidIdentifier",
    "InvalidKeyMaterial",
    "KeyDomainId",
    "KeyGroupRecord",
    "KeyModelError",
    "KeyStateError",
    "KeyStore",
    "KeyStoreError",
    "Msk",
    "MskId",
    "MskRecord",
    "MskState",
    "Mtk",
    "MtkId",
    "MtkIdExhausted",
    "Muk",
    "MukId",
    "MukRecord",
    "SecretBytes",
    "SessionKey",
    "SrtpSalt",
    "UnknownKey",
    "parse_srtp_mki",
    "srtp_mki",
]
