"""atheris harness for the MBMS MIKEY receive path: only MikeyError may escape.

Input: one mode byte, then a MIKEY message. Mode bit 0 clear: the message goes as is through
``envelope()`` and the ``open_*`` function of its kind with fixed keys (the MAC check stops nearly
everything). Mode bit 0 set: the harness first re-computes the KEMAC MAC with the fixed key, so the
fuzzer also reaches decryption, Key data decoding and the SRTP policy reader (seed it with
messages whose KEMAC uses NULL encryption to let it shape the Key data).

Run: PYTHONPATH=<repo root> python tests/fuzz/fuzz_mikey.py -max_total_time=60 <corpus dir>
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from broadcast.proto.keys import KeyDomainId, Msk, MskId, MtkId, Muk, MukId
    from broadcast.proto.mikey import (
        Envelope,
        Kind,
        MikeyError,
        build_msk_message,
        envelope,
        open_msk_message,
        open_mtk_message,
        open_solicited_pull,
        verify_ack,
    )
    from broadcast.proto.mikey.constants import MacAlg
    from broadcast.proto.mikey.payloads import Kemac
    from broadcast.proto.mikey.prf import message_keys
    from broadcast.proto.mikey.transforms import MAC_LEN, hmac_sha1_160

#: The fixed keys; the seed corpus (tests/fuzz/test_fuzz_mikey.py) uses the same ones.
MUK = Muk(bytes.fromhex("6d1c0b0e7a3f49e2b5c4d8a19f20e7c3"))
MSK = Msk(bytes.fromhex("3a9e51c07b2d48f6a1e0c9d7b5f34a82"))
MUK_ID = MukId(b"bmsc.example.org", b"btid-0001@bsf.example")
#: The MSK message an ACK is checked against.
ACKED = envelope(
    build_msk_message(
        muk=MUK,
        muk_id=MUK_ID,
        key_domain_id=KeyDomainId.from_plmn("001", "01"),
        msk_id=MskId(0x0102, 0x0003),
        msk=MSK,
        valid_from=MtkId(1),
        valid_to=MtkId(100),
        counter=1,
        csb_id=0x5EED0001,
        rand=bytes(range(16)),
        ack=True,
    )
)


def _inkey(env: Envelope) -> bytes:
    return MSK.secret if env.kind is Kind.MTK else MUK.secret


def _resign(env: Envelope) -> Envelope:
    """The same message with a KEMAC MAC that verifies under the fixed key."""
    kemac = env.message.first(Kemac)
    if kemac is None or kemac.mac_alg != MacAlg.HMAC_SHA1_160 or env.rand is None:
        return env
    keys = message_keys(_inkey(env), env.csb_id, env.rand)
    body = env.message.authenticated_bytes()
    assert len(body) + MAC_LEN == len(env.message.raw or b"")
    return envelope(body + hmac_sha1_160(keys.auth_key, body))


def _open(env: Envelope) -> None:
    if env.kind is Kind.MSK:
        open_msk_message(env, MUK)
    elif env.kind is Kind.MTK:
        open_mtk_message(env, MSK)
    elif env.kind is Kind.SOLICITED_PULL:
        open_solicited_pull(env, MUK)
    else:
        verify_ack(env, ACKED, MUK)


def TestOneInput(data: bytes) -> None:
    if not data:
        return
    mode, message = data[0], data[1:]
    try:
        env = envelope(message)
        if mode & 1 and env.kind is not Kind.ACK:
            env = _resign(env)
        _open(env)
    except MikeyError:
        pass


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
