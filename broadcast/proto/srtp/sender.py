"""Sender side of an SRTP/SRTCP crypto context (RFC 3711 §3.3 and §3.4 sender steps).

``protect(rtp, mki)`` and ``protect_rtcp(rtcp, mki)`` pick the master key by MKI (the caller
switches keys by passing the next MTK's MKI), keep each SSRC's ROC (incremented when SEQ wraps,
Appendix A) and SRTCP index, refuse to use an index twice (key-stream reuse, §9.1) and enforce
each master key's 2^48 / 2^31 packet limits (§9.2). RCC tags (RFC 4771) are added by the policy.
Sans-IO: bytes in, bytes out; nothing is sent, timed or threaded.
"""

from __future__ import annotations

from broadcast import profile
from broadcast.proto.mikey.srtp_policy import SrtpPolicy
from broadcast.proto.srtp.context import CryptoContext
from broadcast.proto.srtp.errors import IndexOutOfRange, IndexReused, KeyLifetimeExhausted
from broadcast.proto.srtp.keyring import SRTCP_PACKET_LIMIT, SRTP_PACKET_LIMIT
from broadcast.proto.srtp.packet import parse_rtcp_ssrc, parse_rtp_fixed, rtp_header_len
from broadcast.proto.srtp.policy import CryptoPolicy
from broadcast.proto.srtp.replay import INDEX_LIMIT, ROC_LIMIT, Verdict
from broadcast.proto.srtp.stream import StreamState
from broadcast.proto.srtp.transform import SRTCP_INDEX_MASK, protect_rtcp, protect_rtp


class SrtpSender(CryptoContext):
    """Outbound crypto context: several master keys by MKI, per-SSRC ROC and SRTCP index."""

    def __init__(
        self,
        policy: CryptoPolicy | SrtpPolicy,
        *,
        mki_len: int = profile.SRTP_MKI_LEN,
        key_capacity: int = 3,
        initial_roc: int = 0,
        replay_window: int = 128,
        max_streams: int = 16,
        srtp_packet_limit: int = SRTP_PACKET_LIMIT,
        srtcp_packet_limit: int = SRTCP_PACKET_LIMIT,
    ) -> None:
        super().__init__(
            policy,
            mki_len=mki_len,
            key_capacity=key_capacity,
            initial_roc=initial_roc,
            replay_window=replay_window,
            max_streams=max_streams,
            srtp_packet_limit=srtp_packet_limit,
            srtcp_packet_limit=srtcp_packet_limit,
        )

    def _stream(self, ssrc: int) -> tuple[StreamState, bool]:
        state = self._streams.get(ssrc)
        return (state, False) if state is not None else (self._streams.fresh(), True)

    def set_roc(self, ssrc: int, roc: int) -> None:
        """Start the stream ``ssrc`` at this ROC (only before its first packet)."""
        if not 0 <= roc < ROC_LIMIT:
            raise ValueError("ROC must be a 32-bit value")
        state = self._streams.get(ssrc)
        if state is not None and state.srtp_window.highest is not None:
            raise ValueError("the stream already sent packets; its ROC follows SEQ")
        if state is None:
            self._streams.commit(ssrc, self._streams.fresh(roc))
        else:
            state.base_roc = roc

    def roc(self, ssrc: int) -> int:
        """The ROC of ``ssrc`` (what a MIKEY MTK message's CS ID map carries, RFC 3830 §6.1.1)."""
        state = self._streams.get(ssrc)
        roc = self._streams.base_roc if state is None else state.roc
        assert roc is not None
        return roc

    def protect(self, rtp: bytes, mki: bytes) -> bytes:
        """RTP packet -> SRTP packet under the master key named ``mki`` (RFC 3711 §3.3)."""
        rtp = bytes(rtp)
        fixed = parse_rtp_fixed(rtp)
        header_len = rtp_header_len(rtp, fixed, len(rtp))
        key = self.keys.get(bytes(mki))
        self.keys.check_srtp(key)
        state, new = self._stream(fixed.ssrc)
        index = state.local_index(fixed.seq)
        assert index is not None
        if index >= INDEX_LIMIT:
            raise KeyLifetimeExhausted(f"SRTP index space of SSRC {fixed.ssrc:#010x} exhausted")
        if index < 0:
            raise IndexOutOfRange(f"SEQ {fixed.seq} lies before ROC 0")
        if state.srtp_window.check(index) is not Verdict.FRESH:
            raise IndexReused(f"SEQ {fixed.seq} of SSRC {fixed.ssrc:#010x} was already protected")
        keys = key.session_keys(rtcp=False, index=index)
        out = protect_rtp(
            self.policy,
            keys,
            rtp,
            header_len=header_len,
            ssrc=fixed.ssrc,
            index=index,
            mki=key.mki,
        )
        if new:
            self._streams.commit(fixed.ssrc, state)
        state.srtp_window.accept(index)
        key.srtp_packets += 1
        return out

    def protect_rtcp(self, rtcp: bytes, mki: bytes) -> bytes:
        """RTCP compound packet -> SRTCP packet with E || index, MKI, tag (RFC 3711 §3.4).

        The SRTCP index of each SSRC starts at 0 and increments by one modulo 2^31.
        """
        rtcp = bytes(rtcp)
        ssrc = parse_rtcp_ssrc(rtcp)
        key = self.keys.get(bytes(mki))
        self.keys.check_srtcp(key)
        state, new = self._stream(ssrc)
        index = state.srtcp_next
        keys = key.session_keys(rtcp=True, index=index)
        out = protect_rtcp(self.policy, keys, rtcp, ssrc=ssrc, index=index, mki=key.mki)
        if new:
            self._streams.commit(ssrc, state)
        state.srtcp_next = (index + 1) & SRTCP_INDEX_MASK
        key.srtcp_packets += 1
        return out

    def __repr__(self) -> str:
        return (
            f"<SrtpSender {self.policy.srtp_auth.name}, {self.keys!r}, {len(self._streams)} SSRCs>"
        )
