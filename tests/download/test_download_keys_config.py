"""MTK issuing from the key store, the TOML configuration, the SDP and `mbms carousel`."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from testkit import EXAMPLES_DIR as EXAMPLES

from broadcast.aio.download.service import carousel_sdp
from broadcast.cli.main import main as mbms_main
from broadcast.config.carousel import CarouselConfig, config_from_mapping, load_config
from broadcast.config.output import OutputConfig
from broadcast.engine.keys.issuing import KeyGroupKindError
from broadcast.engine.keys.mtk import MtkIssuer
from broadcast.proto.errors import ConfigError
from broadcast.proto.keys import KeyDomainId, Msk, MskId, MskState, MtkIdExhausted
from broadcast.proto.mikey import envelope, open_mtk_message
from broadcast.store.keys import SQLiteKeyStore

KD = KeyDomainId.from_plmn("001", "01")
EXAMPLE = EXAMPLES / "carousel.toml"


def test_issuer_creates_what_is_missing_and_follows_the_current_msk(tmp_path: Path) -> None:
    rng = random.Random(5)
    with SQLiteKeyStore(tmp_path / "k.sqlite") as store:
        issuer = MtkIssuer(store, KD, 7, streaming=False, rand=rng.randbytes)
        first = issuer.ensure()
        assert first.state is MskState.CURRENT and first.msk_id == MskId(7, 1)
        assert store.get_key_group(KD, 7).streaming is False
        assert issuer.ensure() == first  # idempotent
        a, b = issuer.issue(), issuer.issue()
        assert (int(a.mtk_id), int(b.mtk_id)) == (1, 2) and b.counter == a.counter + 1
        delivery = open_mtk_message(envelope(b.message), first.key)
        assert delivery.mtk == b.mtk and delivery.salt is None  # download: TEK, no salt
        assert "redacted" in repr(b.mtk) and b.mtk.secret.hex() not in repr(b)
        # The BM-SC rotates the MSK: the next MTK is under the new CURRENT one.
        store.add_msk(KD, MskId(7, 2), Msk(rng.randbytes(16)), mtk_id_low=100, mtk_id_high=101)
        store.promote(KD, 7)
        c = issuer.issue()
        assert c.msk_id == MskId(7, 2) and int(c.mtk_id) == 100
        issuer.issue()
        with pytest.raises(MtkIdExhausted):
            issuer.issue()  # MTK IDs stay inside the MSK's range


def test_issuer_refuses_a_streaming_key_group(tmp_path: Path) -> None:
    with SQLiteKeyStore(tmp_path / "k.sqlite") as store:
        store.add_key_domain(KD)
        store.add_key_group(KD, 3, streaming=True)
        with pytest.raises(KeyGroupKindError, match="streaming"):
            MtkIssuer(store, KD, 3, streaming=False).ensure()


def test_a_download_mtk_message_has_no_cs_id_map(tmp_path: Path) -> None:
    with SQLiteKeyStore(tmp_path / "k.sqlite") as store:
        issuer = MtkIssuer(store, KD, 4, streaming=False)
        issuer.ensure()
        with pytest.raises(ValueError, match="CS ID map"):
            issuer.issue([(0x1234, 0)])
        issued = issuer.issue()
        assert issued.salt is None and issued.sessions == () and int(issued.mtk_id) == 1


def test_example_config_loads() -> None:
    config = load_config(EXAMPLE)
    assert config.destination == ("127.23.0.1", 4000)
    assert config.confidentiality and config.store_path is not None
    assert config.bitrate == 2_000_000 and config.symbol_length == 1428
    assert config.key_domain == KD and config.key_group == 1  # from mcc/mnc
    # The BM-SC example's store (relative to this example file).
    assert config.store_path.resolve() == EXAMPLE.parent / "bmsc.db"


DEST = {"destination": {"address": "127.0.0.1", "port": 1}}


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ({"mcc": "001", "mnc": "01"}, KD),
        ({"mcc": "310", "mnc": "410"}, KeyDomainId.from_plmn("310", "410")),
        ({"key_domain": "00f110"}, KD),
        ({"key_domain": "00F110"}, KD),
        ({}, KD),  # neither form: the test PLMN
    ],
)
def test_key_domain_as_mcc_mnc_or_hex(keys: dict[str, str], expected: KeyDomainId) -> None:
    config = config_from_mapping({**DEST, "keys": {"store": "k.sqlite", **keys}})
    assert config.key_domain == expected


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"mcc": "001", "mnc": "01", "key_domain": "00f110"}, "given twice.*not both"),
        ({"mnc": "01", "key_domain": "00f110"}, "not both"),
        ({"mcc": "001"}, r"\[keys\] mnc: is missing"),
        ({"mnc": "01"}, r"\[keys\] mcc: is missing"),
        ({"mcc": 1, "mnc": "01"}, r"\[keys\] mcc: must be a string of digits.*got int"),
        ({"mcc": "001", "mnc": 1}, r"\[keys\] mnc: must be a string"),
        ({"mcc": "01", "mnc": "01"}, r"\[keys\] mcc / mnc"),
        ({"mcc": "001", "mnc": "1"}, r"\[keys\] mcc / mnc"),
        ({"key_domain": "00f11"}, r"\[keys\] key_domain: must be 6 hex digits"),
        ({"key_domain": 0xF110}, r"\[keys\] key_domain: must be a string"),
    ],
)
def test_key_domain_errors_are_clear(keys: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config_from_mapping({**DEST, "keys": {"store": "k.sqlite", **keys}})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"destination": {"address": "127.0.0.1"}}, r"\[destination\] port: is required"),
        ({"destination": {"address": "127.0.0.1", "port": 1}, "session": {"tsi": "x"}}, "tsi"),
        ({"destination": {"address": "127.0.0.1", "port": 1}, "bogus": {}},
         r"\[bogus\]: unknown table"),
        ({"destination": {"address": "127.0.0.1", "port": 1}, "session": {"typo": 1}},
         r"\[session\] typo: unknown key"),
        ({"destination": {"address": "127.0.0.1", "port": 1}, "session": {"flute_version": 3}},
         r"\[session\] flute_version: must be 1..2"),
        ({"destination": {"address": "127.0.0.1", "port": 1}},
         r"\[keys\] store: is required when confidentiality is on"),
        ({"destination": {"address": "127.0.0.1", "port": 1}, "output": {"ttl": 300}},
         r"\[output\] ttl"),
        ({"destination": {"address": "127.0.0.1", "port": 1}, "keys": {"key_domain": "zz"}},
         r"\[keys\] key_domain"),
        ({"destination": {"address": "127.0.0.1", "port": 1}, "keys": {"bmsc_fqdn": "b"}},
         r"\[keys\] bmsc_fqdn: unknown key"),
        ({"destination": {"address": "bmsc.example.org", "port": 1}},
         r"\[destination\] address: must be an IPv4 address"),
    ],
)  # fmt: skip
def test_bad_configs_name_the_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config_from_mapping(data)  # type: ignore[arg-type]


def test_sdp_lines() -> None:
    news = CarouselConfig(
        destination=("232.1.2.3", 4000),
        tsi=9,
        name="news",
        output=OutputConfig(ttl=5),
        confidentiality=False,
    )
    multicast = carousel_sdp(news, source="10.0.0.1", session_id=0).to_text()
    lines = multicast.split("\r\n")
    assert "m=application 4000 FLUTE/UDP 0" in lines
    assert "c=IN IP4 232.1.2.3/5" in lines
    assert "a=flute-tsi:9" in lines and "a=flute-ch:1" in lines
    assert "a=source-filter: incl IN IP4 * 10.0.0.1" in lines
    assert "a=FEC-declaration:0 encoding-id=0" in lines
    assert lines[0] == "v=0" and multicast.endswith("\r\n")
    x = CarouselConfig(destination=("127.23.0.1", 4000), name="x", confidentiality=False)
    unicast = carousel_sdp(x, source="127.0.0.1", session_id=0).to_text()
    assert "c=IN IP4 127.23.0.1" in unicast.split("\r\n")  # no TTL on a unicast address


def test_mbms_carousel_runs_rounds_and_writes_sdp(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_bytes(b"carousel\n")
    (tmp_path / "c.toml").write_text(
        """
[session]
tsi = 3
repeat_interval = 0.05
fdt_repeat_interval = 0.05
sdp = "s.sdp"
[destination]
address = "127.23.0.1"
port = 4999
[keys]
store = "k.sqlite"
[input]
directory = "in"
"""
    )
    assert mbms_main(["carousel", "--config", str(tmp_path / "c.toml"), "--rounds", "2"]) == 0
    out = capsys.readouterr()
    assert "rounds 2" in out.out and "MTK 0001" in out.out
    assert "a=flute-tsi:3" in (tmp_path / "s.sdp").read_text()
    with SQLiteKeyStore(tmp_path / "k.sqlite") as store:
        assert store.current_mtk_id(KD, MskId(256, 1)) is not None
    assert mbms_main(["carousel", "--config", str(tmp_path / "missing.toml")]) == 1
