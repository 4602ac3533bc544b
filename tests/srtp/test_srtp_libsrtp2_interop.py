"""Interop with Debian's libsrtp2 (libsrtp2-1, 2.5) through ctypes (helper: ``libsrtp2.py``).

Both directions, SRTP and SRTCP, the profile's 6-byte MKI, two master keys switched by MKI,
AES_CM_128_HMAC_SHA1_80 / _32 and NULL-cipher HMAC-SHA1-80; SEQ runs across a wrap so both
sides move the ROC to 1. libsrtp2 has no RCC (RFC 4771), so RCC is not part of the interop.
A missing library is a failure, never a skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from testkit import load_module

from broadcast.proto.keys import MskId, Mtk, MtkId, SrtpSalt, srtp_mki
from broadcast.proto.srtp import Cipher, CryptoPolicy, SrtpReceiver, SrtpSender

pytestmark = pytest.mark.interop


ls2 = load_module(Path(__file__).with_name("libsrtp2.py"), "mbms_srtp_libsrtp2")

MSK = MskId(0x0102, 0x0304)
KEYS = [
    (
        Mtk(bytes.fromhex("E1F97A0D3E018BE0D64FA32C06DE4139")),
        SrtpSalt(bytes.fromhex("0EC675AD498AFEEBB6960B3AABE6")),
    ),
    (Mtk(bytes(range(0x20, 0x30))), SrtpSalt(bytes(range(0x40, 0x4E)))),
]
MKIS = [srtp_mki(MSK, MtkId(0x0011)), srtp_mki(MSK, MtkId(0x0012))]
SSRC = 0x1234ABCD

POLICIES = {
    "aes_cm_128_hmac_sha1_80": CryptoPolicy.aes_cm_128_hmac_sha1_80(),
    "aes_cm_128_hmac_sha1_32": CryptoPolicy.aes_cm_128_hmac_sha1_32(),
    "null_cipher_hmac_sha1_80": CryptoPolicy(srtp_cipher=Cipher.NULL, srtcp_encrypt=False),
}


@pytest.fixture(scope="module")
def lib() -> Any:
    return ls2.LibSrtp2()


def libsrtp_keys() -> list[tuple[bytes, bytes]]:
    return [(k.secret + s.secret, mki) for (k, s), mki in zip(KEYS, MKIS, strict=True)]


def ours(policy: CryptoPolicy) -> tuple[SrtpSender, SrtpReceiver]:
    sender, receiver = SrtpSender(policy), SrtpReceiver(policy)
    for ctx in (sender, receiver):
        for (key, salt), mki in zip(KEYS, MKIS, strict=True):
            ctx.keys.add(mki, key, salt)
    return sender, receiver


def rtp_packets() -> Iterator[tuple[bytes, int]]:
    """(RTP packet, master key number): 24 packets over the SEQ wrap, key switch at SEQ 2."""
    for n in range(24):
        seq = (65526 + n) & 0xFFFF
        header = bytes((0x80, 0x60)) + seq.to_bytes(2, "big") + (n * 3000).to_bytes(4, "big")
        header += SSRC.to_bytes(4, "big")
        if n == 5:  # one packet with a CSRC and a header extension (left in clear)
            header = (
                bytes((0x91,))
                + header[1:]
                + b"\x0a\x0b\x0c\x0d"
                + b"\xbe\xde\x00\x01\x10\xaa\x00\x00"
            )
        payload = bytes((n + i) & 0xFF for i in range(40 + 7 * n))
        yield header + payload, 0 if n < 12 else 1


def rtcp_packets() -> Iterator[tuple[bytes, int]]:
    for n in range(6):
        body = bytes((0x80, 200, 0, 6)) + SSRC.to_bytes(4, "big") + bytes([n]) * 20
        yield body, 0 if n < 3 else 1


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_libsrtp2_decrypts_our_srtp_with_mki_and_key_switch(lib: Any, name: str) -> None:
    sender, _ = ours(POLICIES[name])
    with lib.session(outbound=False, keys=libsrtp_keys(), policy=name) as rx:
        for rtp, k in rtp_packets():
            srtp = sender.protect(rtp, MKIS[k])
            assert MKIS[k] in srtp[len(rtp) :]
            assert rx.unprotect(srtp) == rtp
    assert sender.roc(SSRC) == 1


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_we_decrypt_libsrtp2_srtp_and_bytes_are_identical(lib: Any, name: str) -> None:
    sender, receiver = ours(POLICIES[name])
    with lib.session(outbound=True, keys=libsrtp_keys(), policy=name) as tx:
        for rtp, k in rtp_packets():
            theirs = tx.protect(rtp, k)
            assert theirs == sender.protect(rtp, MKIS[k])  # same keys, same index: same bytes
            assert receiver.unprotect(theirs) == (rtp, MKIS[k])
    assert receiver.roc(SSRC) == 1
    assert receiver.keys.usage(MKIS[0]).srtp_packets == 12
    assert receiver.keys.usage(MKIS[1]).srtp_packets == 12


def libsrtp2_has_rtcp_mki_bug(lib: Any) -> bool:
    """cisco/libsrtp#733 (fixed after 2.5.0, PR #737): ``srtp_unprotect_rtcp_mki`` finds the MKI
    with the *RTP* tag length, so SRTP-32 / SRTCP-80 sessions reject every SRTCP packet with
    ``bad_mki`` — libsrtp2's own packets included. Probe libsrtp2 against itself only."""
    name = "aes_cm_128_hmac_sha1_32"
    rtcp, _ = next(rtcp_packets())
    with lib.session(outbound=True, keys=libsrtp_keys(), policy=name) as tx:
        own = tx.protect_rtcp(rtcp, 0)
    with lib.session(outbound=False, keys=libsrtp_keys(), policy=name) as rx:
        try:
            rx.unprotect_rtcp(own)
        except ls2.LibSrtpError as exc:
            assert exc.status == ls2.ERR_BAD_MKI
            return True
    return False


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_libsrtp2_decrypts_our_srtcp_with_mki(lib: Any, name: str) -> None:
    sender, _ = ours(POLICIES[name])
    rx_policy = name
    if name == "aes_cm_128_hmac_sha1_32" and libsrtp2_has_rtcp_mki_bug(lib):
        # Same SRTCP transform (rtcp_default = AES-CM + HMAC-SHA1-80) with an RTP tag length
        # that does not trip libsrtp2's MKI lookup.
        rx_policy = "aes_cm_128_hmac_sha1_80"
    with lib.session(outbound=False, keys=libsrtp_keys(), policy=rx_policy) as rx:
        for rtcp, k in rtcp_packets():
            srtcp = sender.protect_rtcp(rtcp, MKIS[k])
            assert srtcp[-16:-10] == MKIS[k]
            assert rx.unprotect_rtcp(srtcp) == rtcp


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_we_decrypt_libsrtp2_srtcp(lib: Any, name: str) -> None:
    sender, receiver = ours(POLICIES[name])
    sender.protect_rtcp(next(rtcp_packets())[0], MKIS[0])  # libsrtp2's first SRTCP index is 1
    with lib.session(outbound=True, keys=libsrtp_keys(), policy=name) as tx:
        for rtcp, k in rtcp_packets():
            theirs = tx.protect_rtcp(rtcp, k)
            assert theirs == sender.protect_rtcp(rtcp, MKIS[k])
            assert receiver.unprotect_rtcp(theirs) == (rtcp, MKIS[k])


def test_libsrtp2_rejects_our_tampered_packets(lib: Any) -> None:
    sender, _ = ours(CryptoPolicy())
    rtp, _k = next(rtp_packets())
    srtp = bytearray(sender.protect(rtp, MKIS[0]))
    srtp[20] ^= 1
    with lib.session(outbound=False, keys=libsrtp_keys()) as rx:
        with pytest.raises(ls2.LibSrtpError) as info:
            rx.unprotect(bytes(srtp))
        assert info.value.status == ls2.ERR_AUTH_FAIL
        unknown = bytes(srtp[:-16]) + b"\xff" * 6 + bytes(srtp[-10:])
        with pytest.raises(ls2.LibSrtpError) as info:
            rx.unprotect(unknown)
        assert info.value.status == ls2.ERR_BAD_MKI


def test_library_version(lib: Any) -> None:
    assert lib.version.startswith("libsrtp2 2.")
