"""``mbms receive`` end to end: a tiny in-test sender (sans-IO core over loopback sockets) and
the CLI's JSON report (addresses 127.27.3.x)."""

from __future__ import annotations

import json
import socket
import stat
import threading
from pathlib import Path

import pytest
from testkit import wait_until
from ue_support import MSK_BYTES, MSK_ID, StreamSender, udp_rx_queue, write_announcement

from broadcast.cli.main import main

HOST = "127.27.3.1"


def write_config(tmp_path: Path, host: str, **kw: object) -> Path:
    write_announcement(tmp_path, host, **kw)  # type: ignore[arg-type]
    path = tmp_path / "ue.toml"
    path.write_text(
        f"""
[announcement]
protection = "protection.xml"
sdp = ["stream.sdp"]

[[msk]]
key_domain = "00f110"
msk_id = "{bytes(MSK_ID).hex()}"
key = "{MSK_BYTES.hex()}"
""",
        encoding="utf-8",
    )
    return path


def send_stream(host: str, tx: StreamSender, errors: list[str]) -> None:
    """What a BM-SC stream would send, each step only once the UE has drained the last one."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def drained(port: int) -> bool:
        return udp_rx_queue(host, port) == 0

    try:
        if not wait_until(lambda: drained(2269) and drained(5004) and drained(5005), 20):
            errors.append("the UE never bound its sockets")
            return
        k1 = tx.new_mtk()
        for _ in range(3):  # before any MTK: counted as "no MTK yet"
            sock.sendto(tx.packet(k1), (host, 5004))
        wait_until(lambda: drained(5004))
        sock.sendto(tx.mtk_message(k1), (host, 2269))  # ... so this MTK is late
        wait_until(lambda: drained(2269))
        for _ in range(20):
            sock.sendto(tx.packet(k1), (host, 5004))
        sock.sendto(tx.rtcp(k1), (host, 5005))
        k2 = tx.new_mtk()
        sock.sendto(tx.mtk_message(k2), (host, 2269))  # ahead of the switch
        wait_until(lambda: drained(2269) and drained(5004))
        for _ in range(20):
            sock.sendto(tx.packet(k2), (host, 5004))
        wait_until(lambda: drained(5004) and drained(5005))
    finally:
        sock.close()


def test_mbms_receive_reports_the_right_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(tmp_path, HOST)
    tx = StreamSender()
    errors: list[str] = []
    sender = threading.Thread(target=send_stream, args=(HOST, tx, errors), daemon=True)
    sender.start()
    report_path = tmp_path / "report.json"
    keylog = tmp_path / "keys.log"
    code = main(
        [
            "receive",
            "--config",
            str(cfg),
            "--duration",
            "4",
            "--report-json",
            str(report_path),
            "--keylog",
            str(keylog),
        ]
    )
    sender.join(10)
    assert not errors
    assert code == 0
    report = json.loads(report_path.read_text())
    assert report["status"] == "ran"
    (session,) = report["streaming"]
    assert f"{HOST}:2269 (MIKEY)" in session["listening"]
    c = session["counters"]
    assert c["srtp_decrypted"] == 40
    assert c["srtp_undecryptable"] == {"no_mtk_yet": 3}
    assert c["srtcp_decrypted"] == 1
    assert (c["mikey_received"], c["mtk_accepted"], c["late_mtks"]) == (2, 2, 1)
    assert c["mtk_rejected"] == {}
    out = capsys.readouterr().out
    assert "SRTP packets decrypted" in out and "late MTKs" in out
    assert MSK_BYTES.hex() not in out + report_path.read_text()
    assert stat.S_IMODE(keylog.stat().st_mode) == 0o600
    lines = keylog.read_text().splitlines()
    assert len(lines) == 3 and lines[0].startswith("MSK 00f110 ")


def test_mbms_receive_refuses_uicc_required(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(tmp_path, "127.27.3.2", uicc=True)
    report_path = tmp_path / "r.json"
    code = main(["receive", "--config", str(cfg), "--report-json", str(report_path)])
    assert code == 3
    assert "UICC key management" in capsys.readouterr().err
    assert json.loads(report_path.read_text())["status"] == "refused"


def test_mbms_receive_does_nothing_when_unprotected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(tmp_path, "127.27.3.3", confidentiality=False, integrity=False)
    code = main(["receive", "--config", str(cfg), "--duration", "30"])  # returns at once
    assert code == 0
    captured = capsys.readouterr()
    assert "nothing to do" in captured.err
    assert "not-protected" in captured.out


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[announcement]\nsdp = ['stream.sdp']\n", "[announcement] protection: is required"),
        ("[bogus]\n", "ue.toml: [bogus]: unknown table (known: "),
        ("[output]\nkeylog = 'k.log'\n", "[output]: unknown table"),
        (
            "[announcement]\nprotection='protection.xml'\nsdp=['stream.sdp']\n"
            "[msk_client]\nb_tid = 'x'\n",
            "[msk_client] key_file: is required",
        ),
        (
            "[announcement]\nprotection='protection.xml'\nsdp=['stream.sdp']\n"
            "[msk_client]\nkey_file = 'nowhere.json'\nlisten = '127.27.3.4'\n",
            "cannot read the GBA key file",
        ),
        (
            "[announcement]\nprotection='protection.xml'\nsdp=['stream.sdp']\n"
            "[[msk]]\nkey_domain='00f110'\nmsk_id='01020000'\nkey='00'\n",
            "Key Number 0",
        ),
        (
            "[announcement]\nprotection='protection.xml'\nsdp=['stream.sdp']\n"
            "[[msk]]\nkey_domain='00f110'\nmsk_id='01020007'\nkey='5ecret'\n",
            "[msk] #1 key: must be 32 hex digits",
        ),
        ("[announcement\n", "ue.toml"),
    ],
)
def test_bad_configs_exit_1_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    write_announcement(tmp_path, "127.27.3.4")
    cfg = tmp_path / "ue.toml"
    cfg.write_text(text)
    assert main(["receive", "--config", str(cfg)]) == 1
    err = capsys.readouterr().err
    assert message in err
    assert "5ecret" not in err  # a key is never echoed


def test_a_broken_announcement_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, "127.27.3.5")
    (tmp_path / "protection.xml").write_text("<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>")
    assert main(["receive", "--config", str(cfg)]) == 1
    assert "DOCTYPE" in capsys.readouterr().err


def test_usage_errors_exit_64() -> None:
    assert main(["receive"]) == 64
    assert main(["receive", "--config", "x", "--duration", "-1"]) == 64
