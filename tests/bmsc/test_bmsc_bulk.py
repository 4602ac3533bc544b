"""The BM-SC's fast and bulk paths give the same results as the plain ones: the Digest header
fast path, pooled nonce randomness, the NAF key cache, the one-statement UE state, batched MSK
message builds, the million-UE push round (lean rows, counters and MUKs in one pass), the
delivery store (migration, per-MUK order, ACK look-up) and the push scheduler's batched send."""

from __future__ import annotations

import dataclasses
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broadcast import profile
from broadcast.aio.bmsc.push import PushScheduler
from broadcast.aio.sgimb.engine import SendResult
from broadcast.engine.bmsc import keymgmt as keymgmt_module
from broadcast.engine.bmsc.keymgmt import NATIVE_BUILD_MIN, DeliveryJob, KeyManagement
from broadcast.engine.bmsc.settings import BmscConfig, KeyGroupConfig, PushConfig
from broadcast.proto.keys.ids import KeyDomainId, MskId, MukId
from broadcast.proto.keys.material import Muk, SessionKey
from broadcast.proto.keys.store import MukRecord
from broadcast.proto.mikey.mbms import Kind, envelope, open_msk_message
from broadcast.proto.msk.digest import (
    NonceManager,
    _fast_authorization_params,
    _parse_param_list,
    _Scanner,
    parse_authorization,
)
from broadcast.proto.msk.errors import DigestError
from broadcast.proto.msk.gba import GbaMiss, NafKey, muk_id_for
from broadcast.proto.msk.msk_xml import MskRequest
from broadcast.proto.msk.store import (
    DeliveryKind,
    DeliveryState,
    NewDelivery,
    Subscription,
    muk_tag,
)
from broadcast.store.bmsc import SQLiteBmscStore
from broadcast.store.keys import SQLiteKeyStore

FQDN = "bmsc.mnc001.mcc001.pub.3gppnetwork.org"
KDID = KeyDomainId.from_plmn("001", "01")
NOW = 1_000_000.0


# --- Digest: the regex fast path equals the scanner --------------------------------------------
def _scanner_params(header: str) -> dict[str, str]:
    sc = _Scanner(header, "Authorization")
    sc.skip_ows()
    assert sc.token().lower() == "digest"
    params: dict[str, str] = {}
    _parse_param_list(sc, params, stop_at_scheme=False)
    return params


_TOKEN = st.text(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!#$%&'*+^`|",
    min_size=1,
    max_size=12,
)
_QDTEXT = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E, blacklist_characters='"\\'), max_size=16
)
_OWS = st.sampled_from(["", " ", "\t", "  "])


@st.composite
def _header(draw: st.DrawFn) -> tuple[str, list[str]]:
    names = draw(st.lists(_TOKEN, min_size=1, max_size=10))
    parts = []
    for name in names:
        if draw(st.booleans()):
            value = draw(_TOKEN)
        else:
            inner = draw(st.lists(st.one_of(_QDTEXT, st.sampled_from(['\\"', "\\\\", "\\a"]))))
            value = '"' + "".join(inner) + '"'
        parts.append(f"{name}{draw(_OWS)}={draw(_OWS)}{value}")
    seps = [f"{draw(_OWS)},{draw(_OWS)}" for _ in parts]
    body = "".join(p + (seps[i] if i < len(parts) - 1 else "") for i, p in enumerate(parts))
    scheme = draw(st.sampled_from(["Digest", "digest", "DIGEST", "DiGeSt"]))
    return f"{draw(_OWS)}{scheme} {draw(_OWS)}{body}{draw(_OWS)}", names


@settings(max_examples=300, deadline=None)
@given(_header())
def test_digest_fast_path_equals_the_scanner(case: tuple[str, list[str]]) -> None:
    header, names = case
    repeated = len({n.lower() for n in names}) < len(names)
    try:
        expected: dict[str, str] | None = _scanner_params(header)
    except DigestError:
        expected = None
    assert (expected is None) == repeated  # the generated shape is valid unless a name repeats
    fast = _fast_authorization_params(header)
    if repeated:
        assert fast is None  # left to the scanner, which raises the located error
    else:
        assert fast == expected


def test_digest_fast_path_declines_what_it_must_leave_to_the_scanner() -> None:
    good = 'Digest username="a", realm="r"'
    assert _fast_authorization_params(good) == {"username": "a", "realm": "r"}
    # repeated name, empty list element, another scheme, Kelvin sign: the scanner decides
    for header in (
        'Digest a=1, A="2"',
        "Digest a=1,, b=2",
        "Basic a=1",
        "Digeſt a=1",
        'Digest a="unterminated',
    ):
        assert _fast_authorization_params(header) is None
    with pytest.raises(DigestError, match="twice"):
        parse_authorization('Digest a=1, A="2"')
    with pytest.raises(DigestError):
        parse_authorization("Digeſt a=1")


def test_digest_fast_path_unescapes_quoted_pairs() -> None:
    assert _fast_authorization_params(r'Digest x="a\"b\\c"') == {"x": 'a"b\\c'}


# --- nonces: randomness drawn in blocks, every nonce distinct ----------------------------------
def test_nonce_randomness_is_drawn_in_blocks_and_nonces_are_distinct() -> None:
    sizes: list[int] = []

    def rand(n: int) -> bytes:
        sizes.append(n)
        return os.urandom(n)

    nonces = NonceManager(secret=b"s" * 32, rand=rand)
    issued = {nonces.issue(NOW) for _ in range(1000)}
    assert len(issued) == 1000
    assert len(sizes) == 3 and set(sizes) == {340 * 12}
    for n in list(issued)[:5]:
        assert nonces.issued_ms(n) == int(NOW * 1000)
    short = NonceManager(secret=b"s" * 32, rand=lambda n: b"x")
    with pytest.raises(RuntimeError):
        short.issue(NOW)


# --- a KeyManagement on real stores -----------------------------------------------------------
class _CountingGba:
    """A GBA key source that counts the BSF questions (Zn)."""

    def __init__(self, lifetime: int = 3600) -> None:
        self.calls = 0
        self.known: dict[str, NafKey] = {}
        self.lifetime = lifetime

    def add(self, impi: str, n: int) -> NafKey:
        b_tid = f"btid{n}@bsf.example.org"
        key = NafKey(b_tid, impi, SessionKey(bytes([n]) * 32), int(NOW) + self.lifetime)
        self.known[b_tid] = key
        return key

    def naf_key(self, b_tid: str, naf: bytes, now: int) -> NafKey | GbaMiss:
        self.calls += 1
        key = self.known.get(b_tid)
        if key is None:
            return GbaMiss.UNKNOWN
        return GbaMiss.EXPIRED if now >= key.expires_at else key


@pytest.fixture
def km(tmp_path: Path) -> Iterator[KeyManagement]:
    path = str(tmp_path / "b.db")
    cfg = BmscConfig(
        fqdn=FQDN,
        store=path,
        key_domain=KDID,
        key_groups=(KeyGroupConfig(1), KeyGroupConfig(2, streaming=True)),
        push=PushConfig(source="127.29.0.1", delay=0.0, ack_required=True),
    )
    keys, store = SQLiteKeyStore(path), SQLiteBmscStore(path)
    k = KeyManagement(cfg, keys, store, _CountingGba(), rand=os.urandom)
    k.ensure_groups(NOW)
    yield k
    keys.close()
    store.close()


def _gba(km: KeyManagement) -> _CountingGba:
    assert isinstance(km.gba, _CountingGba)
    return km.gba


def test_naf_keys_are_kept_until_their_lifetime_and_misses_are_not(km: KeyManagement) -> None:
    gba = _gba(km)
    key = gba.add("alice@ims", 1)
    assert km.naf_key(key.b_tid, NOW) == key
    assert km.naf_key(key.b_tid, NOW + 10) == key
    assert gba.calls == 1  # kept (TS 33.220 4.5.3)
    assert km.naf_key("late@bsf.example.org", NOW) is GbaMiss.UNKNOWN
    late = gba.add("late@ims", 2)
    assert km.naf_key(late.b_tid, NOW) == late  # a miss was not remembered
    assert km.naf_key(key.b_tid, key.expires_at) is GbaMiss.EXPIRED  # past its lifetime: asked
    assert gba.calls == 4


def test_naf_key_cache_is_bounded(km: KeyManagement, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keymgmt_module, "NAF_KEY_CACHE", 3)
    gba = _gba(km)
    keys = [gba.add(f"u{i}@ims", i + 1) for i in range(5)]
    for k in keys:
        km.naf_key(k.b_tid, NOW)
    km.naf_key(keys[0].b_tid, NOW)  # dropped: asked again
    km.naf_key(keys[4].b_tid, NOW)  # kept
    assert gba.calls == 6


def _request(km: KeyManagement, key: NafKey, *groups: int) -> list[int]:
    out = km.handle_request(
        key, MskRequest(KDID, tuple(MskId.current(g) for g in groups)), "127.29.0.9", NOW
    )
    return [s.code for s in out.statuses]


def test_request_sees_subscription_changes_at_once(km: KeyManagement) -> None:
    key = _gba(km).add("bob@ims", 3)
    assert _request(km, key, 1) == [profile.MSK_STATUS_NOT_SUBSCRIBED]
    km.store.add_subscription(Subscription("bob@ims", KDID, 1))
    assert _request(km, key, 1, 2) == [profile.MSK_STATUS_OK, profile.MSK_STATUS_NOT_SUBSCRIBED]
    state = km.store.ue_group_state("bob@ims", KDID, 1)
    assert state.subscription is not None and state.registration is not None
    assert state.registration.id > 0 and not state.pull_pending
    km.store.remove_subscription("bob@ims", KDID, 1)
    assert _request(km, key, 1) == [profile.MSK_STATUS_NOT_SUBSCRIBED]


def _subscribe(km: KeyManagement, n: int, group: int = 1) -> tuple[NafKey, DeliveryJob]:
    key = _gba(km).add(f"ue{n}@ims", n)
    km.store.add_subscription(Subscription(f"ue{n}@ims", KDID, group))
    out = km.handle_request(key, MskRequest(KDID, (MskId.current(group),)), "127.29.0.9", NOW)
    (job,) = out.jobs
    return key, job


def test_batched_build_matches_what_each_ue_can_open(km: KeyManagement) -> None:
    km.create_next(2, NOW)  # streaming group: CURRENT and NEXT per request
    pairs = [_subscribe(km, n, 1) for n in range(1, NATIVE_BUILD_MIN + 3)]
    pairs += [_subscribe(km, n, 2) for n in range(40, 43)]
    jobs = [job for _, job in pairs]
    jobs[0] = dataclasses.replace(jobs[0], muk=None)  # read from the key store instead
    gone = _subscribe(km, 99, 1)[1]
    gone = dataclasses.replace(
        gone,
        muk=None,
        registration=dataclasses.replace(
            gone.registration, muk_id=MukId.of(FQDN, "vanished@bsf.example.org")
        ),
    )
    km.keys.next_counter_for_muk(jobs[1].registration.muk_id)  # an earlier message to this MUK
    built = km.build_deliveries([*jobs, gone], NOW)
    assert built == len(jobs) - 3 + 2 * 3  # streaming jobs carry CURRENT and NEXT
    rows = km.store.deliveries(state=DeliveryState.PENDING)
    assert len(rows) == built
    for key, job in pairs:
        mine = [d for d in rows if d.impi == job.registration.impi]
        assert [d.counter for d in mine] == sorted(d.counter for d in mine)
        for d in mine:
            env = envelope(d.message)
            assert env.kind is Kind.MSK and env.counter == d.counter and env.csb_id == d.csb_id
            opened = open_msk_message(env, key.muk)
            msk_id = MskId(job.registration.key_group, d.key_number)
            assert opened.envelope.msk_id == msk_id
            assert opened.msk == km.keys.get_msk(KDID, msk_id).key
            assert (opened.srtp_policy is not None) == (msk_id.key_group == 2)
    first = [d for d in rows if d.impi == jobs[1].registration.impi]
    assert first[0].counter == 2  # after the earlier message's counter 1


# --- push rounds ---------------------------------------------------------------------------------
def _register(km: KeyManagement, n: int, *, expires_at: int, with_muk: bool = True) -> MukId:
    muk_id = muk_id_for(FQDN, f"round{n}@bsf.example.org")
    if with_muk:
        km.keys.put_muks([MukRecord(muk_id, Muk(bytes([n]) * 16), expires_at)])
    km.store.register_many(KDID, 1, [(f"r{n}@ims", muk_id, "127.29.0.9", 2269)], NOW)
    return muk_id


def test_push_round_counters_pulls_and_skips(km: KeyManagement) -> None:
    live = [_register(km, n, expires_at=int(NOW) + 99) for n in range(1, 8)]
    expired = _register(km, 50, expires_at=int(NOW) - 1)
    _register(km, 60, expires_at=0, with_muk=False)
    km.keys.next_counters_for_muks(live[:2])
    rec, created = km.create_next(1, NOW)
    report = km.push_to_group(1, rec, NOW, fresh=created, chunk=3)
    assert (report.pushed, report.pulled, report.skipped_no_muk) == (7, 1, 1)
    rows = km.store.deliveries()
    pushes = {d.muk_id: d for d in rows if d.kind is DeliveryKind.MSK}
    assert [pushes[m].counter for m in live] == [2, 2, 1, 1, 1, 1, 1]
    (pull,) = [d for d in rows if d.kind is DeliveryKind.PULL]
    assert pull.muk_id == expired and pull.counter == 1
    assert envelope(pull.message).kind is Kind.SOLICITED_PULL
    for m, d in pushes.items():
        opened = open_msk_message(envelope(d.message), km.keys.get_muk(m).key)
        assert opened.envelope.msk_id == rec.msk_id and opened.msk == rec.key
    # a second round of the same MSK supersedes the first round's pending pushes (and the new
    # pull the earlier pull)
    again = km.push_to_group(1, rec, NOW + 1, chunk=100)
    assert (again.pushed, again.pulled) == (7, 1)
    states = km.store.delivery_counts()
    assert states[DeliveryState.SUPERSEDED] == 7 + 1 and states[DeliveryState.PENDING] == 7 + 1


# --- the delivery store ------------------------------------------------------------------------
def _delivery(
    muk_id: MukId, counter: int, *, impi: str = "ue@ims", ack: bool = True
) -> NewDelivery:
    return NewDelivery(
        DeliveryKind.MSK,
        KDID,
        1,
        1,
        impi,
        muk_id,
        "127.29.0.9",
        2269,
        7,
        counter,
        ack,
        b"message-%d" % counter,
        NOW,
    )


def test_one_pending_message_at_a_time_per_muk(tmp_path: Path) -> None:
    store = SQLiteBmscStore(tmp_path / "s.db")
    a, b = MukId.of(FQDN, "a@bsf"), MukId.of(FQDN, "b@bsf")
    store.register_many(KDID, 1, [("ue@ims", a, "127.29.0.9", 2269)], NOW)
    store.add_deliveries_bulk(
        [_delivery(a, 5), _delivery(a, 6, impi="x"), _delivery(b, 1, impi="y")], NOW
    )
    due = store.due_for_send(NOW, 10)
    assert sorted(bytes(d.message) for d in due) == [b"message-1", b"message-5"]
    # the lowest COUNTER pending per MUK, nothing else
    pending = store.deliveries(state=DeliveryState.PENDING)
    lowest = {
        min((d for d in pending if d.muk_id == m), key=lambda d: d.counter).id for m in (a, b)
    }
    assert {d.id for d in due} == lowest
    first = next(d for d in due if d.message == b"message-5")
    store.record_attempts([], [(first.id, DeliveryState.ACKED)], NOW)
    assert [d.message for d in store.due_for_send(NOW, 10) if d.message != b"message-1"] == [
        b"message-6"
    ]
    store.close()


def test_ack_lookup_pending_and_finished(tmp_path: Path) -> None:
    store = SQLiteBmscStore(tmp_path / "s.db")
    m = MukId.of(FQDN, "acker@bsf")
    store.register_many(KDID, 1, [("ue@ims", m, "127.29.0.9", 2269)], NOW)
    (i,) = store.add_deliveries([_delivery(m, 3)], NOW)
    found = store.pending_for_ack(m.idr, 3, 7)
    assert found is not None and found.id == i
    assert store.pending_for_ack(m.idr, 3, 8) is None  # wrong CSB ID
    store.mark_acked([i], NOW)
    assert store.pending_for_ack(m.idr, 3, 7) is None  # finished, IDi not given
    done = store.pending_for_ack(m.idr, 3, 7, idi=m.idi)
    assert done is not None and done.state is DeliveryState.ACKED
    store.close()


def test_version_1_delivery_table_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    store = SQLiteBmscStore(path)
    m = MukId.of(FQDN, "old@bsf")
    store.register_many(KDID, 1, [("ue@ims", m, "127.29.0.9", 2269)], NOW)
    store.add_deliveries([_delivery(m, 4)], NOW)
    store.close()
    raw = sqlite3.connect(path)  # make it look like a version 1 file
    raw.executescript(
        "CREATE TABLE d1 AS SELECT id, kind, domain_id, key_group, key_number, impi, idi, idr, "
        "host, port, csb_id, counter, ack_required, message, state, attempts, next_at, "
        "created_at, done_at FROM bmsc_delivery; DROP TABLE bmsc_delivery; "
        "ALTER TABLE d1 RENAME TO bmsc_delivery;"
    )
    raw.close()
    store = SQLiteBmscStore(path)
    (row,) = store.due_for_send(NOW, 10)
    assert row.message == b"message-4"
    found = store.pending_for_ack(m.idr, 4, 7)
    assert found is not None and found.id == row.id
    assert store.ue_group_state("ue@ims", KDID, 1).subscription is None
    raw = sqlite3.connect(path)
    assert raw.execute("SELECT reg_id IS NOT NULL, muk_tag FROM bmsc_delivery").fetchone() == (
        1,
        muk_tag(m.idr),
    )
    raw.close()
    store.close()


# --- the push scheduler's batched send -----------------------------------------------------------
class _StallingEngine:
    """Takes ``room`` datagrams, then reports EAGAIN (a full socket buffer)."""

    native = True
    gso = False

    def __init__(self, room: int) -> None:
        self.room = room
        self.sent: list[bytes] = []

    def send(self, datagrams: list[bytes], dest: object, flags: int) -> SendResult:
        take = datagrams[: self.room]
        self.sent += take
        self.room -= len(take)
        return SendResult(len(take), sum(map(len, take)), 0, len(take), 11 if self.room == 0 else 0)


def test_full_socket_buffer_leaves_the_rest_pending(km: KeyManagement) -> None:
    for n in range(1, 6):
        _register(km, n, expires_at=int(NOW) + 99)
    rec, created = km.create_next(1, NOW)
    km.push_to_group(1, rec, NOW, fresh=created)
    push = PushScheduler(km, km.config.push, clock_unix=lambda: NOW)
    push._sock = object()  # type: ignore[assignment]  # the engine below does the sending
    engine = _StallingEngine(room=3)
    push._engine = engine  # type: ignore[assignment]
    assert push.run_once() == 3
    rows = km.store.deliveries()
    assert sorted(d.attempts for d in rows) == [0, 0, 1, 1, 1]
    assert all(d.state is DeliveryState.PENDING for d in rows)  # ACKs are awaited
    engine.room = 10
    assert push.run_once() == 2
    assert len(engine.sent) == 5 and len(set(engine.sent)) == 5
