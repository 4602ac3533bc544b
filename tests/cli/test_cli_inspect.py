"""``mbms inspect``: decoded tree, key check, exit codes, key secrecy, JSON, hostile input."""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from testkit import REPO_ROOT, child_env

from broadcast.cli import inspect_cmd
from broadcast.cli.inspect_cmd import (
    DEMO_MSK,
    DEMO_MTK,
    DEMO_MUK,
    DEMO_SALT,
    EXIT_BAD_MAC,
    EXIT_MALFORMED,
    EXIT_USAGE,
    build_samples,
)
from broadcast.cli.main import main
from broadcast.proto.keys import KeyDomainId, Msk, MskId, MtkId, Muk, MukId
from broadcast.proto.mikey import build_msk_message, envelope
from broadcast.proto.mikey.constants import DataType, GeneralExtType, IdType, ProtType, TsType
from broadcast.proto.mikey.message import Message
from broadcast.proto.mikey.payloads import (
    Certificate,
    EmptyMap,
    ErrorPayload,
    GeneralExtension,
    Header,
    Identity,
    PolicyParam,
    Rand,
    SecurityPolicy,
    Timestamp,
)
from broadcast.proto.mikey.render import MAC_FAILED

SAMPLES = build_samples()
SECRETS = {"MUK": DEMO_MUK, "MSK": DEMO_MSK, "MTK": DEMO_MTK, "salt": DEMO_SALT}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["inspect", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def secret_forms(secret: bytes) -> list[str]:
    """The ways key bytes could show up in output: contiguous and spaced hex, any case."""
    return [secret.hex(), secret.hex().upper(), secret.hex(" "), secret.hex(":")]


def assert_clean_failure(code: int, out: str, err: str, expected: int = EXIT_MALFORMED) -> None:
    assert code == expected
    assert "Traceback" not in out + err
    assert "internal error" not in out + err


# --- samples ------------------------------------------------------------------------------------


def test_sample_all_decodes_and_verifies_every_kind(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "sample")
    assert code == 0, err
    assert err == ""
    assert out.count("MAC verifies") == 4
    for kind in ("MSK delivery", "MTK delivery", "BM-SC solicited pull", "MIKEY ACK"):
        assert f"kind: {kind}" in out
    assert "DEMO-ONLY" in out
    assert "0000  01 00 15 80 1a 2b 3c 4d" in out  # the hex dump of the MSK message


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (
            "msk",
            [
                "kind: MSK delivery",
                "Key Domain ID: 00F110 (MCC 001, MNC 01)",
                "MSK ID: 0001/0001 (Key Group 0001, Key Number 0001)",
                "MSK 0001/0001 in Key Domain 00F110, valid for MTK IDs 0001..03e8",
                "V: 1 (verification message requested)",
                "ID data: bmsc.example.org",
                "SRTP_AUTH_ALG (14): 3 (RCCM2)",
                "ROC_TRANSMISSION_RATE (13): 16",
                "TS type: COUNTER (2)",
                "MAC alg: HMAC_SHA1_160 (1)",
            ],
        ),
        (
            "mtk",
            [
                "kind: MTK delivery",
                "MTK ID: 0003",
                "CSB ID: 00010001",
                "[0]: Policy_no 0, SSRC 5eed5eed, ROC 0",
                "MTK 0003 under MSK 0001/0001 in Key Domain 00F110, salt present, MKI 000100010003",
            ],
        ),
        (
            "pull",
            [
                "kind: BM-SC solicited pull",
                "MSK ID: 0001/0000 (Key Group 0001, Key Number 0000, the current MSK)",
                "Encr data len: 0",
                "the UE shall request the current MSK of Key Group 0001 in Key Domain 00F110",
            ],
        ),
        (
            "ack",
            [
                "kind: MIKEY ACK",
                "data type: PSK_VERIFY (1)",
                "V (verification) @",
                "MIKEY ACK of the MSK 0001/0001 message (CSB ID 1a2b3c4d, COUNTER 7)",
            ],
        ),
    ],
)
def test_sample_kind_shows_ids(
    capsys: pytest.CaptureFixture[str], kind: str, expected: list[str]
) -> None:
    code, out, _ = run(capsys, "sample", "--kind", kind)
    assert code == 0
    assert out.count("MAC verifies") == 1
    for line in expected:
        assert line in out


def test_sample_samples_are_stable() -> None:
    assert build_samples()["msk"].data == SAMPLES["msk"].data


def test_sample_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "sample", "--json")
    assert code == 0
    items = json.loads(out)
    assert [i["sample"] for i in items] == ["msk", "mtk", "pull", "ack"]
    assert all(i["verification"]["mac_verifies"] is True for i in items)
    assert items[0]["verification"]["msk"] is None  # hidden
    assert "key_hex" not in items[0]


# --- inspect mikey: decoding and the key check ---------------------------------------------------


@pytest.mark.parametrize("name", ["msk", "mtk", "pull", "ack"])
def test_mikey_hex_with_key_verifies(capsys: pytest.CaptureFixture[str], name: str) -> None:
    s = SAMPLES[name]
    argv = ["mikey", s.data.hex(), "--key", s.key.hex()]
    if s.answers is not None:
        argv += ["--answers", s.answers.hex()]
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    assert "MAC verifies" in out
    assert err == ""


def test_mikey_without_key_decodes_only(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "mikey", SAMPLES["msk"].data.hex())
    assert code == 0
    assert "kind: MSK delivery" in out
    assert "MAC verifies" not in out
    assert "Key check" not in out


@pytest.mark.parametrize(
    "fmt",
    [
        lambda d: d.hex().upper(),
        lambda d: d.hex(" "),
        lambda d: d.hex(":"),
        lambda d: "0x" + d.hex(),
        lambda d: "\n".join(d.hex()[i : i + 32] for i in range(0, 2 * len(d), 32)),
    ],
)
def test_mikey_hex_separators(
    capsys: pytest.CaptureFixture[str], fmt: Callable[[bytes], str]
) -> None:
    code, out, _ = run(capsys, "mikey", fmt(SAMPLES["mtk"].data), "--key", DEMO_MSK.hex(":"))
    assert code == 0
    assert "MAC verifies" in out


def test_mikey_binary_file_hex_file_and_stdin(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = SAMPLES["mtk"].data
    binary = tmp_path / "mtk.mikey"
    binary.write_bytes(data)
    text = tmp_path / "mtk.hex"
    text.write_text(data.hex(" ") + "\n")
    for source in (str(binary), str(text)):
        code, out, _ = run(capsys, "mikey", source, "--key", DEMO_MSK.hex())
        assert code == 0
        assert "MTK 0003 under MSK 0001/0001" in out
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    code, out, _ = run(capsys, "mikey", "-", "--key", DEMO_MSK.hex())
    assert code == 0
    assert "MAC verifies" in out


def test_mikey_hexdump_option(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "mikey", SAMPLES["pull"].data.hex(), "--hexdump")
    assert code == 0
    assert out.startswith("0000  01 00 15 00 5a 6b 7c 8d")


def test_payload_offsets_match_the_bytes(capsys: pytest.CaptureFixture[str]) -> None:
    data = SAMPLES["mtk"].data
    code, out, _ = run(capsys, "mikey", data.hex(), "--json")
    assert code == 0
    payloads = json.loads(out)["payloads"]
    # A payload starts with its next-payload byte: the code of the payload after it (RFC 3830).
    assert [p["payload"] for p in payloads] == ["EXT", "T", "RAND", "KEMAC"]
    assert data[2] == 21  # HDR names the first payload: EXT
    assert [data[p["offset"]] for p in payloads] == [5, 11, 1, 0]


@pytest.mark.parametrize(
    ("name", "wrong"), [("msk", DEMO_MSK), ("mtk", DEMO_MUK), ("pull", DEMO_MSK)]
)
def test_wrong_key_exit_2(capsys: pytest.CaptureFixture[str], name: str, wrong: bytes) -> None:
    code, out, err = run(capsys, "mikey", SAMPLES[name].data.hex(), "--key", wrong.hex())
    assert_clean_failure(code, out, err, EXIT_BAD_MAC)
    assert MAC_FAILED in err
    assert "MAC verifies" not in out
    assert "kind:" in out  # the tree is still printed


def test_wrong_key_ack_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    s = SAMPLES["ack"]
    assert s.answers is not None
    argv = ["mikey", s.data.hex(), "--key", DEMO_MSK.hex(), "--answers", s.answers.hex()]
    code, out, err = run(capsys, *argv, "--json")
    assert code == EXIT_BAD_MAC
    assert MAC_FAILED in err
    assert json.loads(out)["verification"]["mac_verifies"] is False


def test_ack_needs_the_msk_message(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "mikey", SAMPLES["ack"].data.hex(), "--key", DEMO_MUK.hex())
    assert code == EXIT_USAGE
    assert "--answers" in err


def test_ack_against_another_msk_message(capsys: pytest.CaptureFixture[str]) -> None:
    other = build_msk_message(
        muk=Muk(DEMO_MUK),
        muk_id=MukId.of("bmsc.example.org", "other@bsf.example.org"),
        key_domain_id=KeyDomainId.from_plmn("001", "01"),
        msk_id=MskId(1, 1),
        msk=Msk(DEMO_MSK),
        valid_from=MtkId(1),
        valid_to=MtkId(2),
        counter=99,
        csb_id=1,
        rand=bytes(16),
        ack=True,
    )
    argv = ["mikey", SAMPLES["ack"].data.hex(), "--key", DEMO_MUK.hex(), "--answers", other.hex()]
    code, out, err = run(capsys, *argv)
    assert_clean_failure(code, out, err)
    assert "does not answer" in err


# --- malformed input: exit 1, field and offset, never a traceback -------------------------------


@pytest.mark.parametrize("text", ["01zz02", "hello", "01 02 0", "", "  ", "0x"])
def test_garbage_hex(capsys: pytest.CaptureFixture[str], text: str) -> None:
    code, out, err = run(capsys, "mikey", text)
    assert_clean_failure(code, out, err)
    assert err.startswith("mbms inspect mikey: ")
    if text.strip() not in ("", "0x"):
        assert "offset" in err


@pytest.mark.parametrize("name", ["msk", "mtk", "pull", "ack"])
def test_every_truncation_is_a_clean_error(capsys: pytest.CaptureFixture[str], name: str) -> None:
    data = SAMPLES[name].data
    for n in range(len(data)):
        code, out, err = run(capsys, "mikey", data[:n].hex() or "-", "--key", DEMO_MUK.hex())
        if n == 0:
            continue  # "-" would read stdin; the empty input is covered by test_garbage_hex
        assert_clean_failure(code, out, err)
        assert "offset" in err, (n, err)
        assert out == ""


def test_random_bytes_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rng = random.Random(3830)
    for i in range(40):
        raw = rng.randbytes(rng.randrange(1, 300))
        if i % 2:
            raw = b"\x01" + raw  # get past the version byte
        path = tmp_path / f"r{i}.bin"
        path.write_bytes(raw)
        code, out, err = run(capsys, "mikey", str(path))
        assert_clean_failure(code, out, err)
        assert "offset" in err


def test_mutated_samples_never_crash(capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(4563)
    seen = set()
    for _ in range(400):
        s = rng.choice(list(SAMPLES.values()))
        data = bytearray(s.data)
        for _ in range(rng.randint(1, 3)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        argv = ["mikey", data.hex(), "--key", s.key.hex()]
        if s.answers is not None:
            argv += ["--answers", s.answers.hex()]
        code, out, err = run(capsys, *argv)
        seen.add(code)
        assert code in (0, EXIT_MALFORMED, EXIT_BAD_MAC)
        assert "Traceback" not in out + err
        assert "internal error" not in out + err
    assert {EXIT_MALFORMED, EXIT_BAD_MAC} <= seen


def test_missing_file_directory_and_oversized_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for arg in (str(tmp_path / "nope.bin"), str(tmp_path)):
        code, out, err = run(capsys, "mikey", arg)
        assert_clean_failure(code, out, err)
        assert "neither an existing file nor hex" in err
    big = tmp_path / "big.bin"
    big.write_bytes(b"\x01" + bytes(70_000))
    code, out, err = run(capsys, "mikey", str(big))
    assert_clean_failure(code, out, err)
    assert "offset 0" in err
    huge = tmp_path / "huge.bin"
    huge.write_bytes(bytes(inspect_cmd.MAX_INPUT + 1))
    code, out, err = run(capsys, "mikey", str(huge))
    assert_clean_failure(code, out, err)


def test_malformed_json_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "mikey", "0100", "--json")
    assert code == EXIT_MALFORMED
    error = json.loads(out)["error"]
    assert error["field"] == "HDR next payload"
    assert error["offset"] == 2
    assert "offset 2" in err


@pytest.mark.parametrize("key", ["0011", "zz" * 16, "00" * 17])
def test_bad_key_argument_is_a_usage_error(capsys: pytest.CaptureFixture[str], key: str) -> None:
    code, out, err = run(capsys, "mikey", SAMPLES["msk"].data.hex(), "--key", key)
    assert code == EXIT_USAGE
    assert key not in err  # a mistyped key is not echoed
    assert out == ""


def test_help_and_missing_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", "mikey", "--help"]) == 0
    assert "exit codes" in capsys.readouterr().out
    assert main([]) == EXIT_USAGE
    assert main(["inspect"]) == EXIT_USAGE


# --- messages outside the MBMS profile, every payload type, hostile text -------------------------


def _odd_message() -> bytes:
    payloads = (
        GeneralExtension(GeneralExtType.VENDOR_ID, b"\x00\x01\x02"),
        Timestamp(TsType.NTP_UTC, 0xE8F0_0000_8000_0000),
        Rand(bytes(range(16))),
        Identity(IdType.NAI, b"\x1b[2J\x07evil\xff"),
        Certificate(1, b"cert"),
        SecurityPolicy(0, ProtType.SRTP, (PolicyParam(99, b"\x01\x02"), PolicyParam(0, b""))),
        ErrorPayload(7),
    )
    return Message(Header(DataType.PSK_INIT, 0xABCDEF01, EmptyMap()), payloads).encode()


def test_non_mbms_message_renders_every_payload(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "mikey", _odd_message().hex())
    assert code == 0, err
    assert "not one of the MBMS messages of the profile" in out
    for text in (
        "EXT type: VENDOR_ID (0)",
        "data: 000102",
        "TS type: NTP_UTC (0)",
        "NTP 2023-",
        "Cert len: 4",
        "unknown (99): 258",
        "ENCR_ALG (0): (empty)",
        "Error no: INVALID_ID (7)",
    ):
        assert text in out
    # The ID bytes reach the terminal escaped: no ESC / BEL control characters.
    assert "\x1b" not in out
    assert "\x07" not in out
    assert "\\x1b[2J\\x07evil\\xff" in out
    code, out, err = run(capsys, "mikey", _odd_message().hex(), "--key", DEMO_MUK.hex())
    assert_clean_failure(code, out, err)
    assert "not an MBMS message" in err


# --- key secrecy ---------------------------------------------------------------------------------


def _all_outputs(capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    texts = []
    for fmt in ((), ("--json",)):
        for s in SAMPLES.values():
            argv = ["mikey", s.data.hex(), "--key", s.key.hex(), *extra, *fmt]
            if s.answers is not None:
                argv += ["--answers", s.answers.hex()]
            code, out, err = run(capsys, *argv)
            assert code == 0
            texts.append(out + err)
        code, out, err = run(capsys, "sample", *extra, *fmt)
        assert code == 0
        texts.append(out + err)
    return "\n".join(texts)


def test_key_bytes_never_printed_without_show_keys(capsys: pytest.CaptureFixture[str]) -> None:
    output = _all_outputs(capsys)
    squeezed = "".join(c for c in output.lower() if c not in " \n:|")  # across dump columns
    for name, secret in SECRETS.items():
        for form in secret_forms(secret):
            assert form not in output, name
        assert secret.hex() not in squeezed, name
    assert "hidden (--show-keys prints it)" in output


def test_key_bytes_printed_with_show_keys(capsys: pytest.CaptureFixture[str]) -> None:
    output = _all_outputs(capsys, "--show-keys")
    for secret in SECRETS.values():
        assert secret.hex() in output
    code, out, _ = run(
        capsys, "mikey", SAMPLES["mtk"].data.hex(), "--key", DEMO_MSK.hex(), "--show-keys"
    )
    assert code == 0
    assert f"MTK: {DEMO_MTK.hex()}" in out
    assert f"SRTP master salt: {DEMO_SALT.hex()}" in out


# --- JSON carries the same fields as the text ---------------------------------------------------


def test_json_matches_text(capsys: pytest.CaptureFixture[str]) -> None:
    s = SAMPLES["msk"]
    argv = ["mikey", s.data.hex(), "--key", s.key.hex()]
    _, text, _ = run(capsys, *argv)
    code, out, _ = run(capsys, *argv, "--json")
    assert code == 0
    doc = json.loads(out)
    assert bytes.fromhex(doc["hex"]) == s.data
    assert doc["length"] == len(s.data)
    header = doc["header"]
    assert header["data_type"] == {"code": 0, "name": "PSK_INIT"}
    assert header["csb_id"] == "1a2b3c4d"
    assert f"CSB ID: {header['csb_id']}" in text
    # Same payloads in the same order, at the same offsets.
    text_payloads = [
        line.split(" ")[0] for line in text.splitlines() if " @" in line and line[0] != " "
    ]
    assert text_payloads == ["HDR"] + [p["payload"] for p in doc["payloads"]]
    for p in doc["payloads"]:
        assert f"{p['payload']} (" in text
        assert f"@{p['offset']:04x}" in text
    ext = doc["payloads"][0]
    assert ext["key_ids"][0] == {
        "type": 0,
        "name": "KEY_DOMAIN_ID",
        "hex": "00f110",
        "mcc": "001",
        "mnc": "01",
    }
    assert ext["key_ids"][1]["key_group"] == 1
    sp = next(p for p in doc["payloads"] if p["payload"] == "SP")
    rcc = next(q for q in sp["params"] if q["type"] == 14)
    assert rcc == {"type": 14, "name": "SRTP_AUTH_ALG", "value": 3, "meaning": "RCCM2"}
    mbms = doc["mbms"]
    assert mbms["kind"] == "MSK delivery"
    for key, label in (("counter", "COUNTER"), ("idr", "IDr (B-TID)"), ("csb_id", "CSB ID")):
        assert f"{label}: {mbms[key]}" in text
    v = doc["verification"]
    assert v["mac_verifies"] is True
    assert v["summary"] in text
    assert (v["valid_from"], v["valid_to"]) == ("0001", "03e8")
    assert v["srtp_policy"]["srtp_auth_alg"] == {"code": 3, "name": "RCCM2"}


def test_json_without_key(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "mikey", SAMPLES["mtk"].data.hex(), "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["verification"] is None
    assert doc["mbms"]["mtk_id"] == "0003"
    assert doc["header"]["cs_id_map"] == [{"policy_no": 0, "ssrc": "5eed5eed", "roc": 0}]


def test_ack_envelope_is_the_msk_messages() -> None:
    ack = envelope(SAMPLES["ack"].data)
    assert (ack.csb_id, ack.counter) == (0x1A2B3C4D, 7)


# --- the module runs as a program ----------------------------------------------------------------


def test_python_dash_m_inspect_sample() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "broadcast.cli.main", "inspect", "sample"],
        capture_output=True,
        text=True,
        env=child_env(),
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("MAC verifies") == 4
    assert proc.stderr == ""
