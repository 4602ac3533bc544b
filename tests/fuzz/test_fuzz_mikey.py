"""Runs the atheris harness fuzz_mikey.py for a bounded time on a seed corpus of valid messages."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import atheris  # noqa: F401  (the project installs it: a missing fuzzer is an error, not a skip)
import pytest
from testkit import child_env

from broadcast.proto.keys import KeyDomainId, Msk, MskId, Mtk, MtkId, Muk, MukId, SrtpSalt
from broadcast.proto.mikey import (
    SrtpPolicy,
    build_ack,
    build_msk_message,
    build_mtk_message,
    build_solicited_pull,
    envelope,
)
from broadcast.proto.mikey.constants import EncrAlg, KeyDataType
from broadcast.proto.mikey.message import Message
from broadcast.proto.mikey.payloads import (
    Kemac,
    KeyData,
    KvInterval,
    KvSpi,
    SrtpCs,
    encode_key_data,
)

HERE = Path(__file__).resolve().parent
HARNESS = HERE / "fuzz_mikey.py"

# The harness's fixed keys and identities (fuzz_mikey.py).
MUK = Muk(bytes.fromhex("6d1c0b0e7a3f49e2b5c4d8a19f20e7c3"))
MSK = Msk(bytes.fromhex("3a9e51c07b2d48f6a1e0c9d7b5f34a82"))
MUK_ID = MukId(b"bmsc.example.org", b"btid-0001@bsf.example")
KDID = KeyDomainId.from_plmn("001", "01")
MSK_ID = MskId(0x0102, 0x0003)
MTK = Mtk(bytes(range(0x40, 0x50)))
SALT = SrtpSalt(bytes(range(0x60, 0x6E)))
RAND = bytes(range(16))


def _msk(counter: int, *, ack: bool, policy: SrtpPolicy | None) -> bytes:
    return build_msk_message(
        muk=MUK,
        muk_id=MUK_ID,
        key_domain_id=KDID,
        msk_id=MSK_ID,
        msk=MSK,
        valid_from=MtkId(1),
        valid_to=MtkId(100),
        counter=counter,
        csb_id=0x5EED0001,
        rand=RAND,
        ack=ack,
        srtp_policy=policy,
    )


def _mtk(counter: int, *, streaming: bool) -> bytes:
    return build_mtk_message(
        msk=MSK,
        key_domain_id=KDID,
        msk_id=MSK_ID,
        mtk_id=MtkId(counter),
        mtk=MTK,
        counter=counter,
        rand=RAND,
        salt=SALT if streaming else None,
        srtp_sessions=(SrtpCs(0, 0x1234, 0),) if streaming else (),
    )


def _null_encrypted(raw: bytes, key_data: KeyData) -> bytes:
    """The same message with the Key data in clear (KEMAC Encr alg NULL); the MAC is stale; the
    harness re-signs it in mode 1."""
    msg = Message.decode(raw)
    kemac = msg.payloads[-1]
    assert isinstance(kemac, Kemac)
    clear = Kemac(EncrAlg.NULL, encode_key_data([key_data]), kemac.mac_alg, kemac.mac)
    return Message(msg.header, (*msg.payloads[:-1], clear)).encode()


def seed_messages() -> list[bytes]:
    msk_ack = _msk(1, ack=True, policy=SrtpPolicy())
    messages = [
        _msk(2, ack=False, policy=None),
        msk_ack,
        _mtk(1, streaming=True),
        _mtk(2, streaming=False),
        build_solicited_pull(
            muk=MUK,
            muk_id=MUK_ID,
            key_domain_id=KDID,
            key_group=MSK_ID.key_group,
            counter=3,
            csb_id=7,
            rand=RAND,
        ),
        build_ack(envelope(msk_ack), MUK),
    ]
    clear = [
        _null_encrypted(
            messages[0],
            KeyData(KeyDataType.TGK, MSK.secret, None, KvInterval(b"\x00\x01", b"\x00\x64")),
        ),
        _null_encrypted(
            messages[2],
            KeyData(KeyDataType.TEK_SALT, MTK.secret, SALT.secret, KvSpi(bytes(MSK_ID) + b"\0\1")),
        ),
        _null_encrypted(messages[3], KeyData(KeyDataType.TEK, MTK.secret)),
    ]
    return [bytes((mode,)) + m for m in messages for mode in (0, 1)] + [b"\x01" + m for m in clear]


def test_seed_corpus_is_valid() -> None:
    for seed in seed_messages():
        envelope(seed[1:])


@pytest.mark.fuzz
def test_fuzz_mikey_harness(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i, seed in enumerate(seed_messages()):
        (corpus / f"seed-{i:02d}").write_bytes(seed)
    env = child_env()
    proc = subprocess.run(
        [
            sys.executable,
            str(HARNESS),
            "-max_total_time=20",
            "-rss_limit_mb=2048",
            str(corpus),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,  # crash-* / leak-* artifacts land here, not in the repo
        timeout=300,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    done = re.search(r"Done (\d+) runs", output)
    assert done is not None, output[-4000:]
    assert int(done.group(1)) > 0
