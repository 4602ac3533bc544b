"""The UE's MSK-client pieces without a BM-SC: the GBA key file, ``[msk_client]``, the
re-request rate limit, and the download MTK guard (replay, missed-MSK signal)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from ue_support import KDID, MSK2_ID, MSK_ID, counter_rand, msk_entry

from broadcast.announce.protection import protection_description
from broadcast.bmsc.gba import digest_password, muk_from_ks_naf
from broadcast.dcf import MbmsKeyId
from broadcast.flute import FdtFile, ReceivedObject
from broadcast.keys import Msk, MskId, Mtk, MtkId, SessionKey
from broadcast.mikey import build_mtk_message
from broadcast.ue.config import config_from_dict
from broadcast.ue.download_guard import DownloadMtkGuard
from broadcast.ue.errors import UeConfigError
from broadcast.ue.gba_key import GbaCredentials, load_gba_key, parse_gba_key, write_gba_key
from broadcast.ue.key_management import UeKeyManagement
from broadcast.ue.service_keys import MskStore

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
    with pytest.raises(UeConfigError, match="chmod 600"):
        load_gba_key(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ks_naf": "zz" * 32}, "ks_naf must be 64 hex digits"),
        ({"ks_naf": "00" * 16}, "ks_naf must be 64 hex digits"),
        ({"b_tid": "has space"}, "B-TID"),
        ({"bmsc_fqdn": "UPPER.example"}, "FQDN"),
        ({"expires_at": True}, "expires_at"),
        ({"digest_password": "AAAA"}, "digest_password is not base64"),
        ({"muk": "00" * 16}, "muk is not the first 128 bits"),
    ],
)
def test_malformed_key_files_name_the_field(change: dict[str, object], message: str) -> None:
    data = {**CREDS.to_json(), **change}
    with pytest.raises(UeConfigError, match=message) as info:
        parse_gba_key(json.dumps(data).encode())
    assert KS.secret.hex() not in str(info.value)


@pytest.mark.parametrize("raw", [b"", b"[1]", b"\xff", b"{" * 100_000, b"x" * 70_000])
def test_hostile_key_files_are_typed_errors(raw: bytes) -> None:
    with pytest.raises(UeConfigError):
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
        ({"key_file": "k.json"}, "msk_client.listen is required"),
        ({"key_file": "k.json", "listen": "x"}, "must be an IP address"),
        ({"key_file": "k.json", "listen": "127.0.0.1", "key_management_uri": "ftp://h/"}, "http"),
        ({"key_file": "k.json", "listen": "127.0.0.1", "rerequest_interval": -1}, "seconds"),
        ({"key_file": "k.json", "listen": "127.0.0.1", "bogus": 1}, "unknown key"),
    ):
        with pytest.raises(UeConfigError, match=message):
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
    t = [0.0]
    km.clock = lambda: t[0]
    km.on_missed_msk(KDID, MSK2_ID)
    km.on_missed_msk(KDID, MSK2_ID)  # within the interval
    t[0] = 4.9
    km.on_missed_msk(KDID, MSK_ID)
    t[0] = 5.1
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
    with pytest.raises(UeConfigError, match=r"other\.example\.org"):
        UeKeyManagement(settings, other, MskStore())


# -- download MTK guard -------------------------------------------------------------------------


def _mikey_object(
    counter: int, mtk_id: int = 1, msk_id: MskId = MSK_ID, toi: int = 7
) -> ReceivedObject:
    rand = counter_rand(counter)
    message = build_mtk_message(
        msk=Msk(bytes.fromhex("3a9e51c07b2d48f6a1e0c9d7b5f34a82")),
        key_domain_id=KDID,
        msk_id=msk_id,
        mtk_id=MtkId(mtk_id),
        mtk=Mtk(rand(16)),
        counter=counter,
        rand=rand(16),
    )
    entry = FdtFile(toi=toi, content_location=f"mikey-{toi}", content_type="application/mikey")
    return ReceivedObject(toi, message, entry, 1)


def test_guard_refuses_replays_and_passes_resends() -> None:
    store = MskStore()
    store.add(msk_entry())
    guard = DownloadMtkGuard(store, key_domain_id=KDID, key_groups=frozenset({MSK_ID.key_group}))
    first = _mikey_object(5)
    assert guard.check(first, 0.0)
    guard.accepted(MbmsKeyId(KDID, MSK_ID, MtkId(1)), 5)
    assert guard.check(first, 1.0)  # the same bytes again: a carousel re-send
    assert not guard.check(_mikey_object(4, mtk_id=2, toi=8), 1.0)  # older COUNTER
    assert not guard.check(_mikey_object(5, mtk_id=3, toi=9), 1.0)  # same COUNTER, new bytes
    assert guard.check(_mikey_object(6, mtk_id=2, toi=10), 1.0)
    assert guard.stats["replay"] == 2
    plain = ReceivedObject(11, b"x", FdtFile(toi=11, content_location="a.txt"), 1)
    assert guard.check(plain, 1.0)


def test_guard_signals_a_missed_msk_once_per_interval() -> None:
    store = MskStore()
    store.add(msk_entry())
    missed: list[tuple[object, MskId]] = []
    guard = DownloadMtkGuard(
        store,
        key_domain_id=KDID,
        key_groups=frozenset({MSK_ID.key_group}),
        on_missed_msk=lambda kd, m: missed.append((kd, m)),
        signal_interval=5.0,
    )
    unknown = _mikey_object(1, msk_id=MSK2_ID)
    assert guard.check(unknown, 10.0)  # still handed on: the receiver keeps it for later
    assert guard.check(_mikey_object(2, msk_id=MSK2_ID, toi=8), 12.0)
    assert guard.check(_mikey_object(3, msk_id=MSK2_ID, toi=9), 15.5)
    assert guard.check(_mikey_object(1, msk_id=MskId(0x0777, 1), toi=10), 16.0)  # not ours
    assert missed == [(KDID, MSK2_ID), (KDID, MSK2_ID)]
    assert guard.stats["missed_msk_signals"] == 2
