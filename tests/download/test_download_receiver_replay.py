"""DownloadReceiver: MIKEY MTK objects through the MIKEY Verifier (TS 33.246 6.3.3, RFC 3830 §5.4).

Every object goes through a real carousel session (CarouselSession + scheduler -> ALC packets ->
DownloadReceiver.feed). Checked: replays (older or equal COUNTER, other bytes) refused and
counted; exact re-sends of accepted objects are "already have it"; the previous MTK keeps
opening its DCFs during the grace period; MTK ID rules; a bad MAC; the unknown-MSK rejection
carries the Key Domain ID and MSK ID; objects parked for an unknown MSK open oldest first; DCFs
naming an MTK that can no longer be accepted are refused at once.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from broadcast.engine.download.objects import Protection, prepare_file, prepare_mikey
from broadcast.engine.download.scheduler import CarouselScheduler
from broadcast.engine.download.session import CarouselSession, SessionParams
from broadcast.engine.keys.mtk import IssuedMtk
from broadcast.engine.ue.download_receiver import (
    DownloadEvent,
    DownloadReceiver,
    FileReceived,
    FileRejected,
    MtkReceived,
)
from broadcast.proto.dcf import MbmsKeyId
from broadcast.proto.keys import KeyDomainId, Msk, MskId, Mtk, MtkId
from broadcast.proto.mikey import build_mtk_message
from broadcast.time import ntp_from_unix

NOW = 1_800_000_000.0
TSI = 9
PARAMS = SessionParams(tsi=TSI, repeat_interval=1.0, fdt_expires=60, grace_period=30.0)
KD = KeyDomainId.from_plmn("001", "01")
MSK_ID = MskId(1, 1)
MSK = Msk(bytes.fromhex("6c1f0e9a3b5d47c2a8e0f1d2c3b4a596"))
OTHER_MSK_ID = MskId(1, 2)
OTHER_MSK = Msk(bytes.fromhex("0f1e2d3c4b5a69788796a5b4c3d2e1f0"))


def issued(
    counter: int, mtk_id: int, *, msk_id: MskId = MSK_ID, msk: Msk = MSK, seed: int = 0
) -> IssuedMtk:
    """A download MTK message; ``seed`` varies the MTK (and so the bytes) for the same IDs."""
    rng = random.Random(f"{msk_id}/{mtk_id}/{counter}/{seed}")
    mtk = Mtk(rng.randbytes(16))
    message = build_mtk_message(
        msk=msk,
        key_domain_id=KD,
        msk_id=msk_id,
        mtk_id=MtkId(mtk_id),
        mtk=mtk,
        counter=counter,
        rand=rng.randbytes(16),
    )
    return IssuedMtk(MbmsKeyId(KD, msk_id, MtkId(mtk_id)), mtk, message, counter)


class Carousel:
    """One carousel session whose packets go straight into one DownloadReceiver."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.session = CarouselSession(PARAMS, CarouselScheduler(bitrate=None), first_toi=100)
        self.rx = DownloadReceiver(TSI)
        self.rx.add_msk(KD, MSK_ID, MSK)
        self.now = NOW
        self.files = 0

    def _send(self) -> list[DownloadEvent]:
        self.now += 1.0
        self.session.update(self.now)
        packets = self.session.scheduler.poll(self.now).packets
        return [e for p in packets for e in self.rx.feed(p, ntp_from_unix(self.now))]

    def mikey(self, mtk: IssuedMtk) -> list[DownloadEvent]:
        obj = prepare_mikey(
            self.session.allocate_toi(), mtk, symbol_length=1428, max_block_length=64
        )
        self.session.publish([obj], self.now)
        return self._send()

    def raw_mikey(self, mtk: IssuedMtk, message: bytes) -> list[DownloadEvent]:
        return self.mikey(IssuedMtk(mtk.key_id, mtk.mtk, message, mtk.counter))

    def dcf(self, data: bytes, mtk: IssuedMtk) -> list[DownloadEvent]:
        self.files += 1
        path = self.tmp / f"in-{self.files}.txt"
        path.write_bytes(data)
        obj = prepare_file(
            self.session.allocate_toi(),
            path,
            content_location=f"file-{self.files}.txt",
            spool_dir=self.tmp,
            symbol_length=1428,
            max_block_length=64,
            protection=Protection(mtk.key_id, mtk.mtk, "bmsc.example.org", "http://b/km"),
            rand=random.Random(self.files).randbytes,
        )
        self.session.publish([obj], self.now)
        return self._send()


def kinds(events: list[DownloadEvent]) -> list[str]:
    return [e.reason if isinstance(e, FileRejected) else type(e).__name__ for e in events]


def test_replayed_mikey_objects_are_rejected_and_counted(tmp_path: Path) -> None:
    c = Carousel(tmp_path)
    first = issued(5, 1)
    assert kinds(c.mikey(first)) == ["MtkReceived"]
    older = c.mikey(issued(4, 2))  # older COUNTER, different bytes (a newer MTK ID, even)
    same = c.mikey(issued(5, 3))  # the same COUNTER, different bytes
    assert kinds(older) == kinds(same) == ["replay"]
    (rejected,) = older
    assert isinstance(rejected, FileRejected) and rejected.key_id == MbmsKeyId(KD, MSK_ID, MtkId(2))
    assert c.rx.stats.rejected == {"replay": 2} and c.rx.stats.mtks == 1
    assert c.rx.mtk(MbmsKeyId(KD, MSK_ID, MtkId(2))) is None  # nothing learnt from a replay
    # A newer COUNTER with a newer MTK ID still goes through: the replays changed no state.
    assert kinds(c.mikey(issued(6, 2))) == ["MtkReceived"]


def test_an_exact_resend_is_already_have_it_not_an_error(tmp_path: Path) -> None:
    c = Carousel(tmp_path)
    mtk = issued(1, 1)
    assert kinds(c.mikey(mtk)) == ["MtkReceived"]
    # The same bytes under a new TOI (the FLUTE layer drops repeats of a TOI it delivered).
    assert c.mikey(mtk) == []
    assert c.mikey(mtk) == []
    assert c.rx.stats.resends == 2 and not c.rx.stats.rejected and c.rx.stats.mtks == 1


def test_previous_mtk_during_the_grace_period_still_opens_its_files(tmp_path: Path) -> None:
    c = Carousel(tmp_path)
    old, new = issued(1, 1), issued(2, 2)
    events = c.mikey(old) + c.dcf(b"old generation\n", old)
    assert kinds(events) == ["MtkReceived", "FileReceived"]
    events = c.mikey(new) + c.dcf(b"new generation\n", new)
    assert kinds(events) == ["MtkReceived", "FileReceived"]
    # Grace period: the old generation is still on air — its MIKEY object (re-sent) and a DCF
    # under the old MTK, completed only now.
    assert c.mikey(old) == []
    (late,) = c.dcf(b"old generation, late\n", old)
    assert isinstance(late, FileReceived) and late.data == b"old generation, late\n"
    assert late.key_id == old.key_id
    assert c.rx.stats.resends == 1 and not c.rx.stats.rejected


def test_mtk_id_rules_and_a_bad_mac(tmp_path: Path) -> None:
    c = Carousel(tmp_path)
    c.rx.add_msk(KD, MSK_ID, MSK, valid_from=MtkId(1), valid_to=MtkId(10))
    assert kinds(c.mikey(issued(3, 5))) == ["MtkReceived"]
    assert kinds(c.mikey(issued(4, 5, seed=1))) == ["mtk_id"]  # not newer than the current
    assert kinds(c.mikey(issued(5, 11))) == ["mtk_id"]  # outside the MSK's MTK ID range
    good = issued(6, 6)
    forged = good.message[:-1] + bytes([good.message[-1] ^ 1])
    assert kinds(c.raw_mikey(good, forged)) == ["bad_mac"]
    assert kinds(c.raw_mikey(good, b"\x01\x02 not mikey")) == ["malformed_mikey"]
    assert c.rx.stats.rejected == {"mtk_id": 2, "bad_mac": 1, "malformed_mikey": 1}
    assert kinds(c.mikey(good)) == ["MtkReceived"]  # the genuine message after all of that


def test_unknown_msk_rejection_names_the_key_domain_and_msk(tmp_path: Path) -> None:
    c = Carousel(tmp_path)
    mtk = issued(1, 1, msk_id=OTHER_MSK_ID, msk=OTHER_MSK)
    (event,) = c.mikey(mtk)
    assert isinstance(event, FileRejected) and event.reason == "unknown_msk"
    assert isinstance(event.key_domain_id, KeyDomainId) and event.key_domain_id == KD
    assert isinstance(event.msk_id, MskId) and event.msk_id == OTHER_MSK_ID
    assert event.key_id == mtk.key_id
    assert not c.rx.knows_msk(KD, OTHER_MSK_ID)
    assert str(OTHER_MSK.secret.hex()) not in repr(event)


def test_objects_parked_for_a_late_msk_open_oldest_counter_first(tmp_path: Path) -> None:
    c = Carousel(tmp_path)
    first = issued(1, 1, msk_id=OTHER_MSK_ID, msk=OTHER_MSK)
    second = issued(2, 2, msk_id=OTHER_MSK_ID, msk=OTHER_MSK)
    early = c.mikey(second) + c.mikey(first) + c.dcf(b"a\n", first) + c.dcf(b"b\n", second)
    assert kinds(early) == ["unknown_msk", "unknown_msk"]  # the DCFs wait for their MTKs
    events = c.rx.add_msk(KD, OTHER_MSK_ID, OTHER_MSK)
    mtks = [e.key_id.mtk_id for e in events if isinstance(e, MtkReceived)]
    assert mtks == [MtkId(1), MtkId(2)]  # the older COUNTER first: neither is a replay
    assert sorted(e.data for e in events if isinstance(e, FileReceived)) == [b"a\n", b"b\n"]
    assert c.rx.stats.waiting == 0 and c.rx.stats.rejected == {"unknown_msk": 2}


def test_dcfs_under_an_mtk_that_can_no_longer_come_are_refused_at_once(tmp_path: Path) -> None:
    c = Carousel(tmp_path)
    old, new = issued(1, 1), issued(2, 2)
    # A DCF of the old generation arrives first and waits for its MTK ...
    assert c.dcf(b"old\n", old) == [] and c.rx.stats.waiting == 1
    # ... but the newer MIKEY object completes first (a UE joining in a grace period): from
    # now on the old MTK's object is a replay, and the waiting DCF is given up at once.
    events = c.mikey(new)
    assert kinds(events) == ["MtkReceived", "mtk_superseded"]
    assert events[1].key_id == old.key_id  # type: ignore[union-attr]
    assert kinds(c.mikey(old)) == ["replay"]
    assert kinds(c.dcf(b"old again\n", old)) == ["mtk_superseded"]
    assert c.rx.stats.waiting == 0
    assert kinds(c.dcf(b"new\n", new)) == ["FileReceived"]


@pytest.mark.parametrize("same_key", [True, False])
def test_reinstalling_an_msk_keeps_replay_state_only_for_the_same_key(
    tmp_path: Path, same_key: bool
) -> None:
    c = Carousel(tmp_path)
    mtk = issued(3, 3)
    assert kinds(c.mikey(mtk)) == ["MtkReceived"]
    replacement = MSK if same_key else Msk(bytes(16))
    c.rx.add_msk(KD, MSK_ID, replacement)
    assert (c.rx.mtk(mtk.key_id) is not None) is same_key
    if same_key:  # the COUNTER survived the re-install
        assert kinds(c.mikey(issued(2, 4))) == ["replay"]
    else:  # another key under that MSK ID: what the old one opened is forgotten
        assert kinds(c.mikey(issued(2, 4))) == ["bad_mac"]
