"""SRTP protect throughput next to libsrtp2 (pylibsrtp) and OpenSSL, in one run on one core.

    .venv/bin/python benchmarks/compare_srtp.py [--cpu N] [--batch 5000] [--payload 1200]

Measures packets/s for RTP packets with a ``--payload``-byte payload (12-byte header, one SSRC,
consecutive SEQ) under AES_CM_128_HMAC_SHA1_80, pinned to one CPU (``openssl`` inherits it):

- pure:        ``SrtpSender.protect`` per packet (pure Python over ``cryptography``), 6-byte MKI;
- native:      ``SrtpBatchSender.protect_batch`` end to end (Python index accounting + the
               native loop), 6-byte MKI, and the same without MKI (``mki_len=0``);
- kernel:      ``broadcast._native.srtp_batch.protect_batch`` alone (indices precomputed);
- pylibsrtp:   ``pylibsrtp.Session.protect`` per packet (libsrtp2 through cffi). It has no MKI
               API, so the native/pylibsrtp ratio compares the no-MKI native path; the two
               outputs are checked to be byte-identical first.
- ceiling:     ``openssl speed -evp aes-128-ctr`` bytes/s at the largest block size, as packets/s
               of the payload size (AES only; SRTP adds an HMAC-SHA1 over the whole packet).

Each rate is the best of ``--repeat`` runs; every run uses a fresh context (a sender never
re-protects an index). pylibsrtp is a bench/test-only dependency (``pip install pylibsrtp``); it
is skipped when missing.
"""

from __future__ import annotations

import argparse
import sys

from _measure import best_rate, fmt, openssl_speed, pin

from broadcast.srtp import CryptoPolicy, SrtpSender
from broadcast.srtp import batch as batch_mod
from broadcast.srtp.batch import SrtpBatchSender

MKI = bytes.fromhex("000101000003")
MASTER_KEY = bytes(range(1, 17))
MASTER_SALT = bytes(range(40, 54))
SSRC = 0x2A2A2A2A


def rtp_packets(n: int, payload: int, first_seq: int = 1) -> list[bytes]:
    """``n`` RTP packets (V=2, PT 96, one SSRC, consecutive SEQ) with ``payload`` bytes each."""
    body = bytes((i * 7) & 0xFF for i in range(payload))
    return [
        bytes([0x80, 96])
        + ((first_seq + k) & 0xFFFF).to_bytes(2, "big")
        + (k * 160).to_bytes(4, "big")
        + SSRC.to_bytes(4, "big")
        + body
        for k in range(n)
    ]


def new_sender(with_mki: bool = True) -> SrtpSender:
    policy = CryptoPolicy.aes_cm_128_hmac_sha1_80()
    if with_mki:
        s = SrtpSender(policy)
        s.keys.add(MKI, MASTER_KEY, MASTER_SALT)
    else:
        s = SrtpSender(policy, mki_len=0, key_capacity=1)
        s.keys.add(b"", MASTER_KEY, MASTER_SALT)
    return s


def pure_protect(packets: list[bytes]) -> list[bytes]:
    s = new_sender()
    return [s.protect(p, MKI) for p in packets]


def native_protect(packets: list[bytes], with_mki: bool = True) -> list[bytes]:
    return SrtpBatchSender(new_sender(with_mki)).protect_batch(packets, MKI if with_mki else b"")


def pylibsrtp_protect(packets: list[bytes]) -> list[bytes]:
    import pylibsrtp  # noqa: PLC0415 - optional, bench-only

    policy = pylibsrtp.Policy(
        key=MASTER_KEY + MASTER_SALT,
        ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND,
        srtp_profile=pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
    )
    session = pylibsrtp.Session(policy)
    return [session.protect(p) for p in packets]


def openssl_aes_ctr(seconds: int) -> tuple[str, int, float]:
    """``openssl speed -evp aes-128-ctr``: (command, largest block size, bytes/s at it)."""
    cmd, per_size = openssl_speed(seconds, "-evp", "aes-128-ctr")
    size = max(per_size)
    return cmd, size, per_size[size] * size


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--cpu", type=int, default=None, help="CPU to pin to (default: first allowed)")
    ap.add_argument("--batch", type=int, default=5_000, help="packets per native/pylibsrtp run")
    ap.add_argument("--pure-batch", type=int, default=1_000, help="packets per pure run")
    ap.add_argument("--payload", type=int, default=1200, help="RTP payload bytes")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--openssl-seconds", type=int, default=2)
    args = ap.parse_args(argv)

    cpu = pin(args.cpu)
    native = batch_mod._native
    if native is None:
        print("broadcast._native.srtp_batch is not built", file=sys.stderr)
        return 2

    packets = rtp_packets(args.batch, args.payload)
    pure_packets = packets[: args.pure_batch]
    if native_protect(pure_packets[:200]) != pure_protect(pure_packets[:200]):
        raise SystemExit("native and pure SRTP packets differ")

    pure = best_rate(lambda: pure_protect(pure_packets), len(pure_packets), args.repeat)
    nat = best_rate(lambda: native_protect(packets), len(packets), args.repeat)
    nat_nomki = best_rate(lambda: native_protect(packets, False), len(packets), args.repeat)
    keys = new_sender().keys.get(MKI).session_keys(rtcp=False, index=0)
    kargs = (keys.encryption_key, keys.salt, keys.auth_key, MKI, True, 1, 10, 1)
    indices = [int.from_bytes(p[2:4], "big") for p in packets]
    kernel = best_rate(lambda: native.protect_batch(*kargs, packets, indices), len(packets), 7)

    print(
        f"CPU {cpu}, {len(packets)} packets of 12 + {args.payload} bytes, AES_CM_128_HMAC_SHA1_80"
    )
    print(f"  pure (SrtpSender.protect, MKI 6)         {fmt(pure):>12} packets/s")
    print(f"  native batch end to end (MKI 6)          {fmt(nat):>12} packets/s")
    print(f"  native batch end to end (no MKI)         {fmt(nat_nomki):>12} packets/s")
    print(f"  native kernel alone (MKI 6)              {fmt(kernel):>12} packets/s")
    print(f"  ratio native/pure (MKI 6)                {nat / pure:>12.1f} x")

    try:
        import pylibsrtp  # noqa: F401, PLC0415
    except ImportError:
        print("  pylibsrtp not installed: peer comparison skipped")
    else:
        if pylibsrtp_protect(packets[:200]) != native_protect(packets[:200], False):
            raise SystemExit("pylibsrtp and native (no MKI) SRTP packets differ")
        peer = best_rate(lambda: pylibsrtp_protect(packets), len(packets), args.repeat)
        print(f"  pylibsrtp Session.protect (no MKI)       {fmt(peer):>12} packets/s")
        print(f"  ratio native/pylibsrtp (both no MKI)     {nat_nomki / peer:>12.2f} x")

    cmd, size, bps = openssl_aes_ctr(args.openssl_seconds)
    pkt_bytes = args.payload
    print(f"  ceiling: {cmd}")
    print(
        f"    {fmt(bps)} bytes/s at {size}-byte blocks = {fmt(bps / pkt_bytes)} "
        f"{pkt_bytes}-byte payloads/s (AES only); native e2e reaches "
        f"{100 * nat * pkt_bytes / bps:.0f}% of it"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
