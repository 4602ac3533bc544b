"""Shared, deterministic workloads for benchmarks/test_bench_mikey.py and benchmarks/compare.py.

An MSK push round: one MSK (streaming Key Group: SRTP policy in the message, ACK requested) to
``n`` UEs, each with its own MUK, B-TID, COUNTER, CSB ID and RAND. MTK messages: a streaming MTK
(TEK+SALT, MKI, one SRTP stream in the map) under an MSK.
"""

from __future__ import annotations

import random
from typing import Any

from broadcast.proto.keys.ids import KeyDomainId, MskId, MtkId, MukId
from broadcast.proto.keys.material import Msk, Mtk, Muk, SrtpSalt
from broadcast.proto.mikey import SrtpPolicy
from broadcast.proto.mikey.batch import MskPushTarget
from broadcast.proto.mikey.payloads import SrtpCs

BMSC_FQDN = b"bmsc.mnc001.mcc001.pub.3gppnetwork.org"
KEY_DOMAIN = KeyDomainId.from_plmn("001", "01")
MSK_ID = MskId(0x0101, 3)


def msk_push_round(n: int, seed: int = 3830) -> tuple[list[MskPushTarget], dict[str, Any]]:
    """``n`` targets and the common keyword arguments of build_msk_messages."""
    rng = random.Random(seed)
    targets = [
        MskPushTarget(
            muk_id=MukId(BMSC_FQDN, b"%010d@bsf.mnc001.mcc001.pub.3gppnetwork.org" % i),
            muk=Muk(rng.randbytes(16)),
            counter=rng.randrange(1, 1 << 32),
            csb_id=rng.randrange(1 << 32),
            rand=rng.randbytes(16),
        )
        for i in range(n)
    ]
    common: dict[str, Any] = {
        "key_domain_id": KEY_DOMAIN,
        "msk_id": MSK_ID,
        "msk": Msk(rng.randbytes(16)),
        "valid_from": MtkId(1),
        "valid_to": MtkId(0xFFFF),
        "ack": True,
        "srtp_policy": SrtpPolicy(),
    }
    return targets, common


def mtk_message_kwargs(seed: int = 3711) -> dict[str, Any]:
    """Keyword arguments of build_mtk_message for a streaming MTK."""
    rng = random.Random(seed)
    return {
        "msk": Msk(rng.randbytes(16)),
        "key_domain_id": KEY_DOMAIN,
        "msk_id": MSK_ID,
        "mtk_id": MtkId(42),
        "mtk": Mtk(rng.randbytes(16)),
        "counter": 42,
        "rand": rng.randbytes(16),
        "salt": SrtpSalt(rng.randbytes(14)),
        "srtp_sessions": (SrtpCs(0, 0x1234_5678, 0),),
    }
