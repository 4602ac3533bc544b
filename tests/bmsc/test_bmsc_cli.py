"""``mbms gba | subscribe | msk`` on a store, and ``mbms serve`` answering a UE."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from bmsc_support import TIMEOUT, run
from testkit import wait_until

from broadcast.aio.ue.msk_client import MskClient, MskClientConfig
from broadcast.cli.main import main
from broadcast.config.bmsc import load
from broadcast.proto.keys.ids import MskId
from broadcast.proto.keys.material import SessionKey

TOML = """
[keys]
store = "b.db"
[http]
listen = "127.24.4.1"
port = {port}
[admin]
listen = "127.24.4.1"
port = {admin}
[push]
source = "127.24.4.1"
[[key_group]]
number = 1
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.24.4.1", 0))
        return int(s.getsockname()[1])


def _write(tmp_path: Path) -> Path:
    p = tmp_path / "b.toml"
    p.write_text(TOML.format(port=_free_port(), admin=_free_port()))
    return p


def test_gba_and_subscribe_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _write(tmp_path)
    key_file = tmp_path / "ue.json"
    assert (
        main(
            [
                "gba",
                "add",
                "--config",
                str(cfg),
                "--impi",
                "a@ims.example",
                "--key-file",
                str(key_file),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    material = json.loads(key_file.read_text())
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert material["b_tid"] in out
    assert material["ks_naf"] not in out and material["digest_password"] not in out
    assert main(["gba", "add", "--config", str(cfg), "--impi", "b@ims.example", "--show-keys"]) == 0
    assert "password:" in capsys.readouterr().out
    assert (
        main(
            [
                "subscribe",
                "add",
                "--config",
                str(cfg),
                "--impi",
                "a@ims.example",
                "--key-group",
                "1",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "subscribe",
                "add",
                "--config",
                str(cfg),
                "--impi",
                "a@ims.example",
                "--key-group",
                "5",
            ]
        )
        == 1
    )  # not configured
    capsys.readouterr()
    assert main(["subscribe", "list", "--config", str(cfg)]) == 0
    assert "a@ims.example\t00F110\tKey Group 1" in capsys.readouterr().out
    assert main(["msk", "list", "--config", str(cfg)]) == 0
    assert (
        main(
            ["msk", "pull", "--config", str(cfg), "--ue", "nobody", "--key-group", "1", "--direct"]
        )
        == 1
    )


def test_serve_answers_a_ue_and_admin_rotates(tmp_path: Path) -> None:
    cfg_path = _write(tmp_path)
    assert (
        main(
            [
                "gba",
                "add",
                "--config",
                str(cfg_path),
                "--impi",
                "c@ims.example",
                "--key-file",
                str(tmp_path / "c.json"),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "subscribe",
                "add",
                "--config",
                str(cfg_path),
                "--impi",
                "c@ims.example",
                "--key-group",
                "1",
            ]
        )
        == 0
    )
    material = json.loads((tmp_path / "c.json").read_text())
    cfg = load(cfg_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "broadcast.cli.main", "serve", "--config", str(cfg_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "key management URI" in line, line
        uri = line.split(": ", 1)[1].strip()
        assert wait_until(Path(cfg.admin_token_path).exists)

        async def ue_side() -> None:
            client = MskClient(
                MskClientConfig(
                    uri,
                    material["b_tid"],
                    SessionKey(bytes.fromhex(material["ks_naf"])),
                    material["bmsc_fqdn"],
                    cfg.key_domain,
                    listen="127.24.4.2",
                    port=2269,
                )
            )
            async with client:
                ans = await client.request([MskId.current(1)])
                assert [s.code for s in ans.statuses] == [200]
                assert (await client.events.get()).kind == "msk"
                rc = await asyncio.to_thread(
                    main, ["msk", "rotate", "--config", str(cfg_path), "--key-group", "1"]
                )
                assert rc == 0
                ev = await client.events.get()
                assert ev.delivery is not None and ev.delivery.envelope.msk_id == MskId(1, 2)

        run(ue_side)
        assert main(["msk", "status", "--config", str(cfg_path)]) == 0
    finally:
        proc.terminate()
        proc.wait(timeout=TIMEOUT)
