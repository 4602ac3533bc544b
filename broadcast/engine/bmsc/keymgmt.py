"""The BM-SC side of the MSK procedures, on the stores, with ``now_unix`` and ``rand`` injected
(TS 33.246 6.3.2.2-6.3.2.3; profile.md "MIKEY", "Transport").

Every time is Unix seconds (:data:`~broadcast.time.UnixS`, the BM-SC's wall clock): it is what
the stores keep (MUK and GBA expiry, delivery rows, the rotation schedule).

No sockets and no clock: the asyncio service (:mod:`broadcast.aio.bmsc.service`) calls in with the
current time and sends what this module records.

* :meth:`KeyManagement.handle_request` — an authenticated MSK request: a status per requested
  MSK ID (200 / 403 / 404 / 410), registration of the UE for every Key Group it may receive
  (the first request = initiation of key management, 6.3.2.2.2), the MUK stored with its GBA
  lifetime, and :class:`DeliveryJob` s for the MSK messages to push.
* :meth:`KeyManagement.build_deliveries` — jobs -> MSK delivery messages: one MUK counter per
  message from the key store (durable before the message exists), V bit when the group asks for
  ACKs, the SRTP policy (SP) for streaming groups; recorded in the BM-SC store (the scheduler
  sends them after the configured delay).
* rotation — :meth:`create_next` (a NEXT MSK with a random key and the group's MTK ID range),
  :meth:`push_to_group` (one message per registered UE built with the native batch builder,
  chunked so that memory stays bounded; a UE whose MUK has expired gets a solicited pull
  instead), :meth:`promote` (NEXT -> CURRENT, old CURRENT retired), :meth:`due_rotations`.
* :meth:`solicited_pull` — 6.3.2.2.4: Key Number 0, KEMAC MAC only, under the most recent MUK
  of the UE even past its GBA lifetime (NOTE 1).
* :meth:`check_ack` — a MIKEY ACK: find the delivery it answers (IDr, COUNTER, CSB ID), verify
  the V payload with the MUK (``verify_ack``).

Bulk work: the MUK counters of a batch of messages come from ONE durable transaction
(``KeyStore.next_counters_for_muks``; :func:`allocate_muk_counters` falls back to one transaction
per MUK for a store without it), a rotation chunk's counters and MUKs from one pass
(``next_counters_with_muks``), messages from the native batch builder (one call per MSK when a
batch has :data:`NATIVE_BUILD_MIN` messages or more), delivery rows from one ``executemany``
transaction per batch or chunk; a round reads registrations as light rows, :data:`PUSH_CHUNK` at
a time. The MSK request path keeps what TS 33.220 lets a NAF keep — Ks_(ext)_NAF per B-TID until
its lifetime ends (:data:`NAF_KEY_CACHE` entries) — and reads the UE's subscription,
registration and pending pulls in one statement (so a removed subscription counts at once).
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from broadcast import profile
from broadcast.engine.bmsc.settings import BmscConfig, KeyGroupConfig
from broadcast.proto.keys.errors import DuplicateKey, KeyStateError, UnknownKey
from broadcast.proto.keys.ids import KeyDomainId, MskId, MtkId, MukId
from broadcast.proto.keys.material import Msk, Muk
from broadcast.proto.keys.store import KeyStore, MskRecord, MskState, MukRecord
from broadcast.proto.mikey.batch import MskPushTarget, build_msk_messages
from broadcast.proto.mikey.errors import MikeyError
from broadcast.proto.mikey.mbms import Envelope, Kind, build_solicited_pull, envelope, verify_ack
from broadcast.proto.mikey.srtp_policy import SrtpPolicy
from broadcast.proto.msk.gba import GbaKeySource, GbaMiss, NafKey, muk_id_for, naf_id
from broadcast.proto.msk.msk_xml import MskRequest, MskStatus
from broadcast.proto.msk.store import (
    BmscStore,
    Delivery,
    DeliveryKind,
    NewDelivery,
    Registration,
    RegistrationRow,
    UeGroupState,
)
from broadcast.proto.srtp.settings import srtp_policy
from broadcast.time import Rand, UnixS

log = logging.getLogger("broadcast.bmsc")

#: UEs handled per chunk of a rotation push: bounds memory for a million UEs (~1 kB per UE in a
#: chunk), and each chunk is one transaction for its counters and one for its deliveries (fewer,
#: larger transactions rewrite each index page less often).
PUSH_CHUNK = 100_000
#: B-TIDs whose Ks_(ext)_NAF (and MUK ID, MUK) the NAF keeps until the key lifetime ends
#: (TS 33.220 4.5.3: the NAF stores the NAF-specific keys for their lifetime).
NAF_KEY_CACHE = 100_000
#: Messages of one MSK in one batch from which the native batch builder is used (below it the
#: two reference messages the native path builds for its self-check cost more than it saves).
NATIVE_BUILD_MIN = 8
#: Seconds a cached view of a group's CURRENT/NEXT MSK may be used.
GROUP_CACHE_S = 1.0
#: The registration times of a registration a push round rebuilds from a light row (unused).
_EPOCH = UnixS(0.0)


def allocate_muk_counters(key_store: KeyStore, muk_ids: Sequence[MukId]) -> list[int]:
    """One new TS counter per MUK ID, each durable before it is returned.

    Uses the store's ``next_counters_for_muks`` (one transaction for all) when it has one, else
    one ``next_counter_for_muk`` transaction per MUK.
    """
    bulk: Callable[[Sequence[MukId]], Sequence[int]] | None = getattr(
        key_store, "next_counters_for_muks", None
    )
    if bulk is not None:
        values = list(bulk(muk_ids))
        if len(values) != len(muk_ids):
            raise RuntimeError("next_counters_for_muks returned the wrong number of counters")
        return values
    return [key_store.next_counter_for_muk(m) for m in muk_ids]


@dataclass(frozen=True, slots=True)
class DeliveryJob:
    """Push these MSKs of one Key Group to one registered UE, not before ``not_before``.

    ``muk``: the UE's MUK as just stored by the request (None: read it from the key store)."""

    registration: Registration
    msks: tuple[MskRecord, ...]
    not_before: UnixS
    muk: MukRecord | None = None


@dataclass(slots=True)
class _NafEntry:
    """A B-TID's Ks_(ext)_NAF as the NAF keeps it, with the MUK ID and MUK derived from it."""

    key: NafKey
    muk: MukRecord
    stored: bool = False  # the key store is known to hold this MUK with this expiry


@dataclass(frozen=True, slots=True)
class RequestOutcome:
    statuses: tuple[MskStatus, ...]
    jobs: tuple[DeliveryJob, ...]
    initiated: tuple[int, ...]  # Key Groups for which this request initiated key management


@dataclass(slots=True)
class PushReport:
    """What a rotation push did."""

    key_group: int
    msk_id: MskId | None = None
    pushed: int = 0
    pulled: int = 0
    skipped_no_muk: int = 0
    seconds_counters: float = 0.0
    seconds_build: float = 0.0
    seconds_store: float = 0.0
    seconds_read: float = 0.0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RotationAction:
    key_group: int
    action: str  # "create-and-push" | "promote"


@dataclass(slots=True)
class _GroupView:
    current: MskRecord | None
    next: MskRecord | None
    at: UnixS


def _ms(t0: float, t1: float) -> float:
    return t1 - t0


class KeyManagement:
    """The MSK procedures on a key store, the BM-SC store and a GBA key source."""

    def __init__(
        self,
        config: BmscConfig,
        key_store: KeyStore,
        store: BmscStore,
        gba: GbaKeySource,
        *,
        rand: Rand = os.urandom,
        perf_counter: Callable[[], float] = lambda: 0.0,
    ) -> None:
        self.config = config
        self.keys = key_store
        self.store = store
        self.gba = gba
        self.naf = naf_id(config.fqdn)
        self._idi = config.fqdn.encode()  # IDi of every MUK ID of this BM-SC
        self.key_domain: KeyDomainId = config.key_domain
        self._rand = rand
        self._groups: dict[int, _GroupView] = {}
        self._naf_keys: OrderedDict[str, _NafEntry] = OrderedDict()
        #: The SP payload policy of each Key Group's MSK messages, as the key store has it.
        self._policies: dict[int, SrtpPolicy | None] = {}
        #: Times the phases of a push round (:class:`PushReport` ``seconds_*``); the default
        #: measures nothing — the BM-SC graph passes :func:`broadcast.aio.clock.perf_counter`.
        self._perf = perf_counter

    # --- setup -------------------------------------------------------------------------------
    def ensure_groups(self, now_unix: UnixS) -> None:
        """Create the Key Domain, the configured Key Groups and a CURRENT MSK where missing, and
        store each streaming group's configured SRTP policy with the group (the key store is the
        one source of the policy: the MSK messages and the stream take it from there)."""
        kd = self.key_domain
        if kd not in self.keys.list_key_domains():
            self.keys.add_key_domain(kd)
        known = {g.key_group: g for g in self.keys.list_key_groups(kd)}
        for g in self.config.key_groups:
            rec = known.get(g.number)
            srtp = g.srtp_config()
            if rec is None:
                rec = self.keys.add_key_group(kd, g.number, streaming=g.streaming, srtp=srtp)
            elif rec.streaming != g.streaming:
                log.warning(
                    "Key Group %d: configured streaming=%s but the key store says %s; "
                    "the key store wins",
                    g.number,
                    g.streaming,
                    rec.streaming,
                )
            elif srtp is not None and rec.srtp is not None and srtp.differences(rec.srtp):
                log.warning(
                    "Key Group %d: the key store had the SRTP policy %s; set to the configured "
                    "%s (a stream of this group must be restarted)",
                    g.number,
                    rec.srtp.describe(),
                    srtp.describe(),
                )
                rec = self.keys.set_key_group_srtp(kd, g.number, srtp)
            self._policies[g.number] = None if rec.srtp is None else srtp_policy(rec.srtp)
            view = self.group_view(g.number, now_unix, refresh=True)
            if view.current is None:
                if view.next is not None:
                    self.keys.promote(kd, g.number)
                else:
                    self._add_msk(g, MskState.CURRENT)
                self.store.set_schedule(
                    kd, g.number, current_since_unix=now_unix, promote_at_unix=None
                )
                self.group_view(g.number, now_unix, refresh=True)
            elif self.store.schedule(kd, g.number)[0] is None:
                self.store.set_schedule(
                    kd, g.number, current_since_unix=now_unix, promote_at_unix=None
                )

    def group_policy(self, key_group: int) -> SrtpPolicy | None:
        """The SRTP policy the group's MSK messages carry: the one the key store keeps with the
        Key Group (streaming groups; None for a download group). Read once, then cached — this
        BM-SC is what changes it (:meth:`ensure_groups`)."""
        if key_group not in self._policies:
            rec = self.keys.get_key_group(self.key_domain, key_group)
            self._policies[key_group] = None if rec.srtp is None else srtp_policy(rec.srtp)
        return self._policies[key_group]

    def _group_config(self, key_group: int) -> KeyGroupConfig:
        g = self.config.group(key_group)
        if g is None:
            raise UnknownKey(f"Key Group {key_group} is not configured")
        return g

    def group_view(self, key_group: int, now_unix: UnixS, *, refresh: bool = False) -> _GroupView:
        """CURRENT and NEXT MSK of a group (cached for GROUP_CACHE_S)."""
        view = self._groups.get(key_group)
        if view is not None and not refresh and 0 <= now_unix - view.at < GROUP_CACHE_S:
            return view
        current = nxt = None
        for m in self.keys.list_msks(self.key_domain, key_group):
            if m.state is MskState.CURRENT:
                current = m
            elif m.state is MskState.NEXT:
                nxt = m
        view = _GroupView(current, nxt, now_unix)
        self._groups[key_group] = view
        return view

    def _add_msk(self, g: KeyGroupConfig, state: MskState) -> MskRecord:
        used = {m.msk_id.key_number for m in self.keys.list_msks(self.key_domain, g.number)}
        number = (max(used) % 0xFFFF) + 1 if used else 1
        for _ in range(0xFFFF):
            if number not in used:
                break
            number = number % 0xFFFF + 1
        else:
            raise KeyStateError(f"Key Group {g.number} has used every Key Number")
        return self.keys.add_msk(
            self.key_domain,
            MskId(g.number, number),
            Msk(self._rand(profile.KEY_LEN)),
            mtk_id_low=g.mtk_id_low,
            mtk_id_high=g.mtk_id_high,
            state=state,
        )

    # --- MSK request (6.3.2.2.1) ---------------------------------------------------------------
    def naf_key(self, b_tid: str, now_unix: UnixS) -> NafKey | GbaMiss:
        """Ks_(ext)_NAF of ``b_tid`` (kept until its lifetime ends, TS 33.220 4.5.3), else the
        GBA source's answer. A miss is never remembered: the UE may bootstrap a moment later."""
        entry = self._naf_keys.get(b_tid)
        if entry is not None and int(now_unix) < entry.key.expires_at:
            self._naf_keys.move_to_end(b_tid)
            return entry.key
        key = self.gba.naf_key(b_tid, self.naf, UnixS(int(now_unix)))
        if isinstance(key, NafKey):
            self._naf_entry(key)
        else:
            self._naf_keys.pop(b_tid, None)
        return key

    def _naf_entry(self, naf_key: NafKey) -> _NafEntry:
        entry = self._naf_keys.get(naf_key.b_tid)
        if entry is None or not (entry.key is naf_key or entry.key == naf_key):
            muk_id = muk_id_for(self.config.fqdn, naf_key.b_tid)
            entry = _NafEntry(naf_key, MukRecord(muk_id, naf_key.muk, naf_key.expires_at))
            self._naf_keys[naf_key.b_tid] = entry
            if len(self._naf_keys) > NAF_KEY_CACHE:
                self._naf_keys.popitem(last=False)
        return entry

    def _store_muk(self, entry: _NafEntry) -> None:
        """Store the MUK of this B-TID with its GBA lifetime unless the store already has it
        (known for the B-TIDs kept in the NAF key cache: the common repeat costs no read)."""
        if entry.stored:
            return
        muk = entry.muk
        try:
            known: MukRecord | None = self.keys.get_muk(muk.muk_id)
        except UnknownKey:
            known = None
        if known is None or known.key != muk.key or known.expires_at != muk.expires_at:
            self.keys.put_muk(muk.muk_id, muk.key, expires_at_unix=muk.expires_at)
        entry.stored = True

    def handle_request(
        self, naf_key: NafKey, request: MskRequest, peer_host: str, now_unix: UnixS
    ) -> RequestOutcome:
        """Authorize and answer an authenticated MSK request (module docstring)."""
        entry = self._naf_entry(naf_key)
        muk_id = entry.muk.muk_id
        impi = naf_key.impi
        states: dict[int, UeGroupState] = {}
        statuses: list[MskStatus] = []
        wanted: dict[int, dict[int, MskRecord]] = {}
        for msk_id in request.msk_ids:
            code, found = self._status(impi, request.key_domain, msk_id, now_unix, states)
            statuses.append(MskStatus(msk_id, code))
            if code == profile.MSK_STATUS_OK:
                group = wanted.setdefault(msk_id.key_group, {})
                for r in found:
                    group[r.msk_id.key_number] = r
        jobs: list[DeliveryJob] = []
        initiated: list[int] = []
        if wanted:
            self._store_muk(entry)
        for key_group, records in wanted.items():
            state = states[key_group]
            sub = state.subscription
            host = sub.delivery_host if sub and sub.delivery_host else peer_host
            port = sub.delivery_port if sub and sub.delivery_port else self.config.push.port
            reg = state.registration
            if reg is None or (reg.muk_id, reg.host, reg.port) != (muk_id, host, port):
                reg, new = self.store.register(
                    self.key_domain,
                    key_group,
                    impi,
                    muk_id=muk_id,
                    host=host,
                    port=port,
                    now_unix=now_unix,
                )
                if new:
                    initiated.append(key_group)
                    log.debug("key management initiated: Key Group %d, %s", key_group, muk_id)
            if state.pull_pending:
                self.store.mark_pulls_answered(self.key_domain, key_group, impi, now_unix)
            ordered = tuple(sorted(records.values(), key=lambda r: r.state is not MskState.CURRENT))
            not_before = UnixS(now_unix + self.config.push.delay)
            jobs.append(DeliveryJob(reg, ordered, not_before, entry.muk))
        return RequestOutcome(tuple(statuses), tuple(jobs), tuple(initiated))

    def _status(
        self,
        impi: str,
        key_domain: KeyDomainId,
        msk_id: MskId,
        now_unix: UnixS,
        states: dict[int, UeGroupState],
    ) -> tuple[int, list[MskRecord]]:
        records: list[MskRecord]
        if key_domain != self.key_domain or self.config.group(msk_id.key_group) is None:
            return profile.MSK_STATUS_UNKNOWN, []
        state = states.get(msk_id.key_group)
        if state is None:
            state = self.store.ue_group_state(impi, key_domain, msk_id.key_group)
            states[msk_id.key_group] = state
        if state.subscription is None:
            return profile.MSK_STATUS_NOT_SUBSCRIBED, []
        view = self.group_view(msk_id.key_group, now_unix)
        if msk_id.is_current_alias:
            if view.current is None:
                return profile.MSK_STATUS_UNKNOWN, []
            records = [view.current]
            if view.next is not None and profile.MSK_DELIVER_NEXT_WITH_CURRENT:
                records.append(view.next)
            return profile.MSK_STATUS_OK, records
        for rec in (view.current, view.next):
            if rec is not None and rec.msk_id == msk_id:
                return profile.MSK_STATUS_OK, [rec]
        try:
            rec = self.keys.get_msk(key_domain, msk_id)
        except UnknownKey:
            return profile.MSK_STATUS_UNKNOWN, []
        if rec.state is MskState.RETIRED:
            return profile.MSK_STATUS_RETIRED, []
        self.group_view(msk_id.key_group, now_unix, refresh=True)  # the cache was behind
        return profile.MSK_STATUS_OK, [rec]

    # --- building MSK messages -------------------------------------------------------------
    def _csb_rand(self, n: int) -> list[tuple[int, bytes]]:
        block = self._rand(20 * n)
        if len(block) != 20 * n:
            raise RuntimeError("the random source returned the wrong length")
        return [
            (int.from_bytes(block[20 * i : 20 * i + 4], "big"), block[20 * i + 4 : 20 * i + 20])
            for i in range(n)
        ]

    def build_deliveries(self, jobs: Iterable[DeliveryJob], now_unix: UnixS) -> int:
        """Build and record the MSK messages of ``jobs``; returns how many were recorded.

        One batch: the MUKs a job does not carry are read at once, every message's counter comes
        from ONE durable transaction, the messages of one MSK from one batch build, the rows
        from one transaction. A job whose MUK vanished from the key store is skipped (logged)."""
        jobs = list(jobs)
        missing = [
            j.registration.muk_id
            for j in jobs
            if j.muk is None or j.muk.muk_id != j.registration.muk_id
        ]
        known = self.keys.get_muks(missing) if missing else {}
        plan: list[tuple[Registration, Muk, MskRecord, UnixS]] = []
        for job in jobs:
            reg = job.registration
            muk = job.muk if job.muk is not None and job.muk.muk_id == reg.muk_id else None
            if muk is None:
                muk = known.get(reg.muk_id)
            if muk is None:
                log.warning("no MUK for %s: MSK push skipped", reg.muk_id)
                continue
            for rec in job.msks:
                plan.append((reg, muk.key, rec, UnixS(max(job.not_before, now_unix))))
        if not plan:
            return 0
        # Durable before any message exists (profile.md "T").
        counters = allocate_muk_counters(self.keys, [p[0].muk_id for p in plan])
        extras = self._csb_rand(len(plan))
        by_msk: dict[tuple[int, MskId], list[int]] = {}
        for i, (reg, _, rec, _) in enumerate(plan):
            by_msk.setdefault((reg.key_group, rec.msk_id), []).append(i)
        messages: list[bytes] = [b""] * len(plan)
        for (key_group, _), idxs in by_msk.items():
            rec = plan[idxs[0]][2]
            built = self._build(
                key_group,
                rec,
                [
                    MskPushTarget(plan[i][0].muk_id, plan[i][1], counters[i], *extras[i])
                    for i in idxs
                ],
            )
            for i, m in zip(idxs, built, strict=True):
                messages[i] = m
        ack = {key_group: self.config.ack_required(key_group) for key_group, _ in by_msk}
        items = [
            NewDelivery(
                DeliveryKind.MSK,
                self.key_domain,
                reg.key_group,
                rec.msk_id.key_number,
                reg.impi,
                reg.muk_id,
                reg.host,
                reg.port,
                extra[0],
                counter,
                ack[reg.key_group],
                message,
                not_before,
                reg.id,
            )
            for (reg, _, rec, not_before), counter, extra, message in zip(
                plan, counters, extras, messages, strict=True
            )
        ]
        self.store.add_deliveries_bulk(items, now_unix)
        return len(items)

    def _build(
        self,
        key_group: int,
        msk: MskRecord,
        targets: Sequence[MskPushTarget],
        *,
        native: bool = True,
    ) -> list[bytes]:
        """MSK messages of ``msk`` for ``targets`` (native batch from NATIVE_BUILD_MIN on), with
        the SRTP policy the key store keeps for the group."""
        self._group_config(key_group)  # configured groups only
        return build_msk_messages(
            targets,
            key_domain_id=self.key_domain,
            msk_id=msk.msk_id,
            msk=msk.key,
            valid_from=MtkId(msk.mtk_id_low),
            valid_to=MtkId(msk.mtk_id_high),
            ack=self.config.ack_required(key_group),
            srtp_policy=self.group_policy(key_group),
            native=native and len(targets) >= NATIVE_BUILD_MIN,
        )

    # --- rotation (6.3.2.3.1) ----------------------------------------------------------------
    def create_next(self, key_group: int, now_unix: UnixS) -> tuple[MskRecord, bool]:
        """The group's NEXT MSK: the existing one, or a new one (random key). (record, created)"""
        g = self._group_config(key_group)
        view = self.group_view(key_group, now_unix, refresh=True)
        if view.next is not None:
            return view.next, False
        try:
            rec = self._add_msk(g, MskState.NEXT)
        except DuplicateKey:  # another process raced us: use its NEXT
            view = self.group_view(key_group, now_unix, refresh=True)
            if view.next is None:
                raise
            return view.next, False
        self.group_view(key_group, now_unix, refresh=True)
        log.info("Key Group %d: NEXT MSK %s created", key_group, rec.msk_id)
        return rec, True

    def push_to_group(
        self,
        key_group: int,
        msk: MskRecord,
        now_unix: UnixS,
        *,
        fresh: bool = False,
        chunk: int = PUSH_CHUNK,
        native: bool = True,
    ) -> PushReport:
        """Push ``msk`` to every UE registered for the group (module docstring).

        ``fresh``: the MSK was just created, so no older delivery can be superseded."""
        ack = self.config.ack_required(key_group)
        report = PushReport(key_group, msk.msk_id)
        not_before = now_unix  # a rotation push goes out at once (the lead time is the margin)
        number = msk.msk_id.key_number
        t_read = self._perf()
        rows_of = self.store.iter_registration_rows(self.key_domain, key_group, chunk=chunk)
        for rows in rows_of:
            muk_ids = [MukId(r.idi, r.idr) for r in rows]
            t0 = self._perf()
            report.seconds_read += t0 - t_read
            # One pass over the key store: each UE's next counter (durable) and its MUK.
            got = self.keys.next_counters_with_muks(muk_ids)
            report.seconds_counters += self._perf() - t0
            live: list[tuple[RegistrationRow, MukId, Muk, int]] = []
            expired: list[tuple[Registration, Muk]] = []
            expired_counters: list[int] = []
            at = UnixS(int(now_unix))
            for r, muk_id, (counter, rec) in zip(rows, muk_ids, got, strict=True):
                if rec is None:
                    report.skipped_no_muk += 1  # its counter is simply never used
                elif rec.is_expired(at):
                    reg = Registration(
                        self.key_domain,
                        key_group,
                        r.impi,
                        muk_id,
                        r.host,
                        r.port,
                        _EPOCH,
                        _EPOCH,
                        r.id,
                    )
                    expired.append((reg, rec.key))
                    expired_counters.append(counter)
                else:
                    live.append((r, muk_id, rec.key, counter))
            del got
            if expired:
                report.pulled += self._pulls(expired, now_unix, report, expired_counters)
            if live:
                t1 = self._perf()
                extras = self._csb_rand(len(live))
                targets = [
                    MskPushTarget(muk_id, muk, counter, csb_id, rand)
                    for (_, muk_id, muk, counter), (csb_id, rand) in zip(live, extras, strict=True)
                ]
                messages = self._build(key_group, msk, targets, native=native)
                t2 = self._perf()
                self.store.add_push_round(
                    kind=DeliveryKind.MSK,
                    key_domain=self.key_domain,
                    key_group=key_group,
                    key_number=number,
                    ack_required=ack,
                    next_at_unix=not_before,
                    now_unix=now_unix,
                    rows=[
                        (r, t.csb_id, t.counter, m)
                        for (r, _, _, _), t, m in zip(live, targets, messages, strict=True)
                    ],
                    supersede=not fresh,
                )
                t3 = self._perf()
                report.seconds_build += _ms(t1, t2)
                report.seconds_store += _ms(t2, t3)
                report.pushed += len(live)
            t_read = self._perf()
        log.info(
            "Key Group %d: MSK %s pushed to %d UEs (%d solicited pulls, %d without MUK)",
            key_group,
            msk.msk_id,
            report.pushed,
            report.pulled,
            report.skipped_no_muk,
        )
        return report

    def rotate(
        self, key_group: int, now_unix: UnixS, *, promote_after: float | None = None
    ) -> PushReport:
        """Create (or re-use) the NEXT MSK, push it to every registered UE and schedule its
        promotion ``promote_after`` seconds from ``now_unix`` (default: the group's lead time)."""
        g = self._group_config(key_group)
        rec, created = self.create_next(key_group, now_unix)
        report = self.push_to_group(key_group, rec, now_unix, fresh=created)
        since, _ = self.store.schedule(self.key_domain, key_group)
        lead = g.rotation_lead if promote_after is None else promote_after
        self.store.set_schedule(
            self.key_domain,
            key_group,
            current_since_unix=since,
            promote_at_unix=UnixS(now_unix + lead),
        )
        return report

    def promote(self, key_group: int, now_unix: UnixS) -> MskRecord:
        """NEXT -> CURRENT (the old CURRENT is retired) and restart the group's period."""
        rec = self.keys.promote(self.key_domain, key_group)
        self.store.set_schedule(
            self.key_domain, key_group, current_since_unix=now_unix, promote_at_unix=None
        )
        self.group_view(key_group, now_unix, refresh=True)
        log.info("Key Group %d: MSK %s is now current", key_group, rec.msk_id)
        return rec

    def due_rotations(self, now_unix: UnixS) -> list[RotationAction]:
        """What the rotation schedule asks for at ``now_unix``."""
        out: list[RotationAction] = []
        for g in self.config.key_groups:
            since, promote_at = self.store.schedule(self.key_domain, g.number)
            if promote_at is not None:
                if now_unix >= promote_at:
                    out.append(RotationAction(g.number, "promote"))
                continue
            due = since is not None and now_unix >= since + g.rotation_period - g.rotation_lead
            if g.rotation_period and due:
                out.append(RotationAction(g.number, "create-and-push"))
        return out

    def run_rotation(self, action: RotationAction, now_unix: UnixS) -> PushReport | MskRecord:
        if action.action == "promote":
            view = self.group_view(action.key_group, now_unix, refresh=True)
            if view.next is None:  # promoted elsewhere: just clear the schedule
                self.store.set_schedule(
                    self.key_domain,
                    action.key_group,
                    current_since_unix=now_unix,
                    promote_at_unix=None,
                )
                assert view.current is not None
                return view.current
            return self.promote(action.key_group, now_unix)
        g = self._group_config(action.key_group)
        since, _ = self.store.schedule(self.key_domain, action.key_group)
        start = since if since is not None else now_unix
        return self.rotate(
            action.key_group, now_unix, promote_after=max(0.0, start + g.rotation_period - now_unix)
        )

    # --- solicited pull (6.3.2.2.4) ----------------------------------------------------------
    def _pull(self, reg: Registration, muk: Muk, now_unix: UnixS) -> int:
        (delivery_id,) = self._pull_deliveries([(reg, muk)], now_unix, with_ids=True)
        return delivery_id

    def _pulls(
        self,
        ues: Sequence[tuple[Registration, Muk]],
        now_unix: UnixS,
        report: PushReport,
        counters: Sequence[int] | None = None,
    ) -> int:
        """Solicited pulls to many UEs at once (their MUKs expired); returns how many.
        ``counters``: already allocated (durable) for them, else allocated here."""
        try:
            self._pull_deliveries(ues, now_unix, with_ids=False, counters=counters)
        except (MikeyError, ValueError) as exc:
            report.errors.append(f"pulls to {len(ues)} UEs: {exc}")
            return 0
        return len(ues)

    def _pull_deliveries(
        self,
        ues: Sequence[tuple[Registration, Muk]],
        now_unix: UnixS,
        *,
        with_ids: bool,
        counters: Sequence[int] | None = None,
    ) -> list[int]:
        if counters is None:
            counters = allocate_muk_counters(self.keys, [reg.muk_id for reg, _ in ues])
        items: list[NewDelivery] = []
        for (reg, muk), counter, (csb_id, rand) in zip(
            ues, counters, self._csb_rand(len(ues)), strict=True
        ):
            message = build_solicited_pull(
                muk=muk,
                muk_id=reg.muk_id,
                key_domain_id=self.key_domain,
                key_group=reg.key_group,
                counter=counter,
                csb_id=csb_id,
                rand=rand,
            )
            items.append(
                NewDelivery(
                    DeliveryKind.PULL,
                    self.key_domain,
                    reg.key_group,
                    profile.KEY_NUMBER_CURRENT,
                    reg.impi,
                    reg.muk_id,
                    reg.host,
                    reg.port,
                    csb_id,
                    counter,
                    True,  # re-sent until the UE's MSK request answers it
                    message,
                    now_unix,
                    reg.id,
                )
            )
        if with_ids:
            return self.store.add_deliveries(items, now_unix)
        self.store.add_deliveries_bulk(items, now_unix)
        return []

    def solicited_pull(self, impi: str, key_group: int, now_unix: UnixS) -> int:
        """Send a solicited pull to a registered UE under its most recent MUK (even expired:
        NOTE 1 of 6.3.2.2.4). UnknownKey if the UE is not registered or has no MUK."""
        reg = self.store.registration(self.key_domain, key_group, impi)
        if reg is None:
            raise UnknownKey(f"{impi!r} is not registered for Key Group {key_group}")
        muk = self.keys.get_muk(reg.muk_id)
        return self._pull(reg, muk.key, now_unix)

    # --- MIKEY ACK ---------------------------------------------------------------------------
    def check_ack(self, data: bytes) -> tuple[Delivery | None, str]:
        """Verify a MIKEY ACK; returns (the delivery it acknowledges, "ok") or (None/delivery,
        reason) with reason one of malformed / not-ack / unknown / no-muk / bad-mac / done."""
        try:
            ack: Envelope = envelope(data)
        except MikeyError:
            return None, "malformed"
        if ack.kind is not Kind.ACK or ack.idr is None:
            return None, "not-ack"
        d = self.store.pending_for_ack(ack.idr, ack.counter, ack.csb_id, idi=self._idi)
        if d is None:
            return None, "unknown"
        try:
            muk = self.keys.get_muk(d.muk_id)
            verify_ack(ack, envelope(d.message), muk.key)
        except UnknownKey:
            return d, "no-muk"
        except MikeyError:
            return d, "bad-mac"
        if d.state.value != "pending":
            return d, "done"
        return d, "ok"
