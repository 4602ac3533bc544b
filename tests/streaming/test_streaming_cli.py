"""``mbms stream``: a short real run (status lines, SDP file, summary), the TTY status line,
and the error exits."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from streaming_support import make_config

from broadcast.aio.streaming.service import StreamService, StreamStatus
from broadcast.cli.main import main
from broadcast.cli.stream_cmd import RateMeter, run_session, status_line

HOST = "127.22.6.1"

CONFIG = f"""
[session]
name = "cli"
media = "audio"
payload_type = 97
encoding = "opus"
clock_rate = 48000
channels = 2
[destination]
address = "{HOST}"
port = 5004
[keys]
store = "keys.sqlite"
mcc = "001"
mnc = "01"
key_group = 2
[mtk]
period = 0.1
lead = 0.05
interval = 0.02
[ingest]
rate = 200.0
count = 100
[rtcp]
interval = 0.05
"""


def test_stream_runs_writes_sdp_and_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "s.toml"
    cfg.write_text(CONFIG)
    code = main(["stream", "--config", str(cfg), "--duration", "30", "--status-every", "0.1"])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.splitlines()
    # The run ended because the generator's 100 packets were sent (not the 30 s duration).
    assert lines[-1].startswith("stopped: 100 SRTP and ")
    assert any("MSK 00020001" in line and "pkt/s" in line for line in lines[:-1])
    sdp = (tmp_path / "cli.sdp").read_bytes().decode()
    assert "m=audio 5004 RTP/SAVP 97\r\n" in sdp and "a=rtpmap:97 opus/48000/2\r\n" in sdp
    assert f"c=IN IP4 {HOST}\r\n" in sdp


def test_tty_status_line(tmp_path: Path) -> None:
    config = make_config(tmp_path, HOST, port=5006, overrides={"ingest": {"count": 40}})
    out = io.StringIO()
    code = asyncio.run(
        run_session(StreamService(config), duration=20, out=out, tty=True, status_every=1)
    )
    assert code == 0
    text = out.getvalue()
    assert text.startswith("\r\x1b[K") and "MTK " in text and "stopped: 80 SRTP" in text


def test_status_line_shows_identifiers_and_errors() -> None:
    st = StreamStatus(
        "s",
        "error",
        "no MSK",
        "00010001",
        "0003",
        "000100010003",
        None,
        2,
        3,
        9,
        None,
        12,
        0,
        0,
        0,
        0,
        0,
        0,
        {"empty": 2},
    )
    line = status_line(st, 1234.4)
    assert "MSK 00010001" in line and "MTK 0003" in line and "1,234 pkt/s" in line
    assert "next MTK in 12 pkts" in line and "dropped 2" in line and "ERROR: no MSK" in line
    meter = RateMeter()
    assert meter.update(0.0, 0) == 0.0 and meter.update(2.0, 100) == 50.0


def test_error_exits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stream"]) == 64
    assert main(["stream", "--config", str(tmp_path / "none.toml")]) == 1
    assert "cannot read" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text(CONFIG.replace('mcc = "001"', 'mcc = "1"'))
    assert main(["stream", "--config", str(bad)]) == 1
    assert "bad.toml: [keys] mcc / mnc: " in capsys.readouterr().err
    nokey = tmp_path / "nokey.toml"
    nokey.write_text(CONFIG.replace("key_group = 2", "key_group = 2\nstandalone = false"))
    assert main(["stream", "--config", str(nokey), "--duration", "1"]) == 1
    assert "no Key Group 2 in Key Domain 00F110" in capsys.readouterr().err
    assert main(["stream", "--config", str(nokey), "--duration", "-1"]) == 64
