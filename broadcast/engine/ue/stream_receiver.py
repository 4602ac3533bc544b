"""The UE side of one protected streaming session, sans-IO (TS 33.246 6.3.3.2.2, 6.3.2.2.3).

Bytes in, counters and decrypted RTP out; the asyncio shell (:mod:`broadcast.aio.ue.streaming`)
owns the sockets. :class:`StreamReceiver` takes

- MIKEY datagrams from UDP 2269 at the RTP destination (:meth:`on_mikey`): each MTK message is
  checked by :class:`~broadcast.engine.ue.mtk_gate.MtkGate` (MAC with the MSK named in the EXT
  payload, COUNTER replay per MSK, MTK ID inside the MSK's range and newer); its MTK and SRTP master
  salt are installed under the MKI = MSK ID || MTK ID, and its CS ID map tells the ROC of each SSRC
  (late joiners, RFC 3830 §6.1.1);
- SRTP (:meth:`on_srtp`) and SRTCP (:meth:`on_srtcp`) packets: the MKI picks the MTK; the
  :class:`~broadcast.proto.srtp.receiver.SrtpReceiver` verifies and decrypts and locks on to the ROC
  (RFC 4771 ROC-carrying packets, or the MIKEY ROC).

It counts packets decrypted and undecryptable by reason: ``no_mtk_yet`` (the MKI's MSK is known,
its MTK is not), ``unknown_msk`` (the MKI names an MSK the UE does not have), ``bad_tag``,
``replay``, ``roc_unknown``, ``malformed``; MTK messages accepted, re-sent (the very bytes of a
message accepted before: the BM-SC re-sends periodically, 6.3.3.2.2), rejected by reason, and
*late*: accepted after packets under that MTK had already arrived.

Missed key update (6.3.2.2.3): an MTK message or an MKI naming an MSK the UE does not hold means
it missed an MSK update. The receiver then calls ``on_missed_msk(key_domain_id, msk_id)`` — the
MSK client re-requests the current MSK. Because unauthenticated traffic triggers it, the signal
is raised only for the Key Groups the announcement lists for this session and at most once per
Key Group per ``missed_signal_interval`` seconds. The last MTK message of up to
``MAX_PARKED`` unknown MSKs is kept and re-checked as soon as that MSK arrives.

Time comes in as ``now_mono`` (monotonic seconds, :data:`~broadcast.time.MonotonicS`). No key
byte is logged.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from broadcast.engine.ue.mtk_gate import MtkGate
from broadcast.engine.ue.report import JsonValue
from broadcast.engine.ue.service_keys import MskEntry, MskStore
from broadcast.proto.keys.errors import InvalidIdentifier
from broadcast.proto.keys.ids import KeyDomainId, MskId, parse_srtp_mki, srtp_mki
from broadcast.proto.mikey.errors import (
    MacMismatch,
    MikeyError,
    MtkIdRejected,
    ReplayedCounter,
    UnknownKey,
)
from broadcast.proto.mikey.mbms import Kind, MtkDelivery, envelope
from broadcast.proto.mikey.srtp_policy import SrtpPolicy
from broadcast.proto.mikey.verifier import DuplicateMessage
from broadcast.proto.srtp.context import as_crypto_policy
from broadcast.proto.srtp.errors import (
    AuthenticationFailed,
    KeyRingError,
    MalformedPacket,
    ReplayedPacket,
    RocUnknown,
    SrtpError,
    UnknownMki,
)
from broadcast.proto.srtp.packet import parse_rtp_fixed
from broadcast.proto.srtp.policy import CryptoPolicy
from broadcast.proto.srtp.receiver import SrtpReceiver
from broadcast.proto.srtp.transform import split_srtcp, split_srtp
from broadcast.time import MonotonicS

log = logging.getLogger("broadcast.ue")

# Undecryptable packets, by reason.
NO_MTK_YET: Final = "no_mtk_yet"
UNKNOWN_MSK: Final = "unknown_msk"
BAD_TAG: Final = "bad_tag"
REPLAY: Final = "replay"
ROC_UNKNOWN: Final = "roc_unknown"
MALFORMED: Final = "malformed"
# Rejected MIKEY messages, by reason (UNKNOWN_MSK, REPLAY and MALFORMED as above).
BAD_MAC: Final = "bad_mac"
MTK_ID: Final = "mtk_id"
NOT_MTK: Final = "not_mtk"
NOT_STREAMING: Final = "not_streaming"
MKI_MISMATCH: Final = "mki_mismatch"
KEY_RING: Final = "key_ring"

#: Unknown MSKs whose last MTK message is kept for when the MSK arrives.
MAX_PARKED: Final = 8
#: MKIs remembered as "packets arrived before their MTK" (for the late-MTK count).
MAX_UNKEYED: Final = 64
#: Digests of accepted MTK messages remembered to tell periodic re-sends from replays.
MAX_ACCEPTED: Final = 16
#: Default minimum time between two missed-update signals for one Key Group [P].
MISSED_SIGNAL_INTERVAL_S: Final = 5.0

MissedMskHook = Callable[[KeyDomainId, MskId], None]
MtkHook = Callable[[MtkDelivery], None]
RtpConsumer = Callable[[bytes], None]


@dataclass
class StreamingStats:
    """Counters of one streaming session (see the module doc for the reasons)."""

    mikey_received: int = 0
    mtk_accepted: int = 0
    mtk_resends: int = 0
    late_mtks: int = 0
    mtk_rejected: Counter[str] = field(default_factory=Counter)
    srtp_decrypted: int = 0
    srtcp_decrypted: int = 0
    srtp_undecryptable: Counter[str] = field(default_factory=Counter)
    srtcp_undecryptable: Counter[str] = field(default_factory=Counter)
    roc_from_mikey: int = 0
    missed_msk_signals: int = 0
    policy_conflicts: int = 0
    consumer_errors: int = 0

    @property
    def srtp_undecryptable_total(self) -> int:
        return sum(self.srtp_undecryptable.values())

    def as_dict(self) -> dict[str, JsonValue]:
        return {
            "mikey_received": self.mikey_received,
            "mtk_accepted": self.mtk_accepted,
            "mtk_resends": self.mtk_resends,
            "late_mtks": self.late_mtks,
            "mtk_rejected": dict(sorted(self.mtk_rejected.items())),
            "srtp_decrypted": self.srtp_decrypted,
            "srtp_undecryptable": dict(sorted(self.srtp_undecryptable.items())),
            "srtcp_decrypted": self.srtcp_decrypted,
            "srtcp_undecryptable": dict(sorted(self.srtcp_undecryptable.items())),
            "roc_from_mikey": self.roc_from_mikey,
            "missed_msk_signals": self.missed_msk_signals,
            "policy_conflicts": self.policy_conflicts,
            "consumer_errors": self.consumer_errors,
        }


def _srtp_reason(exc: SrtpError) -> str:
    if isinstance(exc, AuthenticationFailed):
        return BAD_TAG
    if isinstance(exc, ReplayedPacket):
        return REPLAY
    if isinstance(exc, RocUnknown):
        return ROC_UNKNOWN
    if isinstance(exc, MalformedPacket):
        return MALFORMED
    return exc.reason


class StreamReceiver:
    """MTK messages and SRTP/SRTCP packets of one streaming session (see the module doc).

    ``key_domain_id``: the announced Key Domain (MKIs carry none). ``key_groups``: the Key
    Groups announced for this session (missed-update signals are limited to them; ``None``
    allows any). ``policy``: the SRTP policy used until an MSK of the session brings its own.
    """

    def __init__(
        self,
        *,
        keys: MskStore,
        policy: SrtpPolicy | CryptoPolicy,
        key_domain_id: KeyDomainId | None = None,
        key_groups: frozenset[int] | None = None,
        gate: MtkGate | None = None,
        on_missed_msk: MissedMskHook | None = None,
        on_mtk: MtkHook | None = None,
        consumer: RtpConsumer | None = None,
        key_capacity: int = 3,
        max_streams: int = 16,
        missed_signal_interval: float = MISSED_SIGNAL_INTERVAL_S,
    ) -> None:
        self.keys = keys
        self.key_domain_id = key_domain_id
        self.key_groups = key_groups
        self.gate = gate if gate is not None else MtkGate()
        self.on_missed_msk = on_missed_msk
        self.on_mtk = on_mtk
        self.consumer = consumer
        self.stats = StreamingStats()
        self._key_capacity = key_capacity
        self._max_streams = max_streams
        self._policy = as_crypto_policy(policy)
        self.srtp = self._new_receiver(self._policy)
        self._signal_interval = missed_signal_interval
        self._last_signal: dict[int, MonotonicS] = {}
        self._parked: OrderedDict[tuple[KeyDomainId, MskId], bytes] = OrderedDict()
        self._unkeyed: OrderedDict[bytes, None] = OrderedDict()
        self._accepted: OrderedDict[bytes, None] = OrderedDict()
        self._any_ssrc_roc: int | None = None
        self._consumer_failed = False
        self._unsubscribe = keys.subscribe(self.on_msk)
        for entry in keys.entries():
            self._install_msk(entry)

    def _new_receiver(self, policy: CryptoPolicy) -> SrtpReceiver:
        return SrtpReceiver(
            policy,
            key_capacity=self._key_capacity,
            initial_roc=None,
            max_streams=self._max_streams,
        )

    def close(self) -> None:
        """Stop listening to the MSK store."""
        self._unsubscribe()

    # -- MSKs ------------------------------------------------------------------------------------
    def _ours(self, key_domain_id: KeyDomainId, msk_id: MskId) -> bool:
        if self.key_domain_id is not None and key_domain_id != self.key_domain_id:
            return False
        return self.key_groups is None or msk_id.key_group in self.key_groups

    def _install_msk(self, entry: MskEntry) -> None:
        self.gate.install(entry)
        if entry.srtp_policy is not None and self._ours(entry.key_domain_id, entry.msk_id):
            policy = as_crypto_policy(entry.srtp_policy)
            if policy != self._policy:
                if len(self.srtp.keys) == 0:
                    self._policy = policy
                    self.srtp = self._new_receiver(policy)
                else:
                    self.stats.policy_conflicts += 1
                    log.warning(
                        "MSK %s/%s brings another SRTP policy than the session's; keeping the "
                        "session's",
                        *entry.key,
                    )

    def on_msk(self, entry: MskEntry) -> None:
        """A new MSK (store listener): install it, then re-check a parked MTK message."""
        self._install_msk(entry)
        parked = self._parked.pop(entry.key, None)
        if parked is not None:
            log.info("re-checking the parked MTK message of MSK %s/%s", *entry.key)
            self._check_mtk(parked, None)

    # -- MIKEY -----------------------------------------------------------------------------------
    def on_mikey(self, data: bytes, now_mono: MonotonicS) -> MtkDelivery | None:
        """One datagram from UDP 2269; returns the MTK delivery when one was installed."""
        self.stats.mikey_received += 1
        return self._check_mtk(bytes(data), now_mono)

    def _reject(self, reason: str, detail: object) -> None:
        self.stats.mtk_rejected[reason] += 1
        log.debug("MIKEY message rejected (%s): %s", reason, detail)

    def _check_mtk(self, data: bytes, now_mono: MonotonicS | None) -> MtkDelivery | None:
        digest = hashlib.sha256(data).digest()
        if digest in self._accepted:
            # A periodic re-send of a message accepted before (also of the current MTK after
            # the next one was announced, which the Verifier's COUNTER check would call a replay).
            self.stats.mtk_resends += 1
            return None
        try:
            env = envelope(data)
        except MikeyError as exc:
            self._reject(MALFORMED, exc)
            return None
        if env.kind is not Kind.MTK:
            self._reject(NOT_MTK, env.kind.value)
            return None
        try:
            delivery = self.gate.receive(data)
        except DuplicateMessage:
            self.stats.mtk_resends += 1
            return None
        except UnknownKey as exc:
            self._reject(UNKNOWN_MSK, exc)
            if now_mono is not None:
                self._park(env.key_domain_id, env.msk_id, data)
                self._missed(env.key_domain_id, env.msk_id, now_mono)
            return None
        except ReplayedCounter as exc:
            self._reject(REPLAY, exc)
            return None
        except MacMismatch as exc:
            self._reject(BAD_MAC, exc)
            return None
        except MtkIdRejected as exc:
            self._reject(MTK_ID, exc)
            return None
        except MikeyError as exc:
            self._reject(MALFORMED, exc)
            return None
        self._accepted[digest] = None
        while len(self._accepted) > MAX_ACCEPTED:
            self._accepted.popitem(last=False)
        return delivery if self._install_mtk(delivery) else None

    def _park(self, key_domain_id: KeyDomainId, msk_id: MskId, data: bytes) -> None:
        if not self._ours(key_domain_id, msk_id):
            return
        key = (key_domain_id, msk_id)
        self._parked[key] = data
        self._parked.move_to_end(key)
        while len(self._parked) > MAX_PARKED:
            self._parked.popitem(last=False)

    def _install_mtk(self, delivery: MtkDelivery) -> bool:
        env = delivery.envelope
        assert env.mtk_id is not None
        if delivery.salt is None:
            self._reject(NOT_STREAMING, "a download MTK on the streaming port")
            return False
        mki = srtp_mki(env.msk_id, env.mtk_id)
        if delivery.mki is not None and delivery.mki != mki:
            self._reject(MKI_MISMATCH, f"SPI {delivery.mki.hex()} is not MSK ID || MTK ID")
            return False
        try:
            evicted = self.srtp.keys.add(mki, delivery.mtk, delivery.salt)
        except KeyRingError as exc:
            self._reject(KEY_RING, exc)
            return False
        self.stats.mtk_accepted += 1
        if mki in self._unkeyed:
            del self._unkeyed[mki]
            self.stats.late_mtks += 1
            log.info(
                "late MTK %s of MSK %s: packets under it arrived first", env.mtk_id, env.msk_id
            )
        for cs in delivery.srtp_sessions:
            if cs.ssrc == 0:
                self._any_ssrc_roc = cs.roc
            else:
                try:
                    if self.srtp.set_roc(cs.ssrc, cs.roc):
                        self.stats.roc_from_mikey += 1
                except (SrtpError, ValueError) as exc:
                    log.debug("ROC of SSRC %08x not taken: %s", cs.ssrc, exc)
        log.info(
            "MTK %s of MSK %s/%s installed (MKI %s%s)",
            env.mtk_id,
            env.key_domain_id,
            env.msk_id,
            mki.hex(),
            "" if evicted is None else f", MKI {evicted.hex()} retired",
        )
        if self.on_mtk is not None:
            self.on_mtk(delivery)
        return True

    def _missed(self, key_domain_id: KeyDomainId, msk_id: MskId, now_mono: MonotonicS) -> None:
        if not self._ours(key_domain_id, msk_id):
            return
        last = self._last_signal.get(msk_id.key_group)
        if last is not None and now_mono - last < self._signal_interval:
            return
        self._last_signal[msk_id.key_group] = now_mono
        self.stats.missed_msk_signals += 1
        log.info(
            "missed MSK update: traffic names MSK %s/%s, which this UE lacks", key_domain_id, msk_id
        )
        if self.on_missed_msk is not None:
            self.on_missed_msk(key_domain_id, msk_id)

    # -- SRTP / SRTCP ----------------------------------------------------------------------------
    def _remember_unkeyed(self, mki: bytes) -> None:
        self._unkeyed[mki] = None
        self._unkeyed.move_to_end(mki)
        while len(self._unkeyed) > MAX_UNKEYED:
            self._unkeyed.popitem(last=False)

    def _classify_mki(self, mki: bytes, now_mono: MonotonicS) -> str:
        """Why no key matched ``mki``: the MTK is not here yet, or its MSK is unknown."""
        try:
            msk_id, _ = parse_srtp_mki(mki)
        except InvalidIdentifier:
            return MALFORMED
        self._remember_unkeyed(mki)
        if self.keys.find(msk_id, self.key_domain_id) is not None:
            return NO_MTK_YET
        if self.key_domain_id is not None:
            self._missed(self.key_domain_id, msk_id, now_mono)
        return UNKNOWN_MSK

    def on_srtp(self, data: bytes, now_mono: MonotonicS) -> bytes | None:
        """One SRTP packet; returns the RTP packet when it decrypted (and hands it on)."""
        packet = bytes(data)
        try:
            try:
                rtp, _ = self.srtp.unprotect(packet)
            except RocUnknown:
                if self._any_ssrc_roc is None:
                    raise
                # The MTK message's CS ID map gave the ROC for streams not known by SSRC yet.
                self.srtp.set_roc(parse_rtp_fixed(packet).ssrc, self._any_ssrc_roc)
                rtp, _ = self.srtp.unprotect(packet)
        except UnknownMki:
            fixed = parse_rtp_fixed(packet)
            mki = split_srtp(self.srtp.policy, self.srtp.keys.mki_len, packet, fixed.seq).mki
            self.stats.srtp_undecryptable[self._classify_mki(mki, now_mono)] += 1
            return None
        except SrtpError as exc:
            self.stats.srtp_undecryptable[_srtp_reason(exc)] += 1
            return None
        self.stats.srtp_decrypted += 1
        self._consume(rtp)
        return rtp

    def on_srtcp(self, data: bytes, now_mono: MonotonicS) -> bytes | None:
        """One SRTCP packet; returns the RTCP compound packet when it decrypted."""
        packet = bytes(data)
        try:
            rtcp, _ = self.srtp.unprotect_rtcp(packet)
        except UnknownMki:
            mki = split_srtcp(self.srtp.policy, self.srtp.keys.mki_len, packet).mki
            self.stats.srtcp_undecryptable[self._classify_mki(mki, now_mono)] += 1
            return None
        except SrtpError as exc:
            self.stats.srtcp_undecryptable[_srtp_reason(exc)] += 1
            return None
        self.stats.srtcp_decrypted += 1
        return rtcp

    def _consume(self, rtp: bytes) -> None:
        if self.consumer is None:
            return
        try:
            self.consumer(rtp)
        except Exception:  # the consumer is someone else's code: count, log once, go on
            self.stats.consumer_errors += 1
            if not self._consumer_failed:
                self._consumer_failed = True
                log.exception("the RTP consumer failed (further failures only counted)")

    @property
    def policy(self) -> CryptoPolicy:
        return self._policy

    @property
    def roc_resyncs(self) -> int:
        return self.srtp.stats.roc_resyncs

    def __repr__(self) -> str:
        return f"<StreamReceiver {self.stats.srtp_decrypted} decrypted, {self.srtp.keys!r}>"
