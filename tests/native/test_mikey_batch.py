"""broadcast.proto.mikey.batch: the native MSK batch equals the pure-Python reference byte for byte.

Reference: broadcast.proto.mikey.mbms.build_msk_message (one message per UE). The native path
(broadcast._native.mikey_batch, Cython on OpenSSL EVP) must produce identical bytes, every
message must open with the UE's MUK, and bad input must raise the typed errors of the pure path
(or ValueError/TypeError at the native boundary) — never crash.
"""

from __future__ import annotations

import os
import threading
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broadcast._native import mikey_batch as native
from broadcast.proto.keys.ids import KeyDomainId, MskId, MtkId, MukId
from broadcast.proto.keys.material import Msk, Muk
from broadcast.proto.mikey import (
    MikeyEncodeError,
    MikeyError,
    ProfileViolation,
    SrtpPolicy,
    build_msk_message,
    envelope,
    open_msk_message,
)
from broadcast.proto.mikey import batch as batch_mod
from broadcast.proto.mikey.batch import MskPushTarget, build_msk_messages
from broadcast.proto.mikey.constants import SrtpAuthAlg

BMSC = b"bmsc.mnc001.mcc001.pub.3gppnetwork.org"
KDID = KeyDomainId.from_plmn("001", "01")

POLICIES = [
    None,
    SrtpPolicy(),
    # without RCC the ROC rate is not carried and reads back as 1 (SrtpPolicy.from_sp)
    SrtpPolicy(
        srtp_auth_alg=SrtpAuthAlg.HMAC_SHA1,
        srtp_auth_tag_len=4,
        srtcp_auth_tag_len=4,
        roc_transmission_rate=1,
    ),
    SrtpPolicy(srtp_encryption=False, roc_transmission_rate=1),
]


def common(**over: Any) -> dict[str, Any]:
    kw: dict[str, Any] = {
        "key_domain_id": KDID,
        "msk_id": MskId(0x0102, 7),
        "msk": Msk(bytes(range(16))),
        "valid_from": MtkId(1),
        "valid_to": MtkId(0x00FF),
        "ack": True,
        "srtp_policy": None,
    }
    kw.update(over)
    return kw


def target(i: int, *, idi: bytes = BMSC, **over: Any) -> MskPushTarget:
    t = MskPushTarget(
        muk_id=MukId(idi, f"b-tid-{i:06d}@bsf.mnc001.mcc001.pub.3gppnetwork.org".encode()),
        muk=Muk(os.urandom(16)),
        counter=i + 1,
        csb_id=int.from_bytes(os.urandom(4), "big"),
        rand=os.urandom(16),
    )
    return replace(t, **over)


def reference(targets: list[MskPushTarget], kw: dict[str, Any]) -> list[bytes]:
    return [
        build_msk_message(
            muk=t.muk,
            muk_id=t.muk_id,
            counter=t.counter,
            csb_id=t.csb_id,
            rand=t.rand,
            **kw,
        )
        for t in targets
    ]


def check_opens(msgs: list[bytes], targets: list[MskPushTarget], kw: dict[str, Any]) -> None:
    for m, t in zip(msgs, targets, strict=True):
        d = open_msk_message(envelope(m), t.muk)
        env = d.envelope
        assert (env.csb_id, env.counter, env.rand) == (t.csb_id, t.counter, t.rand)
        assert (env.idi, env.idr, env.ack_requested) == (t.muk_id.idi, t.muk_id.idr, kw["ack"])
        assert (env.key_domain_id, env.msk_id) == (kw["key_domain_id"], kw["msk_id"])
        assert d.msk == kw["msk"]
        assert (d.valid_from, d.valid_to) == (kw["valid_from"], kw["valid_to"])
        assert d.srtp_policy == kw["srtp_policy"]


# --- equality with the reference (property) -----------------------------------------------------

u32 = st.integers(0, 0xFFFF_FFFF)
target_st = st.builds(
    lambda muk, counter, csb_id, rand, idr: (muk, counter, csb_id, rand, idr),
    st.binary(min_size=16, max_size=16),
    st.integers(1, 0xFFFF_FFFF),
    u32,
    st.binary(min_size=16, max_size=16),
    st.binary(min_size=1, max_size=80),
)


@st.composite
def batches(draw: st.DrawFn) -> tuple[list[MskPushTarget], dict[str, Any]]:
    idi = draw(st.one_of(st.just(BMSC), st.binary(min_size=1, max_size=100)))
    raw = draw(st.lists(target_st, min_size=1, max_size=50))
    targets = [
        MskPushTarget(MukId(idi, idr), Muk(muk), counter, csb_id, rand)
        for muk, counter, csb_id, rand, idr in raw
    ]
    vf = draw(st.integers(1, 0xFFFF))
    vt = draw(st.integers(vf, 0xFFFF))
    kw = common(
        key_domain_id=KeyDomainId(draw(st.binary(min_size=3, max_size=3))),
        msk_id=MskId(draw(st.integers(0, 0xFFFF)), draw(st.integers(1, 0xFFFF))),
        msk=Msk(draw(st.binary(min_size=16, max_size=16))),
        valid_from=MtkId(vf),
        valid_to=MtkId(vt),
        ack=draw(st.booleans()),
        srtp_policy=draw(st.sampled_from(POLICIES)),
    )
    return targets, kw


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches())
def test_native_equals_pure_and_opens(case: tuple[list[MskPushTarget], dict[str, Any]]) -> None:
    targets, kw = case
    pure = build_msk_messages(targets, native=False, **kw)
    nat = build_msk_messages(targets, native=True, **kw)
    assert pure == reference(targets, kw)
    assert nat == pure
    check_opens(nat, targets, kw)


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("ack", [True, False])
def test_native_call_itself_matches(policy: SrtpPolicy | None, ack: bool) -> None:
    """The extension builds every message (not only the reference-checked first and last)."""
    kw = common(srtp_policy=policy, ack=ack)
    targets = [target(i) for i in range(40)]
    ref = reference(targets, kw)
    segments, key_data = batch_mod._template(ref[0], targets[0])
    assert len(segments) == native.TEMPLATE_SEGMENTS
    out = native.build_msk_batch(
        segments,
        key_data,
        [t.muk.secret for t in targets],
        [t.csb_id for t in targets],
        [t.counter for t in targets],
        [t.rand for t in targets],
        [t.muk_id.idr for t in targets],
    )
    assert out == ref
    assert all(type(m) is bytes for m in out)


def test_extreme_values() -> None:
    kw = common(valid_from=MtkId(0xFFFF), valid_to=MtkId(0xFFFF), ack=False)
    targets = [
        target(0, counter=1, csb_id=0, rand=bytes(16)),
        target(1, counter=0xFFFF_FFFF, csb_id=0xFFFF_FFFF, rand=b"\xff" * 16),
        target(2, muk_id=MukId(BMSC, b"x")),
        target(3, muk_id=MukId(BMSC, b"\x00" * 0xFFFF)),  # the largest IDr
    ]
    nat = build_msk_messages(targets, **kw)
    assert nat == reference(targets, kw)
    # the last one exceeds a UDP datagram (MAX_MESSAGE_LEN), so the parser refuses it
    check_opens(nat[:3], targets[:3], kw)


def test_empty_and_single() -> None:
    assert build_msk_messages([], **common()) == []
    t = [target(0)]
    assert build_msk_messages(t, **common()) == reference(t, common())


def test_large_batch_100k() -> None:
    n = 100_000
    kw = common(srtp_policy=SrtpPolicy())
    muks = [Muk(os.urandom(16)) for _ in range(64)]
    rand = os.urandom(16 * n)
    targets = [
        MskPushTarget(
            MukId(BMSC, b"B-TID-%06d@bsf.example" % i),
            muks[i % 64],
            i + 1,
            (i * 2654435761) & 0xFFFF_FFFF,
            rand[16 * i : 16 * i + 16],
        )
        for i in range(n)
    ]
    out = build_msk_messages(targets, **kw)
    assert len(out) == n
    sample = [*range(0, n, 9973), n - 1]
    picked = [targets[i] for i in sample]
    assert [out[i] for i in sample] == reference(picked, kw)
    check_opens([out[i] for i in sample], picked, kw)


def test_threads_build_concurrently() -> None:
    kw = common()
    jobs = [[target(100 * j + i) for i in range(300)] for j in range(4)]
    results: dict[int, list[bytes]] = {}

    def run(j: int) -> None:
        results[j] = build_msk_messages(jobs[j], **kw)

    threads = [threading.Thread(target=run, args=(j,)) for j in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for j in range(4):
        assert results[j] == reference(jobs[j], kw)


def test_repr_redacts_muk() -> None:
    t = target(0)
    text = repr(t) + str(t)
    assert t.muk.secret.hex() not in text
    assert "redacted" in text


def test_drift_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    """A template that no longer matches the reference is refused, not shipped."""
    real = batch_mod._template

    def skewed(ref: bytes, t: MskPushTarget) -> tuple[tuple[bytes, ...], bytes]:
        segments, key_data = real(ref, t)
        return (*segments[:-1], segments[-1] + b"\x00"), key_data

    monkeypatch.setattr(batch_mod, "_template", skewed)
    with pytest.raises(RuntimeError, match="differs from the reference"):
        build_msk_messages([target(0), target(1)], **common())


# --- bad input: the same typed errors on both paths ---------------------------------------------

BAD_TARGETS: list[tuple[str, dict[str, Any], type[Exception], str]] = [
    ("rand short", {"rand": bytes(15)}, ProfileViolation, "RAND"),
    ("rand long", {"rand": bytes(17)}, ProfileViolation, "RAND"),
    ("rand empty", {"rand": b""}, ProfileViolation, "RAND"),
    ("rand str", {"rand": "0123456789abcdef"}, ProfileViolation, "RAND"),
    ("counter 0", {"counter": 0}, ProfileViolation, "T"),
    ("counter 2^32", {"counter": 1 << 32}, ProfileViolation, "T"),
    ("counter negative", {"counter": -1}, ProfileViolation, "T"),
    ("counter float", {"counter": 1.0}, ProfileViolation, "T"),
    ("csb negative", {"csb_id": -1}, MikeyEncodeError, "CSB ID"),
    ("csb 2^32", {"csb_id": 1 << 32}, MikeyEncodeError, "CSB ID"),
    ("csb str", {"csb_id": "1"}, MikeyEncodeError, "CSB ID"),
    ("muk bytes", {"muk": bytes(16)}, ProfileViolation, "MUK"),
    ("muk is an Msk", {"muk": Msk(bytes(16))}, ProfileViolation, "MUK"),
    ("muk None", {"muk": None}, ProfileViolation, "MUK"),
    ("muk_id bytes", {"muk_id": b"x"}, ProfileViolation, "ID"),
    ("other IDi", {"muk_id": MukId(b"other.bmsc.example", b"x")}, ProfileViolation, "IDi"),
]


@pytest.mark.parametrize(
    ("name", "over", "exc", "field"), BAD_TARGETS, ids=[b[0] for b in BAD_TARGETS]
)
@pytest.mark.parametrize("where", [0, 5, 9])
@pytest.mark.parametrize("use_native", [True, False])
def test_bad_target(
    name: str, over: dict[str, Any], exc: type[Exception], field: str, where: int, use_native: bool
) -> None:
    targets = [target(i) for i in range(10)]
    targets[where] = replace(targets[where], **over)
    with pytest.raises(exc) as info:
        build_msk_messages(targets, native=use_native, **common())
    assert isinstance(info.value, MikeyError)
    assert info.value.field == field
    # the first target sets the batch's IDi: a different one there is reported at the next
    named = 1 if (field == "IDi" and where == 0) else where
    assert f"target {named}:" in str(info.value)


@pytest.mark.parametrize(
    "over", [{"rand": bytes(15)}, {"counter": 0}, {"counter": 1 << 32}], ids=str
)
def test_bad_target_same_error_as_single_builder(over: dict[str, Any]) -> None:
    t = replace(target(0), **over)
    with pytest.raises(MikeyError) as single:
        reference([t], common())
    for use_native in (True, False):
        with pytest.raises(MikeyError) as batch:
            build_msk_messages([target(1), t], native=use_native, **common())
        assert type(batch.value) is type(single.value)
        assert batch.value.field == single.value.field


@pytest.mark.parametrize(
    "over",
    [
        {"msk_id": MskId(1, 0)},  # Key Number 0 is the "current" alias
        {"valid_from": MtkId(9), "valid_to": MtkId(8)},
    ],
    ids=["msk-id-alias", "vt-below-vf"],
)
@pytest.mark.parametrize("use_native", [True, False])
def test_bad_common_parameters(over: dict[str, Any], use_native: bool) -> None:
    with pytest.raises(ProfileViolation):
        build_msk_messages([target(0), target(1)], native=use_native, **common(**over))


def test_not_a_target() -> None:
    with pytest.raises(TypeError):
        build_msk_messages([target(0), (1, 2)], **common())  # type: ignore[list-item]


# --- the native boundary on its own: ValueError / TypeError, never a crash ----------------------


def native_args(n: int = 3) -> dict[str, Any]:
    targets = [target(i) for i in range(n)]
    ref = reference(targets, common())
    segments, key_data = batch_mod._template(ref[0], targets[0])
    return {
        "template": segments,
        "key_data": key_data,
        "muks": [t.muk.secret for t in targets],
        "csb_ids": [t.csb_id for t in targets],
        "counters": [t.counter for t in targets],
        "rands": [t.rand for t in targets],
        "idrs": [t.muk_id.idr for t in targets],
    }


def call_native(args: dict[str, Any]) -> list[bytes]:
    out: list[bytes] = native.build_msk_batch(**args)
    return out


NATIVE_BAD: list[tuple[str, str, Any, type[Exception]]] = [
    ("muk short", "muks", bytes(15), ValueError),
    ("muk long", "muks", bytes(17), ValueError),
    ("muk bytearray", "muks", bytearray(16), TypeError),
    ("muk memoryview", "muks", memoryview(bytes(16)), TypeError),
    ("muk None", "muks", None, TypeError),
    ("rand short", "rands", bytes(15), ValueError),
    ("rand str", "rands", "x" * 16, TypeError),
    ("idr empty", "idrs", b"", ValueError),
    ("idr too long", "idrs", bytes(0x10000), ValueError),
    ("csb negative", "csb_ids", -1, ValueError),
    ("csb 2^32", "csb_ids", 1 << 32, ValueError),
    ("csb huge", "csb_ids", 1 << 200, ValueError),
    ("csb float", "csb_ids", 1.0, TypeError),
    ("counter 0", "counters", 0, ValueError),
    ("counter 2^32", "counters", 1 << 32, ValueError),
    ("counter str", "counters", "5", TypeError),
]


@pytest.mark.parametrize(
    ("name", "key", "value", "exc"), NATIVE_BAD, ids=[b[0] for b in NATIVE_BAD]
)
def test_native_rejects_bad_element(name: str, key: str, value: Any, exc: type[Exception]) -> None:
    args = native_args()
    args[key] = [*args[key][:2], value]
    with pytest.raises(exc):
        call_native(args)


def test_native_rejects_bad_shapes() -> None:
    args = native_args()
    for key in ("muks", "csb_ids", "counters", "rands", "idrs"):
        bad = dict(args, **{key: args[key][:2]})
        with pytest.raises(ValueError, match="equal lengths"):
            call_native(bad)
    with pytest.raises(ValueError, match="segments"):
        call_native(dict(args, template=args["template"][:5]))
    with pytest.raises(TypeError):
        call_native(dict(args, template=(*args["template"][:5], "str")))
    with pytest.raises(ValueError):
        call_native(dict(args, key_data=b""))
    with pytest.raises(TypeError):
        call_native(dict(args, key_data=None))
    with pytest.raises(TypeError):
        call_native(dict(args, muks=None))
    empty: dict[str, list[Any]] = {k: [] for k in ("muks", "csb_ids", "counters", "rands", "idrs")}
    assert call_native(dict(args, **empty)) == []


def test_native_accepts_tuples_and_int_subclasses() -> None:
    args = native_args()
    expected = call_native(args)
    as_tuples = {k: tuple(v) if isinstance(v, list) else v for k, v in args.items()}
    assert call_native(as_tuples) == expected
    assert call_native(dict(args, counters=[True, 2, 3])) == expected
