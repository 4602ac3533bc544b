"""The UE's ``[srtp]`` is read by the one parser of the table
(``broadcast.config.sections.srtp_section``, the stream's too): same keys, defaults, checks and
error texts. Without a policy from MIKEY the UE uses it, and refuses one that contradicts the
announcement."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from broadcast.config.stream import config_from_mapping as stream_config
from broadcast.config.ue import config_from_dict, ue_srtp
from broadcast.proto.errors import ConfigError
from broadcast.proto.srtp.settings import SrtpConfig


def _ue(srtp: Any) -> dict[str, Any]:
    return {"announcement": {"protection": "p.xml", "sdp": ["s.sdp"]}, "srtp": srtp}


def _stream(srtp: Any) -> dict[str, Any]:
    return {
        "session": {"name": "s"},
        "destination": {"address": "127.22.2.1", "port": 5004},
        "keys": {"store": "k.sqlite", "key_group": 1},
        "srtp": srtp,
    }


@pytest.mark.parametrize(
    "srtp",
    [
        {},
        {"cipher": "null", "auth_tag": "null", "rcc": "RCCm3", "roc_rate": 4},
        {"auth_tag": 32, "rcc": "off"},
    ],
)
def test_ue_and_stream_read_srtp_alike(tmp_path: Path, srtp: dict[str, Any]) -> None:
    got = config_from_dict(_ue(srtp), tmp_path).srtp
    assert got == stream_config(_stream(srtp), tmp_path).srtp
    assert isinstance(got, SrtpConfig)
    if not srtp:
        assert got == SrtpConfig()  # the profile's policy


def test_ue_without_srtp_keeps_none(tmp_path: Path) -> None:
    data = _ue({})
    del data["srtp"]
    assert config_from_dict(data, tmp_path).srtp is None


@pytest.mark.parametrize(
    ("srtp", "message"),
    [
        ({"auth_tag": 64}, r'\[srtp\] auth_tag: must be 80, 32 or "null" \(got 64\)'),
        ({"cipher": ""}, r"\[srtp\] cipher: must be one of"),
        ({"rcc": "RCCm3"}, r"\[srtp\] rcc: RCCm3 has no MAC"),
        ({"roc_rate": 0}, r"\[srtp\] roc_rate: must be 1..65535"),
        ({"roc_rate": True}, r"\[srtp\] roc_rate: must be an integer"),
        ({"bogus": 1}, r"\[srtp\] bogus: unknown key \(known: .*auth_tag"),
        ({"roc-rate": 1}, r"\[srtp\] roc-rate: unknown key, did you mean roc_rate\?"),
        ("x", r"\[srtp\] must be a table"),
    ],
)
def test_errors_name_the_key(tmp_path: Path, srtp: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as ue:
        config_from_dict(_ue(srtp), tmp_path)
    with pytest.raises(ConfigError, match=message) as stream:
        stream_config(_stream(srtp), tmp_path)
    assert str(ue.value) == str(stream.value)  # one parser, one text


@pytest.mark.parametrize(
    ("confidentiality", "integrity", "expected"),
    [
        (True, True, SrtpConfig()),
        (False, True, SrtpConfig(cipher="null")),
        (True, False, SrtpConfig(auth_tag=None, rcc="off")),
    ],
)
def test_without_srtp_the_ue_fits_the_profile_policy_to_the_announcement(
    confidentiality: bool, integrity: bool, expected: SrtpConfig
) -> None:
    assert ue_srtp(None, confidentiality=confidentiality, integrity=integrity) == expected


def test_an_srtp_table_that_contradicts_the_announcement_is_refused() -> None:
    ok = SrtpConfig(cipher="null")
    assert ue_srtp(ok, confidentiality=False, integrity=True) is ok
    with pytest.raises(ConfigError) as info:
        ue_srtp(
            SrtpConfig(),
            confidentiality=False,
            integrity=True,
            announcement="the announcement (protection.xml)",
            source="ue.toml",
        )
    assert str(info.value) == (
        'ue.toml: [srtp] cipher = "aes-cm-128" but the announcement (protection.xml) says '
        "confidentiality off"
    )
    with pytest.raises(ConfigError, match=r'auth_tag = "null" but .* says integrity on'):
        ue_srtp(SrtpConfig(auth_tag=None, rcc="off"), confidentiality=True, integrity=True)
