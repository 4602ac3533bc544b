"""Sans-IO FLUTE session receiver: ALC packets in (any order, duplicates, losses), objects out.

Per packet (RFC 5775 §4.4): parse and validate the header, check the TSI, then use the FEC
Payload ID and symbol to rebuild the object. TOI 0 packets carry FDT Instances, told apart by the
EXT_FDT FDT Instance ID (RFC 3926 §3.3-3.4); their OTI comes from EXT_FTI, they may be content
encoded (EXT_CENC). Other TOIs are files: their OTI comes from EXT_FTI or, failing that, the FDT
(EXT_FTI first, RFC 3926 §5). An object is delivered once it is complete *and* described by an
unexpired FDT Instance; its Content-MD5 and lengths are checked first.

Nothing here reads a clock, a socket or a thread: the caller passes ``now_ntp`` (32-bit NTP
seconds, :func:`broadcast.time.ntp_from_unix`) with each packet. Memory is bounded: objects above
``max_object_size`` are refused before any allocation, symbol storage is capped in total, and the
number of objects being assembled — and of those no FDT describes yet — is capped, the least
recently active being dropped first. Bad input never raises: each rejected packet is counted under
its error's ``reason`` and the receive loop goes on.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Final

from broadcast.proto.flute.alc import DEFAULT_MAX_OBJECT_SIZE, FDT_TOI, AlcPacket, parse_packet
from broadcast.proto.flute.cenc import content_coding, decode_content
from broadcast.proto.flute.errors import (
    ConflictingOti,
    ContentEncodingError,
    ExpiredFdt,
    FluteError,
    IntegrityError,
    MissingExtFdt,
    ResourceLimit,
    WrongSession,
)
from broadcast.proto.flute.fdt import (
    DEFAULT_MAX_FDT_BYTES,
    DEFAULT_MAX_FILES,
    FdtFile,
    FdtInstance,
    content_md5,
    file_oti,
    parse_fdt,
)
from broadcast.proto.flute.fec import ObjectDecoder, Oti, get_scheme
from broadcast.proto.flute.lct import FluteVersion, fdt_instance_id_newer
from broadcast.proto.flute.ntp import ntp_not_after
from broadcast.time import NtpS

_DEFAULT_MAX_BUFFERED: Final = 256 * 1024 * 1024
#: Bookkeeping charged per symbol held before the OTI is known (about what a dict entry with its
#: key costs in CPython), so empty or tiny symbols cannot make the pending table grow unbounded.
PENDING_OVERHEAD: Final = 192


@dataclass(frozen=True, slots=True)
class ReceiverConfig:
    """Limits and protocol options of a :class:`SessionReceiver` [P defaults]."""

    version: FluteVersion = FluteVersion.V1
    max_object_size: int = DEFAULT_MAX_OBJECT_SIZE
    max_fdt_size: int = DEFAULT_MAX_FDT_BYTES
    max_files_per_fdt: int = DEFAULT_MAX_FILES
    #: Objects (files and FDT Instances) being assembled at once.
    max_active_objects: int = 64
    #: Of those, objects that no FDT Instance describes (yet).
    max_unknown_objects: int = 8
    #: Of those, FDT Instances (distinct FDT Instance IDs) being assembled.
    max_pending_fdts: int = 4
    #: Symbol bytes held across all objects being assembled.
    max_buffered_bytes: int = _DEFAULT_MAX_BUFFERED
    #: File entries kept in the FDT database.
    max_fdt_entries: int = 16384
    #: Delivered TOIs / FDT Instance IDs remembered so that carousel repeats are dropped cheaply.
    max_remembered: int = 4096


@dataclass(frozen=True, slots=True)
class ReceivedObject:
    """A complete, verified file; ``file`` has the FDT-Instance defaults filled in.

    ``data`` is the content: the transport object with its ``Content-Encoding`` undone.
    """

    toi: int
    data: bytes = field(repr=False)
    file: FdtFile
    fdt_instance_id: int


@dataclass(frozen=True, slots=True)
class ReceivedFdt:
    """A new FDT Instance entered the FDT database."""

    instance_id: int
    instance: FdtInstance


Event = ReceivedObject | ReceivedFdt


@dataclass(slots=True)
class ReceiverStats:
    """Counters. ``rejected`` counts refused packets and ``discarded`` objects (or buffered
    symbols) that failed later checks, both keyed by the error's ``reason``;
    ``accepted + sum(rejected.values()) == packets`` always holds."""

    packets: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    discarded: Counter[str] = field(default_factory=Counter)
    objects: int = 0
    fdt_instances: int = 0
    evicted: int = 0


@dataclass(slots=True)
class _Entry:
    file: FdtFile
    instance_id: int
    expires: NtpS


@dataclass(slots=True)
class _Assembly:
    """One object being assembled; before its OTI is known, symbols wait in ``pending``."""

    key: int
    limit: int
    oti: Oti | None = None
    decoder: ObjectDecoder | None = None
    pending: dict[tuple[int, int], bytes] = field(default_factory=dict)
    pending_bytes: int = 0
    cenc: int | None = None

    @property
    def held(self) -> int:
        return self.decoder.buffered_bytes if self.decoder is not None else self.pending_bytes


class SessionReceiver:
    """The receiving side of one FLUTE session (one sender, one TSI)."""

    def __init__(self, tsi: int, config: ReceiverConfig | None = None) -> None:
        self.tsi = tsi
        self.config = config or ReceiverConfig()
        self.stats = ReceiverStats()
        self.last_error: FluteError | None = None
        self.session_closed = False
        self._files: dict[int, _Entry] = {}
        self._objects: OrderedDict[int, _Assembly] = OrderedDict()
        self._fdts: OrderedDict[int, _Assembly] = OrderedDict()
        self._fdt_done: OrderedDict[int, int] = OrderedDict()  # instance ID -> transfer length
        self._delivered: OrderedDict[int, int] = OrderedDict()  # TOI -> object length
        self._buffered = 0

    # --- public API ------------------------------------------------------------------------------
    def feed(self, packet: bytes, now_ntp: NtpS) -> list[Event]:
        """Process one ALC packet received at ``now_ntp`` (NTP seconds); return what completed."""
        self.stats.packets += 1
        try:
            events = self._feed(packet, now_ntp)
        except FluteError as err:
            self.stats.rejected[err.reason] += 1
            self.last_error = err
            return []
        self.stats.accepted += 1
        return events

    def expire(self, now_ntp: NtpS) -> None:
        """Forget FDT entries whose FDT Instance expired at or before ``now_ntp``."""
        for toi in [t for t, e in self._files.items() if ntp_not_after(e.expires, now_ntp)]:
            del self._files[toi]

    @property
    def buffered_bytes(self) -> int:
        """Symbol bytes currently held."""
        return self._buffered

    @property
    def active_objects(self) -> int:
        """Objects (files and FDT Instances) being assembled."""
        return len(self._objects) + len(self._fdts)

    def fdt_entry(self, toi: int, now_ntp: NtpS) -> FdtFile | None:
        """The resolved FDT entry for ``toi`` if an unexpired FDT Instance describes it."""
        entry = self._live_entry(toi, now_ntp)
        return None if entry is None else entry.file

    # --- packets ---------------------------------------------------------------------------------
    def _feed(self, raw: bytes, now_ntp: NtpS) -> list[Event]:
        cfg = self.config
        packet = parse_packet(raw, version=cfg.version, max_object_size=cfg.max_object_size)
        if packet.tsi != self.tsi:
            raise WrongSession(
                f"TSI {packet.tsi}, session is {self.tsi}",
                field="TSI",
                offset=4 + packet.header.cci_bits // 8,
            )
        if packet.header.close_session:
            self.session_closed = True
        if packet.sbn is None or packet.esi is None:
            return []  # data-less packet (RFC 5775 §4.1)
        if packet.toi == FDT_TOI:
            return self._fdt_packet(packet, now_ntp)
        return self._file_packet(packet, now_ntp)

    def _fdt_packet(self, packet: AlcPacket, now_ntp: NtpS) -> list[Event]:
        ext = packet.fdt
        if ext is None:
            raise MissingExtFdt("TOI 0 packet without EXT_FDT", field="EXT_FDT")
        iid = ext.instance_id
        done = self._fdt_done.get(iid)
        if done is not None:
            if packet.oti is None or packet.oti.transfer_length == done:
                self.stats.duplicates += 1
                return []
            del self._fdt_done[iid]  # the ID was reused for a different instance
        cenc = packet.cenc.cenc if packet.cenc is not None else 0
        state = self._fdts.get(iid)
        if state is None:
            while self._fdts and len(self._fdts) >= self.config.max_pending_fdts:
                self._drop(self._fdts, next(iter(self._fdts)))
            state = self._new_assembly(self._fdts, iid, self.config.max_fdt_size, known=True)
            state.cenc = cenc
        elif state.cenc != cenc:
            raise ContentEncodingError("EXT_CENC differs between packets", field="EXT_CENC")
        self._fdts.move_to_end(iid)
        with self._discard_if_empty(self._fdts, state):
            if packet.oti is not None:
                self._set_oti(state, packet.oti)
            self._store(state, packet)
        if state.decoder is None or not state.decoder.is_complete:
            return []
        del self._fdts[iid]
        self._buffered -= state.held
        self._remember(self._fdt_done, iid, state.decoder.oti.transfer_length)
        cfg = self.config
        try:
            document = decode_content(state.decoder.decode(), state.cenc or 0, cfg.max_fdt_size)
            instance = parse_fdt(
                document, max_bytes=cfg.max_fdt_size, max_files=cfg.max_files_per_fdt
            )
            if ntp_not_after(instance.expires, now_ntp):
                raise ExpiredFdt(f"FDT Instance {iid} expired", field="Expires")
        except FluteError as err:
            self._discard(err)
            return []
        return self._apply_fdt(iid, instance, now_ntp)

    def _file_packet(self, packet: AlcPacket, now_ntp: NtpS) -> list[Event]:
        toi = packet.toi
        if toi in self._delivered:
            self.stats.duplicates += 1
            return []
        entry = self._live_entry(toi, now_ntp)
        state = self._objects.get(toi)
        if state is None:
            state = self._new_assembly(
                self._objects, toi, self.config.max_object_size, known=entry is not None
            )
        self._objects.move_to_end(toi)
        with self._discard_if_empty(self._objects, state):
            fdt_oti = file_oti(entry.file) if entry is not None else None
            if packet.oti is not None:
                if fdt_oti is not None and fdt_oti != packet.oti:
                    raise ConflictingOti("EXT_FTI differs from the FDT's OTI", field="EXT_FTI")
                if entry is not None:
                    self._check_length(entry.file, packet.oti)
                self._set_oti(state, packet.oti)
            elif fdt_oti is not None:
                self._set_oti(state, fdt_oti)
            self._store(state, packet)
        return self._try_finish(toi, now_ntp)

    # --- assembly --------------------------------------------------------------------------------
    def _new_assembly(
        self, table: OrderedDict[int, _Assembly], key: int, limit: int, *, known: bool
    ) -> _Assembly:
        cfg = self.config
        if not known:
            unknown = [t for t in self._objects if self._files.get(t) is None]
            while len(unknown) >= cfg.max_unknown_objects and unknown:
                self._drop(self._objects, unknown.pop(0))
        while self.active_objects >= cfg.max_active_objects:
            victim = self._pick_victim(None)
            if victim is None:
                raise ResourceLimit("too many objects in progress", field="objects")
            self._drop(*victim)
        state = _Assembly(key=key, limit=limit)
        table[key] = state
        return state

    @contextmanager
    def _discard_if_empty(
        self, table: OrderedDict[int, _Assembly], state: _Assembly
    ) -> Iterator[None]:
        """On error, forget an assembly that holds nothing (a rejected first packet)."""
        try:
            yield
        except FluteError:
            if state.oti is None and not state.pending and table.get(state.key) is state:
                del table[state.key]
            raise

    def _pick_victim(
        self, keep: _Assembly | None
    ) -> tuple[OrderedDict[int, _Assembly], int] | None:
        """The least recently active object, preferring those no FDT describes."""
        for toi, state in self._objects.items():
            if toi not in self._files and state is not keep:
                return self._objects, toi
        for table in (self._objects, self._fdts):
            for key, state in table.items():
                if state is not keep:
                    return table, key
        return None

    def _drop(self, table: OrderedDict[int, _Assembly], key: int) -> None:
        state = table.pop(key)
        self._buffered -= state.held
        self.stats.evicted += 1

    def _set_oti(self, state: _Assembly, oti: Oti) -> None:
        if state.oti is not None:
            if state.oti != oti:
                raise ConflictingOti("packets announce different OTIs", field="EXT_FTI")
            return
        scheme = get_scheme(oti.fec_encoding_id)
        scheme.validate(oti, state.limit)
        decoder = scheme.decoder(oti)
        before = state.held
        state.oti, state.decoder = oti, decoder
        pending, state.pending, state.pending_bytes = state.pending, {}, 0
        for (sbn, esi), payload in pending.items():
            try:
                decoder.add(sbn, esi, payload)
            except FluteError as err:
                self._discard(err)
        self._buffered += state.held - before
        if self._buffered > self.config.max_buffered_bytes:
            try:
                self._make_room(state, 0)
            except ResourceLimit:
                for table in (self._objects, self._fdts):
                    if table.get(state.key) is state:
                        self._drop(table, state.key)
                raise

    def _store(self, state: _Assembly, packet: AlcPacket) -> None:
        assert packet.sbn is not None and packet.esi is not None
        size = len(packet.payload) + PENDING_OVERHEAD
        decoder = state.decoder
        self._make_room(state, size if decoder is None else decoder.growth(packet.sbn))
        before = state.held
        if state.decoder is not None:
            if not state.decoder.add(packet.sbn, packet.esi, packet.payload):
                self.stats.duplicates += 1
        else:
            key = (packet.sbn, packet.esi)
            if key in state.pending:
                self.stats.duplicates += 1
            elif state.pending_bytes + size > state.limit:
                raise ResourceLimit("symbols without OTI exceed the object limit", field="OTI")
            else:
                state.pending[key] = packet.payload
                state.pending_bytes += size
        self._buffered += state.held - before

    def _make_room(self, keep: _Assembly, size: int) -> None:
        cap = self.config.max_buffered_bytes
        while self._buffered + size > cap:
            victim = self._pick_victim(keep)
            if victim is None:
                raise ResourceLimit("symbol buffer full", field="buffer")
            self._drop(*victim)

    # --- FDT database and delivery ---------------------------------------------------------------
    def _live_entry(self, toi: int, now_ntp: NtpS) -> _Entry | None:
        entry = self._files.get(toi)
        if entry is not None and ntp_not_after(entry.expires, now_ntp):
            del self._files[toi]
            return None
        return entry

    def _apply_fdt(self, iid: int, instance: FdtInstance, now_ntp: NtpS) -> list[Event]:
        self.stats.fdt_instances += 1
        events: list[Event] = [ReceivedFdt(iid, instance)]
        for item in instance.files:
            resolved = instance.resolve(item)
            old = self._files.get(item.toi)
            if old is not None and fdt_instance_id_newer(old.instance_id, iid):
                if not ntp_not_after(instance.expires, old.expires):
                    old.expires = instance.expires
                continue
            if old is None and len(self._files) >= self.config.max_fdt_entries:
                self.expire(now_ntp)
                if len(self._files) >= self.config.max_fdt_entries:
                    soonest = min(self._files, key=lambda t: self._files[t].expires)
                    del self._files[soonest]
            self._files[item.toi] = _Entry(resolved, iid, instance.expires)
        for item in instance.files:
            state = self._objects.get(item.toi)
            if state is None:
                continue
            try:
                fdt_oti = file_oti(self._files[item.toi].file)
                if fdt_oti is not None:
                    if state.oti is not None:
                        self._check_length(self._files[item.toi].file, state.oti)
                    self._set_oti(state, fdt_oti)
                events += self._try_finish(item.toi, now_ntp)
            except FluteError as err:
                self._discard(err)
                if item.toi in self._objects:
                    self._drop(self._objects, item.toi)
        return events

    def _try_finish(self, toi: int, now_ntp: NtpS) -> list[Event]:
        state = self._objects.get(toi)
        entry = self._live_entry(toi, now_ntp)
        if state is None or state.decoder is None or not state.decoder.is_complete:
            return []
        if entry is None:
            return []  # complete, waiting for an FDT Instance that describes it
        del self._objects[toi]
        self._buffered -= state.held
        data = state.decoder.decode()
        try:
            data = self._verify(entry.file, data)
        except FluteError as err:
            self._discard(err)
            return []
        self._remember(self._delivered, toi, len(data))
        self.stats.objects += 1
        return [
            ReceivedObject(toi=toi, data=data, file=entry.file, fdt_instance_id=entry.instance_id)
        ]

    def _discard(self, err: FluteError) -> None:
        self.stats.discarded[err.reason] += 1
        self.last_error = err

    @staticmethod
    def _check_length(entry: FdtFile, oti: Oti) -> None:
        length = entry.object_length
        if length is not None and length != oti.transfer_length:
            raise ConflictingOti(
                f"EXT_FTI transfer length {oti.transfer_length}, FDT says {length}",
                field="Transfer-Length",
            )

    def _verify(self, entry: FdtFile, data: bytes) -> bytes:
        """Check the transport object against its entry; return the content (decoded).

        ``Transfer-Length`` is the transport object's length, ``Content-Length`` and
        ``Content-MD5`` describe the content, i.e. after undoing ``Content-Encoding``
        (RFC 3926 §3.4.2), which is decoded here bounded by ``Content-Length`` (or the object
        size limit).
        """
        if entry.transfer_length is not None and entry.transfer_length != len(data):
            raise IntegrityError(
                "object length differs from Transfer-Length", field="Transfer-Length"
            )
        if entry.content_encoding is not None:
            limit = self.config.max_object_size
            if entry.content_length is not None:
                limit = min(limit, entry.content_length)
            data = decode_content(data, content_coding(entry.content_encoding), limit)
        if entry.content_length is not None and entry.content_length != len(data):
            raise IntegrityError(
                "object length differs from Content-Length", field="Content-Length"
            )
        if entry.content_md5 is not None and content_md5(data) != entry.content_md5:
            raise IntegrityError("Content-MD5 does not match", field="Content-MD5")
        return data

    def _remember(self, table: OrderedDict[int, int], key: int, value: int) -> None:
        table[key] = value
        table.move_to_end(key)
        while len(table) > self.config.max_remembered:
            table.popitem(last=False)
