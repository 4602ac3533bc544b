"""Crash and restart: ``mbms stream`` killed with SIGKILL mid-run, started again on the same key
store. MTK IDs and MIKEY counters never repeat (profile.md "T": durable before the message
leaves), judged from the MTK messages that actually went out on UDP 2269."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from testkit import child_env

from broadcast.proto.mikey.mbms import envelope

HOST = "127.22.5.1"

CONFIG = f"""
[session]
name = "restart"
sdp = ""
[destination]
address = "{HOST}"
port = 5004
[keys]
store = "keys.sqlite"
mcc = "001"
mnc = "01"
key_group = 4
[mtk]
period_packets = 20
lead = 0.01
interval = 0.01
[ingest]
rate = 1000.0
[rtcp]
mode = "off"
"""


def collect(sock: socket.socket, proc: subprocess.Popen[bytes], distinct: int) -> list[bytes]:
    """MTK messages (distinct byte strings, in arrival order) until ``distinct`` new ones."""
    seen: list[bytes] = []
    deadline = time.monotonic() + 60  # hang guard only
    while len(seen) < distinct:
        assert time.monotonic() < deadline, "no MTK messages"
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        try:
            data = sock.recv(65536)
        except TimeoutError:
            continue
        if data not in seen:
            seen.append(data)
    return seen


def start(tmp: Path) -> subprocess.Popen[bytes]:
    env = child_env()
    return subprocess.Popen(
        [sys.executable, "-m", "broadcast.cli.main", "stream", "--config", "s.toml", "--quiet"],
        cwd=tmp,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_ids_and_counters_never_repeat_across_a_crash(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text(CONFIG)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((HOST, 2269))
    sock.settimeout(0.5)
    runs: list[list[bytes]] = []
    try:
        for kill in (signal.SIGKILL, signal.SIGKILL, signal.SIGTERM):
            proc = start(tmp_path)
            try:
                runs.append(collect(sock, proc, 5))
            finally:
                proc.send_signal(kill)
                proc.wait(timeout=30)
            if kill == signal.SIGTERM:
                assert proc.returncode == 0
            # Drop what is still queued from the dead process: the next run starts clean.
            sock.settimeout(0.05)
            try:
                while True:
                    sock.recv(65536)
            except TimeoutError:
                pass
            sock.settimeout(0.5)
    finally:
        sock.close()
    seen: set[tuple[bytes, int]] = set()
    last_counter = 0
    last_id = 0
    for run in runs:
        for data in run:
            env = envelope(data)
            assert env.mtk_id is not None and env.msk_id.key_group == 4
            key = (bytes(env.msk_id), env.mtk_id.value)
            assert key not in seen, f"MTK {key} sent twice with different bytes"
            seen.add(key)
            # One MSK throughout: IDs and counters strictly increase across the restarts.
            assert env.mtk_id.value > last_id and env.counter > last_counter
            last_id, last_counter = env.mtk_id.value, env.counter
    assert len(seen) == 15
