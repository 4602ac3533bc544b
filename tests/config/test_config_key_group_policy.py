"""The SRTP policy has one source: the Key Group in the key store. ``mbms serve`` stores its
configured ``[key_group.srtp]`` with the group and its MSK messages carry that; ``mbms stream``
protects with it — a stream ``[srtp]`` that disagrees is refused at start naming both values, one
that agrees is accepted, a stream without ``[srtp]`` takes the group's. An older store (schema 3)
is migrated: its streaming groups get the profile's policy."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from broadcast.aio.streaming.service import StreamService, StreamStartError
from broadcast.cli.main import main
from broadcast.config.stream import config_from_mapping, load_config, session_srtp
from broadcast.engine.bmsc.keymgmt import KeyManagement
from broadcast.engine.bmsc.settings import BmscConfig, KeyGroupConfig
from broadcast.proto.errors import ConfigError
from broadcast.proto.keys import KeyDomainId, KeyGroupRecord, KeyStateError, MskId, MskState
from broadcast.proto.msk.gba import GbaMiss, NafKey
from broadcast.proto.srtp import CryptoPolicy
from broadcast.proto.srtp.settings import SrtpConfig, srtp_policy
from broadcast.store.bmsc import SQLiteBmscStore
from broadcast.store.keys import SCHEMA_VERSION, SQLiteKeyStore

KD = KeyDomainId.from_plmn("001", "01")
HOST = "127.35.0.1"
NOW = 1_800_000_000.0


class _NoGba:
    def naf_key(self, b_tid: str, naf: bytes, now: int) -> NafKey | GbaMiss:
        return GbaMiss.UNKNOWN


def _ensure_groups(path: Path, *groups: KeyGroupConfig) -> KeyManagement:
    cfg = BmscConfig(store=str(path), key_domain=KD, key_groups=groups)
    km = KeyManagement(cfg, SQLiteKeyStore(path), SQLiteBmscStore(path), _NoGba(), rand=os.urandom)
    km.ensure_groups(NOW)
    return km


def _close(km: KeyManagement) -> None:
    km.keys.close()
    km.store.close()  # type: ignore[attr-defined]


# --- mbms serve: the configured policy goes into the key store ---------------------------------


def test_the_bmsc_stores_its_configured_policy_and_its_msk_messages_carry_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "bmsc.db"
    mine = SrtpConfig(auth_tag=32, rcc="off")
    km = _ensure_groups(path, KeyGroupConfig(1), KeyGroupConfig(2, streaming=True, srtp=mine))
    try:
        assert km.keys.get_key_group(KD, 2) == KeyGroupRecord(KD, 2, True, mine)
        assert km.keys.get_key_group(KD, 1).srtp is None  # a download group has none
        assert km.group_policy(2) == srtp_policy(mine)
        assert km.group_policy(1) is None
    finally:
        _close(km)
    # The BM-SC is restarted with another policy: the store follows its configuration, loudly.
    caplog.set_level(logging.WARNING, logger="broadcast.bmsc")
    km = _ensure_groups(path, KeyGroupConfig(1), KeyGroupConfig(2, streaming=True))
    try:
        assert km.keys.get_key_group(KD, 2).srtp == SrtpConfig()
        assert km.group_policy(2) == srtp_policy(SrtpConfig())
    finally:
        _close(km)
    assert (
        'Key Group 2: the key store had the SRTP policy cipher = "aes-cm-128", auth_tag = 32'
        in (caplog.text)
    )
    assert 'set to the configured cipher = "aes-cm-128", auth_tag = 80' in caplog.text


def test_the_store_keeps_a_policy_for_streaming_groups_only(tmp_path: Path) -> None:
    with SQLiteKeyStore(tmp_path / "k.db") as store:
        store.add_key_domain(KD)
        assert store.add_key_group(KD, 7, streaming=True).srtp == SrtpConfig()  # the profile's
        with pytest.raises(KeyStateError, match="download group"):
            store.add_key_group(KD, 8, srtp=SrtpConfig())
        store.add_key_group(KD, 8)
        with pytest.raises(KeyStateError, match="download group"):
            store.set_key_group_srtp(KD, 8, SrtpConfig())
        null = SrtpConfig(cipher="null", auth_tag=None, rcc="RCCm3", roc_rate=3)
        assert store.set_key_group_srtp(KD, 7, null).srtp == null
        assert [g.srtp for g in store.list_key_groups(KD)] == [null, None]


# --- mbms stream: the Key Group's policy --------------------------------------------------------


def _stream(tmp_path: Path, srtp: dict[str, Any] | None, **keys: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "session": {"name": "policy", "sdp": ""},
        "destination": {"address": HOST, "port": 5004},
        "keys": {"store": "bmsc.db", "key_group": 2, "standalone": False, **keys},
        "mtk": {"period": 60.0},
        "ingest": {"source": "generator", "count": 1, "rate": 100.0},
        "rtcp": {"mode": "off"},
    }
    if srtp is not None:
        data["srtp"] = srtp
    return data


def _bmsc_store(tmp_path: Path, srtp: SrtpConfig | None = None) -> None:
    """What ``mbms serve`` leaves in the store: Key Group 2 (streaming, ``srtp``), its MSK."""
    _close(_ensure_groups(tmp_path / "bmsc.db", KeyGroupConfig(2, streaming=True, srtp=srtp)))


async def _start(service: StreamService) -> SrtpConfig:
    try:
        await service.start()
        return service.srtp
    finally:
        await service.stop()


def test_a_disagreeing_srtp_table_is_refused_at_start_naming_both_values(tmp_path: Path) -> None:
    _bmsc_store(tmp_path)  # the profile's policy: RCCm2
    config = config_from_mapping(_stream(tmp_path, {"rcc": "off"}), tmp_path)
    with pytest.raises(StreamStartError) as info:
        asyncio.run(_start(StreamService(config)))
    assert str(info.value).startswith(
        '[srtp] rcc = "off" but Key Group 2 in bmsc.db has rcc = "RCCm2"'
    )
    # Every disagreeing setting is named, with the file; the start is refused by the command.
    toml = tmp_path / "s.toml"
    toml.write_text(
        f'[session]\nname = "policy"\nsdp = ""\n[destination]\naddress = "{HOST}"\nport = 5004\n'
        '[keys]\nstore = "bmsc.db"\nkey_group = 2\nstandalone = false\n'
        '[srtp]\nauth_tag = 32\nrcc = "off"\n'
    )
    with pytest.raises(ConfigError) as err:
        session_srtp(load_config(toml), _group(tmp_path))
    assert str(err.value).startswith(
        f'{toml}: [srtp] auth_tag = 32, rcc = "off" but Key Group 2 in bmsc.db has '
        'auth_tag = 80, rcc = "RCCm2"'
    )
    assert (err.value.table, err.value.key) == ("srtp", "auth_tag")


def test_the_command_exits_1_with_both_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _bmsc_store(tmp_path, SrtpConfig(auth_tag=32, rcc="off"))
    toml = tmp_path / "s.toml"
    toml.write_text(
        f'[session]\nname = "policy"\nsdp = ""\n[destination]\naddress = "{HOST}"\nport = 5004\n'
        '[keys]\nstore = "bmsc.db"\nkey_group = 2\nstandalone = false\n[srtp]\nrcc = "RCCm2"\n'
    )
    assert main(["stream", "--config", str(toml), "--duration", "5", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert f'cannot start: {toml}: [srtp] auth_tag = 80, rcc = "RCCm2" but Key Group 2' in err
    assert 'has auth_tag = 32, rcc = "off"' in err


def _group(tmp_path: Path) -> KeyGroupRecord:
    with SQLiteKeyStore(tmp_path / "bmsc.db") as store:
        return store.get_key_group(KD, 2)


def test_an_agreeing_srtp_table_is_accepted(tmp_path: Path) -> None:
    policy = SrtpConfig(auth_tag=32, rcc="off", roc_rate=16)
    _bmsc_store(tmp_path, policy)
    # roc_rate has no meaning without RCC: 7 here and 16 in the store agree.
    table = {"cipher": "aes-cm-128", "auth_tag": 32, "rcc": "off", "roc_rate": 7}
    config = config_from_mapping(_stream(tmp_path, table), tmp_path)
    assert asyncio.run(_start(StreamService(config))) == policy


def test_a_stream_without_srtp_takes_the_key_groups_policy(tmp_path: Path) -> None:
    policy = SrtpConfig(cipher="null", auth_tag=None, rcc="RCCm3", roc_rate=4)
    _bmsc_store(tmp_path, policy)
    config = config_from_mapping(_stream(tmp_path, None), tmp_path)
    assert config.srtp is None
    service = StreamService(config)
    seen: dict[str, object] = {}

    async def run() -> None:
        try:
            await service.start()
            seen["sender"] = service.pipeline.sender.policy
        finally:
            await service.stop()

    asyncio.run(run())
    assert service.srtp == policy and service.srtp_policy == srtp_policy(policy)
    assert seen["sender"] == CryptoPolicy.from_srtp_policy(srtp_policy(policy))


def test_a_standalone_stream_creates_its_group_with_its_policy(tmp_path: Path) -> None:
    table = {"auth_tag": 32, "rcc": "off"}
    config = config_from_mapping(_stream(tmp_path, table, standalone=True), tmp_path)
    assert asyncio.run(_start(StreamService(config))) == SrtpConfig(auth_tag=32, rcc="off")
    assert _group(tmp_path).srtp == SrtpConfig(auth_tag=32, rcc="off")


def test_a_download_key_group_is_refused(tmp_path: Path) -> None:
    config = config_from_mapping(_stream(tmp_path, None), tmp_path)
    with pytest.raises(ConfigError, match=r"\[keys\] key_group: Key Group 2 in bmsc.db is a down"):
        session_srtp(config, KeyGroupRecord(KD, 2, streaming=False))


# --- migration of an older store ------------------------------------------------------------------

_V3 = (
    "CREATE TABLE key_domain (domain_id BLOB PRIMARY KEY CHECK (length(domain_id) = 3)) "
    "WITHOUT ROWID",
    """CREATE TABLE key_group (
        domain_id BLOB NOT NULL REFERENCES key_domain (domain_id),
        key_group INTEGER NOT NULL CHECK (key_group BETWEEN 0 AND 65535),
        streaming INTEGER NOT NULL CHECK (streaming IN (0, 1)),
        PRIMARY KEY (domain_id, key_group)
    ) WITHOUT ROWID""",
    """CREATE TABLE msk (
        domain_id BLOB NOT NULL, key_group INTEGER NOT NULL, key_number INTEGER NOT NULL,
        key BLOB NOT NULL, mtk_id_low INTEGER NOT NULL, mtk_id_high INTEGER NOT NULL,
        last_mtk_id INTEGER, ts_counter INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL,
        PRIMARY KEY (domain_id, key_group, key_number),
        FOREIGN KEY (domain_id, key_group) REFERENCES key_group (domain_id, key_group)
    ) WITHOUT ROWID""",
)


def test_an_old_store_is_migrated_and_its_streaming_groups_get_the_profiles_policy(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    raw = sqlite3.connect(path)
    for statement in _V3:
        raw.execute(statement)
    raw.execute("INSERT INTO key_domain VALUES (?)", (KD.value,))
    raw.execute("INSERT INTO key_group VALUES (?, 1, 0), (?, 2, 1)", (KD.value, KD.value))
    raw.execute(
        "INSERT INTO msk VALUES (?, 2, 1, ?, 1, 65535, 41, 7, 'current')", (KD.value, b"\x07" * 16)
    )
    raw.execute("PRAGMA user_version = 3")
    raw.commit()
    raw.close()
    with SQLiteKeyStore(path) as store:
        assert store.get_key_group(KD, 2) == KeyGroupRecord(KD, 2, True, SrtpConfig())
        assert store.get_key_group(KD, 1) == KeyGroupRecord(KD, 1, False, None)
        msk = store.get_msk(KD, MskId(2, 1))  # the rest of the store is as it was
        assert msk.state is MskState.CURRENT and int(store.allocate_mtk_id(KD, msk.msk_id)) == 42
        store.set_key_group_srtp(KD, 2, SrtpConfig(rcc="RCCm1"))
    check = sqlite3.connect(path)
    try:
        assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
    finally:
        check.close()
    with SQLiteKeyStore(path) as store:  # reopened: the policy set stays
        assert store.get_key_group(KD, 2).srtp == SrtpConfig(rcc="RCCm1")
