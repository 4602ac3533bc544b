"""The hot path of the stream: ingest datagrams -> checks -> SRTP/SRTCP under the current MKI ->
UDP output (RFC 3711 §3.3, §3.4; profile.md "Protection of the content").

:class:`ProtectPipeline` is synchronous and owns no timer: the service calls :meth:`push` with
whatever the ingest delivered, :meth:`send_reports` when sender reports are due, and sets
:attr:`mki` when the schedule switches MTKs (one assignment between two batches: the switch is
atomic, every packet of a batch carries the same MKI). RTP goes through the native batch sender
(:class:`~broadcast.proto.srtp.batch.SrtpBatchSender`, all-or-nothing); when a batch fails (a
duplicate SEQ from the ingest, too many SSRCs...) it is redone packet by packet so that only the
offending packets are dropped and counted. Bad ingest input never raises: it is counted in
:attr:`PipelineStats.bad` by reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from broadcast.proto.rtp.rtcp import SenderCounters, sender_report
from broadcast.proto.rtp.rtp import check_rtcp, is_rtcp, payload_octets, rtp_header_length
from broadcast.proto.srtp.batch import SrtpBatchSender
from broadcast.proto.srtp.errors import SrtpError
from broadcast.proto.srtp.sender import SrtpSender
from broadcast.time import MonotonicS, UnixS, ntp_timestamp

#: Why an RTCP packet from the ingest was not forwarded (RTCP mode is not "forward").
RTCP_NOT_FORWARDED = "rtcp_not_forwarded"
#: An ingest packet arrived before the first MTK was ready.
NO_KEY = "no_key"


#: A UDP destination: (IPv4 address, port).
Address = tuple[str, int]


class DatagramSink(Protocol):
    """Where protected datagrams go: :class:`broadcast.aio.sgimb.output.DatagramOutput` in the
    service, a list in tests. ``send_batch`` returns how many datagrams were sent."""

    def send_batch(self, datagrams: Sequence[bytes], dest: Address) -> int: ...


@dataclass
class PipelineStats:
    """Counters of the pipeline. ``bad`` maps a reason to the number of ingest packets dropped."""

    rtp_in: int = 0
    rtcp_in: int = 0
    srtp_out: int = 0
    srtcp_out: int = 0
    srtp_bytes: int = 0
    sender_reports: int = 0
    bad: Counter[str] = field(default_factory=Counter)

    @property
    def bad_total(self) -> int:
        return sum(self.bad.values())


class ProtectPipeline:
    """Protect and send the packets of one session (see the module doc)."""

    def __init__(
        self,
        sender: SrtpSender,
        output: DatagramSink,
        rtp_dest: Address,
        rtcp_dest: Address,
        *,
        forward_rtcp: bool = False,
        native: bool = True,
    ) -> None:
        self.sender = sender
        self.batch = SrtpBatchSender(sender, native=native)
        self.output = output
        self.rtp_dest = rtp_dest
        self.rtcp_dest = rtcp_dest
        self.forward_rtcp = forward_rtcp
        #: MKI of the current MTK; None until the first MTK (packets are then dropped).
        self.mki: bytes | None = None
        self.stats = PipelineStats()
        #: Per SSRC (the 4 header bytes): what was sent, for sender reports.
        self.counters: dict[bytes, SenderCounters] = {}

    # -- RTP / RTCP from the ingest ------------------------------------------------------------
    def push(self, datagrams: Sequence[bytes], now_mono: MonotonicS) -> int:
        """Demultiplex (RFC 5761), check, protect, send; returns the SRTP packets sent."""
        rtp: list[bytes] = []
        rtcp: list[bytes] = []
        for d in datagrams:
            (rtcp if is_rtcp(d) else rtp).append(d)
        if rtcp:
            self.push_rtcp(rtcp)
        return self.push_rtp(rtp, now_mono) if rtp else 0

    def push_rtp(self, packets: Sequence[bytes], now_mono: MonotonicS) -> int:
        """RTP packets -> SRTP under :attr:`mki` -> output; returns how many were sent."""
        stats = self.stats
        stats.rtp_in += len(packets)
        good: list[bytes] = []
        lengths: list[int] = []
        bad = stats.bad
        for p in packets:
            hl = rtp_header_length(p)
            if isinstance(hl, str):
                bad[hl] += 1
            else:
                good.append(p)
                lengths.append(hl)
        if not good:
            return 0
        mki = self.mki
        if mki is None:
            bad[NO_KEY] += len(good)
            return 0
        try:
            out = self.batch.protect_batch(good, mki)
        except SrtpError:
            out, good, lengths = self._one_by_one(good, lengths, mki)
        self._count(good, lengths, now_mono)
        self.output.send_batch(out, self.rtp_dest)
        stats.srtp_out += len(out)
        stats.srtp_bytes += sum(map(len, out))
        return len(out)

    def _one_by_one(
        self, packets: list[bytes], lengths: list[int], mki: bytes
    ) -> tuple[list[bytes], list[bytes], list[int]]:
        """The per-packet path after a failed batch: (SRTP packets, their RTP packets, lengths)."""
        out: list[bytes] = []
        sent: list[bytes] = []
        sent_lengths: list[int] = []
        protect = self.sender.protect
        for p, hl in zip(packets, lengths, strict=True):
            try:
                out.append(protect(p, mki))
            except SrtpError as exc:
                self.stats.bad[exc.reason] += 1
                continue
            sent.append(p)
            sent_lengths.append(hl)
        return out, sent, sent_lengths

    def _count(self, packets: list[bytes], lengths: list[int], now_mono: MonotonicS) -> None:
        counters = self.counters
        for p, hl in zip(packets, lengths, strict=True):
            key = p[8:12]
            c = counters.get(key)
            if c is None:
                c = counters[key] = SenderCounters()
            c.packets += 1
            c.octets += payload_octets(p, hl)
            c.rtp_timestamp = int.from_bytes(p[4:8], "big")
            c.last_sent = now_mono

    def push_rtcp(self, packets: Sequence[bytes]) -> int:
        """RTCP compound packets from the ingest -> SRTCP -> RTP port + 1 (when forwarding)."""
        self.stats.rtcp_in += len(packets)
        if not self.forward_rtcp:
            self.stats.bad[RTCP_NOT_FORWARDED] += len(packets)
            return 0
        good = []
        for p in packets:
            reason = check_rtcp(p)
            if reason is None:
                good.append(p)
            else:
                self.stats.bad[reason] += 1
        return self._send_rtcp(good)

    def _send_rtcp(self, packets: list[bytes]) -> int:
        mki = self.mki
        if mki is None:
            self.stats.bad[NO_KEY] += len(packets)
            return 0
        out = []
        for p in packets:
            try:
                out.append(self.sender.protect_rtcp(p, mki))
            except SrtpError as exc:
                self.stats.bad[exc.reason] += 1
        self.output.send_batch(out, self.rtcp_dest)
        self.stats.srtcp_out += len(out)
        return len(out)

    # -- generated sender reports ----------------------------------------------------------------
    def send_reports(
        self,
        now_mono: MonotonicS,
        now_unix: UnixS,
        *,
        cname: str,
        clock_rate: int,
        active_within: float,
    ) -> int:
        """One SR + SDES compound packet per SSRC that sent RTP in the last ``active_within``
        seconds (RFC 3550 §6.4.1; the RTP timestamp is the last one sent, advanced by the time
        since at ``clock_rate``), protected as SRTCP; returns how many were sent."""
        reports = []
        ntp = ntp_timestamp(now_unix)
        for key, c in self.counters.items():
            if now_mono - c.last_sent > active_within:
                continue
            ts = c.rtp_timestamp + round((now_mono - c.last_sent) * clock_rate)
            reports.append(
                sender_report(
                    int.from_bytes(key, "big"),
                    ntp=ntp,
                    rtp_timestamp=ts,
                    packets=c.packets,
                    octets=c.octets,
                    cname=cname,
                )
            )
        sent = self._send_rtcp(reports)
        self.stats.sender_reports += sent
        return sent

    # -- for MTK messages ------------------------------------------------------------------------
    def streams(self, expected: Sequence[int] = ()) -> list[tuple[int, int]]:
        """(SSRC, current ROC) of every stream sent so far and of the ``expected`` SSRCs (e.g.
        the generator's, before their first packet): the MTK message's CS ID map."""
        ssrcs = {int.from_bytes(k, "big") for k in self.counters} | set(expected)
        return [(ssrc, self.sender.roc(ssrc)) for ssrc in sorted(ssrcs)]


__all__ = ["NO_KEY", "RTCP_NOT_FORWARDED", "PipelineStats", "ProtectPipeline"]
