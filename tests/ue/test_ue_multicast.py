"""Point to multipoint: two UEs join the session's multicast group inside a network namespace
(``mbms-h7-ue-*``, deleted afterwards) and both decrypt every packet, MTKs arriving on UDP 2269
at the group address. ``ue_netns_agent.py`` runs in the namespace and reports JSON."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from testkit import network_namespace

AGENT = Path(__file__).with_name("ue_netns_agent.py")
_serial = itertools.count()


@pytest.fixture
def netns() -> Iterator[str]:
    multicast_on_lo = (
        ["ip", "link", "set", "lo", "multicast", "on"],
        ["ip", "route", "add", "224.0.0.0/4", "dev", "lo"],
    )
    with network_namespace(f"mbms-h7-ue-{os.getpid()}-{next(_serial)}", multicast_on_lo) as name:
        yield name


def test_two_ues_on_one_multicast_group_decrypt_everything(netns: str) -> None:
    proc = subprocess.run(
        ["ip", "netns", "exec", netns, sys.executable, str(AGENT)],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report: dict[str, Any] = json.loads(proc.stdout)
    for listening in report["listening"]:
        assert "239.27.0.1:2269 (MIKEY)" in listening
        assert "239.27.0.1:5004 (SRTP video)" in listening
    for counters in report["counters"]:
        assert counters["srtp_decrypted"] == report["sent"] == 60
        assert counters["srtp_undecryptable"] == {}
        assert counters["mtk_accepted"] == 3
