"""FLUTE download benchmarks next to their peers, in one run on one core.

    .venv/bin/python benchmarks/compare_flute.py [--cpu N] [--mb 100] [--repeat 3]
    .venv/bin/python benchmarks/compare_flute.py --carousel-gb 1     # peak RSS of a 1 GB carousel

1. ALC packets generated per second — Compact No-Code, 1400-byte symbols, MSBL 64, one object of
   ``--mb`` MB held in memory:
   - ours, block-wise: ``BlockPacketizer.packets`` per source block (one native call per
     64 packets) — the one packet builder, as the carousel scheduler drives it;
   - ours, the carousel: ``CarouselSession`` + ``CarouselScheduler.poll`` until the round is
     sent (FDT Instance included, the object prepared beforehand, no socket, no bitrate limit);
   - flute-alc (PyPI ``flute-alc``, Rust): ``Sender.read()`` until it returns None, after
     ``add_object_from_buffer`` + ``publish`` (not timed).
   The ratio ours/flute-alc is printed; the two must carry the same object (checked by
   rebuilding it with our receiver from flute-alc's packets first).
   Raptor (FEC Encoding ID 1, 8192-symbol blocks, 20 % repair) as the carousel sends it:
   ``BlockPacketizer.chunks`` block by block, a first round (source + repair) and a repair-only
   round; no peer (flute-alc's Python API has no Raptor), so the ratio is to our Compact No-Code.
2. DCF protection throughput (AES-128-CBC + RFC 2630 padding, 1 MiB chunks, one encryptor) next
   to ``openssl speed -evp aes-128-cbc`` (16 kB blocks), bytes/s.
3. ``--carousel-gb G``: a carousel of G GB of generated sparse files (protected, spooled, sent once
   to a loopback sink) in a subprocess; prints its peak RSS (``VmHWM`` of the child).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

from _measure import fmt, openssl_speed, pin
from flute import sender  # the peer: PyPI flute-alc (test/benchmark dependency)

from broadcast.engine.download.objects import PreparedObject, file_oti, prepare_bytes
from broadcast.engine.download.scheduler import CarouselScheduler
from broadcast.engine.download.session import CarouselSession, SessionParams
from broadcast.proto.dcf import DcfWriter, MbmsKeyId, mbms_headers
from broadcast.proto.flute import SessionReceiver
from broadcast.proto.flute.blocks import BlockPacketizer
from broadcast.proto.flute.fec import get_scheme
from broadcast.proto.keys import KeyDomainId, MskId, MtkId
from broadcast.time import ntp_from_unix

SYMBOL, MSBL, TSI, TOI = 1400, 64, 1, 1
KEY_ID = MbmsKeyId(KeyDomainId(b"\x00\xf1\x10"), MskId(1, 1), MtkId(1))


def _best(fn: object, repeat: int) -> tuple[float, int]:
    """(best seconds, packets) of ``fn()`` -> packet count."""
    best, count = float("inf"), 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        count = fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - t0)
    return best, count


def ours_blockwise(data: bytes) -> int:
    oti = get_scheme(0).make_oti(len(data), SYMBOL, MSBL)
    packetizer = BlockPacketizer.for_object(TOI, tsi=TSI, oti=oti)
    view = memoryview(data)
    count = 0
    for step in range(packetizer.steps):
        offset, size = packetizer.byte_range(step)
        count += len(packetizer.packets(step, view[offset : offset + size]))
    return count


def ours_raptor_round(data: bytes, pass_index: int) -> int:
    """Packets of one carousel round of a Raptor object (what the scheduler asks for)."""
    oti = file_oti(len(data), symbol_length=SYMBOL, max_block_length=MSBL, fec=1)
    packetizer = BlockPacketizer.for_object(TOI, tsi=TSI, oti=oti, source_every_pass=False)
    view = memoryview(data)
    count = 0
    for step in range(packetizer.steps):
        offset, size = packetizer.byte_range(step)
        for chunk in packetizer.chunks(step, view[offset : offset + size], pass_index=pass_index):
            count += len(chunk)
    return count


def prepared(data: bytes) -> PreparedObject:
    """The object as the carousel holds it (FDT entry with Content-MD5, OTI, bytes source)."""
    return prepare_bytes(
        TOI, data, content_location="file:///bench.bin",
        content_type="application/octet-stream", symbol_length=SYMBOL, max_block_length=MSBL,
    )  # fmt: skip


def ours_carousel(obj: PreparedObject) -> int:
    """Packets of one carousel round of ``obj``, FDT Instance included, as the service polls."""
    params = SessionParams(
        tsi=TSI, symbol_length=SYMBOL, max_block_length=MSBL,
        repeat_interval=3600.0, fdt_repeat_interval=3600.0,
    )  # fmt: skip
    session = CarouselSession(params, CarouselScheduler(bitrate=None))
    session.publish([obj], 0.0)
    session.update(0.0)
    count = 0
    while packets := session.scheduler.poll(0.0).packets:
        count += len(packets)
    return count


def flute_alc_rate(data: bytes, repeat: int) -> tuple[float, int]:
    best, count = float("inf"), 0
    for _ in range(repeat):
        s = sender.Sender(TSI, sender.Oti.new_no_code(SYMBOL, MSBL), sender.Config())
        s.add_object_from_buffer(data, "application/octet-stream", "file:///bench.bin")
        s.publish()
        read = s.read
        n = 0
        t0 = time.perf_counter()
        while read() is not None:
            n += 1
        best = min(best, time.perf_counter() - t0)
        count = n
    return best, count


def check_peer_object(data: bytes) -> None:
    """flute-alc's packets carry the same object: rebuild it with our receiver."""
    s = sender.Sender(TSI, sender.Oti.new_no_code(SYMBOL, MSBL), sender.Config())
    s.add_object_from_buffer(data, "application/octet-stream", "file:///bench.bin")
    s.publish()
    rx = SessionReceiver(TSI)
    got = None
    while (packet := s.read()) is not None:
        for event in rx.feed(bytes(packet), ntp_from_unix(time.time())):
            if getattr(event, "toi", None) is not None and hasattr(event, "data"):
                got = event.data
    if got != data:
        raise SystemExit("flute-alc's object differs from ours: comparison void")


def dcf_rate(mb: int, repeat: int) -> float:
    data = os.urandom(mb << 20)
    view = memoryview(data)

    def run() -> int:
        headers = mbms_headers(
            key_id=KEY_ID, bmsc_fqdn="bmsc.example.org", key_management_uri="http://b/km",
            content_type="application/octet-stream",
        )  # fmt: skip
        writer = DcfWriter(
            [view], headers, bytes(16), plaintext_length=len(data), chunk_size=1 << 20
        )
        for _ in writer:
            pass
        return len(data)

    seconds, _ = _best(run, repeat)
    return len(data) / seconds


CAROUSEL_CHILD = r"""
import asyncio, json, os, resource, shutil, socket, sys, tempfile, time
from pathlib import Path
from broadcast.aio.download.service import CarouselService
from broadcast.config.carousel import CarouselConfig
gb, n = float(sys.argv[1]), int(sys.argv[2])
root = Path(tempfile.mkdtemp(prefix="mbms-carousel-bench-"))
(root / "in").mkdir()
size = int(gb * (1 << 30)) // n
for i in range(n):
    with open(root / "in" / f"f{i:03}.bin", "wb") as f:
        f.truncate(size)   # sparse: reads as zeros, costs no disk
sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sink.bind(("127.23.9.1", 0))
config = CarouselConfig(destination=("127.23.9.1", sink.getsockname()[1]),
    store_path=root / "keys.sqlite", input_directory=root / "in", spool_directory=root / "spool",
    repeat_interval=3600, mtk_period=0, watch_interval=3600)
async def main():
    t0 = time.perf_counter()
    async with CarouselService(config) as service:
        await asyncio.wait_for(service.wait_rounds(1), 1800)
        stats = service.stats
    return stats, time.perf_counter() - t0
try:
    stats, seconds = asyncio.run(main())
finally:
    shutil.rmtree(root, ignore_errors=True)
# VmHWM: the peak RSS of this process image (ru_maxrss would include the parent's peak, which
# Linux carries over fork + exec).
rss = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"peak_rss_kb": rss, "bytes_sent": stats.bytes_sent, "packets": stats.packets,
    "seconds": seconds, "live_bytes": stats.live_bytes}))
"""


def carousel_memory(gb: float, files: int = 10) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CAROUSEL_CHILD, str(gb), str(files)],
        capture_output=True, text=True, check=True, timeout=3600,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpu", type=int)
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dcf-mb", type=int, default=256)
    parser.add_argument("--carousel-gb", type=float, default=0.0)
    args = parser.parse_args()
    cpu = pin(args.cpu)
    print(f"pinned to CPU {cpu}; object {args.mb} MB, symbols {SYMBOL} B, MSBL {MSBL}")
    data = os.urandom(args.mb * 1_000_000)
    check_peer_object(data[: 3 * 1_000_000])

    peer_s, peer_n = flute_alc_rate(data, args.repeat)
    block_s, block_n = _best(lambda: ours_blockwise(data), args.repeat)
    obj = prepared(data)
    car_s, car_n = _best(lambda: ours_carousel(obj), args.repeat)
    peer = peer_n / peer_s
    print("\nALC packets/s (Compact No-Code)")
    print(f"  flute-alc Sender.read() loop      {fmt(peer):>14}  ({peer_n} packets)")
    for name, n, s in (
        ("ours BlockPacketizer, per block", block_n, block_s),
        ("ours carousel session + scheduler", car_n, car_s),
    ):
        rate = n / s
        print(f"  {name:<33} {fmt(rate):>14}  x{rate / peer:.2f} flute-alc")

    print("\nALC packets/s (Raptor, 20 % repair, 8192-symbol blocks; no peer)")
    for name, pass_index in (("round 0: source + repair", 0), ("round 1: repair only", 1)):
        r_s, r_n = _best(lambda p=pass_index: ours_raptor_round(data, p), 2)  # type: ignore[misc]
        rate = r_n / r_s
        print(f"  {name:<33} {fmt(rate):>14}  x{rate / (block_n / block_s):.2f} our CNC")

    dcf = dcf_rate(args.dcf_mb, args.repeat)
    cmd, per_size = openssl_speed(1, "-evp", "aes-128-cbc")
    ossl = max(per_size) * per_size[max(per_size)]
    print("\nDCF protection (AES-128-CBC, RFC 2630 padding)")
    print(f"  ours DcfWriter, 1 MiB chunks       {dcf / 1e9:8.2f} GB/s")
    print(f"  {cmd} ({max(per_size)} B) {ossl / 1e9:8.2f} GB/s   ours x{dcf / ossl:.2f}")

    if args.carousel_gb:
        result = carousel_memory(args.carousel_gb)
        rss_mb = result["peak_rss_kb"] / 1024
        print(f"\nCarousel of {args.carousel_gb} GB (10 sparse files, one round to a sink)")
        print(
            f"  peak RSS {rss_mb:.0f} MB, sent {result['bytes_sent'] / 1e9:.2f} GB "
            f"in {result['packets']:.0f} packets, {result['seconds']:.1f} s"
        )
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n(this process: peak RSS {own:.0f} MB)")


if __name__ == "__main__":
    main()
