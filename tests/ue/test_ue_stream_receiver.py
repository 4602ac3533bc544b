"""The sans-IO UE streaming receiver against a sender built from the core (no sockets)."""

from __future__ import annotations

import logging

import pytest
from ue_support import (
    KDID,
    KEY_GROUP,
    MSK2_BYTES,
    MSK2_ID,
    MSK_BYTES,
    POLICY,
    SSRC,
    StreamSender,
    msk_entry,
    rtp_packet,
)

from broadcast.demo.media import MediaCheck, MediaGenerator, MediaGeneratorConfig
from broadcast.engine.ue.mtk_gate import MtkGate
from broadcast.engine.ue.service_keys import MskStore
from broadcast.engine.ue.stream_receiver import StreamReceiver
from broadcast.proto.keys import Msk, MskId, MtkId
from broadcast.proto.mikey import SrtpPolicy
from broadcast.proto.mikey.constants import SrtpAuthAlg
from broadcast.proto.mikey.payloads import SrtpCs
from broadcast.proto.srtp import SrtpSender
from broadcast.time import MonotonicS

#: The receive time of the tests that do not look at the missed-MSK signal's rate limit.
T0 = MonotonicS(0.0)


def make_ue(
    store: MskStore | None = None, *, groups: frozenset[int] | None = frozenset({KEY_GROUP})
) -> tuple[StreamReceiver, MskStore, list[tuple[object, MskId]], list[bytes]]:
    store = store if store is not None else MskStore()
    missed: list[tuple[object, MskId]] = []
    out: list[bytes] = []
    rx = StreamReceiver(
        keys=store,
        policy=POLICY,
        key_domain_id=KDID,
        key_groups=groups,
        gate=MtkGate(),
        on_missed_msk=lambda kd, m: missed.append((kd, m)),
        consumer=out.append,
    )
    return rx, store, missed, out


def test_decrypts_everything_over_mtk_switches_with_lead_time() -> None:
    rx, store, missed, out = make_ue()
    store.add(msk_entry())
    tx = StreamSender()
    sent = []
    key = tx.new_mtk()
    current = tx.mtk_message(key)
    assert rx.on_mikey(current, T0) is not None
    for _switch in range(4):
        for i in range(40):
            if i == 30:  # the next MTK is announced ahead of the switch; both are re-sent
                nxt = tx.new_mtk()
                message = tx.mtk_message(nxt)
                rx.on_mikey(message, T0)
                rx.on_mikey(message, T0)
                rx.on_mikey(current, T0)  # COUNTER below the next one's, yet no replay
                current = message
            pkt = tx.packet(key)
            sent.append(pkt)
            rx.on_srtp(pkt, T0)
        key = nxt
    s = rx.stats
    assert s.srtp_decrypted == len(sent) == 160
    assert s.srtp_undecryptable_total == 0
    assert s.mtk_accepted == 5 and s.mtk_resends == 8
    assert s.mtk_rejected == {}
    assert s.late_mtks == 0 and not missed
    assert len(out) == 160 and out[0] == rtp_packet(0, 0)


def test_packets_before_any_mtk_are_no_mtk_yet_and_the_mtk_is_late() -> None:
    rx, store, missed, _ = make_ue()
    store.add(msk_entry())
    tx = StreamSender()
    key = tx.new_mtk()
    for _ in range(5):
        assert rx.on_srtp(tx.packet(key), T0) is None
    assert rx.stats.srtp_undecryptable == {"no_mtk_yet": 5}
    rx.on_mikey(tx.mtk_message(key), T0)
    assert rx.stats.late_mtks == 1
    for _ in range(5):
        assert rx.on_srtp(tx.packet(key), T0) is not None
    assert rx.stats.srtp_decrypted == 5
    # An MTK announced ahead of use is not late.
    nxt = tx.new_mtk()
    rx.on_mikey(tx.mtk_message(nxt), T0)
    assert rx.stats.late_mtks == 1
    assert not missed


def test_unknown_msk_in_an_mtk_message_fires_the_missed_update_hook_once() -> None:
    rx, store, missed, _ = make_ue()
    store.add(msk_entry())
    tx = StreamSender()
    key2 = tx.new_mtk(MSK2_ID)
    rx.on_mikey(tx.mtk_message(key2), now_mono=100.0)
    rx.on_mikey(tx.mtk_message(key2), now_mono=101.0)  # within the interval: no second signal
    assert missed == [(KDID, MSK2_ID)]
    assert rx.stats.mtk_rejected == {"unknown_msk": 2}
    rx.on_mikey(tx.mtk_message(key2), now_mono=106.0)
    assert len(missed) == 2 and rx.stats.missed_msk_signals == 2
    # The MSK arrives (the MSK client's re-request): the parked MTK message is re-checked.
    store.add(msk_entry(MSK2_ID, MSK2_BYTES))
    assert rx.stats.mtk_accepted == 1
    assert rx.on_srtp(tx.packet(key2), T0) is not None


def test_unknown_msk_in_an_mki_fires_the_hook_and_counts_unknown_msk() -> None:
    rx, store, missed, _ = make_ue()
    store.add(msk_entry())
    tx = StreamSender()
    key2 = tx.new_mtk(MSK2_ID)
    assert rx.on_srtp(tx.packet(key2), now_mono=5.0) is None
    assert rx.stats.srtp_undecryptable == {"unknown_msk": 1}
    assert missed == [(KDID, MSK2_ID)]


def test_unannounced_key_group_never_fires_the_hook() -> None:
    rx, _, missed, _ = make_ue()
    tx = StreamSender(msks={MskId(0x0999, 1): Msk(MSK_BYTES)})
    key = tx.new_mtk(MskId(0x0999, 1))
    rx.on_mikey(tx.mtk_message(key), now_mono=1.0)
    rx.on_srtp(tx.packet(key), now_mono=1.0)
    assert missed == []
    assert rx.stats.mtk_rejected == {"unknown_msk": 1}


def test_tampered_packets_are_bad_tag_and_replays_are_counted() -> None:
    rx, store, _, out = make_ue()
    store.add(msk_entry())
    tx = StreamSender()
    key = tx.new_mtk()
    rx.on_mikey(tx.mtk_message(key), T0)
    good = tx.packet(key)
    bad = bytearray(tx.packet(key))
    bad[20] ^= 0x01
    assert rx.on_srtp(good, T0) is not None
    assert rx.on_srtp(bytes(bad), T0) is None
    assert rx.on_srtp(good, T0) is None
    assert rx.stats.srtp_undecryptable == {"bad_tag": 1, "replay": 1}
    assert len(out) == 1


def test_mtk_message_checks_mac_replay_and_mtk_id() -> None:
    rx, store, _, _ = make_ue()
    store.add(msk_entry(valid_to=MtkId(3)))
    tx = StreamSender()
    k1 = tx.new_mtk()
    forged = tx.mtk_message(k1, msk=Msk(MSK2_BYTES))  # MAC under the wrong MSK
    assert rx.on_mikey(forged, T0) is None
    first = tx.mtk_message(k1, counter=5)
    assert rx.on_mikey(first, T0) is not None
    k2 = tx.new_mtk()
    assert rx.on_mikey(tx.mtk_message(k2, counter=5), T0) is None  # COUNTER not above 5
    old = tx.new_mtk(mtk_id=1)  # an older MTK ID, fresh COUNTER
    assert rx.on_mikey(tx.mtk_message(old, counter=9), T0) is None
    beyond = tx.new_mtk(mtk_id=4)  # outside the MSK's validity 1..3
    assert rx.on_mikey(tx.mtk_message(beyond, counter=10), T0) is None
    assert rx.stats.mtk_rejected == {"bad_mac": 1, "replay": 1, "mtk_id": 2}
    assert rx.stats.mtk_accepted == 1
    assert rx.on_mikey(b"\x01garbage", T0) is None
    assert rx.stats.mtk_rejected["malformed"] == 1


def test_srtcp_is_decrypted_and_counted() -> None:
    rx, store, _, _ = make_ue()
    store.add(msk_entry())
    tx = StreamSender()
    key = tx.new_mtk()
    early = tx.rtcp(key)
    assert rx.on_srtcp(early, T0) is None
    rx.on_mikey(tx.mtk_message(key), T0)
    assert rx.on_srtcp(tx.rtcp(key), T0) is not None
    assert rx.stats.srtcp_decrypted == 1
    assert rx.stats.srtcp_undecryptable == {"no_mtk_yet": 1}
    assert rx.stats.late_mtks == 1


@pytest.mark.parametrize("roc", [0, 3])
def test_late_joiner_takes_the_roc_from_the_mtk_message(roc: int) -> None:
    # Plain HMAC-SHA1 (no RCC): only the MIKEY CS ID map can tell the ROC.
    policy = SrtpPolicy(srtp_auth_alg=SrtpAuthAlg.HMAC_SHA1, roc_transmission_rate=1)
    rx, store, _, _ = make_ue()
    store.add(msk_entry(srtp_policy=policy))
    tx = StreamSender(policy=policy, initial_roc=roc)
    tx.seq = 60000
    key = tx.new_mtk()
    for _ in range(10):
        tx.packet(key)  # the UE was not there yet
    rx.on_mikey(tx.mtk_message(key), T0)
    assert rx.stats.roc_from_mikey == 1
    for _ in range(6000):  # across a SEQ wrap: the ROC follows
        assert rx.on_srtp(tx.packet(key), T0) is not None
    assert rx.srtp.roc(SSRC) == roc + 1


def test_late_joiner_with_rcc_locks_on_at_the_first_roc_carrying_packet() -> None:
    rx, store, _, _ = make_ue()
    store.add(msk_entry())
    tx = StreamSender(initial_roc=2)
    tx.seq = 5
    key = tx.new_mtk()
    rx.on_mikey(tx.mtk_message(key, sessions=()), T0)  # a CS ID map without this SSRC
    results = [rx.on_srtp(tx.packet(key), T0) for _ in range(30)]
    # SEQ 5..15 carry no ROC (RFC 4771 RCCm2, R = 16): unknown; SEQ 16 carries it: locked.
    assert results[:11] == [None] * 11
    assert all(r is not None for r in results[11:])
    assert rx.stats.srtp_undecryptable == {"roc_unknown": 11}
    assert rx.srtp.roc(SSRC) == 2


@pytest.mark.parametrize("ssrc_known", [False, True])
def test_ssrc_zero_map_entry_gives_the_roc_of_new_streams(ssrc_known: bool) -> None:
    policy = SrtpPolicy(srtp_auth_alg=SrtpAuthAlg.HMAC_SHA1, roc_transmission_rate=1)
    rx, store, _, _ = make_ue()
    store.add(msk_entry(srtp_policy=policy))
    tx = StreamSender(policy=policy, initial_roc=1)
    key = tx.new_mtk()
    rx.on_mikey(tx.mtk_message(key, sessions=(SrtpCs(0, SSRC if ssrc_known else 0, 1),)), T0)
    assert all(rx.on_srtp(tx.packet(key), T0) is not None for _ in range(3))
    assert rx.srtp.roc(SSRC) == 1


def test_msk_policy_replaces_the_default_before_any_key() -> None:
    policy = SrtpPolicy(srtp_auth_alg=SrtpAuthAlg.HMAC_SHA1, srtp_auth_tag_len=4)
    rx, store, _, _ = make_ue()
    store.add(msk_entry(srtp_policy=policy))
    tx = StreamSender(policy=policy)
    key = tx.new_mtk()
    rx.on_mikey(tx.mtk_message(key), T0)
    assert rx.on_srtp(tx.packet(key), T0) is not None
    # A later MSK with yet another policy does not disturb the running session.
    store.add(msk_entry(MSK2_ID, MSK2_BYTES, srtp_policy=POLICY))
    assert rx.stats.policy_conflicts == 1
    assert rx.on_srtp(tx.packet(key), T0) is not None


def test_consumer_errors_are_counted_not_raised() -> None:
    store = MskStore()
    store.add(msk_entry())

    def broken(_: bytes) -> None:
        raise RuntimeError("decoder bug")

    rx = StreamReceiver(keys=store, policy=POLICY, key_domain_id=KDID, consumer=broken)
    tx = StreamSender()
    key = tx.new_mtk()
    rx.on_mikey(tx.mtk_message(key), T0)
    assert rx.on_srtp(tx.packet(key), T0) is not None
    assert rx.on_srtp(tx.packet(key), T0) is not None
    assert rx.stats.consumer_errors == 2


def test_logs_never_show_key_bytes(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    rx, store, _, _ = make_ue()
    store.add(msk_entry())
    tx = StreamSender()
    key = tx.new_mtk()
    rx.on_srtp(tx.packet(key), T0)
    rx.on_mikey(tx.mtk_message(key), T0)
    rx.on_mikey(tx.mtk_message(key, msk=Msk(MSK2_BYTES)), T0)
    store.add(msk_entry(MSK2_ID, MSK2_BYTES))
    text = caplog.text.lower() + repr(rx).lower() + repr(store).lower()
    text += " ".join(repr(e) for e in store.entries()).lower()
    assert "installed" in text
    for secret in (MSK_BYTES, MSK2_BYTES, key.mtk.secret, key.salt.secret):
        assert secret.hex() not in text


def test_decrypted_media_decodes_in_the_consumer() -> None:
    # Real VP8 video and Opus audio (PyAV), protected per packet, decrypted by the UE and
    # handed to the decoding checker the demo uses: every frame survives protection intact.
    gen = MediaGenerator(MediaGeneratorConfig())
    check = MediaCheck()
    store = MskStore()
    store.add(msk_entry())
    rx = StreamReceiver(keys=store, policy=POLICY, key_domain_id=KDID, consumer=check.feed)
    tx = StreamSender()
    key = tx.new_mtk()
    rx.on_mikey(tx.mtk_message(key), T0)
    sender = SrtpSender(POLICY)
    sender.keys.add(key.mki, key.mtk, key.salt)
    sent = 0
    for _ in range(200):
        batch = gen.next_packets()
        if batch[0].at >= 1.0:
            break
        for out in batch:
            assert rx.on_srtp(sender.protect(out.packet, key.mki), T0) is not None
            sent += 1
    assert rx.stats.srtp_decrypted == sent
    assert check.stats.video_frames == 15 and check.stats.audio_frames == 50
    assert check.stats.undecodable == 0 and check.stats.incomplete == 0
