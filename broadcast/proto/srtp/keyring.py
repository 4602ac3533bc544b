"""The master keys of one crypto context, selected by MKI (RFC 3711 §3.2.1, §8.1).

A bounded ring (``capacity`` ≥ 1, default 3: previous, current, next) of master key + master salt
pairs, each named by its MKI (profile: 6 bytes = MSK ID || MTK ID) and each with its own packet
counters: a master key protects at most 2^48 SRTP and 2^31 SRTCP packets (§3.2.1, §9.2). Adding a
key to a full ring evicts the oldest one. Re-adding the same MKI with the same key (a re-sent MTK
message) is a no-op; the same MKI with another key is refused.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Final

from broadcast import profile
from broadcast.proto.keys.errors import InvalidKeyMaterial
from broadcast.proto.keys.material import Mtk, SrtpSalt
from broadcast.proto.srtp.errors import KeyLifetimeExhausted, KeyRingError, UnknownMki
from broadcast.proto.srtp.keys import SessionKeys, derive_session_keys, key_derivation_r
from broadcast.proto.srtp.policy import CryptoPolicy

#: RFC 3711 §9.2: at most 2^48 SRTP packets per master key.
SRTP_PACKET_LIMIT: Final = 1 << 48
#: RFC 3711 §9.2: at most 2^31 SRTCP packets per master key.
SRTCP_PACKET_LIMIT: Final = 1 << 31
#: Hard bound on the ring size.
MAX_CAPACITY: Final = 16
#: Longest MKI accepted (libsrtp's SRTP_MAX_MKI_LEN).
MAX_MKI_LEN: Final = 128
#: Session keys cached per master key and direction kind (only > 1 when key_derivation_rate ≠ 0).
_CACHE_SIZE: Final = 4


@dataclass(frozen=True, slots=True)
class KeyUsage:
    """Packets processed under one master key."""

    srtp_packets: int
    srtcp_packets: int


class MasterKey:
    """One master key, its salt, MKI, counters and derived session keys. ``repr`` hides keys."""

    __slots__ = ("_cache", "_key", "_policy", "_salt", "mki", "srtcp_packets", "srtp_packets")

    def __init__(self, mki: bytes, key: Mtk, salt: SrtpSalt, policy: CryptoPolicy) -> None:
        self.mki = mki
        self._key = key
        self._salt = salt
        self._policy = policy
        self.srtp_packets = 0
        self.srtcp_packets = 0
        self._cache: OrderedDict[tuple[bool, int], SessionKeys] = OrderedDict()

    def same_material(self, key: Mtk, salt: SrtpSalt) -> bool:
        return self._key == key and self._salt == salt

    def session_keys(self, *, rtcp: bool, index: int) -> SessionKeys:
        """Session keys for the packet at ``index`` (SRTP index, or SRTCP index) (§4.3)."""
        p = self._policy
        slot = (rtcp, key_derivation_r(index, p.key_derivation_rate))
        keys = self._cache.get(slot)
        if keys is None:
            keys = derive_session_keys(
                self._key,
                self._salt,
                rtcp=rtcp,
                index=index,
                key_derivation_rate=p.key_derivation_rate,
                enc_key_len=p.enc_key_len,
                auth_key_len=p.auth_key_len,
                salt_len=p.salt_len,
            )
            self._cache[slot] = keys
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return keys

    def __repr__(self) -> str:
        return (
            f"<MasterKey MKI {self.mki.hex() or '-'}, {self.srtp_packets} SRTP / "
            f"{self.srtcp_packets} SRTCP packets, key redacted>"
        )


class KeyRing:
    """Master keys by MKI, bounded, with per-key lifetime accounting."""

    __slots__ = ("_keys", "_policy", "capacity", "mki_len", "srtcp_limit", "srtp_limit")

    def __init__(
        self,
        policy: CryptoPolicy,
        *,
        mki_len: int = profile.SRTP_MKI_LEN,
        capacity: int = 3,
        srtp_packet_limit: int = SRTP_PACKET_LIMIT,
        srtcp_packet_limit: int = SRTCP_PACKET_LIMIT,
    ) -> None:
        if not 0 <= mki_len <= MAX_MKI_LEN:
            raise KeyRingError(f"MKI length must be 0..{MAX_MKI_LEN}")
        if not 1 <= capacity <= MAX_CAPACITY:
            raise KeyRingError(f"key ring capacity must be 1..{MAX_CAPACITY}")
        if mki_len == 0 and capacity != 1:
            raise KeyRingError("without an MKI a context holds exactly one master key")
        if not 1 <= srtp_packet_limit <= SRTP_PACKET_LIMIT:
            raise KeyRingError("SRTP packet limit must be 1..2^48")
        if not 1 <= srtcp_packet_limit <= SRTCP_PACKET_LIMIT:
            raise KeyRingError("SRTCP packet limit must be 1..2^31")
        self._policy = policy
        self.mki_len = mki_len
        self.capacity = capacity
        self.srtp_limit = srtp_packet_limit
        self.srtcp_limit = srtcp_packet_limit
        self._keys: OrderedDict[bytes, MasterKey] = OrderedDict()

    def add(
        self, mki: bytes, master_key: Mtk | bytes, master_salt: SrtpSalt | bytes
    ) -> bytes | None:
        """Install a master key under ``mki``; returns the MKI evicted to make room, if any."""
        mki = bytes(mki)
        if len(mki) != self.mki_len:
            raise KeyRingError(f"MKI must be {self.mki_len} bytes, got {len(mki)}")
        try:
            key = master_key if isinstance(master_key, Mtk) else Mtk(master_key)
            salt = master_salt if isinstance(master_salt, SrtpSalt) else SrtpSalt(master_salt)
        except InvalidKeyMaterial as exc:
            raise KeyRingError(str(exc)) from None
        existing = self._keys.get(mki)
        if existing is not None:
            if existing.same_material(key, salt):
                return None
            raise KeyRingError(f"MKI {mki.hex()} is already bound to another master key")
        evicted = None
        if len(self._keys) >= self.capacity:
            evicted, _ = self._keys.popitem(last=False)
        self._keys[mki] = MasterKey(mki, key, salt, self._policy)
        return evicted

    def remove(self, mki: bytes) -> bool:
        """Drop a master key; True when it was held."""
        return self._keys.pop(bytes(mki), None) is not None

    def get(self, mki: bytes) -> MasterKey:
        key = self._keys.get(mki)
        if key is None:
            raise UnknownMki(f"no master key with MKI {mki.hex() or '(none)'}")
        return key

    def usage(self, mki: bytes) -> KeyUsage:
        key = self.get(bytes(mki))
        return KeyUsage(key.srtp_packets, key.srtcp_packets)

    @property
    def mkis(self) -> tuple[bytes, ...]:
        """MKIs held, oldest first."""
        return tuple(self._keys)

    def __contains__(self, mki: object) -> bool:
        return isinstance(mki, bytes | bytearray) and bytes(mki) in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def check_srtp(self, key: MasterKey) -> None:
        """Raise when ``key`` already protected its SRTP packet budget (§9.2)."""
        if key.srtp_packets >= self.srtp_limit:
            raise KeyLifetimeExhausted(f"master key {key.mki.hex()} reached its SRTP packet limit")

    def check_srtcp(self, key: MasterKey) -> None:
        """Raise when ``key`` already protected its SRTCP packet budget (§9.2)."""
        if key.srtcp_packets >= self.srtcp_limit:
            raise KeyLifetimeExhausted(f"master key {key.mki.hex()} reached its SRTCP packet limit")

    def __repr__(self) -> str:
        held = ", ".join(m.hex() or "-" for m in self._keys)
        return f"<KeyRing MKI length {self.mki_len}, {len(self._keys)}/{self.capacity}: {held}>"
