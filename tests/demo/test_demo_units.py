"""The demo's parts on their own: address plan, timeline, pcap writer, link model, fan-out,
media ingest, the verdict and the live view (sockets on 127.100.210.x and 127.103.x.x only)."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import io
import socket
import struct
from pathlib import Path
from typing import Any

import pytest
from testkit import FakeClock

from broadcast.cli.main import EXIT_USAGE
from broadcast.cli.main import main as mbms_main
from broadcast.demo import plan
from broadcast.demo.fanout import FanOutOutput
from broadcast.demo.link import DemoLink, kind_of
from broadcast.demo.live import LiveView, RunProgress, UeProgress, line, table
from broadcast.demo.media import MediaGeneratorConfig
from broadcast.demo.media.generator import AUDIO_CLOCK, VIDEO_CLOCK
from broadcast.demo.media_ingest import MediaIngest, MediaIngestConfig
from broadcast.demo.pcap import LINKTYPE_RAW, PcapWriter
from broadcast.demo.report import Expectations, build_report, evaluate_ue, final_table
from broadcast.demo.runner import DemoError, DemoOptions, run_demo
from broadcast.demo.scenario import SampleFile, make_sample_files
from broadcast.demo.timeline import Timeline
from broadcast.proto.net.ipv4 import parse_udp_ipv4

# A network of their own: the clash test binds an address of it.
CLASH_NET = 103


def test_plan_second_octet_chooses_the_network_and_the_default_is_127_100() -> None:
    default = plan.Plan()
    assert default == plan.DEFAULT_PLAN and default.net == plan.DEFAULT_NET == 100
    assert (plan.BMSC_HOST, plan.STREAM_NOMINAL, plan.CAROUSEL_NOMINAL) == (
        "127.100.0.1",
        "127.100.1.1",
        "127.100.1.2",
    )
    assert plan.ue_addresses(7) == default.ue_addresses(7)
    assert plan.ue_hosts(2) == ["127.100.3.1", "127.100.3.2"]
    p = plan.Plan(42)
    assert p.network == "127.42.0.0/16"
    assert (p.bmsc_host, p.stream_nominal, p.carousel_nominal) == (
        "127.42.0.1",
        "127.42.1.1",
        "127.42.1.2",
    )
    ue = p.ue_addresses(plan.MAX_UES)
    assert ue.push == ("127.42.2.250", 2269) and ue.media_host == "127.42.3.250"
    assert p.ue_hosts(3) == ["127.42.3.1", "127.42.3.2", "127.42.3.3"]
    assert p.is_push_host("127.42.2.9") and not p.is_push_host("127.100.2.9")
    assert not p.is_push_host("127.42.3.9")
    for bad in (0, 255, -1, 100000):
        with pytest.raises(ValueError, match=r"1\.\.254"):
            plan.Plan(bad)
    with pytest.raises(TypeError):
        plan.Plan(True)
    with pytest.raises(ValueError, match="UE index"):
        p.ue_addresses(plan.MAX_UES + 1)
    assert plan.Plan(1).bmsc_host == "127.1.0.1" and plan.Plan(254).bmsc_host == "127.254.0.1"


def test_demo_options_carry_the_net_into_the_plan_and_the_report() -> None:
    assert DemoOptions().plan == plan.DEFAULT_PLAN and DemoOptions().to_json()["net"] == 100
    o = DemoOptions(net=77)
    assert o.plan == plan.Plan(77) and o.to_json()["net"] == 77
    with pytest.raises(ValueError, match="network"):
        DemoOptions(net=0)


def test_demo_on_a_busy_network_fails_setup_and_names_the_net_option() -> None:
    """An address of the plan in use (another demo on the same N): a DemoError that says which
    network and how to move, raised during setup (before any sender starts)."""
    busy = plan.Plan(CLASH_NET).ue_addresses(1).push
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(busy)
        with pytest.raises(DemoError, match=r"127\.103\.0\.0/16\? choose another --net"):
            asyncio.run(
                asyncio.wait_for(
                    run_demo(
                        DemoOptions(duration=10, ues=1, net=CLASH_NET), io.StringIO(), tty=False
                    ),
                    timeout=30,
                )
            )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["demo", "--net", "0"], "the network must be 1..254"),
        (["demo", "--net", "255"], "the network must be 1..254"),
        (["demo", "--net", "x"], "not a network number: 'x'"),
    ],
)
def test_demo_cli_refuses_a_bad_net(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert mbms_main(argv) == EXIT_USAGE
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("duration", [10.0, 20.0, 60.0, 600.0])
def test_timeline_scales_every_event_into_the_run(duration: float) -> None:
    t = Timeline.for_duration(duration)
    assert t.expected_stream_switches >= 5  # >= 3 required, even for short runs
    assert 0 < t.stream_mtk_interval < t.stream_mtk_lead < t.stream_mtk_period
    # NEXT MSK pushed, then promoted, then the carousel's MTK change is under the new MSK.
    assert 0 < t.msk_rotation_at < t.msk_promoted_at < t.carousel_mtk_period < duration
    assert t.carousel_mtk_period + t.carousel_grace >= duration  # old generation to the end
    assert t.expected_carousel_mtks == 2


def test_timeline_refuses_silly_durations() -> None:
    for d in (0.0, 9.9, 1e9):
        with pytest.raises(ValueError, match="duration"):
            Timeline.for_duration(d)


def test_sample_files_are_seeded_and_one_is_over_a_megabyte(tmp_path: Path) -> None:
    a = make_sample_files(tmp_path / "a", 7)
    b = make_sample_files(tmp_path / "b", 7)
    c = make_sample_files(tmp_path / "c", 8)
    assert a == b and a != c
    assert len({f.size for f in a}) == len(a) >= 3
    assert max(f.size for f in a) > 1_000_000


def test_pcap_writer_frames_ipv4_udp_with_checksums(tmp_path: Path) -> None:
    path = tmp_path / "x.pcap"
    with PcapWriter(path, clock_unix=lambda: 1700000000.25) as w:
        w.write(b"mikey!", ("127.100.0.1", 40000), ("127.100.2.1", 2269))
        w.write(b"x" * 1500, ("127.100.0.1", 40001), ("127.100.3.1", 5004))
        w.write(b"y", ("", 1), ("127.0.0.1", 1))  # unusable address: skipped, counted
    assert (w.packets, w.skipped) == (2, 1)
    raw = path.read_bytes()
    magic, major, minor, _, _, _snaplen, linktype = struct.unpack_from("<IHHiIII", raw)
    assert (magic, major, minor, linktype) == (0xA1B2C3D4, 2, 4, LINKTYPE_RAW)
    off = 24
    packets = []
    while off < len(raw):
        sec, usec, caplen, length = struct.unpack_from("<IIII", raw, off)
        assert (sec, usec, caplen) == (1700000000, 250000, length)
        packets.append(parse_udp_ipv4(raw[off + 16 : off + 16 + caplen]))
        off += 16 + caplen
    assert [(p.source, p.source_port, p.destination, p.destination_port) for p in packets] == [
        ("127.100.0.1", 40000, "127.100.2.1", 2269),
        ("127.100.0.1", 40001, "127.100.3.1", 5004),
    ]
    assert packets[0].payload == b"mikey!"


def test_link_loss_is_seeded_per_ue_and_captures_what_it_drops(tmp_path: Path) -> None:
    src, dst = ("127.100.0.1", 1), ("127.100.3.1", plan.FLUTE_PORT)

    def drops(ue: int, seed: int) -> list[bool]:
        link = DemoLink(ue, loss_percent=5, seed=seed)
        return [not link.incoming(b"p", src, dst) for _ in range(4000)]

    assert drops(1, 3) == drops(1, 3)
    assert drops(1, 3) != drops(2, 3) and drops(1, 3) != drops(1, 4)
    assert 120 < sum(drops(1, 3)) < 280  # about 5 %
    with PcapWriter(tmp_path / "l.pcap") as pcap:
        link = DemoLink(1, loss_percent=50, seed=1, pcap=pcap)
        for _ in range(100):
            link.incoming(b"p", src, dst)
        link.outgoing(b"ack", ("127.100.2.1", 2269), ("127.100.0.1", 5555))
    assert pcap.packets == 101
    assert link.received["flute"] + link.dropped["flute"] == 100 and link.dropped["flute"] > 20
    assert link.sent == {"mikey_ack": 1}
    lossless = DemoLink(1)
    assert all(lossless.incoming(b"p", src, dst) for _ in range(1000))
    assert kind_of(("127.100.2.7", 2269)) == "msk" and kind_of(("127.100.3.7", 2269)) == "mtk"
    assert kind_of(("127.100.3.7", plan.RTP_PORT)) == "srtp"
    assert kind_of(("127.100.3.7", plan.RTCP_PORT)) == "srtcp"
    other = plan.Plan(42)  # another network: its own push addresses are the MSK ones
    assert kind_of(("127.42.2.7", 2269), other) == "msk"
    assert kind_of(("127.100.2.7", 2269), other) == "mtk"
    link42 = DemoLink(1, plan=other)
    link42.incoming(b"push", src, ("127.42.2.1", 2269))
    link42.incoming(b"mtk", src, ("127.42.3.1", 2269))
    assert link42.received == {"msk": 1, "mtk": 1}


def test_fan_out_sends_one_copy_per_ue_and_taps_once() -> None:
    hosts = ["127.100.210.1", "127.100.210.2", "127.100.210.3"]
    socks = []
    for h in hosts:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((h, 47000))
        s.settimeout(2.0)
        socks.append(s)
    seen: list[tuple[bytes, tuple[str, int]]] = []
    out = FanOutOutput({"127.100.210.100": hosts}, tap=lambda d, a: seen.append((d, a)))
    try:
        assert out.send_batch([b"a", b"b"], ("127.100.210.100", 47000)) == 2
        assert out.send_many([(b"c", ("127.100.210.100", 47000))]) == 1
        assert [d for d, _ in seen] == [b"a", b"b", b"c"]
        assert {a for _, a in seen} == {("127.100.210.100", 47000)}
        for s in socks:
            assert [s.recv(100) for _ in range(3)] == [b"a", b"b", b"c"]
        assert out.stats.errors == 0
    finally:
        out.close()
        for s in socks:
            s.close()


class _Sink:
    """Records each batch with the (fake) time it was delivered at."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.batches: list[list[bytes]] = []
        self.times: list[float] = []

    def deliver(self, datagrams: list[bytes]) -> None:
        self.batches.append(datagrams)
        self.times.append(self.clock())

    def deliver_rtcp(self, datagrams: list[bytes]) -> None:
        raise AssertionError("the media source sends no RTCP")


def _play(cfg: MediaIngestConfig, clock: FakeClock) -> tuple[MediaIngest, _Sink]:
    """Run ``cfg`` on ``clock``: its sleeps advance the clock instead of waiting."""
    ingest = MediaIngest(cfg, sleep=clock.sleep)
    sink = _Sink(clock)

    async def run() -> None:
        await ingest.start()
        await asyncio.wait_for(ingest.run(sink, clock), 10)  # a hang guard only

    asyncio.run(run())
    ingest.close()
    return ingest, sink


def test_media_ingest_plays_vp8_and_opus_paced_and_in_order(fake_clock: FakeClock) -> None:
    cfg = MediaIngestConfig(MediaGeneratorConfig(width=64, height=48), duration=0.4)
    start = fake_clock()
    ingest, sink = _play(cfg, fake_clock)
    packets = [p for b in sink.batches for p in b]
    ssrcs = {int.from_bytes(p[8:12], "big") for p in packets}
    assert ssrcs == {cfg.media.video_ssrc, cfg.media.audio_ssrc}
    assert ingest.stats.datagrams == len(packets) and ingest.frames == len(sink.batches) >= 20
    # Paced by the presentation times: each frame leaves when its RTP timestamp says, on the
    # clock given to run() (0.4 s of media: the last frame is due before 0.4 s).
    rates = {cfg.media.video_ssrc: VIDEO_CLOCK, cfg.media.audio_ssrc: AUDIO_CLOCK}
    for ssrc, rate in rates.items():
        first = next(b[0] for b in sink.batches if int.from_bytes(b[0][8:12], "big") == ssrc)
        ts0 = int.from_bytes(first[4:8], "big")
        for batch, at in zip(sink.batches, sink.times, strict=True):
            if int.from_bytes(batch[0][8:12], "big") == ssrc:
                due = (int.from_bytes(batch[0][4:8], "big") - ts0) / rate
                assert at - start == pytest.approx(due, abs=1e-4)
    assert sink.times == sorted(sink.times)
    assert 0.3 < fake_clock() - start < 0.4
    assert all(s > 0 for s in fake_clock.sleeps)
    for ssrc in ssrcs:
        seqs = [
            int.from_bytes(p[2:4], "big") for p in packets if p[8:12] == ssrc.to_bytes(4, "big")
        ]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


def test_media_ingest_holds_the_first_frame_back_for_its_delay(fake_clock: FakeClock) -> None:
    cfg = MediaIngestConfig(MediaGeneratorConfig(width=64, height=48), duration=0.1, delay=0.3)
    start = fake_clock()
    ingest, sink = _play(cfg, fake_clock)
    assert fake_clock.sleeps[0] == 0.3
    assert sink.times[0] - start == pytest.approx(0.3)
    # Media time starts after the delay: 0.1 s of media still plays in full.
    assert ingest.frames >= 3 and ingest.stats.datagrams == sum(map(len, sink.batches))
    assert 0.3 + 0.05 < sink.times[-1] - start < 0.3 + 0.1


# -- the verdict ---------------------------------------------------------------------------------

FILES = (SampleFile("a.txt", 3, "md5a"), SampleFile("b.bin", 5, "md5b"))
EXPECT = Expectations(
    stream_mtks_sent=("00010001/0001", "00010001/0002", "00010002/0001"),
    stream_mtks_used=("00010001/0001", "00010001/0002"),
    carousel_mtks=("00020001/0001",),
    msks={1: ("00010001", "00010002"), 2: ("00020001",)},
    srtp_sent=100,
    srtcp_sent=2,
    files=FILES,
    lossless=True,
    decode_media=False,
)


def _ue_json() -> dict[str, Any]:
    return {
        "msk": {
            "ids": ["00F110/00010001", "00F110/00010002", "00F110/00020001"],
            "client": {
                "initial_request_ok": 1,
                "challenges": 1,
                "http_ok": 2,
                "msk_received": 3,
                "ack_sent": 3,
            },
        },
        "streaming": [
            {
                "counters": {
                    "mtk_ids": ["00010001/0001", "00010001/0002", "00010002/0001"],
                    "srtp_decrypted": 100,
                    "srtp_undecryptable": {},
                    "srtcp_decrypted": 2,
                    "srtcp_undecryptable": {},
                }
            }
        ],
        "download": [
            {
                "counters": {
                    "mtk_ids": ["00020001/0001"],
                    "received_files": [
                        {"name": "a.txt", "size": 3, "md5": "md5a"},
                        {"name": "b.bin", "size": 5, "md5": "md5b"},
                    ],
                }
            }
        ],
        "missed_msk_updates": [],
    }


def _evaluate(ue: dict[str, Any], expect: Expectations = EXPECT, **kw: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "index": 1,
        "impi": "ue1@x",
        "b_tid": "b@x",
        "ue": ue,
        "link": {"received": {}, "dropped": {}, "sent": {}},
        "media": None,
        "disk_md5": {"a.txt": "md5a", "b.bin": "md5b"},
        "expect": expect,
    }
    args.update(kw)
    return evaluate_ue(**args)


def test_a_perfect_ue_passes_every_check() -> None:
    result = _evaluate(_ue_json())
    assert result["ok"] and all(result["checks"].values()) and result["failures"] == []
    assert result["msk"]["held"] == {"1": ["00010001", "00010002"], "2": ["00020001"]}
    assert result["streaming"]["decrypted_percent"] == 100.0


def _broken(path: list[Any], value: Any) -> dict[str, Any]:
    ue = copy.deepcopy(_ue_json())
    node = ue
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return ue


@pytest.mark.parametrize(
    ("path", "value", "check"),
    [
        (["msk", "client", "challenges"], 0, "msk_over_digest"),
        (["msk", "client", "ack_sent"], 2, "msk_acked"),
        (["msk", "ids"], ["00F110/00010001", "00F110/00020001"], "all_msks"),
        (["streaming", 0, "counters", "mtk_ids"], ["00010001/0001"], "stream_mtks"),
        (["streaming", 0, "counters", "srtp_decrypted"], 99, "srtp"),
        (["streaming", 0, "counters", "srtp_undecryptable"], {"bad_tag": 1}, "srtp"),
        (["download", 0, "counters", "mtk_ids"], [], "download_mtks"),
        (["download", 0, "counters", "received_files"], [], "files"),
    ],
)
def test_each_shortfall_fails_its_check(path: list[Any], value: Any, check: str) -> None:
    result = _evaluate(_broken(path, value))
    assert not result["ok"] and not result["checks"][check] and result["failures"]


def test_a_file_corrupted_on_disk_fails() -> None:
    result = _evaluate(_ue_json(), disk_md5={"a.txt": "md5a", "b.bin": "other"})
    assert not result["checks"]["files"] and result["download"]["files_ok"] == 1


def test_with_loss_the_used_mtks_and_99_percent_are_enough() -> None:
    lossy = dataclasses.replace(EXPECT, lossless=False)
    ue = _broken(["streaming", 0, "counters", "mtk_ids"], ["00010001/0001", "00010001/0002"])
    ue["streaming"][0]["counters"]["srtp_decrypted"] = 990
    ue["streaming"][0]["counters"]["srtp_undecryptable"] = {"bad_tag": 10}
    assert _evaluate(ue, lossy)["ok"]
    ue["streaming"][0]["counters"]["srtp_undecryptable"] = {"bad_tag": 11}
    assert not _evaluate(ue, lossy)["checks"]["srtp"]


def test_media_check_needs_frames_and_no_undecodable() -> None:
    good = {"video_frames": 3, "audio_frames": 9, "undecodable": 0, "incomplete": 0}
    assert _evaluate(_ue_json(), media=good)["checks"]["media"]
    assert not _evaluate(_ue_json(), media={**good, "undecodable": 1})["checks"]["media"]
    assert not _evaluate(_ue_json(), media={**good, "audio_frames": 0})["checks"]["media"]


def test_report_ok_needs_every_ue_and_the_run_checks() -> None:
    t = Timeline.for_duration(20)
    summary = {
        "mtk_switches": 5,
        "msk_rotations": 1,
        "registered": True,
        "msk": {"1": {"msks": ["00010001"], "rotations": []}},
        "stream": {"mtks_sent": [], "srtp_sent": 1, "srtcp_sent": 0, "media_frames": 1},
        "carousel": {"mtks": []},
    }
    ok = build_report(options={}, timeline=t, summary=summary, ues=[_evaluate(_ue_json())])
    assert ok["ok"] and ok["schema"] == "mbms-demo-report/1"
    assert ok["summary"]["ues_ok"] == 1 and ok["timeline"]["duration"] == 20
    assert "every UE passed" in final_table(ok)
    few = build_report(
        options={}, timeline=t, summary={**summary, "mtk_switches": 2}, ues=[_evaluate(_ue_json())]
    )
    assert not few["ok"] and "run check failed: mtk_switches" in final_table(few)
    bad_ue = _evaluate(_broken(["msk", "client", "challenges"], 0))
    failed = build_report(options={}, timeline=t, summary=summary, ues=[bad_ue])
    assert failed["summary"]["failed_ues"] == [1] and "FAILED" in final_table(failed)


def test_live_view_redraws_on_a_tty_and_prints_lines_otherwise() -> None:
    run = RunProgress("run", 3.0, 20.0, "00010001/0002", 1, "00020001/0001", "1:00010001")
    ues = [UeProgress(i, 2, 2, 3, 100, 0, 1, 2, 4, 0, "run") for i in (1, 2)]
    assert len(table(run, ues)) == 4 and "00010001/0002" in table(run, ues)[0]
    assert "files 4/8" in line(run, ues)
    tty = io.StringIO()
    view = LiveView(tty, tty=True)
    view.show(0.0, run, ues)
    view.show(1.0, run, ues)
    assert tty.getvalue().count("\x1b[4F\x1b[J") == 1
    plain = io.StringIO()
    view = LiveView(plain, tty=False)
    assert view.due(0.0)
    view.show(0.0, run, ues)
    assert not view.due(1.0) and view.due(5.0)
    assert "\x1b" not in plain.getvalue() and plain.getvalue().count("\n") == 1
