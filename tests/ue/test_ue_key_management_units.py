"""The UE's MSK-client pieces without a BM-SC: the GBA key file, ``[msk_client]``, the
re-request rate limit, and the download session's replay counters and missed-MSK signal."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from pathlib import Path

import pytest
from testkit import FakeMonotonicClock, FakeUnixClock
from ue_support import (
    KDID,
    KEY_GROUP,
    MSK2_BYTES,
    MSK2_ID,
    MSK_BYTES,
    MSK_ID,
    counter_rand,
    msk_entry,
)

from broadcast.aio.ue.download import DownloadClient, DownloadConfig
from broadcast.aio.ue.key_management import UeKeyManagement
from broadcast.config.gba_key import GbaCredentials, load_gba_key, parse_gba_key, write_gba_key
from broadcast.config.ue import config_from_dict
from broadcast.engine.download.objects import prepare_mikey
from broadcast.engine.download.scheduler import CarouselScheduler
from broadcast.engine.download.session import CarouselSession, SessionParams
from broadcast.engine.keys.mtk import IssuedMtk
from broadcast.engine.ue.download_guard import MissedMskSignal
from broadcast.engine.ue.service_keys import MskStore
from broadcast.proto.announce.protection import protection_description
from broadcast.proto.announce.sdp import FluteSession
from broadcast.proto.dcf import MbmsKeyId
from broadcast.proto.errors import ConfigError
from broadcast.proto.keys import KeyDomainId, Msk, MskId, Mtk, MtkId, SessionKey
from broadcast.proto.mikey import build_mtk_message
from broadcast.proto.msk.gba import digest_password, muk_from_ks_naf

KS = SessionKey(bytes(range(32, 64)))
FQDN = "bmsc.example.org"
CREDS = GbaCredentials("alice@example.org", "QUJD@bsf.example.org", FQDN, 2_000_000_000, KS)


def test_key_file_round_trip_is_0600_and_never_shows_the_key(tmp_path: Path) -> None:
    path = tmp_path / "ue.json"
    write_gba_key(path, CREDS)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(path.read_text())
    assert data["digest_password"] == digest_password(KS)
    assert data["muk"] == muk_from_ks_naf(KS).secret.hex()
    back = load_gba_key(path)
    assert back == CREDS
    assert KS.secret.hex() not in repr(back) and KS.secret.hex() not in str(back)


def test_a_key_file_others_may_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ue.json"
    write_gba_key(path, CREDS)
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match=r"ue\.json: the GBA key file .*chmod 600"):
        load_gba_key(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ks_naf": "zz" * 32}, "ks_naf: must be 64 hex digits"),
        ({"ks_naf": "00" * 16}, "ks_naf: must be 64 hex digits"),
        ({"b_tid": "has space"}, "b_tid: .*B-TID"),
        ({"bmsc_fqdn": "UPPER.example"}, "bmsc_fqdn: .*FQDN"),
        ({"expires_at": True}, "expires_at"),
        ({"digest_password": "AAAA"}, r"digest_password: is not base64"),
        ({"muk": "00" * 16}, "muk: is not the first 128 bits"),
    ],
)
def test_malformed_key_files_name_the_field(change: dict[str, object], message: str) -> None:
    data = {**CREDS.to_json(), **change}
    with pytest.raises(ConfigError, match=f"k.json: {message}") as info:
        parse_gba_key(json.dumps(data).encode(), "k.json")
    assert KS.secret.hex() not in str(info.value)


@pytest.mark.parametrize("raw", [b"", b"[1]", b"\xff", b"{" * 100_000, b"x" * 70_000])
def test_hostile_key_files_are_typed_errors(raw: bytes) -> None:
    with pytest.raises(ConfigError):
        parse_gba_key(raw)


def _ue_toml(tmp_path: Path, msk_client: dict[str, object]) -> dict[str, object]:
    return {
        "announcement": {"protection": "p.xml", "sdp": ["s.sdp"]},
        "msk_client": msk_client,
    }


def test_msk_client_section(tmp_path: Path) -> None:
    write_gba_key(tmp_path / "k.json", CREDS)
    cfg = config_from_dict(
        _ue_toml(
            tmp_path,
            {
                "key_file": "k.json",
                "listen": "127.100.200.9",
                "port": 3269,
                "key_management_uri": "http://127.100.200.8:8080/km",
                "rerequest_interval": 2,
            },
        ),
        tmp_path,
    )
    s = cfg.msk_client
    assert s is not None
    assert (s.listen, s.port, s.rerequest_interval) == ("127.100.200.9", 3269, 2.0)
    assert s.key_management_uri == "http://127.100.200.8:8080/km"
    assert s.credentials.b_tid == CREDS.b_tid
    for bad, message in (
        ({"key_file": "k.json"}, r"\[msk_client\] listen: is required"),
        ({"key_file": "k.json", "listen": "x"}, r"listen: must be an IP address \(got \"x\"\)"),
        ({"key_file": "k.json", "listen": "127.0.0.1", "key_management_uri": "ftp://h/"}, "http"),
        (
            {"key_file": "k.json", "listen": "127.0.0.1", "rerequest_interval": -1},
            r"rerequest_interval: must be a number >= 0 and <= 86400 \(got -1\)",
        ),
        ({"key_file": "k.json", "listen": "127.0.0.1", "bogus": 1}, "bogus: unknown key"),
    ):
        with pytest.raises(ConfigError, match=message):
            config_from_dict(_ue_toml(tmp_path, bad), tmp_path)


def _key_management(tmp_path: Path, **kw: object) -> UeKeyManagement:
    write_gba_key(tmp_path / "k.json", CREDS)
    settings = config_from_dict(
        _ue_toml(tmp_path, {"key_file": "k.json", "listen": "127.100.200.9", **kw}), tmp_path
    ).msk_client
    assert settings is not None
    protection = protection_description(
        bmsc_fqdn=FQDN,
        key_domain_id=KDID,
        sessions=[("s.sdp", MSK_ID.key_group)],
        key_management_uri="http://127.100.200.8/keymanagement",
    )
    return UeKeyManagement(settings, protection, MskStore())


def test_rerequests_are_rate_limited_per_key_group(tmp_path: Path) -> None:
    km = _key_management(tmp_path, rerequest_interval=5)
    clock = FakeMonotonicClock(0.0)
    km.clock_mono = clock
    km.on_missed_msk(KDID, MSK2_ID)
    km.on_missed_msk(KDID, MSK2_ID)  # within the interval
    clock.advance(4.9)
    km.on_missed_msk(KDID, MSK_ID)
    clock.advance(0.2)
    km.on_missed_msk(KDID, MSK_ID)
    km.on_missed_msk(KDID, MskId(0x0999, 1))  # not an announced Key Group: ignored
    assert km.stats["rerequests"] == 2 and km.stats["rerequests_limited"] == 2
    assert km.uri == "http://127.100.200.8/keymanagement"


def test_the_key_file_must_be_for_the_announced_bmsc(tmp_path: Path) -> None:
    write_gba_key(tmp_path / "k.json", CREDS)
    settings = config_from_dict(
        _ue_toml(tmp_path, {"key_file": "k.json", "listen": "127.100.200.9"}), tmp_path
    ).msk_client
    assert settings is not None
    other = protection_description(
        bmsc_fqdn="other.example.org", key_domain_id=KDID, sessions=[("s.sdp", 1)]
    )
    with pytest.raises(ConfigError, match=r"other\.example\.org"):
        UeKeyManagement(settings, other, MskStore())


# -- download session: replay check (in the receiver) and missed-MSK signal ----------------------

NOW = 1_800_000_000.0
DL_TSI = 12


def _mtk_object(counter: int, mtk_id: int = 1, msk_id: MskId = MSK_ID) -> IssuedMtk:
    rand = counter_rand(counter * 100 + mtk_id)
    mtk = Mtk(rand(16))
    key = MSK2_BYTES if msk_id == MSK2_ID else MSK_BYTES
    message = build_mtk_message(
        msk=Msk(key),
        key_domain_id=KDID,
        msk_id=msk_id,
        mtk_id=MtkId(mtk_id),
        mtk=mtk,
        counter=counter,
        rand=rand(16),
    )
    return IssuedMtk(MbmsKeyId(KDID, msk_id, MtkId(mtk_id)), mtk, message, counter)


class _Carousel:
    """A carousel session whose packets go to a DownloadClient (its sans-IO entry point) at the
    time of ``wall``, the client's Unix clock."""

    def __init__(self, client: DownloadClient, wall: FakeUnixClock) -> None:
        self.client = client
        self.session = CarouselSession(
            SessionParams(tsi=DL_TSI, repeat_interval=1.0, fdt_expires=60),
            CarouselScheduler(bitrate=None),
            first_toi=10,
        )
        self.wall = wall

    def send(self, mtk: IssuedMtk) -> None:
        toi = self.session.allocate_toi()
        obj = prepare_mikey(toi, mtk, symbol_length=1428, max_block_length=64)
        self.session.publish([obj], self.wall())
        self.wall.advance(1.0)
        self.session.update(self.wall())
        for packet in self.session.scheduler.poll(self.wall()).packets:
            self.client.on_packet(packet)


def test_download_client_counts_replays_and_resends_and_signals_missed_msks() -> None:
    asyncio.run(_download_client_counts())


async def _download_client_counts() -> None:
    """The client's worker runs (no socket): packets and MSKs are processed in its thread."""
    store = MskStore()
    store.add(msk_entry())
    missed: list[tuple[KeyDomainId, MskId]] = []
    clock = FakeMonotonicClock(100.0)
    wall = FakeUnixClock(NOW)
    client = DownloadClient(
        DownloadConfig(FluteSession("127.32.9.9", 4000, DL_TSI)),
        store,
        key_domain_id=KDID,
        key_groups=frozenset({KEY_GROUP}),
        on_missed_msk=lambda kd, m: missed.append((kd, m)),
        missed_signal_interval=5.0,
        clock_mono=clock,
        clock_unix=wall,
    )
    carousel = _Carousel(client, wall)

    async def send(mtk: IssuedMtk) -> None:
        carousel.send(mtk)
        await client.drain()  # handled at the clock of its arrival, as the worker keeps up

    async with client.worker:
        first = _mtk_object(5)
        await send(first)
        await send(_mtk_object(4, mtk_id=2))  # older COUNTER, other bytes: a replay
        await send(_mtk_object(5, mtk_id=3))  # the same COUNTER, other bytes: a replay
        await send(first)  # the very bytes again (a new TOI): a re-send, not an error
        await send(_mtk_object(6, mtk_id=2))
        counters = client.as_dict()
        assert counters["mtks"] == 2 and counters["mtk_ids"] == [f"{MSK_ID}/0001", f"{MSK_ID}/0002"]
        assert counters["mtk_replays"] == 2 and counters["mtk_resends"] == 1
        assert counters["rejected"] == {"replay": 2}
        assert missed == [] and counters["missed_msk_signals"] == 0

        # MTK objects under an MSK this UE lacks: the missed update is signalled, rate-limited per
        # Key Group; another Key Group (not announced for the session) never signals.
        await send(_mtk_object(1, msk_id=MSK2_ID))
        clock.advance(2.0)
        await send(_mtk_object(2, mtk_id=2, msk_id=MSK2_ID))
        await send(_mtk_object(1, msk_id=MskId(0x0777, 1)))
        clock.advance(4.0)
        await send(_mtk_object(3, mtk_id=3, msk_id=MSK2_ID))
        assert missed == [(KDID, MSK2_ID), (KDID, MSK2_ID)]
        counters = client.as_dict()
        assert counters["missed_msk_signals"] == 2
        assert counters["rejected"] == {"replay": 2, "unknown_msk": 4}

        # The MSK arrives (the re-request worked): the parked objects open, oldest COUNTER first.
        store.add(msk_entry(MSK2_ID, MSK2_BYTES))
        await client.drain()
        counters = client.as_dict()
        assert counters["mtk_ids"][2:] == [f"{MSK2_ID}/0001", f"{MSK2_ID}/0002", f"{MSK2_ID}/0003"]
        assert counters["mtk_replays"] == 2


def test_missed_msk_signal_filters_and_rate_limits() -> None:
    seen: list[MskId] = []
    signal = MissedMskSignal(
        key_domain_id=KDID,
        key_groups=frozenset({MSK_ID.key_group}),
        on_missed_msk=lambda _kd, m: seen.append(m),
        interval=5.0,
    )
    assert signal.missed(KDID, MSK2_ID, 10.0)
    assert not signal.missed(KDID, MSK2_ID, 14.9)  # the same Key Group, too soon
    assert not signal.missed(KDID, MskId(0x0777, 1), 15.0)  # a Key Group not announced
    assert not signal.missed(KeyDomainId.from_plmn("002", "02"), MSK2_ID, 30.0)  # other domain
    assert signal.missed(KDID, MSK2_ID, 15.0)
    assert seen == [MSK2_ID, MSK2_ID] and signal.signals == 2
