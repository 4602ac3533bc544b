"""tools/loss_study.py: the MTK delivery loss study (issue 6 §3).

Small runs only (a few thousand UEs, a few switches): the simulation against its closed form,
the overhead arithmetic, the chosen defaults against the criterion, the schedule against the
streaming service's own ``MtkSchedule``, and the report/PNG written by ``main``.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

import pytest
from testkit import REPO_ROOT, load_module

from broadcast.engine.keys.mtk import IssuedMtk
from broadcast.engine.streaming.schedule import (
    MtkSchedule,
    MtkTiming,
    RequestMtk,
    SendMikey,
    Switch,
)
from broadcast.proto.dcf import MbmsKeyId
from broadcast.proto.keys.ids import KeyDomainId, MskId, MtkId
from broadcast.proto.keys.material import Mtk, SrtpSalt

ls = load_module(REPO_ROOT / "tools" / "loss_study.py", "loss_study_under_test")
STREAM = ls.Stream()


def _within(observed: float, expected: float, trials: int, sigmas: float = 4.5) -> bool:
    """Binomial proportion within ``sigmas`` standard errors of the expected probability."""
    sd = math.sqrt(expected * (1 - expected) / trials)
    return abs(observed - expected) <= sigmas * sd


# --- closed form vs simulation ---------------------------------------------------------------


@pytest.mark.parametrize(("interval", "lead", "copies"), [(0.5, 1.0, 2), (0.25, 0.6, 3)])
def test_bernoulli_miss_per_switch_matches_p_to_the_copies(
    interval: float, lead: float, copies: int
) -> None:
    sched = ls.Schedule(10.0, interval, lead)
    assert sched.copies_before_switch == copies
    p, ues, switches = 0.3, 2000, 5
    r = ls.simulate(sched, STREAM, ls.Bernoulli(p), ues, switches, seed=11)
    trials = ues * switches
    assert _within(r.p_miss_per_switch, p**copies, trials)
    # UEs lacking a key at one or more switches: 1 - (1 - p^c)^N.
    expected_ues = ls.fraction_failing(p**copies, switches)
    assert _within(r.ues_missing_a_key / ues, expected_ues, ues)
    # A UE that lacked the key only fails when it receives a packet before the next copy.
    assert 0 < r.ues_undecryptable <= r.ues_missing_a_key


def test_gilbert_elliott_miss_matches_the_forward_algorithm() -> None:
    """Long bursts (0.5 s) against 0.25 s copy spacing: strongly correlated losses."""
    sched = ls.Schedule(10.0, 0.25, 0.5)
    model = ls.GilbertElliott(0.2, burst_s=0.5)
    expected = model.p_all_lost(sched.copies_before_switch, sched.interval_s)
    assert expected > 2 * 0.2**2  # burstiness makes consecutive copies fail together
    r = ls.simulate(sched, STREAM, model, 2000, 5, seed=12)
    assert _within(r.p_miss_per_switch, expected, 2000 * 5)


def test_gilbert_elliott_with_memoryless_channel_is_bernoulli() -> None:
    ge = ls.GilbertElliott(0.05, burst_s=1e-6)
    assert ge.p_all_lost(5, 0.5) == pytest.approx(0.05**5, rel=1e-9)
    assert ls.Bernoulli(0.05).p_all_lost(5, 0.5) == pytest.approx(3.125e-7)


def test_zero_lead_fails_everyone_and_zero_loss_nobody() -> None:
    no_lead = ls.Schedule(10.0, 0.5, 0.0)
    r = ls.simulate(no_lead, STREAM, ls.Bernoulli(0.0), 500, 2, seed=1)
    # The copy sent at the switch instant counts as after the first packet under the new MTK.
    assert r.ues_undecryptable == 500 and r.miss_events == 1000
    r = ls.simulate(ls.Schedule(10.0, 0.5, 0.5), STREAM, ls.Bernoulli(0.0), 500, 2, seed=1)
    assert (r.miss_events, r.ues_undecryptable) == (0, 0)


def test_seeded_runs_repeat() -> None:
    sched = ls.Schedule(10.0, 0.5, 1.0)
    a = ls.simulate(sched, STREAM, ls.GilbertElliott(0.3), 1000, 3, seed=5)
    b = ls.simulate(sched, STREAM, ls.GilbertElliott(0.3), 1000, 3, seed=5)
    c = ls.simulate(sched, STREAM, ls.GilbertElliott(0.3), 1000, 3, seed=6)
    assert a == b and a != c


def test_join_latency_lossless_is_at_most_one_interval() -> None:
    sched = ls.Schedule(10.0, 0.5, 2.5)
    j = ls.simulate_join(sched, STREAM, ls.Bernoulli(0.0), 2000, seed=3)
    assert j.never == 0
    # Next copy within one interval, then the next RTP packet (10 ms).
    assert j.quantile(1.0) <= 0.5 + 0.01 + 1e-9
    assert 0.2 < j.quantile(0.5) < 0.3


def test_join_replay_lockout_waits_for_the_switch() -> None:
    """A joining UE that gets the upcoming MTK's message first rejects the current one's (older
    COUNTER, as broadcast.proto.mikey.verifier does) and can only decrypt after the switch."""
    sched = ls.Schedule(10.0, 1.0, 5.0)
    j = ls.simulate_join(sched, STREAM, ls.Bernoulli(0.3), 3000, seed=4)
    assert j.never == 0
    # Without lockout the 99.9th percentile would be a few intervals (0.3^5 < 0.3 %).
    assert j.quantile(0.999) > 3.0


# --- sizes and overhead ----------------------------------------------------------------------


def test_mikey_message_length_from_the_payload_layout() -> None:
    hdr = 10 + 9  # HDR with an SRTP-ID map of one entry (RFC 3830 §6.1, RFC 4563)
    ext = 4 + (2 + 3) + (2 + 4) + (2 + 2)  # Key ID ext: Key Domain ID, MSK ID, MTK ID
    t = 2 + 4  # T, COUNTER
    rand = 2 + 16
    key_data = 4 + 16 + 2 + 14 + 1 + 6  # TEK+SALT, KV SPI = 6-byte MKI
    kemac = 4 + key_data + 1 + 20  # AES-CM-128, HMAC-SHA-1-160
    assert ls.mikey_mtk_message_len() == hdr + ext + t + rand + kemac == 130
    assert ls.mikey_mtk_message_len(ssrcs=3) == 130 + 2 * 9


def test_stream_and_overhead_known_case() -> None:
    assert (STREAM.packet_bytes, STREAM.packet_rate, STREAM.packet_interval_us) == (
        1250,
        100.0,
        10_000,
    )
    sched = ls.Schedule(10.0, 0.5, 2.0)
    assert (sched.copies_before_switch, sched.copies_per_mtk) == (4, 24)
    # 24 copies of (130 + 28) bytes every 10 s against 1 Mbit/s.
    assert ls.overhead_pct(sched, STREAM, 130) == pytest.approx(100 * 24 * 158 * 8 / 10 / 1e6)
    assert ls.overhead_pct(sched, ls.Stream(bitrate=500_000), 130) == pytest.approx(0.60672)


def test_copy_times_and_tie_rule() -> None:
    sched = ls.Schedule(10.0, 0.5, 2.1)
    assert sched.copies_before_switch == 5  # 7.9, 8.4, 8.9, 9.4, 9.9 before S_1 = 10
    times = list(sched.copy_times_us(1))
    assert times[0] == 7_900_000 and times[-1] < 20_000_000 and len(times) == 25
    with pytest.raises(ValueError, match="lead"):
        ls.Schedule(10.0, 0.5, 10.0)


def test_model_matches_the_streaming_service_schedule() -> None:
    """The study's send times are what broadcast.engine.streaming.schedule.MtkSchedule emits."""
    period, interval, lead = 10.0, 0.5, 2.5
    sched = MtkSchedule(MtkTiming(period=period, lead=lead, interval=interval))
    sent: dict[int, list[int]] = {}
    switches: list[int] = []
    number = 0

    def issue() -> IssuedMtk:
        return IssuedMtk(
            MbmsKeyId(KeyDomainId.from_plmn("001", "01"), MskId(1, 1), MtkId(number + 1)),
            Mtk(bytes(16)),
            b"",
            number + 1,
            SrtpSalt(bytes(14)),
        )

    def run(actions: list[object], now: float) -> None:
        nonlocal number
        for a in actions:
            if isinstance(a, RequestMtk):
                mtk = issue()
                number += 1
                run(list(sched.provide(mtk, now)), now)
            elif isinstance(a, SendMikey):
                sent.setdefault(int(a.mtk.mtk_id) - 1, []).append(round(now * 1e6))
            elif isinstance(a, Switch):
                switches.append(round(now * 1e6))

    run(list(sched.start(0.0)), 0.0)
    for _ in range(10_000):
        now = sched.next_deadline()
        assert now is not None
        if now >= 3 * period:
            break
        run(list(sched.poll(now)), now)
    model = ls.Schedule(period, interval, lead)
    assert switches == [0, 10_000_000, 20_000_000]
    for k in (1, 2):
        assert sent[k] == list(model.copy_times_us(k))
    assert sent[3] == [t for t in model.copy_times_us(3) if t < 30_000_000]


# --- the chosen defaults ---------------------------------------------------------------------


@pytest.mark.parametrize("period", [2.5, 5.0, 10.0, 30.0, 60.0, 300.0])
def test_recommended_defaults_meet_the_criterion_with_margin(period: float) -> None:
    sched = ls.recommend(period)
    assert sched.copies_before_switch >= 5 and sched.lead_s <= period / 2
    per_hour = 3600 / period
    p_switch = ls.Bernoulli(0.05).p_all_lost(sched.copies_before_switch, sched.interval_s)
    # >= 99.9 % of UEs decrypt every packet for a whole hour, with a 2x margin.
    assert ls.fraction_failing(p_switch, per_hour) <= 0.0005
    if period >= 5:  # and also with 100 ms loss bursts
        ge = ls.GilbertElliott(0.05, burst_s=0.1)
        p_switch = ge.p_all_lost(sched.copies_before_switch, sched.interval_s)
        assert ls.fraction_failing(p_switch, per_hour) <= 0.001
    assert ls.overhead_pct(sched, STREAM, ls.mikey_mtk_message_len()) <= 0.8


def test_no_recommendation_below_two_and_a_half_seconds() -> None:
    with pytest.raises(ValueError, match=r"2\.5 s"):
        ls.recommend(2.0)


def test_default_for_ten_seconds_simulated() -> None:
    sched = ls.recommend(10.0)
    assert (sched.interval_s, sched.lead_s) == (0.5, 2.5)
    assert ls.overhead_pct(sched, STREAM, ls.mikey_mtk_message_len()) <= 0.5
    r = ls.simulate(sched, STREAM, ls.Bernoulli(0.05), 2000, 5, seed=21)
    assert r.fraction_undecryptable <= 0.001
    # Four copies (the previous provisional lead of 2 s) would not hold for an hour.
    four = ls.Schedule(10.0, 0.5, 2.0)
    assert ls.fraction_failing(0.05**four.copies_before_switch, 360) > 0.001


# --- the command -----------------------------------------------------------------------------


def test_main_writes_report_and_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png, md = tmp_path / "study.png", tmp_path / "study.md"
    argv = ["--ues", "300", "--switches", "2", "--intervals", "0.5,1", "--leads", "0,2"]
    argv += ["--p", "0.05", "--periods", "10", "--png", str(png), "--md", str(md)]
    assert ls.main(argv) == 0
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width > 500 and height > 400
    text = md.read_text(encoding="utf-8")
    assert capsys.readouterr().out == text + "\n"
    assert "## Chosen defaults" in text and "re-send interval 0.5 s, lead 2.5 s" in text
    # The chosen row is added to the grid when it is not in --intervals/--leads.
    assert "| **0.5** | **2.5** | 5 |" in text and "**yes (default)**" in text
    assert "| 0.5 | 0 | 0 | 100.00 |" in text
    assert "## Gilbert-Elliott loss" in text and f"({png.name})" in text


def test_main_rejects_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = ["--png", str(tmp_path / "x.png"), "--md", str(tmp_path / "x.md")]
    assert ls.main(["--rtp-payload", "0", *out]) == 64
    assert "positive" in capsys.readouterr().err
    assert ls.main(["--ues", "0", "--periods", "10", *out]) == 64
    assert "at least one UE" in capsys.readouterr().err
    assert not (tmp_path / "x.md").exists()
    with pytest.raises(SystemExit):
        ls.main(["--p", "x", *out])
