"""The UE side of a protected carousel: FLUTE packets in, decrypted files out (sans-IO).

What a UE does with an MBMS download session (TS 33.246 §6.3.3, §6.5; profile.md Transport and
"Protection of the content"):

1. rebuild the transport objects of the FLUTE session
   (:class:`~broadcast.proto.flute.receiver.SessionReceiver`: FDT Instances, Content-Encoding,
   Content-MD5, lengths);
2. objects whose FDT ``Content-Type`` is ``application/mikey`` are MTK messages: each goes
   through the UE-side MIKEY :class:`~broadcast.proto.mikey.verifier.Verifier` (RFC 3830 §5.3-§5.4,
   TS 33.246 6.3.3): the MSK named by Key Domain ID and MSK ID, COUNTER strictly above the last
   one accepted under that MSK (replay), the MAC (constant time), the MTK ID inside the MSK's
   validity interval and newer than the current one. MSKs come from the UE's MSK procedures
   (:meth:`DownloadReceiver.add_msk`, installed with ``Verifier.add_msk``);
3. every other object is a DCF (``application/vnd.oma.drm.dcf``): its ``MBMS-Key-ID`` header
   names the MTK (Key Domain ID ‖ MSK ID ‖ MTK ID); decrypt with it (the padding check rejects a
   wrong key before any plaintext is produced). A DCF whose MTK has not arrived yet waits —
   bounded in count and bytes — and is decrypted when its MIKEY object comes in.

The carousel repeats every object, and after an MTK rotation it keeps sending the previous
generation — its MIKEY object and its DCFs — for the grace period. Hence:

- a MIKEY object whose bytes equal those of one accepted before (a re-send: the same TOI after
  the FLUTE layer forgot it, or the previous MTK's object during the grace period, which the
  COUNTER rule alone would call a replay) means "already have it": counted in
  ``stats.resends``, no event, no error;
- the MTKs accepted are kept, a few per MSK (:data:`MTKS_PER_MSK`), so DCFs of the previous
  generation still decrypt;
- a *different* message whose COUNTER is not above the last accepted one is a replay: refused
  (``replay``) and counted. The carousel publishes generations in order, so only a UE that
  joins during a grace period and completes the newer MIKEY object first meets this; it then
  gets every file from the newer generation, and DCFs naming an MTK older than the MSK's current
  one that the UE never accepted are refused at once (``mtk_superseded``) instead of waiting
  for a key that can no longer be accepted.

An MTK object naming an MSK the UE does not hold is refused with ``unknown_msk`` and a
:class:`FileRejected` whose ``key_id`` carries the Key Domain ID and MSK ID — the UE's signal of
a missed MSK update (TS 33.246 6.3.2.2.3); the object is kept (a few) and opened when that MSK
arrives (:meth:`DownloadReceiver.add_msk`, older COUNTERs first).

No socket, clock or thread: :meth:`DownloadReceiver.feed` takes the packet and ``now_ntp`` (NTP
seconds, :func:`broadcast.time.ntp_from_unix`). Key material never appears in reprs or
messages.
"""

from __future__ import annotations

import hashlib
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Final

from broadcast import profile
from broadcast.proto.dcf import DcfError, MbmsKeyId, parse_dcf
from broadcast.proto.flute import FdtFile, ReceivedObject, ReceiverConfig, SessionReceiver
from broadcast.proto.keys import KeyDomainId, Msk, MskId, Mtk, MtkId
from broadcast.proto.mikey import Kind, MikeyError, envelope
from broadcast.proto.mikey.errors import MacMismatch, MtkIdRejected, ReplayedCounter, UnknownKey
from broadcast.proto.mikey.verifier import DuplicateMessage, Verifier
from broadcast.time import NtpS

#: MTKs kept per MSK (current and previous ones, for the grace period after a rotation).
MTKS_PER_MSK: Final = 8
#: MIKEY objects under an unknown MSK kept until it arrives.
MAX_UNKEYED: Final = 8
#: Digests of accepted MIKEY objects remembered, so that re-sends are told from replays.
MAX_ACCEPTED: Final = 64

# Rejection reasons (``FileRejected.reason``, ``DownloadStats.rejected``).
UNKNOWN_MSK: Final = "unknown_msk"
REPLAY: Final = "replay"
BAD_MAC: Final = "bad_mac"
MTK_ID: Final = "mtk_id"
NOT_MTK: Final = "not_mtk_message"
MALFORMED: Final = "malformed_mikey"
MTK_SUPERSEDED: Final = "mtk_superseded"
NO_MTK: Final = "no_mtk"
BAD_DCF: Final = "bad_dcf"
NO_KEY_ID: Final = "no_key_id"
DCF_DECRYPT: Final = "dcf_decrypt"
UNPROTECTED: Final = "unprotected"


@dataclass(frozen=True, slots=True)
class MtkReceived:
    """A verified MIKEY MTK object was received: its identifiers and the MTK it carried (the key
    prints redacted and stays out of the repr)."""

    key_id: MbmsKeyId
    counter: int
    content_location: str
    mtk: Mtk = field(repr=False)


@dataclass(frozen=True, slots=True)
class FileReceived:
    """A file, decrypted (or as sent, when it was not protected)."""

    content_location: str
    data: bytes = field(repr=False)
    content_type: str
    key_id: MbmsKeyId | None
    toi: int
    fdt_file: FdtFile


@dataclass(frozen=True, slots=True)
class FileRejected:
    """An object that could not be used (bad MIKEY, replay, unknown MSK, bad DCF, wrong key).

    ``key_id`` is the key the object names, when it could be read: for ``unknown_msk`` it holds
    the Key Domain ID and MSK ID of the MSK the UE lacks (a missed MSK update). It comes from
    unauthenticated bytes: a hint to act on with care (rate-limited), never a proof.
    """

    content_location: str
    toi: int
    reason: str
    key_id: MbmsKeyId | None = None

    @property
    def key_domain_id(self) -> KeyDomainId | None:
        return None if self.key_id is None else self.key_id.key_domain_id

    @property
    def msk_id(self) -> MskId | None:
        return None if self.key_id is None else self.key_id.msk_id


DownloadEvent = MtkReceived | FileReceived | FileRejected


@dataclass(slots=True)
class DownloadStats:
    mtks: int = 0
    files: int = 0
    waiting: int = 0
    #: MIKEY objects received again byte for byte after being accepted (carousel re-sends).
    resends: int = 0
    rejected: Counter[str] = field(default_factory=Counter)


_MskKey = tuple[KeyDomainId, MskId]


class DownloadReceiver:
    """Receives one protected FLUTE download session (see the module docstring).

    ``accept_unprotected``: deliver objects that are neither MIKEY nor DCF as they are (a
    carousel with confidentiality off); otherwise they are rejected.
    """

    def __init__(
        self,
        tsi: int,
        *,
        config: ReceiverConfig | None = None,
        accept_unprotected: bool = False,
        max_waiting: int = 64,
        max_waiting_bytes: int = 256 * 1024 * 1024,
    ) -> None:
        self.flute = SessionReceiver(tsi, config)
        self.accept_unprotected = accept_unprotected
        self.stats = DownloadStats()
        self._verifier = Verifier()
        self._msks: dict[_MskKey, Msk] = {}
        self._mtks: dict[_MskKey, OrderedDict[MtkId, Mtk]] = {}
        self._accepted: OrderedDict[bytes, None] = OrderedDict()
        self._waiting: OrderedDict[int, tuple[ReceivedObject, MbmsKeyId]] = OrderedDict()
        self._waiting_bytes = 0
        self._unkeyed: OrderedDict[int, ReceivedObject] = OrderedDict()
        self._max_waiting = max_waiting
        self._max_waiting_bytes = max_waiting_bytes

    # --- keys ------------------------------------------------------------------------------------
    def add_msk(
        self,
        key_domain: KeyDomainId,
        msk_id: MskId,
        msk: Msk,
        *,
        valid_from: MtkId | None = None,
        valid_to: MtkId | None = None,
    ) -> list[DownloadEvent]:
        """Install an MSK (from an MSK message) with the MTK IDs it may be used for (its KV
        interval; the whole MTK ID range when not given). Re-installing the same key keeps the
        MSK's COUNTER, MTK ID and MTKs (replay protection survives); another key under the same
        MSK ID starts afresh.

        MIKEY objects that arrived before their MSK (kept, a few) are opened now, older COUNTERs
        first: the events they produce (MTKs, files waiting for them) are returned.
        """
        first = MtkId(profile.MTK_ID_MIN) if valid_from is None else valid_from
        last = MtkId(profile.MTK_ID_MAX) if valid_to is None else valid_to
        key = (key_domain, msk_id)
        old = self._msks.get(key)
        if old is None or old != msk:
            self._mtks.pop(key, None)
        self._msks[key] = msk
        self._verifier.add_msk(key_domain, msk_id, msk, first, last)
        ready: list[tuple[int, ReceivedObject]] = []
        for toi, obj in list(self._unkeyed.items()):
            try:
                env = envelope(obj.data)
            except MikeyError:  # pragma: no cover - parked objects parsed before
                del self._unkeyed[toi]
                continue
            if self._verifier.knows_msk(env.key_domain_id, env.msk_id):
                del self._unkeyed[toi]
                ready.append((env.counter, obj))
        events: list[DownloadEvent] = []
        for _, obj in sorted(ready, key=lambda item: item[0]):
            events += self._mikey(obj)
        return events

    def knows_msk(self, key_domain: KeyDomainId, msk_id: MskId) -> bool:
        return self._verifier.knows_msk(key_domain, msk_id)

    def mtk(self, key_id: MbmsKeyId) -> Mtk | None:
        mtks = self._mtks.get((key_id.key_domain_id, key_id.msk_id))
        return None if mtks is None else mtks.get(key_id.mtk_id)

    # --- packets ---------------------------------------------------------------------------------
    def feed(self, packet: bytes, now_ntp: NtpS) -> list[DownloadEvent]:
        """One ALC packet received at ``now_ntp`` (NTP seconds); returns what it completed."""
        out: list[DownloadEvent] = []
        for event in self.flute.feed(packet, now_ntp):
            if isinstance(event, ReceivedObject):
                out += self._object(event)
        return out

    def _object(self, obj: ReceivedObject) -> list[DownloadEvent]:
        entry = obj.file
        if entry.content_type == profile.MIKEY_CONTENT_TYPE:
            return self._mikey(obj)
        if entry.content_type != profile.DOWNLOAD_DCF_CONTENT_TYPE:
            if self.accept_unprotected:
                self.stats.files += 1
                return [
                    FileReceived(
                        entry.content_location,
                        obj.data,
                        entry.content_type or "application/octet-stream",
                        None,
                        obj.toi,
                        entry,
                    )
                ]
            return [self._reject(obj, UNPROTECTED)]
        try:
            reader = parse_dcf(obj.data)
        except DcfError:
            return [self._reject(obj, BAD_DCF)]
        key_id = reader.mbms_key_id
        if key_id is None:
            return [self._reject(obj, NO_KEY_ID)]
        if self.mtk(key_id) is not None:
            return [self._decrypt(obj, key_id)]
        if self._superseded(key_id):
            return [self._reject(obj, MTK_SUPERSEDED, key_id)]
        return self._wait(obj, key_id)

    def _superseded(self, key_id: MbmsKeyId) -> bool:
        """True when ``key_id``'s MTK (not held) can no longer be accepted: its MSK's current
        MTK is this one or newer, and the Verifier only accepts newer MTK IDs."""
        current = self._verifier.current_mtk(key_id.key_domain_id, key_id.msk_id)
        if current is None:
            return False
        current_id = current.envelope.mtk_id
        return current_id is not None and key_id.mtk_id <= current_id

    def _mikey(self, obj: ReceivedObject) -> list[DownloadEvent]:
        data = obj.data
        digest = hashlib.sha256(data).digest()
        if digest in self._accepted:
            self.stats.resends += 1  # already have it (a carousel re-send)
            return []
        try:
            env = envelope(data)
        except MikeyError:
            return [self._reject(obj, MALFORMED)]
        if env.kind is not Kind.MTK or env.mtk_id is None:
            return [self._reject(obj, NOT_MTK)]
        key_id = MbmsKeyId(env.key_domain_id, env.msk_id, env.mtk_id)
        try:
            accepted = self._verifier.receive(data)
        except DuplicateMessage:  # the last accepted message, its digest already forgotten above
            self.stats.resends += 1
            return []
        except UnknownKey:
            self._unkeyed[obj.toi] = obj  # opened if the MSK comes (add_msk)
            self._unkeyed.move_to_end(obj.toi)
            while len(self._unkeyed) > MAX_UNKEYED:
                self._unkeyed.popitem(last=False)
            return [self._reject(obj, UNKNOWN_MSK, key_id)]
        except ReplayedCounter:
            return [self._reject(obj, REPLAY, key_id)]
        except MacMismatch:
            return [self._reject(obj, BAD_MAC, key_id)]
        except MtkIdRejected:
            return [self._reject(obj, MTK_ID, key_id)]
        except MikeyError:
            return [self._reject(obj, MALFORMED, key_id)]
        delivery = accepted.mtk
        assert delivery is not None
        self._accepted[digest] = None
        while len(self._accepted) > MAX_ACCEPTED:
            self._accepted.popitem(last=False)
        mtks = self._mtks.setdefault((env.key_domain_id, env.msk_id), OrderedDict())
        mtks[env.mtk_id] = delivery.mtk
        while len(mtks) > MTKS_PER_MSK:
            mtks.popitem(last=False)
        self.stats.mtks += 1
        events: list[DownloadEvent] = [
            MtkReceived(key_id, env.counter, obj.file.content_location, delivery.mtk)
        ]
        for toi, (waiting, wanted) in list(self._waiting.items()):
            if wanted == key_id:
                del self._waiting[toi]
                self._waiting_bytes -= len(waiting.data)
                events.append(self._decrypt(waiting, wanted))
            elif self._superseded(wanted):
                del self._waiting[toi]
                self._waiting_bytes -= len(waiting.data)
                events.append(self._reject(waiting, MTK_SUPERSEDED, wanted))
        self.stats.waiting = len(self._waiting)
        return events

    def _wait(self, obj: ReceivedObject, key_id: MbmsKeyId) -> list[DownloadEvent]:
        events: list[DownloadEvent] = []
        if len(obj.data) > self._max_waiting_bytes:
            return [self._reject(obj, NO_MTK, key_id)]
        self._waiting[obj.toi] = (obj, key_id)
        self._waiting_bytes += len(obj.data)
        while len(self._waiting) > self._max_waiting or (
            self._waiting_bytes > self._max_waiting_bytes
        ):
            _, (dropped, wanted) = self._waiting.popitem(last=False)
            self._waiting_bytes -= len(dropped.data)
            events.append(self._reject(dropped, NO_MTK, wanted))
        self.stats.waiting = len(self._waiting)
        return events

    def _decrypt(self, obj: ReceivedObject, key_id: MbmsKeyId) -> DownloadEvent:
        mtk = self.mtk(key_id)
        assert mtk is not None
        try:
            reader = parse_dcf(obj.data)
            plain = reader.decrypt(mtk)
        except DcfError:
            return self._reject(obj, DCF_DECRYPT, key_id)
        self.stats.files += 1
        return FileReceived(
            obj.file.content_location, plain, reader.content_type, key_id, obj.toi, obj.file
        )

    def _reject(
        self, obj: ReceivedObject, reason: str, key_id: MbmsKeyId | None = None
    ) -> FileRejected:
        self.stats.rejected[reason] += 1
        return FileRejected(obj.file.content_location, obj.toi, reason, key_id)


__all__ = [
    "BAD_DCF",
    "BAD_MAC",
    "DCF_DECRYPT",
    "MALFORMED",
    "MAX_ACCEPTED",
    "MAX_UNKEYED",
    "MTKS_PER_MSK",
    "MTK_ID",
    "MTK_SUPERSEDED",
    "NOT_MTK",
    "NO_KEY_ID",
    "NO_MTK",
    "REPLAY",
    "UNKNOWN_MSK",
    "UNPROTECTED",
    "DownloadEvent",
    "DownloadReceiver",
    "DownloadStats",
    "FileReceived",
    "FileRejected",
    "MtkReceived",
]
