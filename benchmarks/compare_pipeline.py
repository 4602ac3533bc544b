"""The streaming pipeline on one core: ingest -> SRTP -> UDP send, and SRTP unprotect vs libsrtp2.

    .venv/bin/python benchmarks/compare_pipeline.py [--cpu N] [--payload 1200] [--seconds 2]

Everything runs pinned to one CPU (the UDP feeder of the ingest test runs in a child process on
another CPU when there is one, so its work is not counted). CPU time is ``time.process_time``
(user + system of this process: the kernel's UDP send path on loopback is included). Policy:
the profile's default (AES-CM-128, RCCm2 R = 16, 80-bit tags, 6-byte MKI) unless noted.

Pipeline (packets/s and CPU µs per packet):

- generator, sync loop: ``RtpGenerator.take`` -> ``ProtectPipeline.push`` (checks, native batch
  SRTP, per-SSRC counters) -> ``DatagramOutput.send_batch`` to a loopback sink, 256 packets per
  push, as fast as it goes; also with the pure-Python SRTP path, and the parts alone
  (generator only, protect only, send only) to show where the time goes;
- service + generator: a whole :class:`StreamService` (asyncio, MTK schedule, SRTCP) paced at
  ``--rate`` packets/s for ``--seconds``;
- service + UDP ingest: a whole :class:`StreamService` reading RTP from a UDP socket that a child
  process feeds at ``--rate`` packets/s, with the ingest reading by ``recvmmsg`` (one call per
  wake-up, ``broadcast._native.udp_send.BatchReceiver``) and by one ``recv`` per datagram;
- UDP receive alone: CPU to take ``BATCH`` queued datagrams off a loopback socket, one
  ``recvmmsg`` call vs a ``sock.recv`` per datagram (what ``UdpIngest`` does per wake-up).

Unprotect (``benchmarks/compare_srtp.py`` measures protect only): packets/s of

- pure:       ``SrtpReceiver.unprotect`` per packet (MKI 6, HMAC-SHA1-80);
- native:     ``broadcast.proto.srtp.batch.unprotect_batch`` (indices known; MKI 6 and no MKI);
- pylibsrtp:  ``pylibsrtp.Session.unprotect`` per packet (libsrtp2, no MKI API: compared with
              our no-MKI native path on byte-identical input).

Ratios are printed for each pair measured in the same run. pylibsrtp is a bench/test dependency.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _measure import best_rate, fmt, pin

from broadcast.aio.sgimb.output import DatagramOutput
from broadcast.aio.streaming.service import StreamService
from broadcast.config.stream import (
    KeysConfig,
    RtcpConfig,
    SessionConfig,
    StreamConfig,
    UdpIngestConfig,
)
from broadcast.engine.streaming.generator import GeneratorConfig, RtpGenerator
from broadcast.engine.streaming.pipeline import ProtectPipeline
from broadcast.engine.streaming.schedule import MtkTiming
from broadcast.proto.keys import KeyDomainId
from broadcast.proto.srtp import CryptoPolicy, SrtpReceiver, SrtpSender
from broadcast.proto.srtp.batch import SrtpBatchSender, unprotect_batch
from broadcast.proto.srtp.settings import SrtpConfig, srtp_policy

HOST = "127.31.7.1"
SINK_PORT = 5004
INGEST = ("127.31.7.2", 6004)
MKI = bytes.fromhex("000100010001")
KEY = bytes(range(1, 17))
SALT = bytes(range(40, 54))
BATCH = 256


def cpu_rate(fn: Callable[[], int], repeat: int) -> tuple[float, float]:
    """Best packets/s (wall) and the CPU µs/packet of that run; ``fn`` returns its packet count."""
    gc.collect()
    best = (0.0, 0.0)
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        n = fn()
        w1, c1 = time.perf_counter(), time.process_time()
        rate = n / (w1 - w0)
        if rate > best[0]:
            best = (rate, 1e6 * (c1 - c0) / n)
    return best


class Sink:
    """A bound UDP socket on the destination that nobody reads (the kernel drops when full)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, port))

    def close(self) -> None:
        self.sock.close()


def make_pipeline(native: bool, output: DatagramOutput) -> ProtectPipeline:
    sender = SrtpSender(srtp_policy(SrtpConfig()))
    sender.keys.add(MKI, KEY, SALT)
    p = ProtectPipeline(sender, output, (HOST, SINK_PORT), (HOST, SINK_PORT + 1), native=native)
    p.mki = MKI
    return p


def sync_pipeline(payload: int, total: int, native: bool, output: DatagramOutput) -> int:
    gen = RtpGenerator(GeneratorConfig(rate=1000.0, payload_size=payload))
    p = make_pipeline(native, output)
    for _ in range(total // BATCH):
        p.push(gen.take(BATCH), 0.0)
    return p.stats.srtp_out


def parts(payload: int, total: int, output: DatagramOutput) -> dict[str, float]:
    """CPU µs/packet of generator, protect and send alone."""
    gen = RtpGenerator(GeneratorConfig(rate=1000.0, payload_size=payload))
    batches = [gen.take(BATCH) for _ in range(total // BATCH)]
    n = len(batches) * BATCH
    out: dict[str, float] = {}

    def timed(name: str, fn: Callable[[], object]) -> None:
        gc.collect()
        c0 = time.process_time()
        fn()
        out[name] = 1e6 * (time.process_time() - c0) / n

    timed("generator", lambda: [RtpGenerator(gen.config).take(BATCH) for _ in batches])

    def batch_sender() -> SrtpBatchSender:
        sender = SrtpSender(srtp_policy(SrtpConfig()))
        sender.keys.add(MKI, KEY, SALT)
        return SrtpBatchSender(sender)

    # Each batch's output is dropped before the next, as in the pipeline (keeping them all
    # would add page faults on fresh memory for every packet); the send part gets its own.
    bs = batch_sender()
    timed("protect (native batch)", lambda: [len(bs.protect_batch(b, MKI)) for b in batches])
    bs = batch_sender()
    protected = [bs.protect_batch(b, MKI) for b in batches]
    timed("send (send_batch)", lambda: [output.send_batch(b, (HOST, SINK_PORT)) for b in protected])
    return out


def stream_config(tmp: Path, ingest: GeneratorConfig | UdpIngestConfig) -> StreamConfig:
    return StreamConfig(
        session=SessionConfig(name="bench", destination=HOST, port=SINK_PORT, sdp=None),
        keys=KeysConfig(tmp / "keys.sqlite", KeyDomainId.from_plmn("001", "01"), 1),
        mtk=MtkTiming(period=1.0, lead=0.2, interval=0.1),
        ingest=ingest,
        rtcp=RtcpConfig(interval=1.0),
    )


async def service_generator(
    tmp: Path, payload: int, rate: float, seconds: float
) -> tuple[int, float, float]:
    cfg = stream_config(tmp, GeneratorConfig(rate=rate, payload_size=payload))
    async with StreamService(cfg) as service:
        await asyncio.sleep(0.2)
        n0, w0, c0 = service.status().srtp_out, time.perf_counter(), time.process_time()
        await asyncio.sleep(seconds)
        n1, w1, c1 = service.status().srtp_out, time.perf_counter(), time.process_time()
    n = n1 - n0
    return n, n / (w1 - w0), 1e6 * (c1 - c0) / n


FEEDER = r"""
import os, socket, sys, time
cpu, host, port, payload, rate, seconds = sys.argv[1:7]
if int(cpu) >= 0:
    os.sched_setaffinity(0, {int(cpu)})
rate, seconds = float(rate), float(seconds)
body = bytes(int(payload))
def rtp(k):
    head = (k & 0xFFFF).to_bytes(2, "big") + (k * 3000 & 0xFFFFFFFF).to_bytes(4, "big")
    return bytes((0x80, 96)) + head + b"\x00\x00\x12\x34" + body
pkts = [rtp(k) for k in range(int(rate * seconds))]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((host, int(port)))
t0 = time.perf_counter()
for i in range(0, len(pkts), 64):
    for p in pkts[i:i + 64]:
        s.send(p)
    wait = t0 + (i + 64) / rate - time.perf_counter()
    if wait > 0:
        time.sleep(wait)
print(len(pkts))
"""


async def service_udp(
    tmp: Path, payload: int, rate: float, seconds: float, feeder_cpu: int, recv_batch: bool
) -> tuple[int, int, float, float]:
    cfg = stream_config(tmp, UdpIngestConfig(listen=INGEST, recv_batch=recv_batch))
    async with StreamService(cfg) as service:
        w0 = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            FEEDER,
            str(feeder_cpu),
            INGEST[0],
            str(INGEST[1]),
            str(payload),
            str(rate),
            str(seconds),
            stdout=subprocess.PIPE,
        )
        c0 = time.process_time()  # after the fork: its cost is not the ingest's
        out, _ = await proc.communicate()
        await asyncio.sleep(0.1)  # let the socket drain
        w1, c1 = time.perf_counter(), time.process_time()
        n = service.status().srtp_out
    sent = int(out.decode().strip() or 0)
    return sent, n, n / (w1 - w0), 1e6 * (c1 - c0) / max(n, 1)


def udp_receive(payload: int, rounds: int) -> dict[str, float]:
    """CPU µs/datagram to drain ``BATCH`` queued datagrams: recvmmsg vs a recv per datagram."""
    from broadcast._native import udp_send  # noqa: PLC0415

    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    out: dict[str, float] = {}
    try:
        rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        rx.bind((INGEST[0], 0))
        rx.setblocking(False)
        tx.bind((HOST, 0))
        receiver = udp_send.BatchReceiver(rx.fileno(), BATCH)
        datagram = bytes(12 + payload)
        dest = rx.getsockname()

        def batch_recv() -> int:
            return len(receiver.recv_batch())

        def per_datagram() -> int:
            n = 0
            for _ in range(BATCH):
                try:
                    rx.recv(65536)
                except BlockingIOError:
                    break
                n += 1
            return n

        for name, drain in (("recvmmsg", batch_recv), ("recv per datagram", per_datagram)):
            best = float("inf")
            for _ in range(rounds):
                for _ in range(BATCH):
                    tx.sendto(datagram, dest)
                time.sleep(0.002)  # loopback delivery is synchronous; be safe anyway
                c0 = time.process_time()
                n = drain()
                c1 = time.process_time()
                if n == BATCH:
                    best = min(best, 1e6 * (c1 - c0) / n)
                while per_datagram():  # leave the socket empty
                    pass
            out[name] = best
    finally:
        rx.close()
        tx.close()
    return out


# --- unprotect ---------------------------------------------------------------------------------


def rtp_packets(n: int, payload: int) -> list[bytes]:
    return RtpGenerator(GeneratorConfig(payload_size=payload)).take(n)


def protected(packets: list[bytes], mki: bool) -> list[bytes]:
    policy = CryptoPolicy.aes_cm_128_hmac_sha1_80()
    if mki:
        s = SrtpSender(policy)
        s.keys.add(MKI, KEY, SALT)
    else:
        s = SrtpSender(policy, mki_len=0, key_capacity=1)
        s.keys.add(b"", KEY, SALT)
    return SrtpBatchSender(s).protect_batch(packets, MKI if mki else b"")


def pure_unprotect(srtp: list[bytes]) -> list[bytes]:
    r = SrtpReceiver(CryptoPolicy.aes_cm_128_hmac_sha1_80())
    r.keys.add(MKI, KEY, SALT)
    return [r.unprotect(p)[0] for p in srtp]


def native_unprotect(srtp: list[bytes], indices: list[int], mki: bool) -> list[bytes | None]:
    policy = CryptoPolicy.aes_cm_128_hmac_sha1_80()
    r = SrtpReceiver(policy, mki_len=6 if mki else 0, key_capacity=3 if mki else 1)
    r.keys.add(MKI if mki else b"", KEY, SALT)
    keys = r.keys.get(MKI if mki else b"").session_keys(rtcp=False, index=0)
    return unprotect_batch(policy, keys, MKI if mki else b"", srtp, indices)


def pylibsrtp_unprotect(srtp: list[bytes]) -> list[bytes]:
    import pylibsrtp  # noqa: PLC0415 - optional, bench-only

    policy = pylibsrtp.Policy(
        key=KEY + SALT,
        ssrc_type=pylibsrtp.Policy.SSRC_ANY_INBOUND,
        srtp_profile=pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
    )
    session = pylibsrtp.Session(policy)
    return [session.unprotect(p) for p in srtp]


def row(label: str, rate: float, us: float, note: str = "") -> None:
    extra = f" ({note})" if note else ""
    print(f"  {label:<40}{fmt(rate):>10} packets/s  {us:6.2f} µs CPU/packet{extra}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--cpu", type=int, default=None, help="CPU to pin to (default: first allowed)")
    ap.add_argument("--payload", type=int, default=1200, help="RTP payload bytes")
    ap.add_argument("--packets", type=int, default=20_480, help="packets per sync-loop run")
    ap.add_argument("--rate", type=float, default=20_000, help="packets/s of the service runs")
    ap.add_argument("--seconds", type=float, default=2.0, help="length of the service runs")
    ap.add_argument("--unprotect", type=int, default=5_000, help="packets per unprotect run")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    allowed = sorted(os.sched_getaffinity(0))
    cpu = pin(args.cpu)
    feeder_cpu = next((c for c in allowed if c != cpu), -1)

    sink = Sink(SINK_PORT)
    output = DatagramOutput()
    try:
        print(f"CPU {cpu}; RTP payload {args.payload} bytes; RCCm2 R=16, 80-bit tags, MKI 6")
        print("pipeline ingest -> protect -> send:")
        nat = cpu_rate(lambda: sync_pipeline(args.payload, args.packets, True, output), args.repeat)
        pure_n = max(BATCH, args.packets // 10)
        pure = cpu_rate(lambda: sync_pipeline(args.payload, pure_n, False, output), 3)
        row("generator, sync loop, native SRTP", *nat)
        row("generator, sync loop, pure SRTP", *pure)
        print(f"  {'ratio native/pure':<40}{nat[0] / pure[0]:>10.1f} x")
        for name, us in parts(args.payload, args.packets, output).items():
            print(f"    part: {name:<32}{'':>10}            {us:6.2f} µs CPU/packet")
        with tempfile.TemporaryDirectory() as tmp:
            n, rate, us = asyncio.run(
                service_generator(Path(tmp), args.payload, args.rate, args.seconds)
            )
            row(f"service + generator at {fmt(args.rate)}/s", rate, us, f"{n} packets")
        for recv_batch, how in ((True, "recvmmsg"), (False, "recv each")):
            with tempfile.TemporaryDirectory() as tmp:
                sent, n, rate, us = asyncio.run(
                    service_udp(
                        Path(tmp), args.payload, args.rate, args.seconds, feeder_cpu, recv_batch
                    )
                )
                row(
                    f"service + UDP ingest ({how}) at {fmt(args.rate)}/s",
                    rate,
                    us,
                    f"{n} of {sent} fed",
                )
        for name, us in udp_receive(args.payload, 50).items():
            print(f"    part: UDP receive, {name:<21}{'':>10}            {us:6.2f} µs CPU/packet")
    finally:
        output.close()
        sink.close()

    print("unprotect (AES_CM_128_HMAC_SHA1_80):")
    packets = rtp_packets(args.unprotect, args.payload)
    indices = [int.from_bytes(p[2:4], "big") for p in packets]
    with_mki = protected(packets, True)
    no_mki = protected(packets, False)
    few = min(500, len(packets))
    if pure_unprotect(with_mki[:few]) != packets[:few]:
        raise SystemExit("pure unprotect does not give the packets back")
    if native_unprotect(with_mki, indices, True) != packets:
        raise SystemExit("native unprotect does not give the packets back")
    pure_r = best_rate(lambda: pure_unprotect(with_mki[:few]), few, 3)
    nat_r = best_rate(lambda: native_unprotect(with_mki, indices, True), len(packets), args.repeat)
    nat_nomki = best_rate(
        lambda: native_unprotect(no_mki, indices, False), len(packets), args.repeat
    )
    print(f"  pure SrtpReceiver.unprotect (MKI 6)       {fmt(pure_r):>10} packets/s")
    print(f"  native unprotect_batch (MKI 6)            {fmt(nat_r):>10} packets/s")
    print(f"  native unprotect_batch (no MKI)           {fmt(nat_nomki):>10} packets/s")
    print(f"  ratio native/pure (MKI 6)                 {nat_r / pure_r:>10.1f} x")
    try:
        import pylibsrtp  # noqa: F401, PLC0415
    except ImportError:
        print("  pylibsrtp not installed: peer comparison skipped")
        return 0
    if pylibsrtp_unprotect(no_mki[:few]) != packets[:few]:
        raise SystemExit("pylibsrtp does not unprotect our no-MKI packets")
    peer = best_rate(lambda: pylibsrtp_unprotect(no_mki), len(packets), args.repeat)
    print(f"  pylibsrtp Session.unprotect (no MKI)      {fmt(peer):>10} packets/s")
    print(f"  ratio native/pylibsrtp (both no MKI)      {nat_nomki / peer:>10.2f} x")
    print(f"  ratio pure/pylibsrtp                      {pure_r / peer:>10.2f} x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
