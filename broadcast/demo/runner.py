"""``mbms demo``: every procedure end to end, in one process and one event loop on 127.N.0.0/16
(default N = 100; ``--net N``, :class:`broadcast.demo.plan.Plan`).

1. **Setup** (fresh temporary directory, removed at the end): sample files, one SQLite store
   for the BM-SC's key store, its tables and the GBA simulator; per UE a GBA bootstrap (B-TID,
   Ks_(ext)_NAF), a subscription to both Key Groups and a TOML configuration
   (:mod:`broadcast.demo.scenario`).
2. **BM-SC** (:class:`~broadcast.aio.bmsc.service.BmscService`): HTTP Digest MSK request server on
   an ephemeral port, MSK push with MIKEY ACK. The announcement (protection description with its
   key management URI, both SDPs) is written.
3. **UEs** (:class:`~broadcast.aio.ue.service.ReferenceUe`, each from its TOML file): they open
   their sockets and request the current MSK of both Key Groups (Digest challenge, 200 with
   ``rspauth``); the BM-SC pushes the MSKs, the UEs verify and ACK them. The demo waits until
   every UE holds both.
4. **Senders**: the protected stream (:class:`~broadcast.aio.streaming.service.StreamService`)
   carrying real media (:mod:`broadcast.demo.media_ingest`: VP8 + Opus, paced by presentation
   time, handed to the service as its ingest object) and the protected carousel
   (:class:`~broadcast.aio.download.service.CarouselService`) of the sample files. Both send to a
   nominal destination; the fan-out replicates every datagram to every UE's own address
   (:mod:`broadcast.demo.plan`), MTK messages included.
5. **Run** for ``duration`` seconds (:mod:`broadcast.demo.timeline`): MTK switches, one MSK
   rotation of both Key Groups (NEXT pushed and ACKed, promoted later), a carousel MTK change.
   A live view shows each UE's progress.
6. **Verdict**: the senders stop, the UEs drain what is in flight, every UE's report is checked
   against what was sent (:mod:`broadcast.demo.report`); the table is printed, ``--json``
   written. Every socket is closed and the directory removed, so the demo can run again at once.

``--loss P`` drops P % of what reaches every UE socket (seeded, :mod:`broadcast.demo.link`),
``--pcap`` captures the UDP traffic, ``--keylog`` writes every MSK and MTK (mode 0600),
``--decode-media`` decodes the decrypted RTP on every UE (:class:`broadcast.demo.media.MediaCheck`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
import random
import shutil
import signal
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TextIO

from broadcast.aio import clock
from broadcast.aio.bmsc.service import BmscService
from broadcast.aio.download.service import CarouselService
from broadcast.aio.streaming.service import StreamService
from broadcast.aio.ue.keylog import KeyLog
from broadcast.aio.ue.service import ReferenceUe
from broadcast.config.ue import load_config
from broadcast.demo import scenario
from broadcast.demo.fanout import FanOutOutput
from broadcast.demo.link import DemoLink
from broadcast.demo.live import LiveView, RunProgress, UeProgress
from broadcast.demo.media import MediaCheck, MediaGeneratorConfig
from broadcast.demo.media_ingest import MediaIngest, MediaIngestConfig
from broadcast.demo.observe import SenderObserver
from broadcast.demo.pcap import PcapWriter
from broadcast.demo.plan import DEFAULT_NET, DOWNLOAD_KEY_GROUP, MAX_UES, STREAM_KEY_GROUP, Plan
from broadcast.demo.report import Expectations, build_report, evaluate_ue
from broadcast.demo.timeline import Timeline
from broadcast.engine.bmsc.keymgmt import PushReport
from broadcast.proto.keys.errors import KeyModelError
from broadcast.proto.keys.ids import MskId
from broadcast.store.bmsc import SQLiteBmscStore
from broadcast.store.gba_sim import SQLiteGbaStore
from broadcast.store.keys import SQLiteKeyStore

log = logging.getLogger("broadcast.demo")

#: How long the UEs may take to register and hold both MSKs before the senders start anyway.
REGISTRATION_TIMEOUT_S: Final = 20.0
#: Seconds the UEs get after the senders stopped to process what is still in flight.
DRAIN_S: Final = 1.0
#: How often the senders' MTKs are sampled (an MTK lasts seconds).
SAMPLE_S: Final = 0.1
FEC_CHOICES: Final = ("compact-no-code", "raptor")
GROUPS: Final = (STREAM_KEY_GROUP, DOWNLOAD_KEY_GROUP)

Json = dict[str, Any]


class DemoError(Exception):
    """The demo could not be set up (the text says why)."""


@dataclass(frozen=True, slots=True)
class DemoOptions:
    duration: float = 60.0
    ues: int = 5
    loss: float = 0.0
    seed: int = 1
    fec: str = "compact-no-code"
    decode_media: bool = False
    pcap: Path | None = None
    keylog: Path | None = None
    #: The second octet of the address plan: the demo runs on 127.net.0.0/16.
    net: int = DEFAULT_NET
    registration_timeout: float = REGISTRATION_TIMEOUT_S
    drain: float = DRAIN_S

    def __post_init__(self) -> None:
        if not 1 <= self.ues <= MAX_UES:
            raise ValueError(f"the number of UEs must be 1..{MAX_UES}")
        Plan(self.net)  # ValueError when out of range
        if not 0 <= self.loss < 100:
            raise ValueError("the loss must be 0..100 % (exclusive)")
        if self.fec not in FEC_CHOICES:
            raise ValueError(f"the FEC must be one of {', '.join(FEC_CHOICES)}")

    def to_json(self) -> Json:
        return {
            "duration_s": self.duration,
            "ues": self.ues,
            "loss_percent": self.loss,
            "seed": self.seed,
            "fec": self.fec,
            "decode_media": self.decode_media,
            "pcap": None if self.pcap is None else str(self.pcap),
            "keylog": None if self.keylog is None else str(self.keylog),
            "net": self.net,
        }

    @property
    def plan(self) -> Plan:
        """The run's address plan (127.net.0.0/16)."""
        return Plan(self.net)


@dataclass
class _Ue:
    setup: scenario.UeSetup
    ue: ReferenceUe
    link: DemoLink
    media: MediaCheck | None


class _Demo:
    """One run (see the module doc); :meth:`close` releases everything it opened."""

    def __init__(self, options: DemoOptions, timeline: Timeline, workdir: Path, view: LiveView):
        self.opts = options
        self.timeline = timeline
        self.workdir = workdir
        self.view = view
        self.plan = options.plan
        self.observer = SenderObserver()
        self.ues: list[_Ue] = []
        self.files: list[scenario.SampleFile] = []
        self.rotations: dict[int, list[Json]] = {g: [] for g in GROUPS}
        self._closers: list[Callable[[], Awaitable[None]]] = []
        self.key_store: SQLiteKeyStore | None = None
        self.bmsc: BmscService | None = None
        self.stream: StreamService | None = None
        self.carousel: CarouselService | None = None
        #: True once the stream runs (the senders are stopped and judged at the end).
        self.senders_started = False
        self.pcap: PcapWriter | None = None
        self.phase = "setup"
        self.t0 = clock.monotonic()
        self.registration_s: float | None = None
        self.media: MediaIngest | None = None
        #: Set by SIGINT/SIGTERM: the run ends early, the verdict is still given.
        self.interrupted = asyncio.Event()

    def _closing(self, fn: Callable[[], Awaitable[None]]) -> None:
        self._closers.append(fn)

    async def close(self) -> None:
        """Undo everything, newest first; a failure is logged and the rest still runs."""
        while self._closers:
            fn = self._closers.pop()
            try:
                await fn()
            except Exception:
                log.exception("demo cleanup step failed")

    # -- setup -----------------------------------------------------------------------------------
    async def _setup(self) -> None:
        opts, wd, plan = self.opts, self.workdir, self.plan
        self.files = scenario.make_sample_files(wd / "outbox", opts.seed)
        db = wd / "bmsc.db"
        bcfg = scenario.bmsc_config(db, plan=plan)
        key_store = SQLiteKeyStore(db)
        self.key_store = key_store
        self._closing(_sync(key_store.close))
        bstore = SQLiteBmscStore(db)
        self._closing(_sync(bstore.close))
        gba = SQLiteGbaStore(db, bsf_domain=bcfg.gba.bsf_domain)
        self._closing(_sync(gba.close))
        setups = scenario.enrol_ues(
            opts.ues,
            workdir=wd,
            gba=gba,
            store=bstore,
            config=bcfg,
            now_unix=clock.unix(),
            plan=plan,
        )
        bmsc = BmscService(bcfg, key_store=key_store, store=bstore, gba=gba)
        try:
            await bmsc.start()
        except OSError as exc:
            await bmsc.stop()
            raise DemoError(
                f"the BM-SC cannot listen on {plan.bmsc_host}: {exc} (is another demo running on "
                f"{plan.network}? choose another --net)"
            ) from exc
        self.bmsc = bmsc
        self._closing(bmsc.stop)
        self.view.note(f"BM-SC key management URI {bmsc.url}; {opts.ues} UEs enrolled")

        kd = bcfg.key_domain
        hosts = plan.ue_hosts(opts.ues)
        scfg = scenario.stream_config(db, kd, self.timeline, plan=plan)
        stream_out = FanOutOutput(
            {plan.stream_nominal: hosts}, scfg.output, tap=self.observer.on_stream_datagram
        )
        self._closing(_sync(stream_out.close))
        # The media source is the stream's ingest: the service starts it with the session and
        # runs it once the first MTK message has left; the first frame waits one lead time more
        # (the first MTK is current at once, with no earlier key: let its message be sent and
        # re-sent for one lead, like every later MTK's, before the first media packet).
        first_seq = random.Random(f"mbms-demo-media/{opts.seed}").randrange(1 << 16)
        self.media = MediaIngest(
            MediaIngestConfig(
                MediaGeneratorConfig(first_sequence=first_seq),
                delay=self.timeline.stream_mtk_lead,
            )
        )
        self.stream = StreamService(scfg, store=key_store, output=stream_out, ingest=self.media)
        ccfg = scenario.carousel_config(
            store=db,
            key_domain=kd,
            bmsc_fqdn=bcfg.fqdn,
            key_management_uri=bmsc.url,
            inputs=wd / "outbox",
            spool=wd / "spool",
            timeline=self.timeline,
            fec=opts.fec,
            plan=plan,
        )
        carousel_out = FanOutOutput({plan.carousel_nominal: hosts}, ccfg.output)
        self._closing(_sync(carousel_out.close))
        self.carousel = CarouselService(ccfg, store=key_store, output=carousel_out)
        scenario.write_announcement(
            wd / "announcement",
            stream_sdp=self.stream.sdp(),
            carousel=ccfg,
            bmsc_fqdn=bcfg.fqdn,
            key_domain=kd,
            key_management_uri=bmsc.url,
            plan=plan,
        )

        if opts.pcap is not None:
            self.pcap = PcapWriter(opts.pcap)
            self._closing(_sync(self.pcap.close))
        keylog = None
        if opts.keylog is not None:
            keylog = KeyLog(opts.keylog, unique=True)
            self._closing(_sync(keylog.close))
        for s in setups:
            link = DemoLink(
                s.index, loss_percent=opts.loss, seed=opts.seed, pcap=self.pcap, plan=plan
            )
            check = MediaCheck(scenario.VIDEO_PT, scenario.AUDIO_PT) if opts.decode_media else None
            ue = ReferenceUe(
                load_config(s.config_file),
                consumer=None if check is None else check.feed,
                link=link,
                keylog=keylog,
            )
            self.ues.append(_Ue(s, ue, link, check))
            try:
                await ue.start()
            except OSError as exc:
                await ue.stop()
                raise DemoError(
                    f"UE {s.index} cannot open its sockets: {exc} (is another demo running on "
                    f"{plan.network}? choose another --net)"
                ) from exc
            self._closing(ue.stop)

    # -- phases ----------------------------------------------------------------------------------
    def _registered(self) -> bool:
        for u in self.ues:
            groups = {e.msk_id.key_group for e in u.ue.msks.entries()}
            km = u.ue.key_management
            if not set(GROUPS) <= groups or km is None or not km.initial_done.is_set():
                return False
        return True

    async def _register(self) -> bool:
        self.phase = "register"
        start = clock.monotonic()
        while clock.monotonic() - start < self.opts.registration_timeout:
            if self.interrupted.is_set():
                break
            if self._registered():
                self.registration_s = clock.monotonic() - start
                return True
            self._show(clock.monotonic() - start)
            await asyncio.sleep(0.05)
        return self._registered()

    async def _start_senders(self) -> None:
        assert self.stream is not None and self.carousel is not None
        stream = self.stream
        try:
            await stream.start()
        except Exception as exc:
            raise DemoError(f"the stream cannot start: {exc}") from exc
        self._closing(stream.stop)
        self.senders_started = True
        # The carousel and the run's clock start with the first media frame (one lead later).
        await asyncio.sleep(self.timeline.stream_mtk_lead)
        try:
            await self.carousel.start()
        except Exception as exc:
            raise DemoError(f"the carousel cannot start: {exc}") from exc
        self._closing(self.carousel.stop)
        self.observer.sample(self.stream, self.carousel)

    async def _rotate(self) -> None:
        """The MSK rotation of both Key Groups: NEXT created and pushed now, promoted later."""
        assert self.bmsc is not None and self.key_store is not None
        for group in GROUPS:
            before = self._current(group)
            try:
                report: PushReport = await self.bmsc.rotate(
                    group, promote_after=self.timeline.msk_promote_after
                )
            except KeyModelError as exc:
                self.view.note(f"MSK rotation of Key Group {group} failed: {exc}")
                continue
            self.rotations[group].append(
                {"from": before, "to": str(report.msk_id), "pushed": report.pushed}
            )
            self.view.note(
                f"t={self._elapsed():.1f}s: Key Group {group}: NEXT MSK {report.msk_id} pushed "
                f"to {report.pushed} UEs, current from t="
                f"{self.timeline.msk_promoted_at:.1f}s"
            )

    async def _run(self) -> None:
        self.phase = "run"
        self.t0 = clock.monotonic()
        rotated = False
        while True:
            elapsed = self._elapsed()
            if elapsed >= self.timeline.duration:
                break
            if self.interrupted.is_set():
                self.view.note(f"t={elapsed:.1f}s: interrupted, stopping the senders")
                break
            self.observer.sample(self.stream, self.carousel)
            if not rotated and elapsed >= self.timeline.msk_rotation_at:
                rotated = True
                await self._rotate()
            self._show(elapsed)
            await asyncio.sleep(min(SAMPLE_S, max(0.0, self.timeline.duration - elapsed)))
        self.observer.sample(self.stream, self.carousel)

    async def _stop_senders(self) -> tuple[Json, Json]:
        assert self.stream is not None and self.carousel is not None
        self.phase = "drain"
        await self.stream.stop()  # the media source (its ingest) first, then the MTK timers
        self.observer.sample(self.stream, self.carousel)
        carousel_stats = self.carousel.stats
        await self.carousel.stop()
        status = self.stream.status()
        start = clock.monotonic()
        while clock.monotonic() - start < self.opts.drain:
            self._show(self._elapsed())
            await asyncio.sleep(0.05)
        stream_json = _plain(dataclasses.asdict(status))
        carousel_json = _plain(dataclasses.asdict(carousel_stats))
        return stream_json, carousel_json

    # -- progress --------------------------------------------------------------------------------
    def _elapsed(self) -> float:
        return clock.monotonic() - self.t0 if self.phase in ("run", "drain") else 0.0

    def _current(self, group: int) -> str:
        assert self.key_store is not None and self.bmsc is not None
        try:
            rec = self.key_store.get_msk(self.bmsc.config.key_domain, MskId.current(group))
        except KeyModelError:
            return "-"
        return str(rec.msk_id)

    def _progress(self, u: _Ue) -> UeProgress:
        ue = u.ue
        km = ue.key_management
        st = ue.streaming[0][1].stats if ue.streaming else None
        dl = ue.download[0][1] if ue.download else None
        names = {s.name for s in self.files}
        got = {str(f["name"]) for f in dl.files} & names if dl is not None else set()
        return UeProgress(
            index=u.setup.index,
            msks=len(ue.msks),
            acks=0 if km is None else km.client.stats["ack_sent"],
            stream_mtks=sum(len(v) for v in ue.streaming_mtk_ids.values()),
            srtp_decrypted=0 if st is None else st.srtp_decrypted,
            srtp_undecryptable=0 if st is None else st.srtp_undecryptable_total,
            download_mtks=0 if dl is None else dl.counters.mtks,
            files=len(got),
            files_expected=len(names),
            dropped=sum(u.link.dropped.values()),
            state=self.phase,
        )

    def _show(self, elapsed: float) -> None:
        now = clock.monotonic()
        if not self.view.due(now):
            return
        status = (
            self.stream.status() if self.stream is not None and self.phase != "register" else None
        )
        carousel = self.carousel.mtk if self.carousel is not None else None
        run = RunProgress(
            phase=self.phase,
            elapsed=elapsed,
            duration=self.timeline.duration,
            stream_mtk=None
            if status is None or status.mtk_id is None
            else f"{status.msk_id}/{status.mtk_id}",
            switches=0 if status is None else status.switches,
            carousel_mtk=None if carousel is None else f"{carousel.msk_id}/{carousel.mtk_id}",
            current_msks=" ".join(f"{g}:{self._current(g)}" for g in GROUPS),
        )
        self.view.show(now, run, [self._progress(u) for u in self.ues])

    # -- verdict ---------------------------------------------------------------------------------
    def _msk_facts(self) -> tuple[dict[int, tuple[str, ...]], Json, int]:
        assert self.key_store is not None and self.bmsc is not None
        kd = self.bmsc.config.key_domain
        made: dict[int, tuple[str, ...]] = {}
        info: Json = {}
        completed = []
        for group in GROUPS:
            ids = tuple(str(m.msk_id) for m in self.key_store.list_msks(kd, group))
            made[group] = ids
            current = self._current(group)
            done = [r for r in self.rotations[group] if r["to"] == current]
            completed.append(len(done))
            info[str(group)] = {
                "msks": list(ids),
                "current": current,
                "rotations": self.rotations[group],
            }
        return made, info, min(completed) if completed else 0

    def _disk_md5(self, u: _Ue) -> dict[str, str]:
        out: dict[str, str] = {}
        for sample in self.files:
            path = u.setup.output_dir / sample.name
            try:
                out[sample.name] = hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
            except OSError:
                continue
        return out

    def _watch_signals(self) -> Callable[[], None]:
        """SIGINT/SIGTERM end the run early (the cleanup and the verdict still happen)."""
        loop = asyncio.get_running_loop()
        installed = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self.interrupted.set)
                installed.append(sig)

        def remove() -> None:
            for sig in installed:
                loop.remove_signal_handler(sig)

        return remove

    async def run(self) -> Json:
        unwatch = self._watch_signals()
        try:
            return await self._run_all()
        finally:
            unwatch()

    async def _run_all(self) -> Json:
        await self._setup()
        registered = await self._register()
        if not registered:
            self.view.note("not every UE holds both MSKs yet: starting the senders anyway")
        else:
            self.view.note(
                f"{len(self.ues)} UEs registered and hold both MSKs after "
                f"{self.registration_s:.2f} s; starting the stream and the carousel"
            )
        if not self.interrupted.is_set():
            await self._start_senders()
            await self._run()
        return await self._verdict(registered)

    async def _verdict(self, registered: bool) -> Json:
        stream_json: Json = {}
        carousel_json: Json = {}
        if self.senders_started:
            stream_json, carousel_json = await self._stop_senders()
        made, msk_info, rotations = self._msk_facts()
        status = self.stream.status() if self.stream is not None else None
        expect = Expectations(
            stream_mtks_sent=tuple(self.observer.stream_sent),
            stream_mtks_used=tuple(self.observer.stream_used),
            carousel_mtks=tuple(self.observer.carousel),
            msks=made,
            srtp_sent=0 if status is None else status.srtp_out,
            srtcp_sent=0 if status is None else status.srtcp_out,
            files=tuple(self.files),
            lossless=self.opts.loss == 0,
            decode_media=self.opts.decode_media,
        )
        ue_sections = []
        for u in self.ues:
            media = None
            if u.media is not None:
                m = u.media.stats
                media = {
                    "video_frames": m.video_frames,
                    "audio_frames": m.audio_frames,
                    "undecodable": m.undecodable,
                    "incomplete": m.incomplete,
                }
            ue_sections.append(
                evaluate_ue(
                    index=u.setup.index,
                    impi=u.setup.impi,
                    b_tid=u.setup.b_tid,
                    ue=u.ue.report().to_json(),
                    link={
                        "received": dict(u.link.received),
                        "dropped": dict(u.link.dropped),
                        "sent": dict(u.link.sent),
                    },
                    media=media,
                    disk_md5=self._disk_md5(u),
                    expect=expect,
                )
            )
        assert self.bmsc is not None
        summary: Json = {
            "mtk_switches": 0 if status is None else status.switches,
            "msk_rotations": rotations,
            "registered": registered,
            "registration_s": None
            if self.registration_s is None
            else round(self.registration_s, 3),
            "msk": msk_info,
            "stream": {
                "mtks_sent": list(self.observer.stream_sent),
                "mtks_used": list(self.observer.stream_used),
                "mikey_messages": self.observer.stream_mikey_messages,
                "srtp_sent": expect.srtp_sent,
                "srtcp_sent": expect.srtcp_sent,
                "media_frames": 0 if self.media is None else self.media.frames,
                "status": stream_json,
            },
            "carousel": {"mtks": list(self.observer.carousel), "stats": carousel_json},
            "files": [{"name": f.name, "size": f.size, "md5": f.md5} for f in self.files],
            "bmsc": _plain(self.bmsc.snapshot()),
            "pcap_packets": None if self.pcap is None else self.pcap.packets,
        }
        summary["interrupted"] = self.interrupted.is_set()
        return build_report(
            options=self.opts.to_json(), timeline=self.timeline, summary=summary, ues=ue_sections
        )


def _sync(fn: Callable[[], object]) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        fn()

    return run


def _plain(value: Any) -> Any:
    """JSON-able copy (counters, enums and IDs as text)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return str(value)


async def run_demo(options: DemoOptions, out: TextIO, *, tty: bool) -> Json:
    """Run the demo (module doc); returns the report. DemoError when it cannot be set up."""
    timeline = Timeline.for_duration(options.duration)
    workdir = Path(tempfile.mkdtemp(prefix="mbms-demo-"))
    view = LiveView(out, tty=tty)
    demo = _Demo(options, timeline, workdir, view)
    try:
        return await demo.run()
    finally:
        await demo.close()
        shutil.rmtree(workdir, ignore_errors=True)


__all__ = ["FEC_CHOICES", "DemoError", "DemoOptions", "run_demo"]
