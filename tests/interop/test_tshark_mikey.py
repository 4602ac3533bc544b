"""Interop: Wireshark's MIKEY dissector (tshark) reads our four MBMS messages and the ACK.

The messages are built with fixed, known values, put into one classic pcap as UDP datagrams
(127.0.0.1:40000 -> 127.0.0.2:2269, the ACK 2269 -> 40000; tshark registers MIKEY on UDP 2269,
so no ``-d`` is needed) and dissected twice: ``-T json --no-duplicate-keys -x`` for the field
values and the raw bytes of every payload, ``-V`` for the text tree.

Field names are the ones tshark 4.0 (Debian 12) really emits (``mikey.*``; note Wireshark's own
typo ``mikey.sp.patam.value``). What Wireshark does not decode, and how this test copes:
- CS ID map type 1 (RFC 4563 Empty map) and EXT type 3 (RFC 4563 Key ID) show as "Unknown";
  the EXT data is raw bytes, compared with our Key ID sub-payloads.
- The T payload's COUNTER value has no field; the payload's raw bytes (``mikey.t_raw``) are
  compared instead.
- KEMAC Encr data is only shown raw (Wireshark decodes Key data for NULL encryption only).
- SP parameter type 13 (RFC 4771 ROC transmission rate) lands on an unregistered header field
  (Wireshark's ``hf_mikey_sp_param[SP_MAX + 1]`` has slot 13 never registered), so it shows as
  "Text item" under the JSON key ``""``; types 14-19 show as generic ``mikey.sp.param``. The
  test therefore reads every parameter from its type/len/value subtree, wherever it sits.

tshark missing is a test failure, never a skip (the interop marker selects these tests).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
from testkit import load_module

from broadcast.proto.keys import KeyDomainId, Msk, MskId, Mtk, MtkId, Muk, MukId, SrtpSalt
from broadcast.proto.mikey import (
    SrtpPolicy,
    build_ack,
    build_msk_message,
    build_mtk_message,
    build_solicited_pull,
    envelope,
)
from broadcast.proto.mikey.payloads import SrtpCs

pcap = load_module(Path(__file__).with_name("pcap.py"), "mbms_interop_pcap")

pytestmark = pytest.mark.interop

TSHARK_TIMEOUT = 60
UE, BMSC = "127.0.0.1", "127.0.0.2"
UE_PORT, MIKEY_PORT = 40000, 2269
#: Ethernet (14) + IPv4 (20) + UDP (8): where the MIKEY message starts in each frame.
MIKEY_OFFSET = 42

# --- fixed, known inputs ------------------------------------------------------------------------

MUK = Muk(bytes(range(0x00, 0x10)))
MSK = Msk(bytes(range(0x40, 0x50)))
MTK = Mtk(bytes(range(0x60, 0x70)))
SALT = SrtpSalt(bytes(range(0x80, 0x8E)))
RAND = bytes(range(0xA0, 0xB0))
BMSC_FQDN = "bmsc.mbms.mnc001.mcc001.pub.3gppnetwork.org"
B_TID = "dGVzdC1idGlk@bsf.mnc001.mcc001.pub.3gppnetwork.org"
MUK_ID = MukId.of(BMSC_FQDN, B_TID)
KDID = KeyDomainId.from_plmn("001", "01")  # 00 F1 10
MSK_ID = MskId(0x0102, 0x0003)
MSK_CSB_ID = 0x11223344
PULL_CSB_ID = 0x55667788
SRTP_CS = SrtpCs(policy_no=0, ssrc=0xDEADBEEF, roc=3)
POLICY = SrtpPolicy(
    encr_alg=1,  # AES-CM
    session_encr_key_len=16,
    session_salt_key_len=14,
    srtp_auth_alg=3,  # RCCm2 (RFC 4771)
    srtcp_auth_alg=1,  # HMAC-SHA-1
    session_auth_key_len=20,
    srtp_auth_tag_len=10,
    srtcp_auth_tag_len=10,
    key_derivation_rate=0,
    roc_transmission_rate=16,
)
#: The SP parameters of POLICY, written out from RFC 3830 §6.10.1 and RFC 4771 §5 (type -> value).
POLICY_TLVS = {
    0: "01",  # encryption algorithm AES-CM
    1: "10",  # session encr key length 16
    2: "01",  # (general) authentication algorithm HMAC-SHA-1
    3: "14",  # session auth key length 20
    4: "0e",  # session salt key length 14
    5: "00",  # SRTP PRF AES-CM
    6: "00000000",  # key derivation rate 0
    7: "01",  # SRTP encryption on
    8: "01",  # SRTCP encryption on
    9: "00",  # FEC order FEC-SRTP
    10: "01",  # SRTP authentication on
    11: "0a",  # authentication tag length 10
    12: "00",  # SRTP prefix length 0
    13: "0010",  # ROC transmission rate R = 16 (16 bits)
    14: "03",  # SRTP auth alg RCCm2
    15: "01",  # SRTCP auth alg HMAC-SHA-1
    18: "0a",  # SRTP auth tag length
    19: "0a",  # SRTCP auth tag length
}
#: Names Wireshark gives RFC 3830 SP types 0-12 (each carries the value in its own field).
SP_NAMED_FIELDS = {
    0: "mikey.sp.encr_alg",
    1: "mikey.sp.encr_len",
    2: "mikey.sp.auth_alg",
    3: "mikey.sp.auth_key_len",
    4: "mikey.sp.salt_len",
    5: "mikey.sp.prf",
    6: "mikey.sp.kd_rate",
    7: "mikey.sp.srtp_encr",
    8: "mikey.sp.srtcp_encr",
    9: "mikey.sp.fec",
    10: "mikey.sp.srtp_auth",
    11: "mikey.sp.auth_tag_len",
    12: "mikey.sp.srtp_prefix",
}


@dataclass(frozen=True)
class Expected:
    """What one frame must show, written from the inputs above (not read back from our codec)."""

    name: str
    data_type: int  # 0 Pre-shared, 1 PSK ver msg
    v: bool
    csb_id: int
    cs_map_type: int
    srtp_ids: tuple[SrtpCs, ...]
    key_id: str  # hex of the RFC 4563 Key ID sub-payloads
    counter: int
    payloads: tuple[str, ...]  # tshark payload layer names, in message order
    ids: tuple[tuple[int, str], ...]  # (ID type, ID) in order
    kemac_encr_len: int | None  # None: no KEMAC
    has_rand: bool = True


def key_id(*parts: str) -> str:
    """Hex of RFC 4563 Key ID sub-payloads given as type · length · value pieces."""
    return "".join(parts)


# Key Domain ID (type 0, 3 bytes: MCC 001 / MNC 01) · MSK ID (type 1, 4 bytes: group 0102, number 3)
KID_MSK = key_id("00", "03", "00f110", "01", "04", "01020003")
EXPECTED = (
    Expected(
        "MSK",
        0,
        True,
        MSK_CSB_ID,
        0,
        (),
        KID_MSK,
        7,
        ("hdr", "ext", "t", "rand", "id", "id", "sp", "kemac"),
        ((1, BMSC_FQDN), (0, B_TID)),
        # TGK: next 1 · type/KV 1 · len 2 · MSK 16 · VF len 1 · VF 2 · VT len 1 · VT 2
        26,
    ),
    Expected(
        "MTK streaming",
        0,
        False,
        int(MSK_ID),
        0,
        (SRTP_CS,),
        KID_MSK + key_id("02", "02", "0005"),  # MTK ID 5
        9,
        ("hdr", "ext", "t", "rand", "kemac"),
        (),
        # TEK+SALT: 1 · 1 · 2 · MTK 16 · salt len 2 · salt 14 · SPI len 1 · MKI 6
        43,
    ),
    Expected(
        "MTK download",
        0,
        False,
        int(MSK_ID),
        1,
        (),
        KID_MSK + key_id("02", "02", "0006"),  # MTK ID 6
        10,
        ("hdr", "ext", "t", "rand", "kemac"),
        (),
        20,  # TEK, KV null: 1 · 1 · 2 · MTK 16
    ),
    Expected(
        "solicited pull",
        0,
        False,
        PULL_CSB_ID,
        1,
        (),
        key_id("00", "03", "00f110", "01", "04", "01020000"),  # Key Number 0 = current
        8,
        ("hdr", "ext", "t", "rand", "id", "id", "kemac"),
        ((1, BMSC_FQDN), (0, B_TID)),
        0,  # MAC only
    ),
    Expected(
        "ACK",
        1,
        False,
        MSK_CSB_ID,
        0,
        (),
        KID_MSK,
        7,
        ("hdr", "ext", "t", "id", "v"),
        ((0, B_TID),),
        None,
        has_rand=False,
    ),
)


def _messages() -> tuple[bytes, ...]:
    msk_msg = build_msk_message(
        muk=MUK,
        muk_id=MUK_ID,
        key_domain_id=KDID,
        msk_id=MSK_ID,
        msk=MSK,
        valid_from=MtkId(1),
        valid_to=MtkId(0xFFFF),
        counter=7,
        csb_id=MSK_CSB_ID,
        rand=RAND,
        ack=True,
        srtp_policy=POLICY,
    )
    mtk_streaming = build_mtk_message(
        msk=MSK,
        key_domain_id=KDID,
        msk_id=MSK_ID,
        mtk_id=MtkId(5),
        mtk=MTK,
        counter=9,
        rand=RAND,
        salt=SALT,
        srtp_sessions=(SRTP_CS,),
    )
    mtk_download = build_mtk_message(
        msk=MSK,
        key_domain_id=KDID,
        msk_id=MSK_ID,
        mtk_id=MtkId(6),
        mtk=MTK,
        counter=10,
        rand=RAND,
    )
    pull = build_solicited_pull(
        muk=MUK,
        muk_id=MUK_ID,
        key_domain_id=KDID,
        key_group=MSK_ID.key_group,
        counter=8,
        csb_id=PULL_CSB_ID,
        rand=RAND,
    )
    ack = build_ack(envelope(msk_msg), MUK)
    return msk_msg, mtk_streaming, mtk_download, pull, ack


MESSAGES = _messages()


# --- running tshark ----------------------------------------------------------------------------


def run_tshark(*args: str) -> str:
    """Run tshark; a missing binary, a timeout or a non-zero exit is a test failure."""
    exe = shutil.which("tshark") or "/usr/bin/tshark"
    try:
        proc = subprocess.run(
            [exe, *args],
            capture_output=True,
            text=True,
            timeout=TSHARK_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        pytest.fail(f"tshark is required for the interop tests and was not found ({exe})")
    except subprocess.TimeoutExpired:
        pytest.fail(f"tshark {' '.join(args)} did not finish within {TSHARK_TIMEOUT} s")
    if proc.returncode != 0:
        pytest.fail(f"tshark {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
    return proc.stdout


def tshark_json(path: Path, *extra: str) -> list[dict[str, Any]]:
    out = run_tshark("-r", str(path), "-T", "json", "--no-duplicate-keys", "-x", *extra)
    return [pkt["_source"]["layers"] for pkt in json.loads(out)]


def as_list(value: Any) -> list[Any]:
    """--no-duplicate-keys turns a repeated field into a list; a single one stays a value."""
    return value if isinstance(value, list) else [value]


def walk(node: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair anywhere in a tshark JSON tree."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield k, v
            yield from walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v)


def colon_hex(value: str) -> str:
    """tshark prints FT_BYTES as ``aa:bb:cc``; make it plain hex."""
    return value.replace(":", "")


SEVERITY_WARN = 0x00600000  # PI_WARN; PI_ERROR is 0x00800000


def bad_expert_infos(layers: dict[str, Any]) -> list[str]:
    """Expert infos of severity warning or error, and any malformed-packet marker."""
    found = []
    for key, value in walk(layers):
        if key.startswith("_ws.malformed"):
            found.append(f"{key}: {value}")
        if key == "_ws.expert":
            for item in as_list(value):
                severity = int(item.get("_ws.expert.severity", "0"))
                if severity >= SEVERITY_WARN:
                    found.append(f"{item.get('_ws.expert.message')} (severity {severity:#x})")
    return found


class Dissection:
    """The capture and its dissection; tshark runs on first use inside a test (so a missing
    tshark fails that test rather than erroring a fixture)."""

    def __init__(self, directory: Path) -> None:
        datagrams = [pcap.Datagram(UE, UE_PORT, BMSC, MIKEY_PORT, m) for m in MESSAGES[:-1]]
        datagrams.append(pcap.Datagram(BMSC, MIKEY_PORT, UE, UE_PORT, MESSAGES[-1]))
        self.path = pcap.write_pcap(directory / "mbms-mikey.pcap", datagrams)

    @cached_property
    def packets(self) -> list[dict[str, Any]]:
        return tshark_json(self.path)

    @cached_property
    def text(self) -> str:
        return run_tshark("-r", str(self.path), "-V")

    def mikey(self, index: int) -> dict[str, Any]:
        layers = self.packets[index]
        assert "mikey" in layers, f"frame {index + 1} not dissected as MIKEY: {list(layers)}"
        mikey: dict[str, Any] = layers["mikey"]
        return mikey


@pytest.fixture(scope="module")
def dissection(tmp_path_factory: pytest.TempPathFactory) -> Dissection:
    return Dissection(tmp_path_factory.mktemp("tshark-mikey"))


FRAMES = pytest.mark.parametrize(
    ("index", "exp"), list(enumerate(EXPECTED)), ids=[e.name for e in EXPECTED]
)


# --- tests -----------------------------------------------------------------------------------


def test_tshark_runs() -> None:
    out = run_tshark("--version")
    assert "TShark (Wireshark)" in out


def test_every_frame_is_mikey_without_decode_as(dissection: Dissection) -> None:
    assert len(dissection.packets) == len(MESSAGES)
    for i, layers in enumerate(dissection.packets):
        assert layers["frame"]["frame.protocols"] == "eth:ethertype:ip:udp:mikey", i
        udp = layers["udp"]
        ports = (int(udp["udp.srcport"]), int(udp["udp.dstport"]))
        if i == len(MESSAGES) - 1:  # the ACK goes back to the push's source
            assert ports == (MIKEY_PORT, UE_PORT)
            assert (layers["ip"]["ip.src"], layers["ip"]["ip.dst"]) == (BMSC, UE)
        else:
            assert ports == (UE_PORT, MIKEY_PORT)
            assert (layers["ip"]["ip.src"], layers["ip"]["ip.dst"]) == (UE, BMSC)
        assert colon_hex(layers["mikey_raw"][0]) == MESSAGES[i].hex()


def test_no_warning_error_or_malformed(dissection: Dissection) -> None:
    for i, layers in enumerate(dissection.packets):
        assert bad_expert_infos(layers) == [], f"frame {i + 1}"
    text = dissection.text
    assert "Malformed" not in text
    assert "Expert Info (Error" not in text
    assert "Expert Info (Warning" not in text
    assert text.count("Multimedia Internet KEYing") == len(MESSAGES)


@FRAMES
def test_payload_chain_covers_the_whole_message(
    dissection: Dissection, index: int, exp: Expected
) -> None:
    """tshark walked the next-payload chain to the end: the payloads it found are contiguous,
    in our order, and together are exactly our message (nothing skipped, nothing left over)."""
    mikey = dissection.mikey(index)
    spans = []
    for key, value in mikey.items():
        if key.startswith("mikey.") and key.endswith("_raw"):
            name = key.removeprefix("mikey.").removesuffix("_raw")
            raws = value if isinstance(value[0], list) else [value]
            spans += [(raw[1], raw[2], raw[0], name) for raw in raws]
    spans.sort()
    assert tuple(name for *_, name in spans) == exp.payloads
    pos = MIKEY_OFFSET
    for start, length, hexdata, name in spans:
        assert start == pos, f"gap or overlap before {name}"
        pos += length
        assert len(hexdata) == 2 * length
    assert pos == MIKEY_OFFSET + len(MESSAGES[index])
    assert "".join(h for _, _, h, _ in spans) == MESSAGES[index].hex()


@FRAMES
def test_header(dissection: Dissection, index: int, exp: Expected) -> None:
    hdr = dissection.mikey(index)["mikey.hdr"]
    assert hdr["mikey.version"] == "1"
    assert hdr["mikey.type"] == str(exp.data_type)
    assert hdr["mikey.v.set"] == ("1" if exp.v else "0")
    assert hdr["mikey.prf_func"] == "0"  # MIKEY-1
    assert int(hdr["mikey.csb_id"], 16) == exp.csb_id
    assert hdr["mikey.cs_count"] == str(len(exp.srtp_ids))
    assert hdr["mikey.cs_id_map_type"] == str(exp.cs_map_type)
    assert hdr["mikey.next_payload"] == "21"  # General Extension first
    entries = as_list(hdr.get("mikey.srtp_id", []))
    assert len(entries) == len(exp.srtp_ids)
    for entry, cs in zip(entries, exp.srtp_ids, strict=True):
        assert entry["mikey.srtp_id.policy_no"] == str(cs.policy_no)
        assert int(entry["mikey.srtp_id.ssrc"], 16) == cs.ssrc
        assert int(entry["mikey.srtp_id.roc"], 16) == cs.roc


@FRAMES
def test_key_id_extension(dissection: Dissection, index: int, exp: Expected) -> None:
    exts = as_list(dissection.mikey(index)["mikey.ext"])
    assert len(exts) == 1
    (ext,) = exts
    assert ext["mikey.ext.type"] == "3"  # RFC 4563 Key ID (tshark: "Unknown (3)")
    assert int(ext["mikey.ext.len"]) == len(exp.key_id) // 2
    assert colon_hex(ext["mikey.ext.data"]) == exp.key_id


@FRAMES
def test_timestamp_counter(dissection: Dissection, index: int, exp: Expected) -> None:
    mikey = dissection.mikey(index)
    t = mikey["mikey.t"]
    assert t["mikey.t.ts_type"] == "2"  # COUNTER
    # No field for the COUNTER value: check the payload's bytes (next · TS type · 32-bit value).
    raw = bytes.fromhex(mikey["mikey.t_raw"][0])
    assert len(raw) == 6
    assert raw[0] == int(t["mikey.next_payload"])
    assert raw[1] == 2
    assert int.from_bytes(raw[2:], "big") == exp.counter


@FRAMES
def test_rand(dissection: Dissection, index: int, exp: Expected) -> None:
    mikey = dissection.mikey(index)
    if not exp.has_rand:
        assert "mikey.rand" not in mikey
        return
    rand = mikey["mikey.rand"]
    assert rand["mikey.rand.len"] == "16"
    assert colon_hex(rand["mikey.rand.data"]) == RAND.hex()


@FRAMES
def test_identities(dissection: Dissection, index: int, exp: Expected) -> None:
    ids = as_list(dissection.mikey(index).get("mikey.id", []))
    got = tuple((int(i["mikey.id.type"]), i["mikey.id.data"]) for i in ids)
    assert got == exp.ids
    for i, (_, text) in zip(ids, exp.ids, strict=True):
        assert int(i["mikey.id.len"]) == len(text.encode())


@FRAMES
def test_kemac(dissection: Dissection, index: int, exp: Expected) -> None:
    mikey = dissection.mikey(index)
    if exp.kemac_encr_len is None:
        assert "mikey.kemac" not in mikey
        return
    msg = MESSAGES[index]
    kemac = mikey["mikey.kemac"]
    assert kemac["mikey.next_payload"] == "0"  # last payload
    assert kemac["mikey.kemac.encr_alg"] == "1"  # AES-CM-128
    assert int(kemac["mikey.kemac.key_data_len"]) == exp.kemac_encr_len
    # Encr data sits between the 4-byte KEMAC head and MAC alg (1) + MAC (20) at the end.
    encr = msg[-21 - exp.kemac_encr_len : -21]
    assert colon_hex(kemac["mikey.kemac.key_data"]) == encr.hex()
    assert kemac["mikey.kemac.mac_alg"] == "1"  # HMAC-SHA-1-160
    assert colon_hex(kemac["mikey.kemac.mac"]) == msg[-20:].hex()


def _sp_params(sp: dict[str, Any]) -> list[tuple[int, int, str]]:
    """(type, len, value hex) of every SP parameter subtree, in wire order."""
    params = []
    for _, node in walk(sp):
        for item in as_list(node):
            if isinstance(item, dict) and "mikey.sp.param.type" in item:
                value = item.get("mikey.sp.patam.value", item.get("mikey.sp.param.value"))
                assert value is not None, item
                pos = item["mikey.sp.param.type_raw"][1]
                params.append(
                    (
                        pos,
                        int(item["mikey.sp.param.type"]),
                        int(item["mikey.sp.param.len"]),
                        colon_hex(value),
                    )
                )
    return [p[1:] for p in sorted(set(params))]


@FRAMES
def test_security_policy(dissection: Dissection, index: int, exp: Expected) -> None:
    mikey = dissection.mikey(index)
    if "sp" not in exp.payloads:
        assert "mikey.sp" not in mikey
        return
    sp = mikey["mikey.sp"]
    assert sp["mikey.sp.no"] == "0"
    assert sp["mikey.sp.proto_type"] == "0"  # SRTP
    params = _sp_params(sp)
    sent = [(p.type, len(p.value), p.value.hex()) for p in POLICY.to_sp().params]
    assert params == sent  # tshark reads every TLV as we framed it, in order
    assert {t: v for t, _, v in params} == POLICY_TLVS
    assert len(params) == len(POLICY_TLVS)
    assert int(sp["mikey.sp.param_len"]) == sum(2 + n for _, n, _ in params)
    for t, field in SP_NAMED_FIELDS.items():
        assert int(sp[field]) == int(POLICY_TLVS[t], 16), field
    # Type 13 (ROC transmission rate) is present even though tshark has no name for it.
    assert (13, 2, "0010") in params


@FRAMES
def test_verification(dissection: Dissection, index: int, exp: Expected) -> None:
    mikey = dissection.mikey(index)
    if "v" not in exp.payloads:
        assert "mikey.v" not in mikey
        return
    v = mikey["mikey.v"]
    assert v["mikey.next_payload"] == "0"
    assert v["mikey.v.auth_alg"] == "1"  # HMAC-SHA-1-160
    assert colon_hex(v["mikey.v.ver_data"]) == MESSAGES[index][-20:].hex()


# --- the pcap helper itself ---------------------------------------------------------------------


def test_internet_checksum_rfc1071_example() -> None:
    # The classic IPv4 header example (checksum field zeroed): sum b861.
    header = bytes.fromhex("450000730000400040110000c0a80001c0a800c7")
    assert pcap.internet_checksum(header) == 0xB861
    assert pcap.internet_checksum(header[:10] + b"\xb8\x61" + header[12:]) == 0


def test_pcap_writer_frames_and_ipv4_checksums(tmp_path: Path) -> None:
    payloads = [b"", b"x", b"odd-length payload", bytes(range(256)) * 5]
    datagrams = [
        pcap.Datagram("192.0.2.1", 5004 + i, "198.51.100.7", 6000, p)
        for i, p in enumerate(payloads)
    ]
    path = pcap.write_pcap(tmp_path / "helper.pcap", datagrams)
    packets = tshark_json(path, "-o", "ip.check_checksum:TRUE")
    assert len(packets) == len(payloads)
    for i, (layers, d) in enumerate(zip(packets, datagrams, strict=True)):
        assert bad_expert_infos(layers) == [], f"frame {i + 1}"
        assert not [k for k, _ in walk(layers) if k == "_ws.expert"], f"frame {i + 1}"
        ip, udp = layers["ip"], layers["udp"]
        assert ip["ip.checksum.status"] == "1"  # Good
        assert ip["ip.checksum"] == ip["ip.checksum_calculated"]
        assert int(ip["ip.len"]) == 20 + 8 + len(d.payload)
        assert ip["ip.proto"] == "17"
        assert (ip["ip.src"], ip["ip.dst"]) == (d.src, d.dst)
        assert (int(udp["udp.srcport"]), int(udp["udp.dstport"])) == (d.sport, d.dport)
        assert int(udp["udp.length"]) == 8 + len(d.payload)
        frame_len = int(layers["frame"]["frame.len"])
        assert frame_len == 14 + 20 + 8 + len(d.payload)
        frame = bytes.fromhex(layers["frame_raw"][0])
        assert frame[14 + 20 + 8 :] == d.payload


def test_pcap_writer_detects_a_bad_checksum(tmp_path: Path) -> None:
    """Control: the checksum check above is live (a flipped checksum byte is reported)."""
    raw = bytearray(pcap.pcap_bytes([pcap.Datagram("192.0.2.1", 1, "192.0.2.2", 2, b"abc")]))
    raw[24 + 16 + 14 + 10] ^= 0xFF  # global hdr · record hdr · Ethernet · IPv4 checksum
    path = tmp_path / "bad.pcap"
    path.write_bytes(bytes(raw))
    (layers,) = tshark_json(path, "-o", "ip.check_checksum:TRUE")
    assert layers["ip"]["ip.checksum.status"] == "0"  # Bad
    assert any("Bad checksum" in m for m in bad_expert_infos(layers))


def test_truncated_mikey_is_reported_malformed(tmp_path: Path) -> None:
    """Control: a message cut short inside the KEMAC MAC is flagged, so the clean-dissection
    assertions above are not vacuous."""
    cut = MESSAGES[0][:-5]
    path = pcap.write_pcap(
        tmp_path / "cut.pcap", [pcap.Datagram(UE, UE_PORT, BMSC, MIKEY_PORT, cut)]
    )
    (layers,) = tshark_json(path)
    assert any(m.startswith("_ws.malformed") for m in bad_expert_infos(layers))
