"""What one FLUTE carousel session publishes: its objects and the FDT Instance describing them.

Sans-IO (``now_unix`` is passed in, seconds since the Unix epoch, :data:`~broadcast.time.UnixS`,
converted to NTP seconds for FDT ``Expires``). :class:`CarouselSession` sits between the service,
which prepares objects, and the :class:`~broadcast.engine.download.scheduler.CarouselScheduler`,
which sends them:

- TOIs are handed out once, increasing, never reused within the session (TOI 0 is the FDT,
  RFC 3926 §3.3).
- The FDT Instance always lists exactly the objects on the carousel (``mbms2008:FullFDT="true"``),
  MIKEY objects first. Whenever that set changes — objects published, objects retired after
  their grace period — a new FDT Instance with the next FDT Instance ID (20 bits, wrapping
  2^20-1 → 0, RFC 3926 §3.4.1) replaces the old one on the carousel, due at once with the
  highest priority, so receivers learn about objects before their packets arrive.
- ``Expires`` (RFC 3926 §3.3: the sender MUST set it in the future) is ``now_unix + fdt_expires``;
  when half of that span has passed a fresh instance (new ID, same files) is issued, so a
  repeated instance never goes stale and entries no longer listed expire at receivers.
- Retiring an object (replaced by a new TOI after an MTK rotation or a file change, or its file
  removed) keeps it on the carousel for the grace period, still listed in the FDT, then drops it.
- A Raptor object (FEC Encoding ID 1, its OTI chosen when it was prepared) is sent with
  ``repair_overhead`` repair symbols per block and, unless ``source_every_round``, only fresh
  repair symbols after its first pass (:mod:`broadcast.proto.flute.blocks`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from broadcast import profile
from broadcast.engine.download.objects import ObjectKind, PreparedObject, make_oti
from broadcast.engine.download.scheduler import (
    PRIORITY_FDT,
    PRIORITY_FILE,
    PRIORITY_MIKEY,
    BytesSource,
    CarouselEntry,
    CarouselScheduler,
)
from broadcast.proto.flute import (
    FDT_NAMESPACE,
    ContentEncoding,
    FdtInstance,
    FluteVersion,
    encode_content,
    next_instance_id,
)
from broadcast.proto.flute.blocks import BlockPacketizer
from broadcast.proto.flute.lct import FDT_INSTANCE_ID_MOD
from broadcast.time import UnixS, ntp_from_unix

_MAX_TOI = (1 << 64) - 1


@dataclass(frozen=True, slots=True)
class SessionParams:
    """FLUTE and carousel parameters of one session."""

    tsi: int
    version: FluteVersion = FluteVersion.V1
    symbol_length: int = profile.DOWNLOAD_SYMBOL_LENGTH
    max_block_length: int = profile.DOWNLOAD_MAX_SOURCE_BLOCK_LENGTH
    repeat_interval: float = profile.DOWNLOAD_REPEAT_INTERVAL_S
    fdt_repeat_interval: float = profile.DOWNLOAD_FDT_REPEAT_INTERVAL_S
    fdt_expires: int = profile.DOWNLOAD_FDT_EXPIRES_S
    grace_period: float = profile.DOWNLOAD_GRACE_PERIOD_S
    fdt_namespace: str = FDT_NAMESPACE
    fdt_content_encoding: ContentEncoding | None = None
    close_object: bool = False
    #: Raptor objects: repair symbols per block and pass as a share of K; whether passes after
    #: the first re-send the source symbols.
    repair_overhead: float = profile.RAPTOR_REPAIR_OVERHEAD
    source_every_round: bool = profile.DOWNLOAD_RAPTOR_SOURCE_EVERY_ROUND


@dataclass(frozen=True, slots=True)
class CurrentFdt:
    """The FDT Instance on the carousel."""

    instance_id: int
    instance: FdtInstance
    document: bytes
    created: UnixS


class CarouselSession:
    """Objects and FDT Instances of one FLUTE session (see the module docstring)."""

    def __init__(
        self,
        params: SessionParams,
        scheduler: CarouselScheduler,
        *,
        first_toi: int = 1,
        first_fdt_instance_id: int = 0,
    ) -> None:
        if not 1 <= first_toi <= _MAX_TOI:
            raise ValueError("the first TOI must be 1..2^64-1")
        if not 0 <= first_fdt_instance_id < FDT_INSTANCE_ID_MOD:
            raise ValueError("an FDT Instance ID is 20 bits")
        self.params = params
        self.scheduler = scheduler
        self._next_toi = first_toi
        self._next_fdt_id = first_fdt_instance_id
        self._objects: dict[int, PreparedObject] = {}
        self._retiring: dict[int, UnixS] = {}
        self._dirty = False
        self.fdt: CurrentFdt | None = None
        self.fdt_instances = 0

    # --- identifiers -----------------------------------------------------------------------------
    def allocate_toi(self) -> int:
        """A TOI never used before in this session."""
        toi = self._next_toi
        if toi > _MAX_TOI:
            raise OverflowError("TOI space exhausted")
        self._next_toi += 1
        return toi

    # --- objects ---------------------------------------------------------------------------------
    @property
    def objects(self) -> list[PreparedObject]:
        """Objects on the carousel (retiring ones included), MIKEY objects first."""
        return sorted(self._objects.values(), key=_order)

    def is_retiring(self, toi: int) -> bool:
        return toi in self._retiring

    def publish(self, objects: Iterable[PreparedObject], now_unix: UnixS) -> None:
        """Put objects on the carousel, due now (after the new FDT Instance)."""
        p = self.params
        for obj in objects:
            if obj.toi in self._objects:
                raise ValueError(f"TOI {obj.toi} is already on the carousel")
            packetizer = BlockPacketizer.for_object(
                obj.toi,
                tsi=p.tsi,
                oti=obj.oti,
                version=p.version,
                close_object=p.close_object,
                repair_overhead=p.repair_overhead,
                source_every_pass=p.source_every_round,
            )
            mikey = obj.kind is ObjectKind.MIKEY
            self.scheduler.add(
                CarouselEntry(
                    toi=obj.toi,
                    packetizer=packetizer,
                    source=obj.source,
                    priority=PRIORITY_MIKEY if mikey else PRIORITY_FILE,
                    # A MIKEY object repeats at least as often as the FDT, never back to back
                    # (with interval 0 its priority would starve the files).
                    interval=max(p.repeat_interval, p.fdt_repeat_interval)
                    if mikey
                    else p.repeat_interval,
                    next_due=now_unix,
                    label=obj.fdt_file.content_location,
                )
            )
            self._objects[obj.toi] = obj
            self._dirty = True

    def retire(self, tois: Iterable[int], now_unix: UnixS) -> None:
        """Keep ``tois`` for the grace period, then take them off the carousel."""
        at = UnixS(now_unix + self.params.grace_period)
        for toi in tois:
            if toi in self._objects and toi not in self._retiring:
                self._retiring[toi] = at
                self.scheduler.retire(toi, at)

    def update(self, now_unix: UnixS) -> None:
        """Drop objects past their grace period; issue a new FDT Instance when needed."""
        for toi, at in list(self._retiring.items()):
            if at <= now_unix:
                del self._retiring[toi]
                self._objects.pop(toi, None)
                self.scheduler.remove(toi)
                self._dirty = True
        fdt = self.fdt
        stale = fdt is not None and now_unix >= fdt.created + self.params.fdt_expires / 2
        if self._dirty or stale:
            self._new_fdt(now_unix)

    def _new_fdt(self, now_unix: UnixS) -> None:
        self._dirty = False
        if not self._objects:
            if self.fdt is not None:
                self.scheduler.remove(0)
                self.fdt = None
            return
        p = self.params
        instance = FdtInstance(
            expires=ntp_from_unix(UnixS(now_unix + p.fdt_expires)),
            files=tuple(obj.fdt_file for obj in self.objects),
            full_fdt=True,
            schema_version=profile.DOWNLOAD_FDT_SCHEMA_VERSION,
        )
        document = instance.to_xml(namespace=p.fdt_namespace)
        cenc = p.fdt_content_encoding
        payload = document if cenc is None else encode_content(document, cenc)
        iid = self._next_fdt_id
        self._next_fdt_id = next_instance_id(iid)
        oti = make_oti(
            len(payload), symbol_length=p.symbol_length, max_block_length=p.max_block_length
        )
        packetizer = BlockPacketizer.for_object(
            0,
            tsi=p.tsi,
            oti=oti,
            version=p.version,
            fdt_instance_id=iid,
            cenc=None if cenc is None else int(cenc),
            close_object=p.close_object,
        )
        self.scheduler.add(
            CarouselEntry(
                toi=0,
                packetizer=packetizer,
                source=BytesSource(payload),
                priority=PRIORITY_FDT,
                interval=p.fdt_repeat_interval,
                next_due=now_unix,
                label=f"FDT Instance {iid}",
            )
        )
        self.fdt = CurrentFdt(iid, instance, document, now_unix)
        self.fdt_instances += 1

    # --- progress --------------------------------------------------------------------------------
    def rounds(self) -> int:
        """Complete passes every live (not retiring) object has had: the carousel's round count."""
        counts = [
            entry.passes
            for toi in self._objects
            if toi not in self._retiring and (entry := self.scheduler.entry(toi)) is not None
        ]
        return min(counts) if counts else 0

    def live_bytes(self) -> int:
        return sum(obj.transfer_length for obj in self._objects.values())

    def close(self) -> None:
        self.scheduler.close()
        self._objects.clear()
        self._retiring.clear()
        self.fdt = None


def _order(obj: PreparedObject) -> tuple[int, int]:
    return (0 if obj.kind is ObjectKind.MIKEY else 1, obj.toi)


__all__ = ["CarouselSession", "CurrentFdt", "SessionParams"]
