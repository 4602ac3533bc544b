"""Stateless per-packet SRTP/SRTCP processing (RFC 3711 §3.1, §3.3, §3.4; RFC 4771 §2).

SRTP packet:  RTP header || encrypted payload || [MKI] || [tag]  — authenticated portion =
header || encrypted payload; the MKI is neither encrypted nor authenticated (§3.1).
SRTCP packet: RTCP header (8) || encrypted portion || E (1) || SRTCP index (31) || [MKI] || tag —
authenticated portion = everything before the MKI (§3.4).
The context modules (sender/receiver) supply the index and keep the state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from broadcast.proto.srtp.auth import srtcp_tag, srtp_tag, tags_equal
from broadcast.proto.srtp.cipher import aes_cm, srtp_iv
from broadcast.proto.srtp.errors import AuthenticationFailed, PacketTooShort
from broadcast.proto.srtp.keys import SessionKeys
from broadcast.proto.srtp.packet import RTCP_HEADER_LEN
from broadcast.proto.srtp.policy import ROC_LEN, Auth, Cipher, CryptoPolicy

SRTCP_INDEX_LEN: Final = 4
SRTCP_INDEX_MASK: Final = 0x7FFF_FFFF
_E_FLAG: Final = 0x8000_0000


# --- SRTP ---------------------------------------------------------------------------------------
def _srtp_crypt(
    policy: CryptoPolicy, keys: SessionKeys, ssrc: int, index: int, data: bytes
) -> bytes:
    if policy.srtp_cipher is Cipher.NULL:
        return data
    return aes_cm(keys.encryption_key, srtp_iv(keys.salt, ssrc, index), data)


def protect_rtp(
    policy: CryptoPolicy,
    keys: SessionKeys,
    rtp: bytes,
    *,
    header_len: int,
    ssrc: int,
    index: int,
    mki: bytes,
) -> bytes:
    """RFC 3711 §3.3 sender steps 4-7 for the packet at ``index`` (= 2^16·ROC + SEQ)."""
    portion = rtp[:header_len] + _srtp_crypt(policy, keys, ssrc, index, rtp[header_len:])
    tag = srtp_tag(policy, keys.auth_key, portion, index >> 16, index & 0xFFFF)
    return portion + mki + tag


@dataclass(frozen=True, slots=True)
class SrtpParts:
    """An SRTP packet split at its trailer; ``roc`` is the ROC carried by an RCC tag, if any."""

    portion: bytes
    mki: bytes
    tag: bytes
    roc: int | None


def split_srtp(policy: CryptoPolicy, mki_len: int, packet: bytes, seq: int) -> SrtpParts:
    """Cut MKI and tag off an SRTP packet (layout fixed by the policy and SEQ)."""
    tag_len = policy.srtp_tag_len_for(seq)
    end = len(packet) - mki_len - tag_len
    if end < 12:
        raise PacketTooShort(f"{len(packet)} bytes cannot hold an RTP header, MKI and tag")
    tag = packet[end + mki_len :]
    roc = int.from_bytes(tag[:ROC_LEN], "big") if policy.carries_roc(seq) else None
    return SrtpParts(packet[:end], packet[end : end + mki_len], tag, roc)


def verify_rtp(
    policy: CryptoPolicy, keys: SessionKeys, parts: SrtpParts, *, roc: int, seq: int
) -> None:
    """Recompute the tag with ``roc`` (the packet's own ROC for RCC, RFC 4771 §2) and compare.

    RCCm3 has no MAC: nothing to verify (its ROC field may even be ignored, RFC 4771 §3).
    """
    if policy.srtp_auth is Auth.RCCM3:
        return
    expected = srtp_tag(policy, keys.auth_key, parts.portion, roc, seq)
    if not tags_equal(expected, parts.tag):
        raise AuthenticationFailed(f"SRTP tag mismatch (SEQ {seq})")


def decrypt_rtp(
    policy: CryptoPolicy,
    keys: SessionKeys,
    parts: SrtpParts,
    *,
    header_len: int,
    ssrc: int,
    index: int,
) -> bytes:
    """RFC 3711 §3.3 receiver step 6: the RTP packet."""
    body = parts.portion
    return body[:header_len] + _srtp_crypt(policy, keys, ssrc, index, body[header_len:])


# --- SRTCP --------------------------------------------------------------------------------------
def _srtcp_crypt(keys: SessionKeys, ssrc: int, index: int, data: bytes) -> bytes:
    return aes_cm(keys.encryption_key, srtp_iv(keys.salt, ssrc, index), data)


def protect_rtcp(
    policy: CryptoPolicy, keys: SessionKeys, rtcp: bytes, *, ssrc: int, index: int, mki: bytes
) -> bytes:
    """RFC 3711 §3.4: encrypt after the first 8 bytes (if E), append E||index, MKI, tag."""
    if not 0 <= index <= SRTCP_INDEX_MASK:
        raise ValueError("SRTCP index out of range")
    body = rtcp[RTCP_HEADER_LEN:]
    if policy.srtcp_encrypt:
        body = _srtcp_crypt(keys, ssrc, index, body)
    e_index = ((_E_FLAG if policy.srtcp_encrypt else 0) | index).to_bytes(SRTCP_INDEX_LEN, "big")
    portion = rtcp[:RTCP_HEADER_LEN] + body + e_index
    return portion + mki + srtcp_tag(policy, keys.auth_key, portion)


@dataclass(frozen=True, slots=True)
class SrtcpParts:
    """An SRTCP packet split at its trailer."""

    portion: bytes
    encrypted: bool
    index: int
    mki: bytes
    tag: bytes


def split_srtcp(policy: CryptoPolicy, mki_len: int, packet: bytes) -> SrtcpParts:
    """Cut E||index, MKI and tag off an SRTCP packet."""
    tag_len = policy.srtcp_tag
    end = len(packet) - mki_len - tag_len
    if end < RTCP_HEADER_LEN + SRTCP_INDEX_LEN:
        raise PacketTooShort(f"{len(packet)} bytes cannot hold an SRTCP header and trailer")
    e_index = int.from_bytes(packet[end - SRTCP_INDEX_LEN : end], "big")
    return SrtcpParts(
        portion=packet[:end],
        encrypted=bool(e_index & _E_FLAG),
        index=e_index & SRTCP_INDEX_MASK,
        mki=packet[end : end + mki_len],
        tag=packet[end + mki_len :],
    )


def verify_rtcp(policy: CryptoPolicy, keys: SessionKeys, parts: SrtcpParts) -> None:
    expected = srtcp_tag(policy, keys.auth_key, parts.portion)
    if not tags_equal(expected, parts.tag):
        raise AuthenticationFailed(f"SRTCP tag mismatch (index {parts.index})")


def decrypt_rtcp(keys: SessionKeys, parts: SrtcpParts, *, ssrc: int) -> bytes:
    """The RTCP compound packet (decrypted when E = 1)."""
    body = parts.portion[RTCP_HEADER_LEN:-SRTCP_INDEX_LEN]
    if parts.encrypted:
        body = _srtcp_crypt(keys, ssrc, parts.index, body)
    return parts.portion[:RTCP_HEADER_LEN] + body
