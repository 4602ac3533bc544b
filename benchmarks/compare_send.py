"""UDP send throughput of DatagramOutput next to a ``socket.sendto`` loop, in one run on one core.

    .venv/bin/python benchmarks/compare_send.py [--cpu N] [--batch 4096] [--repeat 7]

Two workloads of ``--batch`` datagrams to one loopback destination:

- video: frames of full 1,250-byte packets (0 to 12 per frame) closed by a shorter packet,
  with 160-byte audio packets in between (about 3 in 4 packets are full size);
- alc:   equal-size 1,250-byte ALC packets (a FLUTE carousel).

Datagrams/s of:

- sendto loop:     ``for d in batch: sock.sendto(d, dest)`` — the baseline;
- ours (GSO):      ``DatagramOutput.send_batch`` on the native path, UDP GSO for equal-size runs
                   and sendmmsg for the rest (the default);
- ours (sendmmsg): the same with ``gso = false`` (pure sendmmsg, 1,024 datagrams per call);
- ours (reference): ``native = false`` (the reference path: a wrapper around a sendto loop).

The receiver is a bound socket on 127.21.9.1 that is never read: once its buffer is full the
kernel drops what arrives, the same for every variant — the script measures the sender. Before
measuring, each variant's output is checked on a second receiver to arrive complete and in
order. Each rate is the best of ``--repeat`` runs, pinned to one CPU.
"""

from __future__ import annotations

import argparse
import random
import socket
from collections.abc import Callable

from _measure import best_rate, fmt, pin

from broadcast.aio.sgimb.output import DatagramOutput
from broadcast.config.output import OutputConfig

FULL = 1250
SINK_HOST = "127.21.9.1"
CHECK_HOST = "127.21.9.2"
SOURCE_HOST = "127.21.9.3"
SO_RCVBUFFORCE = 33


def video_mix(count: int, seed: int = 7) -> list[bytes]:
    """Frames of full packets closed by a shorter one, small audio packets in between."""
    rng = random.Random(seed)
    sizes: list[int] = []
    while len(sizes) < count:
        sizes += [FULL] * rng.randint(0, 12)
        sizes.append(rng.randint(100, FULL - 1))
        if rng.random() < 0.3:
            sizes.append(160)
    return [_payload(i, n) for i, n in enumerate(sizes[:count])]


def alc_equal(count: int) -> list[bytes]:
    return [_payload(i, FULL) for i in range(count)]


def _payload(index: int, size: int) -> bytes:
    return (index.to_bytes(4, "big") * (size // 4 + 1))[:size]


def _sink(host: str, rcvbuf: int | None = None) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, rcvbuf)
    sock.bind((host, 0))
    return sock


def sendto_loop(sock: socket.socket, batch: list[bytes], dest: tuple[str, int]) -> None:
    sendto = sock.sendto
    for d in batch:
        sendto(d, dest)


VARIANTS: dict[str, dict[str, bool]] = {
    "ours (GSO)": {"native": True, "gso": True},
    "ours (sendmmsg)": {"native": True, "gso": False},
    "ours (reference)": {"native": False, "gso": False},
}


def check_delivery(batch: list[bytes]) -> None:
    """Every variant delivers the batch complete and in order (a big receive buffer)."""
    with _sink(CHECK_HOST, 64 << 20) as rx:
        rx.settimeout(2.0)
        dest = rx.getsockname()
        for name, opts in VARIANTS.items():
            with DatagramOutput(OutputConfig(source=SOURCE_HOST, **opts)) as out:
                if out.send_batch(batch, dest) != len(batch):
                    raise SystemExit(f"{name}: not every datagram left: {out.stats}")
            got = [rx.recv(70000) for _ in batch]
            if got != batch:
                raise SystemExit(f"{name}: the receiver saw different datagrams")


def measure(
    batch: list[bytes], dest: tuple[str, int], repeat: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Rates per variant and system calls per batch of the native variants."""
    rates: dict[str, float] = {}
    calls: dict[str, float] = {}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as plain:
        plain.bind((SOURCE_HOST, 0))
        loop = lambda: sendto_loop(plain, batch, dest)  # noqa: E731
        rates["sendto loop"] = best_rate(loop, len(batch), repeat)
    for name, opts in VARIANTS.items():
        with DatagramOutput(OutputConfig(source=SOURCE_HOST, **opts)) as out:
            send: Callable[[], object] = lambda out=out: out.send_batch(batch, dest)  # noqa: E731
            rates[name] = best_rate(send, len(batch), repeat)
            if out.stats.errors:
                raise SystemExit(f"{name}: {out.stats.errors} send errors ({out.stats.last_error})")
            runs = out.stats.datagrams / len(batch)
            calls[name] = out.stats.syscalls / runs if out.native else float(len(batch))
    calls["sendto loop"] = float(len(batch))
    return rates, calls


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--cpu", type=int, default=None, help="CPU to pin to (default: first allowed)")
    ap.add_argument("--batch", type=int, default=4096, help="datagrams per call")
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args(argv)

    cpu = pin(args.cpu)
    workloads = {"video": video_mix(args.batch), "alc": alc_equal(args.batch)}
    for batch in workloads.values():
        check_delivery(batch[:2000])
    with _sink(SINK_HOST) as sink:
        dest = sink.getsockname()
        print(
            f"CPU {cpu}, {args.batch} datagrams per call to {dest[0]}:{dest[1]} "
            "(receiver never read: drops when full, the sender is measured)"
        )
        results = {}
        for label, batch in workloads.items():
            full = sum(len(d) == FULL for d in batch)
            mean = sum(map(len, batch)) / len(batch)
            rates, calls = measure(batch, dest, args.repeat)
            results[label] = rates
            print(f"\n  {label}: {full / len(batch):.0%} full-size, mean {mean:.0f} bytes")
            for name, rate in rates.items():
                print(
                    f"    {name:<18} {fmt(rate):>12} datagrams/s   "
                    f"{calls[name]:>7.0f} system calls per batch"
                )
            base = rates["sendto loop"]
            gso, mmsg = rates["ours (GSO)"], rates["ours (sendmmsg)"]
            print(f"    ratio ours (GSO) / sendto loop       {gso / base:6.2f} x")
            print(f"    ratio ours (sendmmsg) / sendto loop  {mmsg / base:6.2f} x")
            print(f"    ratio GSO / sendmmsg                 {gso / mmsg:6.2f} x")
    video = results["video"]["ours (GSO)"] / results["video"]["sendto loop"]
    alc = results["alc"]["ours (GSO)"] / results["alc"]["sendto loop"]
    print(
        f"\n  targets: video >= 3x -> {video:.2f}x {'met' if video >= 3 else 'NOT met'}; "
        f"equal-size ALC >= 4x -> {alc:.2f}x {'met' if alc >= 4 else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
