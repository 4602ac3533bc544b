"""The TOML configuration (every key documented, the example complete), the SRTP policy settings
and the SDP writer."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

import broadcast.config.sections as sections_module
import broadcast.config.stream as config_module
from broadcast.config.stream import (
    PcapIngestConfig,
    UdpIngestConfig,
    config_from_mapping,
    load_config,
)
from broadcast.engine.streaming.generator import GeneratorConfig
from broadcast.proto.announce.sdp import RtpMap, streaming_sdp
from broadcast.proto.errors import ConfigError
from broadcast.proto.mikey.constants import SrtpAuthAlg
from broadcast.proto.srtp.settings import SrtpConfig, srtp_policy

EXAMPLE = Path(config_module.__file__).parent / "examples" / "stream.toml"


def base() -> dict[str, dict[str, Any]]:
    return {
        "session": {"name": "s"},
        "destination": {"address": "127.22.2.1", "port": 5004},
        "keys": {"store": "k.sqlite", "mcc": "001", "mnc": "01", "key_group": 1},
    }


def test_example_loads_and_sets_every_documented_key(tmp_path: Path) -> None:
    cfg = load_config(EXAMPLE)
    assert cfg.session.name == "example" and cfg.session.port == 5004
    # The BM-SC example's store and streaming Key Group (the three examples work together).
    assert cfg.keys.store.resolve() == EXAMPLE.parent / "bmsc.db"
    assert cfg.keys.key_group == 2
    assert cfg.session.sdp == EXAMPLE.parent / "example.sdp"
    assert str(cfg.keys.key_domain) == "00F110"
    assert isinstance(cfg.ingest, GeneratorConfig) and cfg.ingest.ssrcs == (0x4D424D53,)
    assert cfg.mtk.period == 10.0 and cfg.mtk.lead == 2.5 and cfg.mtk.interval == 0.5
    # Every key the example uses (and every key it shows commented out) is documented, here or
    # (the shared tables) in broadcast/config/sections.py.
    doc = (config_module.__doc__ or "") + (sections_module.__doc__ or "")
    text = EXAMPLE.read_text()
    keys = set(re.findall(r"^#?\s*([a-z_]+) =", text, flags=re.MULTILINE))
    assert len(keys) > 35
    for key in keys:
        assert f"``{key}``" in doc, f"{key} is not documented in broadcast/config/stream.py"
    # ... and every documented key is accepted by the loader somewhere in the example.
    documented = set(re.findall(r"``([a-z_]+)`` \(", doc))
    assert documented <= keys, documented - keys


def test_defaults_and_relative_paths(tmp_path: Path) -> None:
    cfg = config_from_mapping(base(), tmp_path)
    assert cfg.keys.store == tmp_path / "k.sqlite"
    assert cfg.session.sdp == tmp_path / "s.sdp"
    assert cfg.session.mikey_dest == ("127.22.2.1", 2269)
    assert cfg.session.rtcp_dest == ("127.22.2.1", 5005)
    assert cfg.srtp is None  # no [srtp]: the Key Group's policy (from the key store at start)
    assert cfg.rtcp.mode == "generate" and cfg.cname == "s@mbms"
    assert cfg.keys.standalone


def test_ingest_variants(tmp_path: Path) -> None:
    d = base()
    d["ingest"] = {"source": "udp", "listen": "127.22.2.1", "port": 6000, "rtcp_port": 6001}
    ingest = config_from_mapping(d, tmp_path).ingest
    assert ingest == UdpIngestConfig(("127.22.2.1", 6000), 6001)
    d["ingest"] = {"source": "pcap", "file": "c.pcap", "udp_port": 6000, "pace": False}
    ingest = config_from_mapping(d, tmp_path).ingest
    assert isinstance(ingest, PcapIngestConfig) and ingest.file == tmp_path / "c.pcap"
    assert ingest.udp_port == 6000 and not ingest.pace


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"destination": {"port": 5005}}, r"\[destination\] port: must be even"),
        ({"destination": {"port": "5004"}}, r"\[destination\] port: must be an integer"),
        ({"destination": {"address": "example.org"}}, "address: must be an IPv4 address"),
        ({"session": {"colour": "red"}}, r"\[session\] colour: unknown key \(known: .*name"),
        ({"session": {"nmae": "x"}}, r"\[session\] nmae: unknown key, did you mean name\?"),
        ({"sesion": {}}, r"\[sesion\]: unknown table, did you mean \[session\]\?"),
        ({"keys": {"mcc": "1"}}, "mcc"),
        ({"keys": {"key_group": 70000}}, r"\[keys\] key_group: must be 0..65535 \(got 70000\)"),
        ({"srtp": {"auth_tag": 64}}, r'\[srtp\] auth_tag: must be 80, 32 or "null" \(got 64\)'),
        ({"srtp": {"rcc": "RCCm2", "auth_tag": 32}}, r"\[srtp\] auth_tag: RCCm2 with a 32-bit tag"),
        ({"srtp": {"rcc": "RCCm3"}}, r"\[srtp\] rcc: RCCm3 has no MAC"),
        ({"mtk": {"period": 0}}, r"\[mtk\] period: must be a number > 0"),
        ({"mtk": {"lead": -1}}, r"\[mtk\] lead"),
        ({"mtk": {"interval": True}}, r"\[mtk\] interval: must be a number"),
        ({"ingest": {"source": "udp", "rate": 5}}, r'rate: unknown key for source = "udp"'),
        ({"ingest": {"source": "pcap"}}, r"\[ingest\] file: is required"),
        ({"ingest": {"listen": "nowhere", "source": "udp"}}, "listen: must be an IPv4 address"),
        ({"ingest": {"ssrcs": [1, 1]}}, "distinct"),
        ({"ingest": {"ssrcs": ["a"]}}, "list of integers"),
        ({"rtcp": {"mode": "maybe"}}, r"\[rtcp\] mode: must be one of"),
        ({"output": {"ttl": 300}}, r"\[output\] ttl"),
    ],
)
def test_errors_name_the_key(
    patch: dict[str, dict[str, Any]], message: str, tmp_path: Path
) -> None:
    d = base()
    for section, values in patch.items():
        d.setdefault(section, {}).update(values)
    with pytest.raises(ConfigError, match=message):
        config_from_mapping(d, tmp_path)


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[session\nname=1")
    with pytest.raises(ConfigError, match=r"bad\.toml"):
        load_config(bad)
    bad.write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigError):
        load_config(bad)
    # An error found while building the settings names the file, the table and the key.
    bad.write_text(
        '[session]\nname = "s"\n[destination]\naddress = "127.22.2.1"\nport = 5004\n'
        '[keys]\nstore = "k"\nkey_group = 1\n[srtp]\nauth_tag = 64\n'
    )
    with pytest.raises(ConfigError) as info:
        load_config(bad)
    assert str(info.value) == f'{bad}: [srtp] auth_tag: must be 80, 32 or "null" (got 64)'
    assert (info.value.file, info.value.table, info.value.key) == (str(bad), "srtp", "auth_tag")


def test_example_is_valid_toml_without_comments() -> None:
    assert "session" in tomllib.loads(EXAMPLE.read_text())


def test_srtp_policy_values() -> None:
    p = srtp_policy(SrtpConfig())
    assert (p.srtp_auth_alg, p.srtp_auth_tag_len, p.roc_transmission_rate) == (
        SrtpAuthAlg.RCCM2,
        10,
        16,
    )
    p = srtp_policy(SrtpConfig(rcc="off", auth_tag=None, cipher="null"))
    assert p.srtp_auth_alg == SrtpAuthAlg.NULL and not p.srtp_encryption
    assert not p.srtp_authentication and p.srtcp_auth_alg == SrtpAuthAlg.HMAC_SHA1
    with pytest.raises(ConfigError, match=r"roc_rate: must be 1\.\.65535"):
        SrtpConfig(roc_rate=0)
    with pytest.raises(ConfigError, match="cipher: must be one of"):
        SrtpConfig(cipher="aes-f8")


def test_sdp_multicast_and_unicast() -> None:
    text = streaming_sdp(
        session_name="news",
        address="239.1.2.3",
        media=[("audio", 5004, RtpMap(97, "opus", 48000, "2"))],
        ttl=8,
        source="192.0.2.10",
        ssrcs=(5,),
        cname="n@mbms",
    ).to_text()
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    lines = text.split("\r\n")[:-1]
    assert lines == [
        "v=0",
        "o=- 0 0 IN IP4 192.0.2.10",
        "s=news",
        "c=IN IP4 239.1.2.3/8",
        "t=0 0",
        "a=source-filter: incl IN IP4 239.1.2.3 192.0.2.10",
        "m=audio 5004 RTP/SAVP 97",
        "a=rtpmap:97 opus/48000/2",
        "a=ssrc:5 cname:n@mbms",
    ]
    h264 = [("video", 5004, RtpMap(96, "H264", 90000))]
    unicast = streaming_sdp(session_name="u", address="127.22.2.1", media=h264).to_text()
    assert "c=IN IP4 127.22.2.1\r\n" in unicast and "m=video 5004 RTP/SAVP 96" in unicast
    with pytest.raises(ValueError):
        streaming_sdp(session_name="bad\r\nname", address="127.22.2.1", media=h264)
