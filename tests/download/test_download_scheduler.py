"""The sans-IO carousel scheduler: priorities, repetition, token-bucket rate — no sockets."""

from __future__ import annotations

import pytest

from broadcast.engine.download.scheduler import (
    PACKET_OVERHEAD,
    PRIORITY_FDT,
    PRIORITY_FILE,
    PRIORITY_MIKEY,
    BytesSource,
    CarouselEntry,
    CarouselScheduler,
)
from broadcast.proto.flute.alc import parse_packet
from broadcast.proto.flute.blocks import BlockPacketizer
from broadcast.proto.flute.fec import get_scheme

E, B = 100, 4  # symbol length, max source block length


def _entry(
    toi: int, size: int, priority: int, *, interval: float = 10.0, due: float = 0.0
) -> CarouselEntry:
    oti = get_scheme(0).make_oti(size, E, B)
    fdt = {"fdt_instance_id": 1} if toi == 0 else {}
    return CarouselEntry(
        toi=toi,
        packetizer=BlockPacketizer.for_object(toi, tsi=9, oti=oti, **fdt),
        source=BytesSource(bytes(range(256)) * (size // 256 + 1)),
        priority=priority,
        interval=interval,
        next_due=due,
    )


def _tois(packets: list[bytes]) -> list[int]:
    return [parse_packet(p).toi for p in packets]


def test_fdt_then_mikey_then_files_and_whole_passes() -> None:
    sched = CarouselScheduler(bitrate=None, max_batch=1000)
    for entry in (_entry(7, 950, PRIORITY_FILE), _entry(5, 50, PRIORITY_MIKEY)):
        sched.add(entry)
    sched.add(_entry(0, 120, PRIORITY_FDT))
    sched.add(_entry(8, 300, PRIORITY_FILE))
    poll = sched.poll(0.0)
    tois = _tois(poll.packets)
    assert tois == [0, 0, 5] + [7] * 10 + [8] * 3
    assert set(poll.completed) == {0, 5, 7, 8}
    assert poll.deadline == 10.0  # everything is next due one interval later


def test_due_fdt_preempts_a_file_between_blocks() -> None:
    sched = CarouselScheduler(bitrate=None, max_batch=4)  # one block per poll
    sched.add(_entry(7, 4000, PRIORITY_FILE, interval=0.0))
    sched.add(_entry(0, 50, PRIORITY_FDT, interval=1.0, due=0.5))
    first = sched.poll(0.0)
    assert _tois(first.packets) == [7] * 4 and first.deadline == 0.0
    second = sched.poll(0.6)
    assert _tois(second.packets) == [0] + [7] * 4  # the FDT first, then the file goes on
    entry = sched.entry(7)
    assert entry is not None and entry.step == 2 and entry.passes == 0


def test_equal_priority_takes_turns_after_whole_passes() -> None:
    sched = CarouselScheduler(bitrate=None, max_batch=8)
    sched.add(_entry(1, 800, PRIORITY_FILE, interval=0.0))
    sched.add(_entry(2, 800, PRIORITY_FILE, interval=0.0))
    seen = []
    for i in range(4):
        seen += _tois(sched.poll(float(i)).packets)
    assert seen == [1] * 8 + [2] * 8 + [1] * 8 + [2] * 8


def test_token_bucket_holds_the_rate() -> None:
    bitrate = 80_000.0  # 10 kB/s
    sched = CarouselScheduler(bitrate=bitrate, burst=1000, max_batch=1000)
    sched.add(_entry(1, 100_000, PRIORITY_FILE, interval=0.0))
    now, sent = 0.0, 0
    for _ in range(2000):
        poll = sched.poll(now)
        sent += sum(len(p) + PACKET_OVERHEAD for p in poll.packets)
        assert poll.deadline is not None and poll.deadline > now
        now = poll.deadline
        if now > 20.0:
            break
    # At most one block (B packets of E bytes + headers) above rate * time + burst.
    block = B * (E + 80)
    assert sent <= 10_000 * now + 1000 + block
    assert sent >= 10_000 * (now - 1.0)


def test_retired_entry_stops_and_is_removed() -> None:
    closed: list[int] = []
    sched = CarouselScheduler(bitrate=None, on_retire=lambda e: closed.append(e.toi))
    sched.add(_entry(1, 100, PRIORITY_FILE, interval=1.0))
    sched.add(_entry(2, 100, PRIORITY_FILE, interval=1.0))
    sched.retire(1, at_unix=1.5)
    assert _tois(sched.poll(0.0).packets) == [1, 2]
    assert _tois(sched.poll(1.0).packets) == [1, 2]
    assert _tois(sched.poll(2.0).packets) == [2]
    assert closed == [1] and sched.entry(1) is None


def test_nothing_scheduled_means_no_deadline() -> None:
    sched = CarouselScheduler(bitrate=1e6)
    poll = sched.poll(5.0)
    assert poll.packets == [] and poll.deadline is None


@pytest.mark.parametrize("bad", [0.0, -1.0])
def test_bitrate_must_be_positive(bad: float) -> None:
    with pytest.raises(ValueError, match="bitrate"):
        CarouselScheduler(bitrate=bad)


def test_priority_entries_need_a_positive_interval() -> None:
    sched = CarouselScheduler(bitrate=None)
    with pytest.raises(ValueError, match="positive repeat interval"):
        sched.add(_entry(5, 10, PRIORITY_MIKEY, interval=0.0))
    sched.add(_entry(6, 10, PRIORITY_FILE, interval=0.0))
    assert sched.entry(6) is not None
