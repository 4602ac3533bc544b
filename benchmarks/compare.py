"""MIKEY throughput next to OpenSSL's own numbers, in one run on one core.

    .venv/bin/python benchmarks/compare.py [--cpu N] [--batch 10000] [--openssl-seconds 2]

Measures, pinned to one CPU (the ``openssl`` children inherit the affinity):

(a) MSK delivery messages built + protected per second: the pure-Python reference
    (``build_msk_messages(native=False)``, i.e. a loop over ``build_msk_message``) vs the native
    batch (``build_msk_messages``, end to end: validation, template, native loop, self-check) and
    the native loop alone (``broadcast._native.mikey_batch.build_msk_batch``);
(b) the peer baseline: ``openssl speed -seconds S -mr -evp sha1``, ``... -hmac sha1`` and
    ``... -evp aes-128-ctr`` (64-byte blocks). OpenSSL 3.0 accepts ``-evp sha1`` and
    ``-hmac sha1``; ``-mr`` only makes the output machine-readable. The native MSK message cost
    is then given in HMAC-SHA1-equivalents = (HMAC 64-byte ops/s) / (MSK msgs/s) and against
    the theoretical 7 HMACs + 1 AES per message (6 HMACs for the three PRF outputs of RFC 3830
    §4.1.4 under the MUK, 1 for the KEMAC MAC; one AES-CM over the key data);
(c) MTK delivery messages built per second and parsed + verified per second (pure Python).

Each rate is the best of several repetitions (the machine may be shared).
"""

from __future__ import annotations

import argparse
import platform
import shutil
import subprocess
import sys
from typing import Any

from _measure import best_rate, fmt, openssl_speed, pin
from _workload import msk_push_round, mtk_message_kwargs

from broadcast.proto.mikey import batch as batch_mod
from broadcast.proto.mikey import build_mtk_message, envelope, open_mtk_message
from broadcast.proto.mikey.batch import build_msk_messages

#: HMACs and AES operations per MSK message in the theoretical floor.
HMACS_PER_MSK = 7
AES_PER_MSK = 1
TARGET_NATIVE_MSK_PER_S = 200_000


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--cpu", type=int, default=None, help="CPU to pin to (default: first allowed)")
    ap.add_argument("--batch", type=int, default=10_000, help="native MSK batch size")
    ap.add_argument("--pure-batch", type=int, default=2_000, help="pure MSK batch size")
    ap.add_argument("--openssl-seconds", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args(argv)

    cpu = pin(args.cpu)
    native = batch_mod._native

    # (a) MSK push rounds -----------------------------------------------------------------
    targets, common = msk_push_round(max(args.batch, args.pure_batch))
    native_targets, pure_targets = targets[: args.batch], targets[: args.pure_batch]
    check = build_msk_messages(pure_targets[:100], **common, native=False)
    if build_msk_messages(native_targets[:100], **common) != check:
        raise SystemExit("native and pure MSK messages differ")
    pure = best_rate(
        lambda: build_msk_messages(pure_targets, **common, native=False),
        len(pure_targets),
        max(2, args.repeat // 2),
    )
    e2e = best_rate(lambda: build_msk_messages(native_targets, **common), args.batch, args.repeat)
    cols = batch_mod._validate(native_targets)
    first = build_msk_messages(native_targets[:1], **common)[0]
    segments, key_data = batch_mod._template(first, native_targets[0])
    kernel_args: tuple[Any, ...] = (
        segments,
        key_data,
        cols.muks,
        cols.csb_ids,
        cols.counters,
        cols.rands,
        cols.idrs,
    )
    kernel = best_rate(lambda: native.build_msk_batch(*kernel_args), args.batch, args.repeat)

    # (c) MTK messages ---------------------------------------------------------------------
    mtk_kwargs = mtk_message_kwargs()
    mtk_msg = build_mtk_message(**mtk_kwargs)
    msk = mtk_kwargs["msk"]
    loops = 3_000

    def mtk_build_loop() -> None:
        for _ in range(loops):
            build_mtk_message(**mtk_kwargs)

    def mtk_open_loop() -> None:
        for _ in range(loops):
            open_mtk_message(envelope(mtk_msg), msk)

    mtk_build = best_rate(mtk_build_loop, loops, 3)
    mtk_open = best_rate(mtk_open_loop, loops, 3)

    # (b) OpenSSL baseline -----------------------------------------------------------------
    if shutil.which("openssl") is None:
        raise SystemExit("openssl not on PATH")
    secs = args.openssl_seconds
    sha_cmd, sha = openssl_speed(secs, "-evp", "sha1")
    hmac_cmd, hmac = openssl_speed(secs, "-hmac", "sha1")
    aes_cmd, aes = openssl_speed(secs, "-evp", "aes-128-ctr")
    hmac64, sha64, aes64 = hmac[64], sha[64], aes[64]
    theory = 1.0 / (HMACS_PER_MSK / hmac64 + AES_PER_MSK / aes64)
    version = subprocess.run(
        ["openssl", "version"], capture_output=True, text=True, check=True
    ).stdout

    # report -------------------------------------------------------------------------------
    print(f"# compare.py — one core (CPU {cpu}), {platform.processor() or platform.machine()}")
    print(f"# Python {platform.python_version()}, {version.strip()}")
    print(f"# MSK batch: native {args.batch} targets, pure {args.pure_batch}; best of runs")
    for cmd in (sha_cmd, hmac_cmd, aes_cmd):
        print(f"# {cmd}")
    rows: list[tuple[str, str, str]] = [
        ("(a) MSK msgs/s, pure Python (loop of build_msk_message)", fmt(pure), "1.0x"),
        (
            "(a) MSK msgs/s, native batch end to end (build_msk_messages)",
            fmt(e2e),
            f"{e2e / pure:.1f}x pure",
        ),
        (
            "(a) MSK msgs/s, native loop only (build_msk_batch)",
            fmt(kernel),
            f"{kernel / pure:.1f}x pure",
        ),
        ("(b) openssl sha1, 64-byte ops/s", fmt(sha64), ""),
        ("(b) openssl hmac(sha1), 64-byte ops/s", fmt(hmac64), ""),
        ("(b) openssl aes-128-ctr, 64-byte ops/s", fmt(aes64), ""),
        (
            "(b) native MSK msg cost, HMAC-SHA1-equivalents (end to end)",
            f"{hmac64 / e2e:.2f}",
            f"{hmac64 / e2e / HMACS_PER_MSK:.2f}x the 7 of the floor",
        ),
        (
            "(b) native MSK msg cost, HMAC-SHA1-equivalents (loop only)",
            f"{hmac64 / kernel:.2f}",
            f"{hmac64 / kernel / HMACS_PER_MSK:.2f}x the 7 of the floor",
        ),
        (
            "(b) theoretical floor 7 HMAC + 1 AES, msgs/s",
            fmt(theory),
            f"native e2e = {e2e / theory:.0%}, loop = {kernel / theory:.0%} of it",
        ),
        ("(c) MTK msgs/s built (build_mtk_message, streaming)", fmt(mtk_build), ""),
        (
            "(c) MTK msgs/s parsed + verified (envelope + open_mtk_message)",
            fmt(mtk_open),
            f"{mtk_open / mtk_build:.2f}x build",
        ),
    ]
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    print(f"{'metric':<{w0}}  {'value':>{w1}}  ratio")
    print("-" * (w0 + w1 + 30))
    for name, value, ratio in rows:
        print(f"{name:<{w0}}  {value:>{w1}}  {ratio}")
    verdict = "met" if e2e >= TARGET_NATIVE_MSK_PER_S else "NOT met"
    print(f"\ntarget >= {TARGET_NATIVE_MSK_PER_S:,} native MSK msgs/s per core: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
