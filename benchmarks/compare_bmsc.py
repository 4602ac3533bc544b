"""BM-SC MSK procedures: HTTP Digest MSK requests per second, and an MSK rotation push to many UEs.

    .venv/bin/python benchmarks/compare_bmsc.py http [--clients 200] [--seconds 10]
    .venv/bin/python benchmarks/compare_bmsc.py rotation [--ues 1000000]

``http``: the BM-SC (``BmscService``) runs in a child process pinned to CPU 0; the load generator
(raw asyncio streams, HTTP/1.1 keep-alive, one connection per client, each client its own B-TID)
runs here on CPU 1. One "MSK request" = the unauthenticated POST, the 401 challenge, the Digest
answer and the 200 (two HTTP exchanges); the ``preemptive`` mode answers with the previous 200's
``nextnonce`` (one exchange). Each 200 also builds one MSK message (counter from the key store,
durable) pushed to a local UDP sink. The peer is a bare aiohttp handler on the same core that
answers every POST with a fixed 200: the ratio is the share of the framework's capacity that the
MSK procedures keep. The store lives in ``--store-dir`` (default /dev/shm: tmpfs, so fsync does
not dominate; pass a disk directory to include it).

``rotation``: N registered UEs with MUKs in the store (set up in chunks, not timed), then one
rotation (NEXT MSK, per-UE MUK counter, native batch build, deliveries recorded in one
transaction per chunk) timed per phase, then the sends to a local sink; peak RSS of the process.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import dataclasses
import hashlib
import os
import resource
import shutil
import socket
import statistics
import sys
import tempfile
import time
from multiprocessing import get_context
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _measure import fmt, pin
from aiohttp import web

from broadcast.aio.bmsc.graph import build_bmsc
from broadcast.aio.bmsc.service import BmscService
from broadcast.engine.bmsc.settings import (
    BmscConfig,
    HttpConfig,
    KeyGroupConfig,
    PushConfig,
    RateLimitConfig,
)
from broadcast.proto.keys.ids import KeyDomainId, MskId
from broadcast.proto.keys.material import Muk
from broadcast.proto.keys.store import MukRecord
from broadcast.proto.msk.digest import build_authorization, parse_auth_info, parse_challenges
from broadcast.proto.msk.gba import muk_id_for, naf_id
from broadcast.proto.msk.msk_xml import build_msk_request
from broadcast.proto.msk.store import Subscription
from broadcast.store.bmsc import SQLiteBmscStore
from broadcast.store.gba_sim import SQLiteGbaStore
from broadcast.store.keys import SQLiteKeyStore

HOST = "127.29.9.1"
FQDN = "bmsc.mnc001.mcc001.pub.3gppnetwork.org"
KDID = KeyDomainId.from_plmn("001", "01")


def _config(store: str, http_port: int = 0, ack: bool = False) -> BmscConfig:
    return BmscConfig(
        fqdn=FQDN,
        store=store,
        key_domain=KDID,
        key_groups=(KeyGroupConfig(1),),
        http=HttpConfig(listen=HOST, port=http_port, nonce_lifetime=600, max_nonces=1_000_000),
        rate_limit=RateLimitConfig(rate=0.0),
        push=PushConfig(source=HOST, delay=0.0, ack_required=ack),
    )


def _b_tid(i: int, sequential: bool = False) -> str:
    """A B-TID as GBA makes them: base64(RAND) @ BSF (random order, as in real stores), or
    ``btid<i>@bsf.example`` in registration order (the earlier benchmark's keys)."""
    if sequential:
        return f"btid{i:07d}@bsf.example"
    rand = hashlib.sha256(i.to_bytes(4, "big")).digest()[:16]
    return f"{base64.b64encode(rand).decode('ascii')}@bsf.mnc001.mcc001.pub.3gppnetwork.org"


def _sink() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind((HOST, 0))
    return s


# --- http ---------------------------------------------------------------------------------------


def _serve(kind: str, store: str, port_q: Any, stop_ev: Any) -> None:
    pin(0)

    async def ours() -> None:
        async with BmscService(_config(store)) as svc:
            port_q.put(int(svc.url.split(":")[2].split("/")[0]))
            while not stop_ev.is_set():
                await asyncio.sleep(0.1)
            port_q.put(dict(svc.stats) | {"push": dict(svc.push.stats)})

    async def peer() -> None:
        async def handle(request: web.Request) -> web.Response:
            await request.read()
            return web.Response(body=b"<ok/>", content_type="application/mbms-msk-response+xml")

        app = web.Application()
        app.router.add_post("/keymanagement", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, HOST, 0)
        await site.start()
        port_q.put(int(site._server.sockets[0].getsockname()[1]))  # type: ignore[union-attr]
        while not stop_ev.is_set():
            await asyncio.sleep(0.1)
        port_q.put({})
        await runner.cleanup()

    asyncio.run(ours() if kind == "ours" else peer())


async def _exchange(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    port: int,
    body: bytes,
    auth: str | None,
) -> tuple[int, dict[str, list[str]], bytes]:
    head = (
        f"POST /keymanagement HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
        f"Content-Type: application/mbms-msk+xml\r\nContent-Length: {len(body)}\r\n"
    )
    if auth is not None:
        head += f"Authorization: {auth}\r\n"
    writer.write(head.encode() + b"\r\n" + body)
    raw = await reader.readuntil(b"\r\n\r\n")
    lines = raw.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers.setdefault(k.strip().lower(), []).append(v.strip())
    n = int(headers.get("content-length", ["0"])[0])
    data = await reader.readexactly(n)
    return status, headers, data


async def _load(
    port: int, users: list[tuple[str, str]], seconds: float, mode: str
) -> tuple[int, list[float], int]:
    body = build_msk_request(KDID, [MskId.current(1)])
    done = 0
    errors = 0
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def client(i: int, b_tid: str, password: str) -> None:
        nonlocal done, errors
        reader, writer = await asyncio.open_connection(HOST, port, local_addr=(HOST, 0))
        nonce: str | None = None
        nc = 0
        realm = opaque = ""
        try:
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                if mode == "peer":
                    status, _, _ = await _exchange(reader, writer, port, body, None)
                    status2 = status
                else:
                    auth = None
                    if mode == "preemptive" and nonce is not None:
                        nc += 1
                        auth = build_authorization(
                            algorithm="SHA-256",
                            username=b_tid,
                            realm=realm,
                            password=password,
                            method="POST",
                            uri="/keymanagement",
                            nonce=nonce,
                            nc=nc,
                            cnonce=f"c{i}x{nc}",
                            opaque=opaque,
                        )
                    status, headers, _ = await _exchange(reader, writer, port, body, auth)
                    if status == 401:
                        params = parse_challenges(headers["www-authenticate"][0])[0][1]
                        realm, nonce, opaque, nc = (
                            params["realm"],
                            params["nonce"],
                            params["opaque"],
                            1,
                        )
                        auth = build_authorization(
                            algorithm="SHA-256",
                            username=b_tid,
                            realm=realm,
                            password=password,
                            method="POST",
                            uri="/keymanagement",
                            nonce=nonce,
                            nc=nc,
                            cnonce=f"c{i}x{nc}",
                            opaque=opaque,
                        )
                        status, headers, _ = await _exchange(reader, writer, port, body, auth)
                    status2 = status
                    if status == 200:
                        info = parse_auth_info(headers["authentication-info"][0])
                        nonce, nc = info["nextnonce"], 0
                if status2 == 200:
                    done += 1
                    latencies.append(time.perf_counter() - t0)
                else:
                    errors += 1
        finally:
            writer.close()

    await asyncio.gather(*(client(i, b, p) for i, (b, p) in enumerate(users)))
    return done, latencies, errors


def _http_run(
    kind: str, mode: str, store: str, users: list[tuple[str, str]], seconds: float
) -> dict[str, Any]:
    ctx = get_context("spawn")
    port_q = ctx.Queue()
    stop_ev = ctx.Event()
    proc = ctx.Process(target=_serve, args=(kind, store, port_q, stop_ev))
    proc.start()
    try:
        port = port_q.get(timeout=60)
        t0 = time.perf_counter()
        done, lat, errors = asyncio.run(_load(port, users, seconds, mode))
        elapsed = time.perf_counter() - t0
        stop_ev.set()
        server_stats = port_q.get(timeout=60)
    finally:
        proc.join(timeout=30)
        if proc.is_alive():
            proc.kill()
    lat.sort()
    q = statistics.quantiles(lat, n=100) if len(lat) > 100 else [float("nan")] * 99
    return {
        "rate": done / elapsed,
        "p50_ms": q[49] * 1e3,
        "p99_ms": q[98] * 1e3,
        "errors": errors,
        "server": server_stats,
    }


def cmd_http(args: argparse.Namespace) -> None:
    pin(1)
    workdir = Path(tempfile.mkdtemp(dir=args.store_dir, prefix="bmsc-bench-"))
    store = str(workdir / "bmsc.db")
    sink = _sink()
    try:
        gba = SQLiteGbaStore(store)
        bstore = SQLiteBmscStore(store)
        users: list[tuple[str, str]] = []
        now = int(time.time())
        naf = naf_id(FQDN)
        for i in range(args.clients):
            boot = gba.bootstrap(f"user{i}@ims.example", now_unix=now, lifetime=86400)
            users.append((boot.b_tid, gba.ue_material(boot.b_tid, naf).password))
            bstore.add_subscription(
                Subscription(f"user{i}@ims.example", KDID, 1, HOST, sink.getsockname()[1])
            )
        gba.close()
        bstore.close()
        print(
            f"{args.clients} clients, {args.seconds:.0f} s per run, server on CPU 0, "
            f"load generator on CPU 1, store in {workdir}"
        )
        results = {}
        for kind, mode in (("peer", "peer"), ("ours", "challenge"), ("ours", "preemptive")):
            r = _http_run(kind, mode, store, users, args.seconds)
            results[mode] = r
            label = {
                "peer": "aiohttp bare 200 (peer)",
                "challenge": "MSK request, 401 + 200",
                "preemptive": "MSK request, nextnonce (1 exchange)",
            }[mode]
            http_per_req = 2 if mode == "challenge" else 1
            print(
                f"  {label:40} {fmt(r['rate']):>8} req/s  ({fmt(r['rate'] * http_per_req)} HTTP/s)"
                f"  p50 {r['p50_ms']:.1f} ms  p99 {r['p99_ms']:.1f} ms  errors {r['errors']}"
            )
        peer = results["peer"]["rate"]
        print(
            f"  ratio MSK request (challenge) / peer HTTP exchange: "
            f"{results['challenge']['rate'] * 2 / peer:.2f} of the framework's exchanges/s"
        )
        print(f"  ratio MSK request (nextnonce) / peer: {results['preemptive']['rate'] / peer:.2f}")
        print(f"  server counters (challenge run): {results['challenge']['server']}")
    finally:
        sink.close()
        shutil.rmtree(workdir, ignore_errors=True)


# --- rotation ----------------------------------------------------------------------------------


def cmd_rotation(args: argparse.Namespace) -> None:
    pin(0)
    workdir = Path(tempfile.mkdtemp(dir=args.store_dir, prefix="bmsc-rot-"))
    store_path = str(workdir / "bmsc.db")
    sink = _sink()
    sink_port = sink.getsockname()[1]
    cfg = dataclasses.replace(
        _config(store_path),
        push=PushConfig(source=HOST, port=sink_port, delay=0.0, ack_required=False, batch=20_000),
    )
    keys = SQLiteKeyStore(store_path)
    store = SQLiteBmscStore(store_path)
    graph = build_bmsc(cfg, key_store=keys, store=store)  # opens the GBA simulator
    km = graph.km
    km.ensure_groups(time.time())
    n = args.ues
    t0 = time.perf_counter()
    chunk = 50_000
    expires = int(time.time()) + 86400
    for start in range(0, n, chunk):
        part = range(start, min(n, start + chunk))
        rnd = os.urandom(16 * len(part))
        records = [
            MukRecord(
                muk_id_for(FQDN, _b_tid(i, args.sequential_btids)),
                Muk(rnd[16 * (i - start) : 16 * (i - start) + 16]),
                expires,
            )
            for i in part
        ]
        keys.put_muks(records)
        # each UE got its first MSK push when it registered: its MUK counter exists
        keys.next_counters_for_muks([r.muk_id for r in records])
        ues = [
            (f"ue{i}@ims.example", r.muk_id, HOST, sink_port)
            for i, r in zip(part, records, strict=True)
        ]
        store.register_many(KDID, 1, ues, time.time())
    setup = time.perf_counter() - t0
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"{fmt(n)} registered UEs with MUKs set up in {setup:.1f} s (not timed below); "
        f"store in {workdir}"
    )
    t0 = time.perf_counter()
    report = km.rotate(1, time.time(), promote_after=3600)
    total = time.perf_counter() - t0
    other = (
        total
        - report.seconds_counters
        - report.seconds_build
        - report.seconds_store
        - report.seconds_read
    )

    async def send_all() -> tuple[float, int]:
        push = graph.push
        await push.start()
        t = time.perf_counter()
        handled = 0
        while True:
            k = push.run_once()
            if not k:
                break
            handled += k
        t = time.perf_counter() - t
        await push.stop()
        return t, handled

    send_s, sent = asyncio.run(send_all())
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    pushed = report.pushed
    print(f"rotation push of MSK {report.msk_id} to {fmt(pushed)} UEs: {total:.2f} s")
    print(
        f"  reading registrations (chunks by index):    {report.seconds_read:6.2f} s "
        f"({fmt(pushed / max(report.seconds_read, 1e-9))}/s)"
    )
    print(
        f"  MUK counters + MUKs (one tx per chunk):     {report.seconds_counters:6.2f} s "
        f"({fmt(pushed / max(report.seconds_counters, 1e-9))}/s)"
    )
    print(
        f"  message generation (native batch build):   {report.seconds_build:6.2f} s "
        f"({fmt(pushed / max(report.seconds_build, 1e-9))} msg/s)"
    )
    print(f"  deliveries recorded (one tx per chunk):     {report.seconds_store:6.2f} s")
    print(f"  other (NEXT MSK, sorting UEs, schedule):    {other:6.2f} s")
    print(
        f"sending {fmt(sent)} datagrams to a local UDP sink (due rows read, sendmmsg, "
        f"attempts recorded durably): {send_s:.2f} s ({fmt(sent / max(send_s, 1e-9))}/s)"
    )
    print(f"rotation + sending: {total + send_s:.2f} s")
    print(f"  peak RSS: {rss / 1024:.0f} MiB (after setup: {rss_before / 1024:.0f} MiB)")
    graph.close()
    keys.close()
    store.close()
    sink.close()
    shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    h = sub.add_parser("http")
    h.add_argument("--clients", type=int, default=200)
    h.add_argument("--seconds", type=float, default=10.0)
    h.add_argument("--store-dir", default="/dev/shm")
    r = sub.add_parser("rotation")
    r.add_argument("--ues", type=int, default=100_000)
    r.add_argument("--store-dir", default="/dev/shm")
    r.add_argument(
        "--sequential-btids",
        action="store_true",
        help="B-TIDs in registration order (default: random, as GBA makes them)",
    )
    args = p.parse_args()
    cmd_http(args) if args.cmd == "http" else cmd_rotation(args)


if __name__ == "__main__":
    main()
