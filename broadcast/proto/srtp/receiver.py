"""Receiver side of an SRTP/SRTCP crypto context (RFC 3711 §3.3, §3.4; RFC 4771 §2, §3).

``unprotect(srtp) -> (rtp, mki)``: the MKI picks the master key; the index comes from the ROC
carried by an RCC tag or from the local ROC/s_l estimate (Appendix A); replay check; tag check
in constant time; decryption; and only then is the state (ROC, s_l, window, counters) updated.

ROC handling (RFC 4771):
- RCCm1/RCCm2 ROC-carrying packets (SEQ ≡ 0 mod R) are verified with the ROC they carry, and
  the session keys are derived with that ROC; on success the local ROC follows the packet. A
  receiver that knows no ROC (``initial_roc=None``, a late joiner) locks on at the first such
  packet; before that, packets without a ROC raise :class:`RocUnknown`.
- RCCm3 carries the ROC without a MAC; the receiver takes it, unless the application has set
  ``rccm3_roc_synchronized`` (§3: "SHOULD ignore the ROC ... if the application layer can
  indicate ... that the local ROC is synchronized").
Packets that carry no MAC (NULL authentication, RCCm1 packets without the ROC, RCCm3) update
the state once decrypted: there is nothing else to go on (RFC 4771 §5 discusses the risk).
Every rejection is an :class:`SrtpError` and is counted in ``stats.rejected[reason]``.
"""

from __future__ import annotations

from broadcast import profile
from broadcast.proto.mikey.srtp_policy import SrtpPolicy
from broadcast.proto.srtp.context import CryptoContext
from broadcast.proto.srtp.errors import (
    IndexOutOfRange,
    PolicyMismatch,
    ReplayedPacket,
    RocUnknown,
    SrtpError,
)
from broadcast.proto.srtp.keyring import SRTCP_PACKET_LIMIT, SRTP_PACKET_LIMIT
from broadcast.proto.srtp.packet import parse_rtcp_ssrc, parse_rtp_fixed, rtp_header_len
from broadcast.proto.srtp.policy import Auth, CryptoPolicy
from broadcast.proto.srtp.replay import INDEX_LIMIT, ROC_LIMIT, Verdict
from broadcast.proto.srtp.stats import ReceiverStats
from broadcast.proto.srtp.stream import StreamState
from broadcast.proto.srtp.transform import (
    decrypt_rtcp,
    decrypt_rtp,
    split_srtcp,
    split_srtp,
    verify_rtcp,
    verify_rtp,
)


class SrtpReceiver(CryptoContext):
    """Inbound crypto context: several master keys by MKI, per-SSRC ROC/s_l and replay windows.

    ``initial_roc`` is the ROC assumed for a new SSRC (RFC 3711: 0; MIKEY may signal another,
    see :meth:`set_roc`); ``None`` means unknown, as for a late joiner relying on RCC.
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
        self.stats = ReceiverStats()
        #: RFC 4771 §3 application flag for RCCm3: the local ROC is known to be synchronized.
        self.rccm3_roc_synchronized = False

    # -- ROC -------------------------------------------------------------------------------------
    def set_roc(self, ssrc: int, roc: int) -> bool:
        """Tell the ROC of ``ssrc`` (e.g. from a MIKEY CS ID map). Applies only to a stream with
        no authenticated SRTP packet yet; returns False (and changes nothing) otherwise."""
        if not 0 <= roc < ROC_LIMIT:
            raise ValueError("ROC must be a 32-bit value")
        state = self._streams.get(ssrc)
        if state is None:
            self._streams.commit(ssrc, self._streams.fresh(roc))
            return True
        if state.srtp_window.highest is not None:
            return False
        state.base_roc = roc
        return True

    def roc(self, ssrc: int) -> int | None:
        """The ROC the receiver holds for ``ssrc`` (None: unknown)."""
        state = self._streams.get(ssrc)
        return self._streams.base_roc if state is None else state.roc

    # -- SRTP ------------------------------------------------------------------------------------
    def unprotect(self, srtp: bytes) -> tuple[bytes, bytes]:
        """SRTP packet -> (RTP packet, MKI). Raises an :class:`SrtpError` and leaves the state
        unchanged when the packet is rejected."""
        try:
            return self._unprotect(bytes(srtp))
        except SrtpError as exc:
            self.stats.rejected[exc.reason] += 1
            raise

    def _unprotect(self, packet: bytes) -> tuple[bytes, bytes]:
        policy = self.policy
        fixed = parse_rtp_fixed(packet)
        seq, ssrc = fixed.seq, fixed.ssrc
        parts = split_srtp(policy, self.keys.mki_len, packet, seq)
        header_len = rtp_header_len(packet, fixed, len(parts.portion))
        key = self.keys.get(parts.mki)
        self.keys.check_srtp(key)

        state = self._streams.get(ssrc)
        new = state is None
        if state is None:
            state = self._streams.fresh()
        local = state.local_index(seq)
        use_carried = parts.roc is not None and not (
            policy.srtp_auth is Auth.RCCM3 and self.rccm3_roc_synchronized and local is not None
        )
        if use_carried:
            assert parts.roc is not None
            index = (parts.roc << 16) | seq
        elif local is None:
            raise RocUnknown(f"ROC of SSRC {ssrc:#010x} unknown; SEQ {seq} does not carry it")
        else:
            index = local
        if not 0 <= index < INDEX_LIMIT:
            raise IndexOutOfRange(f"SEQ {seq} gives an index outside 0..2^48-1")
        resync = use_carried and local is not None and (local >> 16) != (index >> 16)
        # RCCm3: the carried ROC is authoritative; a differing one restarts the window.
        restart = resync and policy.srtp_auth is Auth.RCCM3
        if not restart:
            verdict = state.srtp_window.check(index)
            if verdict is not Verdict.FRESH:
                raise ReplayedPacket(f"SEQ {seq} of SSRC {ssrc:#010x}: {verdict.value}")

        keys = key.session_keys(rtcp=False, index=index)
        verify_rtp(policy, keys, parts, roc=index >> 16, seq=seq)
        rtp = decrypt_rtp(policy, keys, parts, header_len=header_len, ssrc=ssrc, index=index)

        # Commit: only now does the state change (RFC 3711 §3.3.1, §3.3.2).
        if new:
            self._streams.commit(ssrc, state)
        if restart:
            state.srtp_window.reset(index)
        else:
            state.srtp_window.accept(index)
        if resync:
            self.stats.roc_resyncs += 1
        key.srtp_packets += 1
        self.stats.srtp_accepted += 1
        return rtp, parts.mki

    # -- SRTCP -----------------------------------------------------------------------------------
    def unprotect_rtcp(self, srtcp: bytes) -> tuple[bytes, bytes]:
        """SRTCP packet -> (RTCP compound packet, MKI) (RFC 3711 §3.4)."""
        try:
            return self._unprotect_rtcp(bytes(srtcp))
        except SrtpError as exc:
            self.stats.rejected[exc.reason] += 1
            raise

    def _unprotect_rtcp(self, packet: bytes) -> tuple[bytes, bytes]:
        policy = self.policy
        ssrc = parse_rtcp_ssrc(packet)
        parts = split_srtcp(policy, self.keys.mki_len, packet)
        key = self.keys.get(parts.mki)
        self.keys.check_srtcp(key)
        state: StreamState | None = self._streams.get(ssrc)
        new = state is None
        if state is None:
            state = self._streams.fresh()
        verdict = state.srtcp_window.check(parts.index)
        if verdict is not Verdict.FRESH:
            raise ReplayedPacket(f"SRTCP index {parts.index} of SSRC {ssrc:#010x}: {verdict.value}")
        keys = key.session_keys(rtcp=True, index=parts.index)
        verify_rtcp(policy, keys, parts)
        if parts.encrypted != policy.srtcp_encrypt:
            raise PolicyMismatch(f"SRTCP E flag {int(parts.encrypted)} contradicts the policy")
        rtcp = decrypt_rtcp(keys, parts, ssrc=ssrc)
        if new:
            self._streams.commit(ssrc, state)
        state.srtcp_window.accept(parts.index)
        key.srtcp_packets += 1
        self.stats.srtcp_accepted += 1
        return rtcp, parts.mki

    def __repr__(self) -> str:
        return (
            f"<SrtpReceiver {self.policy.srtp_auth.name}, {self.keys!r}, "
            f"{len(self._streams)} SSRCs>"
        )
