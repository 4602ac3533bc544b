"""The UE side of a protected carousel: FLUTE packets in, decrypted files out (sans-IO).

What a UE does with an MBMS download session (TS 33.246 §6.3.3, §6.5; profile.md Transport and
"Protection of the content"):

1. rebuild the transport objects of the FLUTE session
   (:class:`~broadcast.flute.receiver.SessionReceiver`: FDT Instances, Content-Encoding,
   Content-MD5, lengths);
2. objects whose FDT ``Content-Type`` is ``application/mikey`` are MTK messages: verify each
   with the MSK it names (:func:`broadcast.mikey.open_mtk_message`: MAC checked in constant time,
   MTK ID inside the MSK's range when that range is known) and keep the MTK;
3. every other object is a DCF (``application/vnd.oma.drm.dcf``): its ``MBMS-Key-ID`` header
   names the MTK (Key Domain ID ‖ MSK ID ‖ MTK ID); decrypt with it (the padding check rejects a
   wrong key before any plaintext is produced). A DCF whose MTK has not arrived yet waits —
   bounded in count and bytes — and is decrypted when its MIKEY object comes in.

Older MTKs are kept (a few per MSK) because during the grace period after a rotation the carousel
still sends files protected under the previous MTK. Accepting a verified but older MTK message is
harmless: a DCF names its MTK explicitly, so an old key only ever opens old content.

No socket, clock or thread: :meth:`DownloadReceiver.feed` takes the packet and ``now`` (NTP
seconds, :func:`broadcast.flute.ntp_seconds`). Key material never appears in reprs or messages.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Final

from broadcast import profile
from broadcast.dcf import DcfError, MbmsKeyId, parse_dcf
from broadcast.flute import (
    FdtFile,
    ReceivedObject,
    ReceiverConfig,
    SessionReceiver,
)
from broadcast.keys import KeyDomainId, Msk, MskId, Mtk, MtkId
from broadcast.mikey import Kind, MikeyError, envelope, open_mtk_message

#: MTKs kept per MSK (current and previous ones, for the grace period after a rotation).
MTKS_PER_MSK: Final = 8


@dataclass(frozen=True, slots=True)
class MtkReceived:
    """A verified MIKEY MTK object was received (only identifiers are exposed)."""

    key_id: MbmsKeyId
    counter: int
    content_location: str


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
    """An object that could not be used (bad MIKEY, bad DCF, unknown MSK, wrong key)."""

    content_location: str
    toi: int
    reason: str


DownloadEvent = MtkReceived | FileReceived | FileRejected


@dataclass(slots=True)
class DownloadStats:
    mtks: int = 0
    files: int = 0
    waiting: int = 0
    rejected: Counter[str] = field(default_factory=Counter)


@dataclass(slots=True)
class _Msk:
    msk: Msk
    valid: tuple[MtkId, MtkId] | None
    mtks: OrderedDict[MtkId, Mtk] = field(default_factory=OrderedDict)


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
        self._msks: dict[tuple[KeyDomainId, MskId], _Msk] = {}
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
        """Install an MSK (from an MSK message); MTK IDs outside ``valid_from..valid_to`` are
        refused when the range is given.

        MIKEY objects that arrived before their MSK (kept, a few) are opened now: the events
        they produce (MTKs, files waiting for them) are returned.
        """
        valid = None if valid_from is None or valid_to is None else (valid_from, valid_to)
        old = self._msks.get((key_domain, msk_id))
        state = _Msk(msk, valid)
        if old is not None and old.msk == msk:
            state.mtks = old.mtks
        self._msks[(key_domain, msk_id)] = state
        events: list[DownloadEvent] = []
        pending, self._unkeyed = self._unkeyed, OrderedDict()
        for obj in pending.values():
            events += self._mikey(obj)
        return events

    def mtk(self, key_id: MbmsKeyId) -> Mtk | None:
        state = self._msks.get((key_id.key_domain_id, key_id.msk_id))
        return None if state is None else state.mtks.get(key_id.mtk_id)

    # --- packets ---------------------------------------------------------------------------------
    def feed(self, packet: bytes, now: int) -> list[DownloadEvent]:
        """One ALC packet received at ``now`` (NTP seconds); returns what it completed."""
        out: list[DownloadEvent] = []
        for event in self.flute.feed(packet, now):
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
            return [self._reject(obj, "unprotected")]
        try:
            reader = parse_dcf(obj.data)
        except DcfError:
            return [self._reject(obj, "bad_dcf")]
        key_id = reader.mbms_key_id
        if key_id is None:
            return [self._reject(obj, "no_key_id")]
        if self.mtk(key_id) is None:
            return self._wait(obj, key_id)
        return [self._decrypt(obj, key_id)]

    def _mikey(self, obj: ReceivedObject) -> list[DownloadEvent]:
        try:
            env = envelope(obj.data)
            if env.kind is not Kind.MTK or env.mtk_id is None:
                return [self._reject(obj, "not_mtk_message")]
            state = self._msks.get((env.key_domain_id, env.msk_id))
            if state is None:
                self._unkeyed[obj.toi] = obj  # opened if the MSK comes (add_msk)
                while len(self._unkeyed) > MTKS_PER_MSK:
                    self._unkeyed.popitem(last=False)
                return [self._reject(obj, "unknown_msk")]
            delivery = open_mtk_message(env, state.msk)
        except MikeyError as err:
            return [self._reject(obj, f"mikey:{type(err).__name__}")]
        mtk_id = env.mtk_id
        if state.valid is not None and not state.valid[0] <= mtk_id <= state.valid[1]:
            return [self._reject(obj, "mtk_id_out_of_range")]
        state.mtks[mtk_id] = delivery.mtk
        state.mtks.move_to_end(mtk_id)
        while len(state.mtks) > MTKS_PER_MSK:
            state.mtks.popitem(last=False)
        self.stats.mtks += 1
        key_id = MbmsKeyId(env.key_domain_id, env.msk_id, mtk_id)
        events: list[DownloadEvent] = [MtkReceived(key_id, env.counter, obj.file.content_location)]
        for toi, (waiting, wanted) in list(self._waiting.items()):
            if wanted == key_id:
                del self._waiting[toi]
                self._waiting_bytes -= len(waiting.data)
                events.append(self._decrypt(waiting, wanted))
        self.stats.waiting = len(self._waiting)
        return events

    def _wait(self, obj: ReceivedObject, key_id: MbmsKeyId) -> list[DownloadEvent]:
        events: list[DownloadEvent] = []
        if len(obj.data) > self._max_waiting_bytes:
            return [self._reject(obj, "no_mtk")]
        self._waiting[obj.toi] = (obj, key_id)
        self._waiting_bytes += len(obj.data)
        while len(self._waiting) > self._max_waiting or (
            self._waiting_bytes > self._max_waiting_bytes
        ):
            _, (dropped, _) = self._waiting.popitem(last=False)
            self._waiting_bytes -= len(dropped.data)
            events.append(self._reject(dropped, "no_mtk"))
        self.stats.waiting = len(self._waiting)
        return events

    def _decrypt(self, obj: ReceivedObject, key_id: MbmsKeyId) -> DownloadEvent:
        mtk = self.mtk(key_id)
        assert mtk is not None
        try:
            reader = parse_dcf(obj.data)
            plain = reader.decrypt(mtk)
        except DcfError:
            return self._reject(obj, "dcf_decrypt")
        self.stats.files += 1
        return FileReceived(
            obj.file.content_location, plain, reader.content_type, key_id, obj.toi, obj.file
        )

    def _reject(self, obj: ReceivedObject, reason: str) -> FileRejected:
        self.stats.rejected[reason] += 1
        return FileRejected(obj.file.content_location, obj.toi, reason)


__all__ = [
    "MTKS_PER_MSK",
    "DownloadEvent",
    "DownloadReceiver",
    "DownloadStats",
    "FileReceived",
    "FileRejected",
    "MtkReceived",
]
