"""The sans-IO MTK schedule: fixed timelines and hypothesis-driven invariants (no sockets, no
clock: ``now`` is a number the test chooses). The property tests make MTKs with the real
``MtkIssuer`` over an in-memory key store whose MSKs have small MTK ID ranges, and play the BM-SC
(adding NEXT MSKs) at random moments."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broadcast.engine.keys.issuing import MtkUnavailable
from broadcast.engine.keys.mtk import IssuedMtk, MtkIssuer
from broadcast.engine.streaming.schedule import (
    InstallKey,
    MtkSchedule,
    MtkTiming,
    RequestMtk,
    ScheduleError,
    SendMikey,
    Switch,
)
from broadcast.proto.dcf import MbmsKeyId
from broadcast.proto.keys import KeyDomainId, Msk, MskId, MskState, Mtk, MtkId, SrtpSalt
from broadcast.store.keys import SQLiteKeyStore

DOMAIN = KeyDomainId.from_plmn("001", "01")


MSK_1_1 = MskId(1, 1)


def fake_mtk(mtk_id: int, msk: MskId = MSK_1_1) -> IssuedMtk:
    return IssuedMtk(
        MbmsKeyId(DOMAIN, msk, MtkId(mtk_id)),
        Mtk(bytes([mtk_id & 0xFF]) * 16),
        b"message-%d" % mtk_id,
        mtk_id,
        SrtpSalt(bytes(14)),
    )


def kinds(actions: list[object]) -> list[str]:
    return [type(a).__name__ for a in actions]


# --- fixed timelines ------------------------------------------------------------------------------


def test_first_mtk_is_sent_then_current_at_once() -> None:
    s = MtkSchedule(MtkTiming(period=10, lead=2, interval=0.5))
    assert s.start(100.0) == [RequestMtk()]
    assert s.poll(100.0) == []  # nothing until the MTK is provided
    m1 = fake_mtk(1)
    actions = s.provide(m1, 100.0)
    assert actions == [InstallKey(m1), SendMikey(m1, 0), Switch(m1)]
    assert s.current is m1 and s.upcoming is None
    assert s.next_deadline() == 100.5


def test_time_mode_timeline() -> None:
    s = MtkSchedule(MtkTiming(period=10, lead=2, interval=0.5))
    s.start(0.0)
    m1, m2 = fake_mtk(1), fake_mtk(2)
    s.provide(m1, 0.0)
    sends = []
    now = 0.0
    request_at = None
    switched = False
    for _ in range(200):
        nd = s.next_deadline()
        assert nd is not None
        now = nd
        for a in s.poll(now):
            if isinstance(a, SendMikey):
                sends.append((now, a.mtk.mtk_id.value, a.copy))
            elif isinstance(a, RequestMtk):
                request_at = now
                assert s.provide(m2, now) == [InstallKey(m2), SendMikey(m2, 0)]
                sends.append((now, 2, 0))
            elif isinstance(a, Switch):
                assert a.mtk is m2 and not switched
                assert now == pytest.approx(10.0)
                switched = True
        if switched:
            break
    assert s.current is m2
    assert request_at == pytest.approx(8.0)  # period - lead
    m1_copies = [t for t, i, _ in sends if i == 1]
    m2_copies = [t for t, i, _ in sends if i == 2]
    # MTK 1 is re-sent until it stops being current; MTK 2 from its announcement on.
    assert m1_copies == pytest.approx([0.5 * k for k in range(1, 20)])  # 0.5 .. 9.5
    assert m2_copies == pytest.approx([8.0, 8.5, 9.0, 9.5, 10.0])
    assert s.seconds_to_switch(now) == pytest.approx(10.0)


def test_packet_mode_requests_after_n_packets_and_switches_lead_later() -> None:
    s = MtkSchedule(MtkTiming(period_packets=100, lead=0.2, interval=0.05))
    s.start(0.0)
    s.provide(fake_mtk(1), 0.0)
    s.count_packets(99)
    assert RequestMtk() not in s.poll(0.01)
    assert s.packets_to_switch() == 1
    s.count_packets(1)
    assert RequestMtk() in s.poll(0.02)
    s.provide(fake_mtk(2), 0.03)
    s.count_packets(500)  # packets keep flowing under MTK 1 during the lead window
    assert not any(isinstance(a, Switch) for a in s.poll(0.2))
    assert s.next_deadline() == pytest.approx(0.23)
    assert any(isinstance(a, Switch) for a in s.poll(0.23))
    assert s.packets_under_current == 0 and s.current == fake_mtk(2)


def test_failed_request_keeps_current_and_retries() -> None:
    s = MtkSchedule(MtkTiming(period=1, lead=0.5, interval=0.1, retry=0.3))
    s.start(0.0)
    m1 = fake_mtk(1)
    s.provide(m1, 0.0)
    assert RequestMtk() in s.poll(0.5)
    s.fail("no MSK", 0.5)
    assert s.error == "no MSK"
    assert not any(isinstance(a, RequestMtk) for a in s.poll(0.7))
    # The current MTK stays and keeps being re-sent, past its planned switch.
    acts = s.poll(1.5)
    assert SendMikey(m1, 3) in acts and RequestMtk() in acts  # copies 1, 2 at 0.5 and 0.7
    m2 = fake_mtk(2)
    s.provide(m2, 1.5)
    assert s.error is None
    assert s.current is m1
    assert s.next_deadline() == pytest.approx(1.6)
    switch_at = None
    now = 1.5
    while switch_at is None:
        now = s.next_deadline() or now
        if any(isinstance(a, Switch) for a in s.poll(now)):
            switch_at = now
    assert switch_at == pytest.approx(2.0)  # lead after its first copy


def test_contract_errors() -> None:
    s = MtkSchedule()
    with pytest.raises(ScheduleError):
        s.provide(fake_mtk(1), 0)
    s.start(0)
    with pytest.raises(ScheduleError):
        s.start(0)
    s.provide(fake_mtk(5), 0)
    with pytest.raises(ScheduleError):
        s.fail("x", 0)
    s._pending = True  # as after a RequestMtk
    with pytest.raises(ScheduleError, match="not newer"):
        s.provide(fake_mtk(5), 1)
    with pytest.raises(ScheduleError, match="not newer"):
        s.provide(fake_mtk(4), 1)
    s.provide(fake_mtk(1, MskId(1, 2)), 1)  # a new MSK restarts the MTK IDs


@pytest.mark.parametrize(
    "kwargs",
    [
        {"period": 0},
        {"period": -1},
        {"lead": -0.1},
        {"interval": 0},
        {"retry": 0},
        {"period": float("inf")},
        {"period_packets": -1},
        {"period_packets": 1.5},
        {"lead": True},
    ],
)
def test_timing_validation(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        MtkTiming(**kwargs)  # type: ignore[arg-type]


# --- properties over random runs ----------------------------------------------------------------


@dataclass
class Log:
    installs: dict[bytes, float] = field(default_factory=dict)
    sends: dict[bytes, list[tuple[float, int, bytes]]] = field(default_factory=dict)
    switches: list[tuple[float, IssuedMtk, int]] = field(default_factory=list)  # time, mtk, pkts


step = st.tuples(
    st.floats(min_value=0.0, max_value=0.7),  # time advance (capped at the next deadline)
    st.integers(min_value=0, max_value=60),  # packets protected in that step
    st.sampled_from(["ok", "ok", "ok", "slow", "add_next"]),
)


def run_schedule(
    timing: MtkTiming, steps: list[tuple[float, int, str]], range_size: int
) -> tuple[Log, dict[MskId, tuple[int, int]], MtkSchedule]:
    store = SQLiteKeyStore(":memory:")
    store.add_key_domain(DOMAIN)
    store.add_key_group(DOMAIN, 1, streaming=True)
    numbers = itertools.count(1)
    ranges: dict[MskId, tuple[int, int]] = {}

    def add_msk(state: MskState) -> None:
        msk_id = MskId(1, next(numbers))
        store.add_msk(
            DOMAIN, msk_id, Msk(bytes(16)), mtk_id_low=10, mtk_id_high=9 + range_size, state=state
        )
        ranges[msk_id] = (10, 9 + range_size)

    add_msk(MskState.CURRENT)
    rand = itertools.count()
    issuer = MtkIssuer(
        store, DOMAIN, 1, streaming=True, rand=lambda n: bytes([next(rand) % 256]) * n
    )
    sched = MtkSchedule(timing)
    log = Log()
    now = 0.0
    pending_slow = False
    before = 0  # packets under the current MTK just before the last poll

    def handle(actions: list[object], mode: str) -> None:
        nonlocal pending_slow
        for a in actions:
            if isinstance(a, InstallKey):
                assert a.mtk.mki not in log.installs
                log.installs[a.mtk.mki] = now
            elif isinstance(a, SendMikey):
                assert a.mtk.mki in log.installs, "sent before installed"
                log.sends.setdefault(a.mtk.mki, []).append((now, a.copy, a.message))
            elif isinstance(a, Switch):
                assert log.sends.get(a.mtk.mki), "switched before its message was sent"
                log.switches.append((now, a.mtk, before))
            elif isinstance(a, RequestMtk):
                if mode == "slow":
                    pending_slow = True
                else:
                    provide()

    def provide() -> None:
        try:
            mtk = issuer.issue([(0x1234, 0)])
        except MtkUnavailable as exc:
            sched.fail(str(exc), now)
            return
        handle(list(sched.provide(mtk, now)), "ok")

    handle(list(sched.start(now)), "ok")
    for dt, packets, mode in steps:
        if mode == "add_next" and not any(
            m.state is MskState.NEXT for m in store.list_msks(DOMAIN, 1)
        ):
            add_msk(MskState.NEXT)
        if pending_slow and mode != "slow":
            pending_slow = False
            provide()
        deadline = sched.next_deadline()
        now = now + dt if deadline is None else max(now, min(now + dt, deadline))
        if sched.current is not None:
            sched.count_packets(packets)
        before = sched.packets_under_current
        handle(list(sched.poll(now)), mode)
    store.close()
    return log, ranges, sched


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(step, min_size=1, max_size=120),
    packet_mode=st.booleans(),
    lead=st.floats(min_value=0.0, max_value=1.0),
    interval=st.floats(min_value=0.05, max_value=0.5),
    range_size=st.integers(min_value=1, max_value=4),
)
def test_schedule_invariants(
    steps: list[tuple[float, int, str]],
    packet_mode: bool,
    lead: float,
    interval: float,
    range_size: int,
) -> None:
    timing = MtkTiming(
        period=1.0, period_packets=50 if packet_mode else 0, lead=lead, interval=interval, retry=0.2
    )
    log, ranges, sched = run_schedule(timing, steps, range_size)
    assert log.switches, "the first MTK is always made"

    # MTK IDs stay inside their MSK's range and increase strictly under each MSK.
    last: dict[MskId, int] = {}
    for mki in log.installs:
        msk_id, mtk_id = MskId.from_bytes(mki[:4]), int.from_bytes(mki[4:], "big")
        low, high = ranges[msk_id]
        assert low <= mtk_id <= high
        assert mtk_id > last.get(msk_id, 0)
        last[msk_id] = mtk_id

    # Every switch but the first comes at least `lead` after the MTK's first copy, and not
    # before the current MTK's period is over.
    for (t_prev, _, _), (t, mtk, packets) in itertools.pairwise(log.switches):
        first_copy = log.sends[mtk.mki][0][0]
        assert t >= first_copy + lead - 1e-9
        if packet_mode:
            assert packets >= 50
        else:
            assert t >= t_prev + 1.0 - 1e-9

    # Re-sends are byte-identical, numbered 0, 1, 2..., never ahead of the cadence, and while
    # an MTK is current or upcoming no gap exceeds the interval (the driver polls at deadlines).
    switch_times = {mtk.mki: t for t, mtk, _ in log.switches}
    ends = {}
    for (_, mtk, _), (t_next, _, _) in itertools.pairwise(log.switches):
        ends[mtk.mki] = t_next
    for mki, copies in log.sends.items():
        first = copies[0][0]
        assert [c for _, c, _ in copies] == list(range(len(copies)))
        assert len({m for _, _, m in copies}) == 1
        for k, (t, _, _) in enumerate(copies):
            assert t >= first + k * interval - 1e-6
        end = ends.get(mki)
        for (t1, _, _), (t2, _, _) in itertools.pairwise(copies):
            if end is None or t2 <= end:
                assert t2 - t1 <= interval + 1e-6
        if mki in switch_times and mki != log.switches[0][1].mki:
            assert copies[0][0] <= switch_times[mki]
    # The schedule's error is set exactly when the last request failed.
    assert (sched.error is None) or sched.current is not None
