"""The reference UE: reads a User Service's announcement and receives its protected sessions.

TS 33.246 6.3.2.2.2 decides whether the UE starts at all:

- both confidentiality and integrity off: "the UE should not initiate key management" — the
  UE does nothing and says so (status ``not-protected``);
- UICC key management required: "the UE should only try to access the MBMS user service if the
  used UICC application is capable of MBMS key management" — this UE is ME-based (GBA_ME,
  profile.md "Keys from GBA"), so it refuses with :class:`UiccKeyManagementRequired` (status
  ``refused``).

Otherwise it loads the MSKs it was given into its
:class:`~broadcast.engine.ue.service_keys.MskStore` and, with ``[msk_client]`` configured, runs the
MSK procedures (:class:`~broadcast.aio.ue.key_management.UeKeyManagement`: HTTP Digest MSK request
for every announced Key Group, verified MSK pushes into the same store, MIKEY ACKs, solicited pulls,
re-requests after missed updates), then receives every streaming session
(:class:`~broadcast.aio.ue.streaming.StreamingClient`) and every FLUTE download session
(:class:`~broadcast.aio.ue.download.DownloadClient`) of the announcement. Missed MSK updates seen
in the traffic (6.3.2.2.3) — an MTK message or SRTP MKI naming an unknown MSK, on the streaming
and the download path — are recorded and passed to the listeners registered with
:meth:`ReferenceUe.on_missed_msk` (the MSK client's re-request). :meth:`ReferenceUe.report`
gives the final :class:`~broadcast.engine.ue.report.UeReport`. A
:class:`~broadcast.engine.ue.link.Link` sees every datagram of every socket (simulated loss and
capture in the loopback demo).

Usable programmatically in one event loop::

    ue = ReferenceUe(config)
    async with ue:
        await asyncio.sleep(10)
    print(ue.report().to_text())
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable, Mapping
from typing import Final

from broadcast.aio import clock
from broadcast.aio.service import AsyncService
from broadcast.aio.ue.download import DownloadClient, DownloadConfig
from broadcast.aio.ue.key_management import UeKeyManagement
from broadcast.aio.ue.keylog import KeyLog
from broadcast.aio.ue.streaming import StreamingClient, StreamingConfig
from broadcast.config.ue import UeConfig, ue_srtp
from broadcast.engine.ue.download_receiver import FileReceived
from broadcast.engine.ue.errors import UiccKeyManagementRequired
from broadcast.engine.ue.link import Link
from broadcast.engine.ue.mtk_gate import MtkGate
from broadcast.engine.ue.report import (
    STATUS_NOT_PROTECTED,
    STATUS_RAN,
    STATUS_REFUSED,
    JsonValue,
    SessionReport,
    UeReport,
)
from broadcast.engine.ue.service_keys import MskEntry, MskStore
from broadcast.engine.ue.stream_receiver import MissedMskHook, RtpConsumer, StreamReceiver
from broadcast.proto.announce.announcement import ServiceAnnouncement, load_announcement
from broadcast.proto.announce.protection import ProtectionDescription
from broadcast.proto.dcf import MbmsKeyId
from broadcast.proto.keys.ids import KeyDomainId, MskId
from broadcast.proto.keys.material import Mtk
from broadcast.proto.mikey.mbms import MtkDelivery
from broadcast.proto.mikey.srtp_policy import SrtpPolicy
from broadcast.proto.srtp.settings import SrtpConfig, srtp_policy
from broadcast.time import MonotonicClock, Rand, UnixClock

log = logging.getLogger("broadcast.ue")

#: This reference UE has no UICC capable of MBMS key management (GBA_ME) [P].
ME_BASED: Final = True
#: MTK IDs listed per streaming session in the report (the most recent ones).
MAX_LISTED_MTKS: Final = 4096

NOT_PROTECTED_MESSAGE: Final = (
    "the announcement says confidentiality and integrity protection are both off: no key "
    "management is initiated (TS 33.246 6.3.2.2.2), nothing to do"
)
UICC_REQUIRED_MESSAGE: Final = (
    "the announcement requires UICC key management; this UE is ME-based (no MBMS-capable UICC "
    "application), so it does not access the service (TS 33.246 6.3.2.2.2)"
)


def default_srtp_policy(
    protection: ProtectionDescription,
    srtp: SrtpConfig | None,
    *,
    announcement: str = "the announcement",
    source: str | None = None,
) -> SrtpPolicy:
    """The SRTP policy used until an MSK brings one (:func:`broadcast.config.ue.ue_srtp`):
    ``srtp`` when configured (ConfigError when it contradicts the announcement), else the
    profile default with the NULL cipher for confidentiality off and NULL auth for integrity
    off."""
    return srtp_policy(
        ue_srtp(
            srtp,
            confidentiality=protection.confidentiality,
            integrity=protection.integrity,
            announcement=announcement,
            source=source,
        )
    )


class ReferenceUe(AsyncService):
    """The UE of one User Service (see the module doc)."""

    def __init__(
        self,
        config: UeConfig,
        announcement: ServiceAnnouncement | None = None,
        *,
        msk_store: MskStore | None = None,
        consumer: RtpConsumer | None = None,
        on_file: Callable[[FileReceived], None] | None = None,
        clock_mono: MonotonicClock = clock.monotonic,
        clock_unix: UnixClock = clock.unix,
        rand: Rand = os.urandom,
        link: Link | None = None,
        keylog: KeyLog | None = None,
    ) -> None:
        """``keylog``: a key log shared with others (left open at stop); otherwise
        ``config.keylog`` names this UE's own file."""
        self.config = config
        self.announcement = announcement
        self.msks = msk_store if msk_store is not None else MskStore()
        self.consumer = consumer
        self.on_file = on_file
        self.clock_mono = clock_mono
        self.clock_unix = clock_unix
        self.rand = rand
        self.link = link
        self._shared_keylog = keylog
        self.key_management: UeKeyManagement | None = None
        #: MTKs installed per streaming session URI, as ``MSK ID/MTK ID`` (most recent ones).
        self.streaming_mtk_ids: dict[str, deque[str]] = {}
        self.status: str | None = None
        self.message = ""
        self.streaming: list[tuple[str, StreamingClient]] = []
        self.download: list[tuple[str, DownloadClient]] = []
        self.missed: list[tuple[KeyDomainId, MskId]] = []
        self._missed_listeners: list[MissedMskHook] = []
        #: Counters of the MSK client, for the report's ``msk.client`` slot (e.g.
        #: ``ue.msk_client_counters = lambda: client.stats``).
        self.msk_client_counters: Callable[[], Mapping[str, int]] | None = None
        self._keylog: KeyLog | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._started: float | None = None
        self._stopped: float | None = None

    # -- hooks -----------------------------------------------------------------------------------
    def on_missed_msk(self, listener: MissedMskHook) -> None:
        """Call ``listener(key_domain_id, msk_id)`` when traffic shows a missed MSK update."""
        self._missed_listeners.append(listener)

    def _missed_msk(self, key_domain_id: KeyDomainId, msk_id: MskId) -> None:
        self.missed.append((key_domain_id, msk_id))
        for listener in tuple(self._missed_listeners):
            try:
                listener(key_domain_id, msk_id)
            except Exception:
                log.exception("missed-MSK listener failed")

    def _log_msk(self, entry: MskEntry) -> None:
        if self._keylog is not None:
            self._keylog.msk(entry.key_domain_id, entry.msk_id, entry.msk)

    def _on_stream_mtk(self, uri: str) -> Callable[[MtkDelivery], None]:
        ids = self.streaming_mtk_ids.setdefault(uri, deque(maxlen=MAX_LISTED_MTKS))

        def on_mtk(delivery: MtkDelivery) -> None:
            env = delivery.envelope
            ids.append(f"{env.msk_id}/{env.mtk_id}")
            self._log_mtk(delivery)

        return on_mtk

    def _log_mtk(self, delivery: MtkDelivery) -> None:
        env = delivery.envelope
        if self._keylog is not None and env.mtk_id is not None:
            self._keylog.mtk(env.key_domain_id, env.msk_id, env.mtk_id, delivery.mtk, delivery.salt)

    def _log_download_mtk(self, key_id: MbmsKeyId, mtk: Mtk) -> None:
        if self._keylog is not None:
            self._keylog.mtk(key_id.key_domain_id, key_id.msk_id, key_id.mtk_id, mtk, None)

    # -- life cycle ------------------------------------------------------------------------------
    def check(self) -> ServiceAnnouncement | None:
        """Read the announcement and decide: returns it when the UE is to run, None when there
        is nothing to do; raises :class:`UiccKeyManagementRequired` when the UE must refuse."""
        if self.announcement is None:
            self.announcement = load_announcement(
                self.config.protection_file, self.config.sdp_files
            )
        protection = self.announcement.protection
        if not protection.protected:
            self.status, self.message = STATUS_NOT_PROTECTED, NOT_PROTECTED_MESSAGE
            log.info("%s", NOT_PROTECTED_MESSAGE)
            return None
        if protection.uicc_key_management_required and ME_BASED:
            self.status, self.message = STATUS_REFUSED, UICC_REQUIRED_MESSAGE
            raise UiccKeyManagementRequired(UICC_REQUIRED_MESSAGE)
        return self.announcement

    async def start(self) -> None:
        """Check the announcement, then open every session; on failure nothing stays open."""
        announcement = self.check()
        self._started = self.clock_mono()
        if announcement is None:
            return
        try:
            await self._start(announcement)
        except BaseException:
            await self.stop()
            raise
        self.status = STATUS_RAN
        self.message = ""

    async def _start(self, announcement: ServiceAnnouncement) -> None:
        cfg = self.config
        protection = announcement.protection
        if self._shared_keylog is not None:
            self._keylog = self._shared_keylog
        elif cfg.keylog is not None:
            self._keylog = KeyLog(cfg.keylog)
        if self._keylog is not None:
            for entry in self.msks.entries():
                self._log_msk(entry)
        self._unsubscribe = self.msks.subscribe(self._log_msk)
        for entry in cfg.msks:
            self.msks.add(entry)
        policy = default_srtp_policy(
            protection,
            cfg.srtp,
            announcement=f"the announcement ({cfg.protection_file.name})",
            source=cfg.source,
        )
        kdid = protection.key_domain_id
        for session in announcement.streaming():
            groups = None if session.msk_id is None else frozenset({session.msk_id.key_group})
            receiver = StreamReceiver(
                keys=self.msks,
                policy=policy,
                key_domain_id=kdid,
                key_groups=groups,
                gate=MtkGate(),
                on_missed_msk=self._missed_msk,
                on_mtk=self._on_stream_mtk(session.uri),
                consumer=self.consumer,
            )
            client = StreamingClient(
                StreamingConfig(
                    session.streams,
                    listen_address=cfg.listen_address,
                    interface_address=cfg.interface_address,
                    mikey_port=cfg.mikey_port,
                    rtcp=cfg.rtcp,
                ),
                receiver,
                clock_mono=self.clock_mono,
                link=self.link,
            )
            self.streaming.append((session.uri, client))
            await client.start()
        for session in announcement.download():
            groups = None if session.msk_id is None else frozenset({session.msk_id.key_group})
            for channel in session.flute:
                dl = DownloadClient(
                    DownloadConfig(
                        channel,
                        listen_address=cfg.download_listen_address,
                        interface_address=cfg.interface_address,
                        output_dir=cfg.download_output_dir,
                        accept_unprotected=not protection.confidentiality,
                    ),
                    self.msks,
                    key_domain_id=kdid,
                    on_mtk=self._log_download_mtk,
                    on_file=self.on_file,
                    clock_unix=self.clock_unix,
                    clock_mono=self.clock_mono,
                    key_groups=groups,
                    on_missed_msk=self._missed_msk,
                    link=self.link,
                )
                self.download.append((session.uri, dl))
                await dl.start()
        if cfg.msk_client is not None:
            km = UeKeyManagement(
                cfg.msk_client,
                protection,
                self.msks,
                link=self.link,
                clock_mono=self.clock_mono,
                clock_unix=self.clock_unix,
                rand=self.rand,
            )
            self.key_management = km
            self.on_missed_msk(km.on_missed_msk)
            self.msk_client_counters = km.counters
            await km.start()

    async def stop(self) -> None:
        """Close every socket and the key log (idempotent)."""
        if self.key_management is not None:
            await self.key_management.stop()
        for _, client in self.streaming:
            await client.stop()
            client.receiver.close()
        for _, dl in self.download:
            await dl.stop()
            dl.close()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._keylog is not None:
            if self._keylog is not self._shared_keylog:
                self._keylog.close()
            self._keylog = None
        if self._started is not None and self._stopped is None:
            self._stopped = self.clock_mono()

    # -- report ----------------------------------------------------------------------------------
    def report(self) -> UeReport:
        """The counters so far (or of the finished run)."""
        duration = None
        if self._started is not None:
            end = self._stopped if self._stopped is not None else self.clock_mono()
            duration = end - self._started
        rep = UeReport(self.status or "not started", self.message, duration)
        if self.announcement is not None:
            p = self.announcement.protection
            service: dict[str, JsonValue] = {
                "confidentiality": p.confidentiality,
                "integrity": p.integrity,
                "uicc_key_management_required": p.uicc_key_management_required,
                "key_domain_id": None if p.key_domain_id is None else str(p.key_domain_id),
                "msk_ids": [str(m) for m in p.msk_ids],
                "key_management_uri": None if p.key_management is None else p.key_management.uri,
                "sessions": [s.uri for s in self.announcement.sessions],
            }
            rep.service = service
        added: dict[str, JsonValue] = dict(self.msks.added)
        ids: list[JsonValue] = [f"{e.key_domain_id}/{e.msk_id}" for e in self.msks.entries()]
        rep.msk = {"known": len(self.msks), "added": added, "ids": ids}
        if self.msk_client_counters is not None:
            client_counters: dict[str, JsonValue] = dict(self.msk_client_counters())
            rep.msk["client"] = client_counters
        if self.key_management is not None:
            rep.msk["key_management"] = self.key_management.summary()
        for uri, client in self.streaming:
            counters = client.stats.as_dict()
            counters["roc_resyncs"] = client.receiver.roc_resyncs
            counters["mtk_ids"] = list(self.streaming_mtk_ids.get(uri, ()))
            rep.streaming.append(
                SessionReport(
                    uri,
                    "streaming",
                    [f"{h}:{p} ({w})" for h, p, w in client.endpoints],
                    counters,
                )
            )
        for uri, dl in self.download:
            dl_counters = dl.as_dict()
            rep.download.append(
                SessionReport(
                    uri, "download", [f"{h}:{p} ({w})" for h, p, w in dl.endpoints], dl_counters
                )
            )
        rep.missed_msk_updates = [f"{k}/{m}" for k, m in self.missed]
        return rep
