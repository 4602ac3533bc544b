"""Interop: Wireshark's ALC/LCT/FLUTE dissector (tshark) reads our carousel packets cleanly.

One carousel pass (FDT Instance, MIKEY MTK object, one DCF file) is written to a classic pcap
(127.23.0.2:40000 -> 127.23.0.1:4000) and dissected with ``-d udp.port==4000,alc -T json
--no-duplicate-keys``. Every frame must dissect as ALC with no malformed-packet or expert item,
the LCT fields must be the ones we set, and the FDT XML (kept in one packet: tshark does not
reassemble multi-packet FDT Instances) must carry the MIKEY entry's Content-Type and
Content-Location. tshark missing is a test failure, never a skip.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from testkit import load_module

from broadcast.engine.download.objects import Protection, prepare_file, prepare_mikey
from broadcast.engine.download.scheduler import CarouselScheduler
from broadcast.engine.download.session import CarouselSession, SessionParams
from broadcast.engine.keys.mtk import MtkIssuer
from broadcast.proto.flute import parse_packet
from broadcast.proto.keys import KeyDomainId
from broadcast.store.keys import SQLiteKeyStore

pcap = load_module(Path(__file__).with_name("pcap.py"), "mbms_interop_pcap")
pytestmark = pytest.mark.interop

TSI = 4660
PORT = 4000
NOW = 1_800_000_000.0


def _walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _packets(tmp_path: Path) -> tuple[list[bytes], dict[str, int]]:
    rng = random.Random(11)
    (tmp_path / "n.txt").write_bytes(rng.randbytes(3000))
    store = SQLiteKeyStore(tmp_path / "keys.sqlite")
    issuer = MtkIssuer(
        store, KeyDomainId.from_plmn("001", "01"), 5, streaming=False, rand=rng.randbytes
    )
    issuer.ensure()
    issued = issuer.issue()
    store.close()
    session = CarouselSession(
        SessionParams(tsi=TSI, close_object=True),
        CarouselScheduler(bitrate=None),
        first_toi=300,
        first_fdt_instance_id=(1 << 20) - 1,
    )
    mikey = prepare_mikey(session.allocate_toi(), issued, symbol_length=1428, max_block_length=64)
    dcf = prepare_file(
        session.allocate_toi(),
        tmp_path / "n.txt",
        content_location="n.txt",
        spool_dir=tmp_path,
        symbol_length=1428,
        max_block_length=64,
        protection=Protection(issued.key_id, issued.mtk, "bmsc.example.org", "http://b/km"),
        rand=rng.randbytes,
    )
    session.publish([mikey, dcf], NOW)
    session.update(NOW)
    packets = session.scheduler.poll(NOW).packets
    return packets, {"mikey": mikey.toi, "dcf": dcf.toi, "dcf_len": dcf.transfer_length}


def test_tshark_dissects_alc_lct_and_fdt(tmp_path: Path) -> None:
    tshark = shutil.which("tshark")
    assert tshark is not None, "tshark is required (tools/bootstrap installs it)"
    packets, ids = _packets(tmp_path)
    assert [parse_packet(p).toi for p in packets].count(0) == 1, "FDT must fit one packet"
    capture = pcap.write_pcap(
        tmp_path / "alc.pcap",
        [pcap.Datagram("127.23.0.2", 40000, "127.23.0.1", PORT, p) for p in packets],
    )
    result = subprocess.run(
        [tshark, "-r", str(capture), "-d", f"udp.port=={PORT},alc", "-T", "json",
         "--no-duplicate-keys"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )  # fmt: skip
    frames = json.loads(result.stdout)
    assert len(frames) == len(packets)
    for index, frame in enumerate(frames):
        layers = frame["_source"]["layers"]
        bad = [k for k, _ in _walk(layers) if k.startswith(("_ws.expert", "_ws.malformed"))]
        assert not bad, f"frame {index}: {bad}"
        alc = layers["alc"]
        lct = alc["rmt-lct"]
        ours = parse_packet(packets[index])
        assert alc["alc.version"] == "1" and lct["rmt-lct.version"] == "1"
        assert int(lct["rmt-lct.tsi"]) == TSI
        assert int(lct["rmt-lct.toi"]) == ours.toi
        assert int(lct["rmt-lct.hlen"]) == len(packets[index]) - len(ours.payload) - 4
        fec = alc["rmt-fec"]
        assert fec["rmt-fec.encoding_id"] == "0"
        assert int(fec["rmt-fec.sbn"]) == ours.sbn and int(fec["rmt-fec.esi"], 16) == ours.esi
        closing = lct["rmt-lct.flags_tree"]["rmt-lct.flags.close_object"]
        assert closing == str(int(ours.header.close_object))
        fti = dict(_walk(lct["rmt-lct.ext_tree"]))
        assert ours.oti is not None
        assert int(fti["rmt-fec.fti.transfer_length"]) == ours.oti.transfer_length
        assert int(fti["rmt-fec.fti.encoding_symbol_length"]) == 1428
        assert int(fti["rmt-fec.fti.max_source_block_length"]) == 64
        if ours.toi == 0:
            assert fti["rmt-lct.flute_version"] == "1"
            assert int(fti["rmt-lct.fdt_instance_id"]) == (1 << 20) - 1
            attributes = [v for k, v in _walk(alc["xml"]) if k == "xml.attribute"]
            flat = [
                a for group in attributes for a in (group if isinstance(group, list) else [group])
            ]
            assert 'Content-Type="application/mikey"' in flat
            assert f'TOI="{ids["mikey"]}"' in flat
            assert any(a.startswith('Content-Location="mikey/') for a in flat)
            assert 'Content-Type="application/vnd.oma.drm.dcf"' in flat
            assert f'Content-Length="{ids["dcf_len"]}"' in flat
    tois = {int(f["_source"]["layers"]["alc"]["rmt-lct"]["rmt-lct.toi"]) for f in frames}
    assert tois == {0, ids["mikey"], ids["dcf"]}
