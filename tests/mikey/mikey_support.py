"""Shared fixed keys, identifiers and message builders for the tests/mikey modules.

Not a test module (no ``test_`` prefix): the test modules import it by name, which works because
pytest puts this rootless directory on ``sys.path`` (default "prepend" import mode).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from broadcast.proto.keys import KeyDomainId, Msk, MskId, Mtk, MtkId, Muk, MukId, SrtpSalt
from broadcast.proto.mikey import (
    MikeyError,
    SrtpPolicy,
    build_msk_message,
    build_mtk_message,
    build_solicited_pull,
)
from broadcast.proto.mikey.constants import EncrAlg, MacAlg
from broadcast.proto.mikey.message import Message
from broadcast.proto.mikey.payloads import Header, Kemac, Payload, SrtpCs
from broadcast.proto.mikey.prf import message_keys
from broadcast.proto.mikey.transforms import MAC_LEN, aes_cm, hmac_sha1_160, kemac_iv

# Random-looking, pairwise distinct keys: their hex must never show up in reprs or errors.
MUK_BYTES = bytes.fromhex("6d1c0b0e7a3f49e2b5c4d8a19f20e7c3")
MUK2_BYTES = bytes.fromhex("b8e24f61c09a3d75e1f2a4c6d8b03957")
MSK_BYTES = bytes.fromhex("3a9e51c07b2d48f6a1e0c9d7b5f34a82")
MSK2_BYTES = bytes.fromhex("5f0c8a2e9d417b36c2e8a0f4d6b19e73")
MTK_BYTES = bytes.fromhex("c47f2e9a1b5d3086f9e1a2c4d7b80e5f")
SALT_BYTES = bytes.fromhex("0e7b3c9d5a1f2468ace0bd13579b")
SECRETS = (MUK_BYTES, MUK2_BYTES, MSK_BYTES, MSK2_BYTES, MTK_BYTES, SALT_BYTES)

MUK = Muk(MUK_BYTES)
MUK2 = Muk(MUK2_BYTES)
MSK = Msk(MSK_BYTES)
MSK2 = Msk(MSK2_BYTES)
MTK = Mtk(MTK_BYTES)
SALT = SrtpSalt(SALT_BYTES)

MUK_ID = MukId.of("bmsc.mbms.mnc001.mcc001.pub.3gppnetwork.org", "btid-0001@bsf.example")
KDID = KeyDomainId.from_plmn("001", "01")
MSK_ID = MskId(0x0102, 0x0003)
KEY_GROUP = 0x0102
RAND = bytes(range(0x10, 0x20))
RAND2 = bytes(range(0x80, 0x90))
CSB = 0x5EED0001
SESSIONS = (SrtpCs(0, 0xDEADBEEF, 5), SrtpCs(0, 0, 0))


def msk_message(
    *,
    counter: int = 1,
    ack: bool = False,
    policy: SrtpPolicy | None = None,
    vf: int = 1,
    vt: int = 100,
    muk: Muk = MUK,
    msk: Msk = MSK,
    msk_id: MskId = MSK_ID,
    rand: bytes = RAND,
    csb_id: int = CSB,
) -> bytes:
    return build_msk_message(
        muk=muk,
        muk_id=MUK_ID,
        key_domain_id=KDID,
        msk_id=msk_id,
        msk=msk,
        valid_from=MtkId(vf),
        valid_to=MtkId(vt),
        counter=counter,
        csb_id=csb_id,
        rand=rand,
        ack=ack,
        srtp_policy=policy,
    )


def mtk_message(
    *,
    mtk_id: int = 1,
    counter: int = 1,
    streaming: bool = True,
    msk: Msk = MSK,
    msk_id: MskId = MSK_ID,
    mtk: Mtk = MTK,
    rand: bytes = RAND,
) -> bytes:
    return build_mtk_message(
        msk=msk,
        key_domain_id=KDID,
        msk_id=msk_id,
        mtk_id=MtkId(mtk_id),
        mtk=mtk,
        counter=counter,
        rand=rand,
        salt=SALT if streaming else None,
        srtp_sessions=SESSIONS if streaming else (),
    )


def pull_message(*, counter: int = 1, muk: Muk = MUK, rand: bytes = RAND) -> bytes:
    return build_solicited_pull(
        muk=muk,
        muk_id=MUK_ID,
        key_domain_id=KDID,
        key_group=KEY_GROUP,
        counter=counter,
        csb_id=CSB,
        rand=rand,
    )


def protect(
    header: Header,
    payloads: Iterable[Payload],
    inkey: bytes,
    plain_key_data: bytes,
    *,
    counter: int,
    rand: bytes,
    encr_alg: int = EncrAlg.AES_CM_128,
) -> bytes:
    """Any message with a KEMAC that verifies under ``inkey`` (test-side twin of mbms._protect).

    Lets tests feed authenticated but otherwise arbitrary content to the ``open_*`` functions.
    """
    keys = message_keys(inkey, header.csb_id, rand)
    if encr_alg == EncrAlg.AES_CM_128:
        encr = aes_cm(
            keys.encr_key, kemac_iv(keys.salt_key, header.csb_id, counter), plain_key_data
        )
    else:
        encr = plain_key_data
    kemac = Kemac(encr_alg, encr, MacAlg.HMAC_SHA1_160, bytes(MAC_LEN))
    body = Message(header, (*payloads, kemac)).encode()[:-MAC_LEN]
    return body + hmac_sha1_160(keys.auth_key, body)


def secret_spellings() -> list[str]:
    """Every way a secret could be spelled in text: hex (both cases) and the bytes repr."""
    out: list[str] = []
    for s in SECRETS:
        out += [s.hex(), s.hex().upper(), repr(s)[2:-1]]
    return out


def assert_no_secret(text: str) -> None:
    for spelling in secret_spellings():
        assert spelling not in text, f"key material in text: {text!r}"


def only_mikey_errors(fn: Callable[[], object]) -> MikeyError | None:
    """Run ``fn``; a MikeyError is returned (after the no-key-in-text check), anything else
    propagates and fails the calling test."""
    try:
        fn()
    except MikeyError as exc:
        assert_no_secret(str(exc))
        assert_no_secret(repr(exc))
        return exc
    return None


def payload_offsets(raw: bytes) -> list[int]:
    """Offsets of every next-payload byte of a valid message: HDR's (2) and each payload's first."""
    msg = Message.decode(raw)
    pos = len(msg.header.encode(0))
    out = [2]
    for p in msg.payloads:
        out.append(pos)
        pos += 1 + len(p.encode_body())
    return out
