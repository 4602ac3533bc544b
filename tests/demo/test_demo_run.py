"""``mbms demo`` as a user runs it: ``.venv/bin/mbms demo ... --json F`` in a subprocess, twice
in a row, and the JSON report checked. The runs use ``--net 101`` and ``--net 102`` (never the
default 127.100.0.0/16 a user's own demo runs on); after the first, every UE address and port it
used must be free again.

Run 1, no loss, with ``--pcap``, ``--keylog`` and ``--decode-media``: every UE got its MSKs over
HTTP Digest and ACKed every push, received every MTK of both paths, decrypted every SRTP/SRTCP
packet the stream sent and recovered every file with its MD5; ≥ 3 MTK switches and an MSK
rotation happened; tshark reads the capture and dissects MIKEY on 2269 (pushes, ACKs, MTK
messages); the key log is well-formed, mode 0600, and names every key the report lists; media
frames were decoded, none undecodable.

Run 2, ``--loss 5``: every UE still recovers every file and decrypts ≥ 99 % of the SRTP packets
it received.
"""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from broadcast.demo.plan import FLUTE_PORT, RTCP_PORT, RTP_PORT, Plan
from broadcast.profile import MIKEY_UDP_PORT

MBMS = str(Path(sys.executable).with_name("mbms"))
UES = 3
ARGS = ["--duration", "20", "--ues", str(UES), "--seed", "11"]
#: The plans of the two runs (127.N.0.0/16): apart from the default (100) and from each other.
NETS = (101, 102)


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    report: dict[str, Any]
    tmp: Path


def _run(directory: Path, net: int, *extra: str) -> Run:
    directory.mkdir()
    scratch = directory / "tmp"
    scratch.mkdir()
    report = directory / "report.json"
    proc = subprocess.run(
        [MBMS, "demo", *ARGS, "--net", str(net), "--json", str(report), *extra],
        capture_output=True,
        text=True,
        timeout=150,
        env={**os.environ, "TMPDIR": str(scratch)},
        check=False,
    )
    data = json.loads(report.read_text()) if report.exists() else {}
    return Run(proc.returncode, proc.stdout, proc.stderr, data, scratch)


def _ports_free(net: int) -> list[tuple[str, int]]:
    """Every UE address and port of plan ``net`` that cannot be bound (should be none)."""
    plan = Plan(net)
    taken = []
    for i in range(1, UES + 1):
        addr = plan.ue_addresses(i)
        wanted = [addr.push] + [
            (addr.media_host, p) for p in (RTP_PORT, RTCP_PORT, MIKEY_UDP_PORT, FLUTE_PORT)
        ]
        for where in wanted:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                try:
                    s.bind(where)
                except OSError:
                    taken.append(where)
    return taken


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, Run, Path]:
    base = tmp_path_factory.mktemp("demo")
    first = _run(
        base / "lossless",
        NETS[0],
        "--pcap",
        str(base / "demo.pcap"),
        "--keylog",
        str(base / "keys.log"),
        "--decode-media",
    )
    assert _ports_free(NETS[0]) == []  # the first run released every UE socket
    second = _run(base / "lossy", NETS[1], "--loss", "5")
    return first, second, base


def test_lossless_run_passes_every_check(runs: tuple[Run, Run, Path]) -> None:
    run = runs[0]
    assert run.code == 0, run.stdout[-3000:] + run.stderr[-3000:]
    r = run.report
    assert r["schema"] == "mbms-demo-report/1" and r["ok"]
    assert r["options"]["net"] == NETS[0]
    s = r["summary"]
    assert s["mtk_switches"] >= 3 and s["msk_rotations"] >= 1
    assert s["ues"] == s["ues_ok"] == 3 and s["failed_ues"] == []
    for group in ("1", "2"):
        (rotation,) = s["msk"][group]["rotations"]
        assert rotation["pushed"] == 3 and rotation["to"] == s["msk"][group]["current"]
        assert len(s["msk"][group]["msks"]) == 2
    assert s["bmsc"]["deliveries"] == {"acked": 12}  # 3 UEs x 2 groups x (initial + rotation)
    assert len(s["carousel"]["mtks"]) == 2
    assert len({m.split("/")[0] for m in s["stream"]["mtks_used"]}) == 2  # across the rotation
    names = {f["name"] for f in s["files"]}
    assert max(f["size"] for f in s["files"]) > 1_000_000
    for ue in r["ues"]:
        assert ue["ok"] and all(ue["checks"].values()), ue["failures"]
        assert ue["msk"]["challenges"] == 1 and ue["msk"]["pushes"] == ue["msk"]["acks_sent"] == 4
        assert ue["streaming"]["mtks_missing"] == [] and ue["download"]["mtks_missing"] == []
        assert set(ue["streaming"]["mtks_received"]) >= set(s["stream"]["mtks_sent"])
        assert ue["streaming"]["srtp_decrypted"] == s["stream"]["srtp_sent"] > 0
        assert ue["streaming"]["srtp_undecryptable"] == {}
        assert ue["streaming"]["decrypted_percent"] == 100.0
        assert {f["name"] for f in ue["download"]["files"] if f["ok"]} == names
        media = ue["media"]
        assert media["video_frames"] > 0 and media["audio_frames"] > 0
        assert media["undecodable"] == 0
        assert ue["link"]["dropped"] == {}
    # The live view printed progress lines (not a TTY) and the final table.
    assert "[run] t=" in run.stdout and "every UE passed" in run.stdout
    # Fresh state per run: the working directory is gone.
    assert list(run.tmp.iterdir()) == []


def test_second_run_with_loss_still_recovers_every_file(runs: tuple[Run, Run, Path]) -> None:
    run = runs[1]
    assert run.code == 0, run.stdout[-3000:] + run.stderr[-3000:]
    r = run.report
    assert r["ok"] and r["options"]["loss_percent"] == 5 and r["options"]["net"] == NETS[1]
    for ue in r["ues"]:
        assert ue["download"]["files_ok"] == ue["download"]["files_expected"] == 4
        assert ue["streaming"]["decrypted_percent"] >= 99.0
        dropped = ue["link"]["dropped"]
        received = ue["link"]["received"]
        assert 0 < dropped.get("flute", 0) < 0.1 * received["flute"]
        assert dropped.get("srtp", 0) > 0
    assert list(run.tmp.iterdir()) == []


def test_pcap_opens_in_tshark_with_mikey_dissected(runs: tuple[Run, Run, Path]) -> None:
    run, _, base = runs
    assert run.report["summary"]["pcap_packets"] > 1000
    out = subprocess.run(
        [
            "tshark",
            "-r",
            str(base / "demo.pcap"),
            "-Y",
            "mikey",
            "-T",
            "fields",
            "-e",
            "ip.src",
            "-e",
            "ip.dst",
            "-e",
            "udp.dstport",
            "-e",
            "mikey.type",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    rows = [line.split("\t") for line in out.splitlines() if line.strip()]
    plan = Plan(NETS[0])
    assert rows and all(r[0].startswith(f"127.{plan.net}.") for r in rows)
    pushes = [r for r in rows if r[1].startswith(plan.push_prefix) and r[2] == "2269"]
    acks = [r for r in rows if r[0].startswith(plan.push_prefix) and r[1] == plan.bmsc_host]
    mtks = [r for r in rows if r[1].startswith(plan.media_prefix) and r[2] == "2269"]
    assert len(pushes) == len(acks) == 12
    assert {r[3] for r in acks} == {"1"}  # MIKEY verification message: the ACK
    assert {r[3] for r in pushes} == {r[3] for r in mtks} == {"0"}  # pre-shared key messages
    assert len(mtks) == 3 * run.report["summary"]["stream"]["mikey_messages"]


def test_keylog_is_well_formed_0600_and_complete(runs: tuple[Run, Run, Path]) -> None:
    run, _, base = runs
    path = base / "keys.log"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = path.read_text().splitlines()
    msk = re.compile(r"MSK 00f110 [0-9a-f]{8} [0-9a-f]{32}")
    mtk = re.compile(r"MTK 00f110 [0-9a-f]{8} [0-9a-f]{4} [0-9a-f]{32} ([0-9a-f]{28}|-)")
    assert all(msk.fullmatch(x) or mtk.fullmatch(x) for x in lines), lines
    assert len(set(lines)) == len(lines)  # one line per key, not one per UE
    s = run.report["summary"]
    logged_msks = {x.split()[2] for x in lines if x.startswith("MSK")}
    assert logged_msks == {m for g in ("1", "2") for m in s["msk"][g]["msks"]}
    logged_mtks = {"/".join(x.split()[2:4]) for x in lines if x.startswith("MTK")}
    assert logged_mtks >= set(s["stream"]["mtks_sent"]) | set(s["carousel"]["mtks"])
    streaming = [x for x in lines if x.startswith("MTK 00f110 0001")]
    download = [x for x in lines if x.startswith("MTK 00f110 0002")]
    assert streaming and all(not x.endswith(" -") for x in streaming)  # SRTP salt
    assert download and all(x.endswith(" -") for x in download)
