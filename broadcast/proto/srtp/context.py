"""What the sender and receiver crypto contexts share (RFC 3711 §3.2): the policy, the master
keys by MKI with their packet limits (``KeyRing``) and the per-SSRC state (``StreamTable``)."""

from __future__ import annotations

from broadcast import profile
from broadcast.proto.mikey.srtp_policy import SrtpPolicy
from broadcast.proto.srtp.keyring import SRTCP_PACKET_LIMIT, SRTP_PACKET_LIMIT, KeyRing
from broadcast.proto.srtp.policy import CryptoPolicy
from broadcast.proto.srtp.replay import ROC_LIMIT
from broadcast.proto.srtp.stream import StreamTable


def as_crypto_policy(policy: CryptoPolicy | SrtpPolicy) -> CryptoPolicy:
    """Accept the MIKEY policy object or an already normalised one."""
    return policy if isinstance(policy, CryptoPolicy) else CryptoPolicy.from_srtp_policy(policy)


class CryptoContext:
    """Policy, key ring and stream table of one direction of an SRTP session.

    ``initial_roc`` is the ROC of a new SSRC; ``None`` (receivers only) means unknown.
    """

    def __init__(
        self,
        policy: CryptoPolicy | SrtpPolicy,
        *,
        mki_len: int = profile.SRTP_MKI_LEN,
        key_capacity: int = 3,
        initial_roc: int | None = 0,
        replay_window: int = 128,
        max_streams: int = 16,
        srtp_packet_limit: int = SRTP_PACKET_LIMIT,
        srtcp_packet_limit: int = SRTCP_PACKET_LIMIT,
    ) -> None:
        if initial_roc is not None and not 0 <= initial_roc < ROC_LIMIT:
            raise ValueError("ROC must be a 32-bit value")
        self.policy = as_crypto_policy(policy)
        self.keys = KeyRing(
            self.policy,
            mki_len=mki_len,
            capacity=key_capacity,
            srtp_packet_limit=srtp_packet_limit,
            srtcp_packet_limit=srtcp_packet_limit,
        )
        self._streams = StreamTable(
            max_streams=max_streams, window_size=replay_window, base_roc=initial_roc
        )
