"""SRTP protect and unprotect next to libsrtp2 (pylibsrtp) and the OpenSSL ceiling, on one core.

    .venv/bin/python benchmarks/compare_srtp.py [--cpu N] [--batch 256] [--payload 1200]

RTP packets of a 12-byte header and a ``--payload``-byte payload (one SSRC, consecutive SEQ)
under AES_CM_128_HMAC_SHA1_80, everything pinned to one CPU (``openssl`` inherits it). Rows:

- ours, native batch:   protect: ``SrtpBatchSender.protect_batch`` end to end (index accounting
                        + the native loop, a fresh sender per run); unprotect:
                        ``broadcast.proto.srtp.batch.unprotect_batch`` (indices known). With a
                        6-byte MKI and without (``mki_len=0``), for each usable HMAC-SHA-1 engine
                        (``sha-ni``: four packets' MACs at once on the x86 SHA extensions;
                        ``openssl``: SHA1_Update on copied SHA_CTX states);
- ours, kernel alone:   ``broadcast._native.srtp_batch.protect_batch`` / ``unprotect_batch`` with
                        precomputed session keys and indices (MKI 6);
- pure (cryptography):  ``SrtpSender.protect`` / ``SrtpReceiver.unprotect`` per packet (pure
                        Python over the ``cryptography`` package), MKI 6;
- pylibsrtp:            ``Session.protect`` / ``Session.unprotect`` per packet (libsrtp2 through
                        cffi, a fresh session per run). It has no MKI API, so the ratio compares
                        our no-MKI path; outputs are checked byte-identical first.
- ceiling:              what OpenSSL's own primitives need per packet on this CPU, from
                        ``openssl speed -evp aes-128-ctr -bytes P`` (P = payload, the encrypted
                        part) and ``openssl speed -evp sha1 -bytes A`` (A = header + payload +
                        ROC, the authenticated part) plus two SHA-1 blocks (the outer hash of
                        HMAC and the padding), the block time from ``-bytes 16384``:
                        ceiling = t_aes(P) + t_sha1(A) + 2 t_block. It is a single-stream bound:
                        the ``sha-ni`` engine hashes four packets at once and goes below it.

Each rate is the best of ``--repeat`` runs. ``--batch`` defaults to 256 packets, the streaming
pipeline's batch; larger batches (``--batch 5000``: 12 MB in and out) add cache misses and page
faults for both us and the peer. pylibsrtp is a bench/test-only dependency; it is skipped when
missing.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from _measure import best_rate, fmt, openssl_speed, pin

from broadcast.proto.srtp import CryptoPolicy, SessionKeys, SrtpReceiver, SrtpSender
from broadcast.proto.srtp import batch as batch_mod
from broadcast.proto.srtp.batch import SrtpBatchSender, unprotect_batch

MKI = bytes.fromhex("000101000003")
MASTER_KEY = bytes(range(1, 17))
MASTER_SALT = bytes(range(40, 54))
SSRC = 0x2A2A2A2A
HEADER = 12
ROC_LEN = 4
SHA1_BLOCK = 64


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


def session_keys(with_mki: bool = True) -> SessionKeys:
    return new_sender(with_mki).keys.get(MKI if with_mki else b"").session_keys(rtcp=False, index=0)


def pure_protect(packets: list[bytes]) -> list[bytes]:
    s = new_sender()
    return [s.protect(p, MKI) for p in packets]


def native_protect(packets: list[bytes], with_mki: bool = True) -> list[bytes]:
    return SrtpBatchSender(new_sender(with_mki)).protect_batch(packets, MKI if with_mki else b"")


def pure_unprotect(srtp: list[bytes]) -> list[bytes]:
    r = SrtpReceiver(CryptoPolicy.aes_cm_128_hmac_sha1_80())
    r.keys.add(MKI, MASTER_KEY, MASTER_SALT)
    return [r.unprotect(p)[0] for p in srtp]


def native_unprotect(
    srtp: list[bytes], indices: list[int], keys: SessionKeys, with_mki: bool = True
) -> list[bytes | None]:
    policy = CryptoPolicy.aes_cm_128_hmac_sha1_80()
    return unprotect_batch(policy, keys, MKI if with_mki else b"", srtp, indices)


def _pylibsrtp_session(outbound: bool) -> object:
    import pylibsrtp  # noqa: PLC0415 - optional, bench-only

    policy = pylibsrtp.Policy(
        key=MASTER_KEY + MASTER_SALT,
        ssrc_type=(
            pylibsrtp.Policy.SSRC_ANY_OUTBOUND if outbound else pylibsrtp.Policy.SSRC_ANY_INBOUND
        ),
        srtp_profile=pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
    )
    return pylibsrtp.Session(policy)


def pylibsrtp_protect(packets: list[bytes]) -> list[bytes]:
    session = _pylibsrtp_session(True)
    protect = session.protect  # type: ignore[attr-defined]
    return [protect(p) for p in packets]


def pylibsrtp_unprotect(srtp: list[bytes]) -> list[bytes]:
    session = _pylibsrtp_session(False)
    unprotect = session.unprotect  # type: ignore[attr-defined]
    return [unprotect(p) for p in srtp]


def ceiling_us(payload: int, seconds: int) -> tuple[float, list[str]]:
    """OpenSSL single-stream µs/packet: AES-CTR over the payload, SHA-1 over header + payload +
    ROC and two more SHA-1 blocks for HMAC; with the commands run."""
    auth_len = HEADER + payload + ROC_LEN
    cmd_aes, aes = openssl_speed(seconds, "-bytes", str(payload), "-evp", "aes-128-ctr")
    cmd_sha, sha = openssl_speed(seconds, "-bytes", str(auth_len), "-evp", "sha1")
    cmd_blk, blk = openssl_speed(seconds, "-bytes", "16384", "-evp", "sha1")
    t_aes = 1e6 / aes[payload]
    t_sha = 1e6 / sha[auth_len]
    t_block = 1e6 / blk[16384] / (16384 // SHA1_BLOCK)
    lines = [
        f"{cmd_aes}: {t_aes:.3f} µs per {payload} bytes",
        f"{cmd_sha}: {t_sha:.3f} µs per {auth_len} bytes",
        f"{cmd_blk}: {1000 * t_block:.1f} ns per 64-byte block",
    ]
    return t_aes + t_sha + 2 * t_block, lines


class Table:
    def __init__(self, ceiling: float, peers: dict[str, float]) -> None:
        self.ceiling = ceiling
        self.peers = peers

    def row(self, label: str, rate: float, peer: str | None = None) -> None:
        us = 1e6 / rate
        ratio = f"{self.peers[peer] / us:6.2f} x" if peer in self.peers else " " * 8
        print(
            f"  {label:<44}{us:7.3f} µs {fmt(rate):>11}/s {100 * self.ceiling / us:5.0f} %"
            f"   {ratio}"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--cpu", type=int, default=None, help="CPU to pin to (default: first allowed)")
    ap.add_argument("--batch", type=int, default=256, help="packets per native/pylibsrtp run")
    ap.add_argument("--pure-batch", type=int, default=256, help="packets per pure run")
    ap.add_argument("--payload", type=int, default=1200, help="RTP payload bytes")
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--openssl-seconds", type=int, default=1)
    args = ap.parse_args(argv)

    cpu = pin(args.cpu)
    native = batch_mod._native
    try:
        import pylibsrtp  # noqa: F401, PLC0415
    except ImportError:
        have_peer = False
    else:
        have_peer = True

    n = args.batch
    packets = rtp_packets(n, args.payload)
    pure_packets = packets[: args.pure_batch]
    indices = [int.from_bytes(p[2:4], "big") for p in packets]
    srtp_mki = native_protect(packets)
    srtp_nomki = native_protect(packets, False)
    keys_mki, keys_nomki = session_keys(True), session_keys(False)
    engines = native.sha1_engines()
    default_engine = native.sha1_engine()

    # Byte-identical first: every engine against the pure path and libsrtp2.
    few = min(200, n)
    for engine in engines:
        native.set_sha1_engine(engine)
        if native_protect(pure_packets[:few]) != pure_protect(pure_packets[:few]):
            raise SystemExit(f"native ({engine}) and pure SRTP packets differ")
        if native_unprotect(srtp_mki, indices, keys_mki) != packets:
            raise SystemExit(f"native ({engine}) unprotect does not give the packets back")
    native.set_sha1_engine(default_engine)
    if have_peer:
        if pylibsrtp_protect(packets[:few]) != srtp_nomki[:few]:
            raise SystemExit("pylibsrtp and native (no MKI) SRTP packets differ")
        if pylibsrtp_unprotect(srtp_nomki[:few]) != packets[:few]:
            raise SystemExit("pylibsrtp does not unprotect our no-MKI packets")

    def rate(fn: Callable[[], object], count: int = n) -> float:
        return best_rate(fn, count, args.repeat)

    peers: dict[str, float] = {}
    if have_peer:
        peers["protect"] = 1e6 / rate(lambda: pylibsrtp_protect(packets))
        peers["unprotect"] = 1e6 / rate(lambda: pylibsrtp_unprotect(srtp_nomki))
    ceiling, ceiling_lines = ceiling_us(args.payload, args.openssl_seconds)
    table = Table(ceiling, peers)

    print(
        f"CPU {cpu}; batches of {n} RTP packets of {HEADER} + {args.payload} bytes, "
        f"AES_CM_128_HMAC_SHA1_80; HMAC-SHA-1 engines: {', '.join(engines)}"
    )
    print("ceiling (OpenSSL primitives, one stream):")
    for line in ceiling_lines:
        print(f"    {line}")
    print(f"    = {ceiling:.3f} µs/packet = {fmt(1e6 / ceiling)} packets/s")
    print(f"  {'':<44}{'µs/packet':>10} {'packets':>11}/s  ceiling  vs pylibsrtp")

    k_e, k_s, k_a = (bytes(k) for k in (keys_mki.encryption_key, keys_mki.salt, keys_mki.auth_key))
    kargs = (k_e, k_s, k_a, MKI, True, 1, 10, 1)
    for op in ("protect", "unprotect"):
        print(f"{op}:")
        for engine in engines:
            native.set_sha1_engine(engine)
            if op == "protect":
                with_mki = rate(lambda: native_protect(packets))
                no_mki = rate(lambda: native_protect(packets, False))
                kernel = rate(lambda: native.protect_batch(*kargs, packets, indices))
            else:
                with_mki = rate(lambda: native_unprotect(srtp_mki, indices, keys_mki))
                no_mki = rate(lambda: native_unprotect(srtp_nomki, indices, keys_nomki, False))
                kernel = rate(lambda: native.unprotect_batch(*kargs, srtp_mki, indices))
            table.row(f"ours, native batch, {engine} (MKI 6)", with_mki, op)
            table.row(f"ours, native batch, {engine} (no MKI)", no_mki, op)
            table.row(f"ours, kernel alone, {engine} (MKI 6)", kernel, op)
        native.set_sha1_engine(default_engine)
        if op == "protect":
            pure = best_rate(lambda: pure_protect(pure_packets), len(pure_packets), 5)
        else:
            pure = best_rate(
                lambda: pure_unprotect(srtp_mki[: len(pure_packets)]), len(pure_packets), 5
            )
        table.row("pure, per packet over cryptography (MKI 6)", pure, op)
        if have_peer:
            table.row("pylibsrtp (libsrtp2), per packet (no MKI)", 1e6 / peers[op], op)
        else:
            print("  pylibsrtp not installed: peer comparison skipped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
