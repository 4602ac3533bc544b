"""SGi-mb output on real (namespaced) interfaces: multicast with the configured TTL, outgoing
interface and source address, seen on the wire (raw packets from a TUN device named like the
srsRAN MBMS-GW's ``sgi_mb``) and by a receiver (IP_RECVTTL, IP_PKTINFO); a shaped link whose
full send buffer makes the asyncio send wait and the blocking send give up after its timeout.

Each test makes its own network namespace (``mbms-h1-sgimb-*``, deleted afterwards) and runs
``sgimb_netns_agent.py`` inside it; the agent reports JSON, the assertions are here.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scapy.layers.inet import IP, UDP
from testkit import network_namespace

from broadcast.proto.net.ipv4 import parse_udp_ipv4

AGENT = Path(__file__).with_name("sgimb_netns_agent.py")
_serial = itertools.count()


@pytest.fixture
def netns() -> Iterator[str]:
    with network_namespace(f"mbms-h1-sgimb-{os.getpid()}-{next(_serial)}") as name:
        yield name


def run_agent(netns: str, scenario: str) -> dict[str, Any]:
    proc = subprocess.run(
        ["ip", "netns", "exec", netns, sys.executable, str(AGENT), scenario, netns],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report: dict[str, Any] = json.loads(proc.stdout)
    return report


def _raw(items: list[str]) -> list[bytes]:
    return [base64.b64decode(x) for x in items]


def test_srsran_style_tun_sees_ttl_source_and_interface(netns: str) -> None:
    report = run_agent(netns, "tun")
    routed, forced = _raw(report["routed"]), _raw(report["forced"])
    assert report["routed_sent"] == len(routed)
    assert report["routed_stats"]["gso_messages"] > 0  # GSO through a TUN device works
    assert report["forced_sent"] == len(forced)
    packets = [parse_udp_ipv4(p) for p in _raw(report["packets"])]  # checksums verified
    on_group = [p for p in packets if p.destination == "239.255.1.1"]
    # group routed into sgi_mb: configured source address and port, TTL 7, order kept
    assert [p.payload for p in on_group] == routed
    assert {(p.source, p.source_port, p.ttl, p.destination_port) for p in on_group} == {
        ("198.18.21.1", 40000, 7, 5004)
    }
    # no route for 239.255.9.9: the configured interface took it out, TTL 3, the
    # interface's address as source
    via_if = [p for p in packets if p.destination == "239.255.9.9"]
    assert [p.payload for p in via_if] == forced
    assert {(p.source, p.source_port, p.ttl) for p in via_if} == {
        ("198.18.21.1", report["forced_port"], 3)
    }
    # independent decoder: scapy agrees on the header checksum and fields
    first = IP(_raw(report["packets"])[0])
    fresh = first.copy()
    del fresh.chksum
    del fresh[UDP].chksum
    rebuilt = IP(bytes(fresh))
    assert (rebuilt.chksum, rebuilt[UDP].chksum) == (first.chksum, first[UDP].chksum)
    # without the interface and without a route: counted, not raised
    unrouted = report["unrouted_stats"]
    assert report["unrouted_sent"] == 0
    assert unrouted["errors"] == len(forced)
    assert "ENETUNREACH" in unrouted["last_error"]


def test_receiver_sees_source_ttl_and_interface(netns: str) -> None:
    report = run_agent(netns, "recv")
    batch = _raw(report["batch"])
    assert report["sent"] == len(batch)
    assert report["stats"]["gso_messages"] > 0
    received = report["received"]
    assert [base64.b64decode(r["data"]) for r in received] == batch
    assert {tuple(r["source"]) for r in received} == {("198.18.22.1", report["local"][1])}
    assert {r["ttl"] for r in received} == {9}
    assert {r["ifindex"] for r in received} == {report["ifindex"]}


def test_full_send_buffer_async_waits_sync_gives_up(netns: str) -> None:
    report = run_agent(netns, "slow")
    for native in ("True", "False"):
        run = report[f"async_{native}"]
        assert run["sent"] == 300
        assert run["stats"]["errors"] == 0
        assert run["stats"]["waits"] > 0  # the buffer was full and it waited for writability
        assert run["ticks"] > 0  # meanwhile the event loop ran other tasks
        sync = report[f"sync_{native}"]
        assert 0 < sync["sent"] < 300  # a 100 kbit/s link: the 20 ms send timeout expired
        assert sync["stats"]["errors"] == 300 - sync["sent"]
        assert "EAGAIN" in sync["stats"]["last_error"]
