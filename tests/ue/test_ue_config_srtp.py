"""The UE's ``[srtp]`` is read by the stream's parser (``broadcast.config.stream.srtp_config``):
same keys, defaults and checks; errors become UeConfigError naming the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from broadcast.config.srtp import SrtpConfig
from broadcast.config.stream import ConfigError, srtp_config
from broadcast.config.ue import config_from_dict
from broadcast.engine.ue.errors import UeConfigError


def _ue(srtp: Any) -> dict[str, Any]:
    return {"announcement": {"protection": "p.xml", "sdp": ["s.sdp"]}, "srtp": srtp}


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
    assert got == srtp_config(srtp)
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
        ({"auth_tag": 64}, r'srtp.auth_tag must be 80, 32 or "null", got 64'),
        ({"cipher": ""}, "srtp.cipher must be one of"),
        ({"rcc": "RCCm3"}, "RCCm3 has no MAC"),
        ({"roc_rate": 0}, "srtp.roc_rate must be 1..65535"),
        ({"roc_rate": True}, "srtp.roc_rate must be an integer"),
        ({"bogus": 1}, r"unknown key\(s\) in \[srtp\]: bogus"),
        ("x", r"\[srtp\] must be a table"),
    ],
)
def test_errors_name_the_key(tmp_path: Path, srtp: Any, message: str) -> None:
    with pytest.raises(UeConfigError, match=message):
        config_from_dict(_ue(srtp), tmp_path)
    with pytest.raises(ConfigError, match=message):
        srtp_config(srtp)
