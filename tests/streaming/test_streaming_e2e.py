"""The stream service over real loopback sockets, judged by a minimal UE (streaming_support).

One session per test module scope does 20+ MTK switches (packet-count period, short lead and
re-send interval, SEQ starting near 65535 so the ROC wraps mid-run). Several receivers are then
run over the same capture in kernel-timestamp (= send) order: lossless, one that misses the first
k copies of every MTK message, one that joins after the ROC wrap. No timing is asserted.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest
from streaming_support import (
    MIKEY,
    SRTCP,
    SRTP,
    Capture,
    Event,
    MiniUe,
    cs_map,
    make_config,
    mtk_messages,
    run_until,
    srtcp_mki,
    srtp_mki,
    store_msks,
)

from broadcast.aio.streaming.service import StreamService, StreamStatus
from broadcast.engine.streaming.generator import GeneratorConfig, RtpGenerator
from broadcast.proto.keys.ids import MskId
from broadcast.proto.mikey.mbms import envelope
from broadcast.proto.srtp import CryptoPolicy
from broadcast.time import NTP_UNIX_OFFSET

HOST = "127.22.1.1"
FIRST_SEQ = 65000
SWITCHES = 20


class Run:
    def __init__(self, capture: Capture, status: StreamStatus, service: StreamService, tmp: Path):
        self.capture = capture
        self.status = status
        self.service = service
        self.msks = store_msks(tmp / "keys.sqlite")
        self.policy = service.srtp_policy
        self.crypto = CryptoPolicy.from_srtp_policy(self.policy)
        self.events = capture.ordered()
        assert isinstance(service.config.ingest, GeneratorConfig)
        self.gen_config = service.config.ingest


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    tmp = tmp_path_factory.mktemp("e2e")
    config = make_config(tmp, HOST, overrides={"ingest": {"first_seq": FIRST_SEQ}})
    capture = Capture(HOST, config.session.port)
    capture.open()
    service = StreamService(config)

    async def main() -> None:
        # 20 switches, and well past the ROC wrap of both SSRCs (SEQ starts at 65000).
        after_wrap = 2 * (65536 - FIRST_SEQ) + 600

        def done(s: StreamService) -> bool:
            st = s.status()
            return st.switches >= SWITCHES and st.srtp_out >= after_wrap

        await run_until(service, capture, done)

    try:
        asyncio.run(main())
    finally:
        capture.close()
    return Run(capture, service.status(), service, tmp)


def test_every_packet_sent_was_received(run: Run) -> None:
    kinds = Counter(e.kind for e in run.events)
    assert kinds[SRTP] == run.status.srtp_out > 1000
    assert kinds[SRTCP] == run.status.srtcp_out > 0
    assert kinds[MIKEY] == run.status.mikey_sent
    assert run.status.switches >= SWITCHES
    assert run.status.error is None and run.status.bad == {}


def test_mtk_message_arrives_before_the_first_packet_under_it(run: Run) -> None:
    first_copy: dict[bytes, int] = {}
    for data, copies in mtk_messages(run.capture).items():
        env = envelope(data)
        assert env.mtk_id is not None
        first_copy[bytes(env.msk_id) + bytes(env.mtk_id)] = copies[0].ts
    first_packet: dict[bytes, int] = {}
    for e in run.capture.of(SRTP):
        first_packet.setdefault(srtp_mki(run.crypto, e.data), e.ts)
    for e in run.capture.of(SRTCP):
        mki = srtcp_mki(run.crypto, e.data)
        first_packet[mki] = min(first_packet.get(mki, e.ts), e.ts)
    assert len(first_packet) >= SWITCHES + 1
    for mki, ts in first_packet.items():
        assert mki in first_copy, f"packets under MKI {mki.hex()} but no MTK message"
        assert first_copy[mki] < ts, f"MKI {mki.hex()}: first packet before the MTK message"


def test_switch_comes_at_least_lead_after_the_first_copy(run: Run) -> None:
    lead_ns = int(run.service.config.mtk.lead * 1e9)
    first_copy = {}
    for data, copies in mtk_messages(run.capture).items():
        env = envelope(data)
        assert env.mtk_id is not None
        first_copy[bytes(env.msk_id) + bytes(env.mtk_id)] = copies[0].ts
    first_packet: dict[bytes, int] = {}
    for e in run.capture.of(SRTP):
        first_packet.setdefault(srtp_mki(run.crypto, e.data), e.ts)
    ordered = sorted(first_packet, key=first_packet.__getitem__)
    for mki in ordered[1:]:  # the first MTK is current at once (schedule module doc)
        # Kernel time >= the service clock difference: sent first at A, switched at >= A + lead.
        assert first_packet[mki] - first_copy[mki] >= lead_ns * 0.99


def test_resends_are_byte_identical_and_ids_increase(run: Run) -> None:
    messages = mtk_messages(run.capture)
    ids = []
    for data, copies in messages.items():
        env = envelope(data)
        assert env.mtk_id is not None
        ids.append((copies[0].ts, env.msk_id, int(env.mtk_id), env.counter, len(copies)))
    ids.sort()
    # Each distinct (MSK, MTK ID) appears as exactly one distinct byte string.
    assert len({(m, i) for _, m, i, _, _ in ids}) == len(ids)
    assert [i for _, _, i, _, _ in ids] == list(range(1, len(ids) + 1))
    counters = [c for _, _, _, c, _ in ids]
    assert counters == sorted(counters) and len(set(counters)) == len(counters)
    assert all(n >= 2 for *_, n in ids[:-1])  # every finished MTK was re-sent


def test_lossless_receiver_decrypts_every_packet(run: Run) -> None:
    ue = MiniUe(run.msks, run.policy)
    ue.feed(run.events)
    assert ue.decrypted == len(ue.results) == run.status.srtp_out
    # The plain packets are exactly the generator's.
    gen = RtpGenerator(run.gen_config)
    per_ssrc: Counter[int] = Counter()
    index = {ssrc: i for i, ssrc in enumerate(run.gen_config.ssrcs)}
    for r in ue.results:
        ssrc = int.from_bytes(r.rtp[8:12], "big")
        assert r.rtp == gen.packet(index[ssrc], per_ssrc[ssrc])
        per_ssrc[ssrc] += 1
    # The ROC wrapped (SEQ started at 65000) and the receiver followed it.
    assert all(ue.receiver.roc(ssrc) == 1 for ssrc in run.gen_config.ssrcs)
    assert ue.rtcp_failures == Counter() and len(ue.rtcp) == run.status.srtcp_out


@pytest.mark.parametrize("k", [2, 6])
def test_receiver_missing_first_k_copies_recovers_at_the_next_resend(run: Run, k: int) -> None:
    ue = MiniUe(run.msks, run.policy, drop_copies=k)
    ue.feed(run.events)
    lost = 0
    for r in ue.results:
        mki = srtp_mki(run.crypto, r.event.data)
        known = mki in ue.installed and ue.installed[mki] < r.event.ts
        # Decrypts exactly when the (k+1)-th copy came before the packet.
        assert r.ok == known, (mki.hex(), r.reason)
        if not r.ok:
            assert r.reason == "unknown_mki"
            lost += 1
    assert ue.decrypted > 0.5 * len(ue.results)
    for mki, n in ue.copies.items():
        if n > k:
            assert mki in ue.installed  # installed from the (k+1)-th copy
    if k == 6:
        # At most lead / interval + 1 = 5 copies go out before a switch: with 6 dropped, every
        # MTK loses its first packets, then the 7th copy brings the key.
        assert lost > 0


def test_late_joiner_after_roc_wrap_decrypts_from_next_roc_carrying_packet(run: Run) -> None:
    srtp = run.capture.of(SRTP)
    # Join once both SSRCs have wrapped (SEQ passed 65535) and 50 more packets went by.
    wrapped = [
        i for i, e in enumerate(srtp) if int.from_bytes(e.data[2:4], "big") < FIRST_SEQ and i > 0
    ]
    join_ts = srtp[wrapped[0] + 50].ts
    assert join_ts < srtp[-200].ts, "the run must go on well past the join"
    ue = MiniUe(run.msks, run.policy, initial_roc=None)
    ue.feed(e for e in run.events if e.ts >= join_ts)
    locked: dict[int, bool] = {}
    rate = run.policy.roc_transmission_rate
    for r in ue.results:
        ssrc = int.from_bytes(r.event.data[8:12], "big")
        seq = int.from_bytes(r.event.data[2:4], "big")
        mki = srtp_mki(run.crypto, r.event.data)
        key_known = mki in ue.installed and ue.installed[mki] < r.event.ts
        if not locked.get(ssrc):
            if key_known and seq % rate == 0:
                assert r.ok, r.reason  # the first ROC-carrying packet under a known key
                locked[ssrc] = True
            else:
                assert not r.ok and r.reason in ("roc_unknown", "unknown_mki")
        else:
            assert r.ok, (ssrc, seq, r.reason)
    assert locked == {ssrc: True for ssrc in run.gen_config.ssrcs}
    assert all(ue.receiver.roc(ssrc) == 1 for ssrc in run.gen_config.ssrcs)


def test_cs_id_map_lists_each_ssrc_with_its_roc(run: Run) -> None:
    messages = sorted(mtk_messages(run.capture).items(), key=lambda kv: kv[1][0].ts)
    ssrcs = sorted(run.gen_config.ssrcs)
    rocs = set()
    for data, _ in messages:
        entries = cs_map(data)
        assert [s for s, _ in entries] == ssrcs
        rocs |= {roc for _, roc in entries}
    assert cs_map(messages[0][0]) == [(s, 0) for s in ssrcs]
    assert cs_map(messages[-1][0]) == [(s, 1) for s in ssrcs]  # made after the wrap
    assert rocs == {0, 1}


def test_sender_reports_count_what_was_sent_before_them(run: Run) -> None:
    ue = MiniUe(run.msks, run.policy)
    ue.feed(run.events)
    assert ue.rtcp
    srtp = run.capture.of(SRTP)
    for event, rtcp in ue.rtcp:
        assert rtcp[1] == 200 and rtcp[0] >> 6 == 2  # SR first
        ssrc = int.from_bytes(rtcp[4:8], "big")
        ntp_seconds = int.from_bytes(rtcp[8:12], "big")
        packets = int.from_bytes(rtcp[20:24], "big")
        octets = int.from_bytes(rtcp[24:28], "big")
        before = [e for e in srtp if e.ts < event.ts and e.data[8:12] == ssrc.to_bytes(4, "big")]
        assert packets == len(before)
        assert octets == packets * (run.gen_config.payload_size)
        assert abs(ntp_seconds - NTP_UNIX_OFFSET - event.ts // 10**9) <= 2
        assert rtcp[28 + 1] == 202  # SDES follows
        assert b"t@mbms" in rtcp[28:]


def test_events_are_distinct_kinds(run: Run) -> None:
    # Guard on the fixture itself: timestamps are present and the capture is non-trivial.
    assert all(isinstance(e, Event) and e.ts > 0 for e in run.events)
    assert {e.kind for e in run.events} == {SRTP, SRTCP, MIKEY}
    assert MskId(1, 1) in run.msks
