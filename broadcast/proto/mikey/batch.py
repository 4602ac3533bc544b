"""One MSK to many UEs: MSK delivery messages in bulk (TS 33.246 6.3.2.3.1; profile.md).

A push round (a new MSK of a Key Group, sent to every registered UE) builds one MSK message per
UE. The messages differ only in the per-UE fields — CSB ID, COUNTER, RAND, IDr (B-TID) — and in
their protection under the UE's MUK; the key data plaintext (TGK = MSK, KV interval) is the same.

``build_msk_messages`` returns exactly what ``build_msk_message`` returns for each target:

- ``native=False``: a loop over the pure-Python reference builder (the oracle of the tests,
  and what ``broadcast.engine.bmsc.keymgmt`` uses for batches too small to gain from the
  native call);
- ``native=True`` (default; ``broadcast._native.mikey_batch``, required): the layout
  is taken from ONE reference message (built for the first target) — it is decoded, cut into
  template segments around the per-UE fields, and its KEMAC is decrypted to recover the key
  data — and a single native call then derives the keys, encrypts, assembles and MACs every
  message with the GIL released. The first and the last native messages are compared with the
  reference builder's output for those targets on every call, so a change of the reference
  layout cannot make the native path silently drift: it raises ``RuntimeError`` instead.

The profile's choices the native loop depends on (MUK and RAND lengths, TS type, KEMAC
algorithms) are passed to it from ``broadcast.profile`` on every call, so the two paths follow
the same profile.

Both paths validate every target first, with the same checks and the same errors, so a batch is
all-or-nothing: on bad input no message is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from broadcast import profile
from broadcast._native import mikey_batch as _native
from broadcast.proto.keys.ids import KeyDomainId, MskId, MtkId, MukId
from broadcast.proto.keys.material import Msk, Muk
from broadcast.proto.mikey.errors import MikeyEncodeError, ProfileViolation
from broadcast.proto.mikey.mbms import build_msk_message
from broadcast.proto.mikey.message import Message
from broadcast.proto.mikey.payloads import Identity, Kemac, Rand, Timestamp
from broadcast.proto.mikey.prf import message_keys
from broadcast.proto.mikey.srtp_policy import SrtpPolicy
from broadcast.proto.mikey.transforms import kemac_encrypt, mac_len

#: Offset of the CSB ID in the HDR payload (version, data type, next payload, V|PRF func, CSB ID;
#: RFC 3830 §6.1).
_HDR_CSB_ID_AT: Final = 4
#: Offset of the 16-bit length in an ID payload (next payload, ID type, ID len; §6.7).
_ID_LEN_AT: Final = 2
#: Offset of the Encr data in a KEMAC payload (next payload, Encr alg, Encr data len; §6.2).
_KEMAC_ENCR_AT: Final = 4


@dataclass(frozen=True, slots=True)
class MskPushTarget:
    """One UE of an MSK push round: whom (MUK ID, MUK) and the per-message values.

    ``counter`` is the next COUNTER of this MUK (made durable before the message leaves),
    ``csb_id`` a random 32-bit value and ``rand`` 16 fresh random bytes (profile.md). The MUK
    is a ``Muk``, whose repr is redacted, so a target never prints key bytes.
    """

    muk_id: MukId
    muk: Muk
    counter: int
    csb_id: int
    rand: bytes


@dataclass(frozen=True, slots=True)
class _Columns:
    """The validated per-UE fields, column-wise, as the native builder takes them."""

    muks: list[bytes]
    csb_ids: list[int]
    counters: list[int]
    rands: list[bytes]
    idrs: list[bytes]


def _validate(targets: Sequence[MskPushTarget]) -> _Columns:
    """Check every target (same checks, same errors, for both paths) and split into columns.

    COUNTER and RAND raise the reference builder's ``ProfileViolation`` (fields "T", "RAND"); a
    CSB ID that does not fit 32 bits raises ``MikeyEncodeError`` (field "CSB ID", as the HDR
    encoder); a MUK that is not a ``Muk``, a MUK ID that is not a ``MukId`` or an IDi that is
    not the batch's common IDi raise ``ProfileViolation``.
    """
    cols = _Columns([], [], [], [], [])
    idi: bytes | None = None
    counter_max = profile.COUNTER_MAX
    rand_len = profile.RAND_LEN
    for i, t in enumerate(targets):
        if not isinstance(t, MskPushTarget):
            raise TypeError(f"target {i} is a {type(t).__name__}, not an MskPushTarget")
        muk, muk_id, counter, csb_id, rand = t.muk, t.muk_id, t.counter, t.csb_id, t.rand
        if not isinstance(muk, Muk):
            raise ProfileViolation(
                f"target {i}: the MUK must be a Muk, got {type(muk).__name__}", field="MUK"
            )
        if not isinstance(muk_id, MukId):
            raise ProfileViolation(
                f"target {i}: the MUK ID must be a MukId, got {type(muk_id).__name__}", field="ID"
            )
        if not isinstance(counter, int) or not 0 < counter <= counter_max:
            raise ProfileViolation(
                f"target {i}: COUNTER must be 1..2^32-1, got {counter!r}", field="T"
            )
        if not isinstance(rand, bytes) or len(rand) != rand_len:
            raise ProfileViolation(f"target {i}: RAND must be {rand_len} bytes", field="RAND")
        if not isinstance(csb_id, int) or not 0 <= csb_id <= 0xFFFF_FFFF:
            raise MikeyEncodeError(
                f"target {i}: CSB ID must fit in 32 bits, got {csb_id!r}", field="CSB ID"
            )
        if idi is None:
            idi = muk_id.idi
        elif muk_id.idi != idi:
            raise ProfileViolation(
                f"target {i}: IDi differs from the batch's (one BM-SC FQDN per batch)", field="IDi"
            )
        cols.muks.append(muk.secret)
        cols.csb_ids.append(csb_id)
        cols.counters.append(counter)
        cols.rands.append(rand)
        cols.idrs.append(muk_id.idr)
    return cols


def _template(reference: bytes, target: MskPushTarget) -> tuple[tuple[bytes, ...], bytes]:
    """Cut a reference MSK message (built for ``target``) around its per-UE fields.

    Returns the six template segments of ``broadcast._native.mikey_batch`` and the key data
    plaintext (the reference's KEMAC decrypted with the target's keys). The payload spans come
    from the codec; every cut is checked against the target's own values.
    """
    msg = Message.decode(reference)
    spans: list[tuple[object, int, int]] = []
    pos = len(msg.header.encode(0))
    for p in msg.payloads:
        end = pos + 1 + len(p.encode_body())  # next-payload byte + body
        spans.append((p, pos, end))
        pos = end
    if pos != len(reference):
        raise RuntimeError("MSK template: payload spans do not cover the reference message")

    def span(kind: type[object], nth: int = 0) -> tuple[int, int]:
        found = [(a, b) for p, a, b in spans if isinstance(p, kind)]
        if len(found) <= nth:
            raise RuntimeError(f"MSK template: no {kind.__name__} payload #{nth}")
        return found[nth]

    kemac = msg.payloads[-1]
    if not isinstance(kemac, Kemac):
        raise RuntimeError("MSK template: the KEMAC is not the last payload")
    ts = msg.first(Timestamp)
    assert ts is not None
    ts_len = len(ts.value_bytes)
    _, t_end = span(Timestamp)
    _, r_end = span(Rand)
    idr_at, idr_end = span(Identity, 1)
    k_at, k_end = span(Kemac)
    csb_at = _HDR_CSB_ID_AT
    counter_at = t_end - ts_len
    rand_at = r_end - profile.RAND_LEN
    idr_len_at = idr_at + _ID_LEN_AT
    encr_at = k_at + _KEMAC_ENCR_AT
    mac_at = k_end - mac_len(kemac.mac_alg)
    idr = target.muk_id.idr
    checks = (
        (csb_at, target.csb_id.to_bytes(4, "big")),
        (counter_at, target.counter.to_bytes(ts_len, "big")),
        (rand_at, target.rand),
        (idr_len_at, len(idr).to_bytes(2, "big") + idr),
        (encr_at, kemac.encr_data),
        (mac_at, kemac.mac),
    )
    cuts = [0]
    for at, value in checks:
        if at < cuts[-1] or reference[at : at + len(value)] != value:
            raise RuntimeError("MSK template: a per-UE field is not where the layout says")
        cuts += [at, at + len(value)]
    if cuts[-1] != len(reference) or idr_end != idr_len_at + 2 + len(idr):
        raise RuntimeError("MSK template: unexpected bytes after the MAC or in IDr")
    segments = tuple(reference[cuts[k] : cuts[k + 1]] for k in range(0, len(cuts) - 1, 2))
    keys = message_keys(target.muk.secret, target.csb_id, target.rand)
    key_data = kemac_encrypt(kemac.encr_alg, keys, target.csb_id, target.counter, kemac.encr_data)
    return segments, key_data


def build_msk_messages(
    targets: Sequence[MskPushTarget],
    *,
    key_domain_id: KeyDomainId,
    msk_id: MskId,
    msk: Msk,
    valid_from: MtkId,
    valid_to: MtkId,
    ack: bool,
    srtp_policy: SrtpPolicy | None = None,
    native: bool = True,
) -> list[bytes]:
    """One MSK delivery message per target, in order; byte-identical to ``build_msk_message``.

    All targets must share the IDi (the BM-SC FQDN). Errors: ``ProfileViolation`` /
    ``MikeyEncodeError`` (a ``MikeyError``; the latter also a ``ValueError``) for a bad target
    or common parameter, before any message is built. ``native=False`` uses the pure-Python
    reference builder for every message. Thread-safe; the native loop releases the GIL.
    """
    cols = _validate(targets)
    if not targets:
        return []

    def reference(t: MskPushTarget) -> bytes:
        return build_msk_message(
            muk=t.muk,
            muk_id=t.muk_id,
            key_domain_id=key_domain_id,
            msk_id=msk_id,
            msk=msk,
            valid_from=valid_from,
            valid_to=valid_to,
            counter=t.counter,
            csb_id=t.csb_id,
            rand=t.rand,
            ack=ack,
            srtp_policy=srtp_policy,
        )

    if not native:
        return [reference(t) for t in targets]
    first = reference(targets[0])  # also raises the reference's errors for common parameters
    if len(targets) == 1:
        return [first]
    segments, key_data = _template(first, targets[0])
    out: list[bytes] = _native.build_msk_batch(
        segments,
        key_data,
        cols.muks,
        cols.csb_ids,
        cols.counters,
        cols.rands,
        cols.idrs,
        muk_len=profile.MUK_LEN,
        rand_len=profile.RAND_LEN,
        ts_type=profile.TS_TYPE_COUNTER,
        encr_alg=profile.KEMAC_ENCR_ALG,
        mac_alg=profile.KEMAC_MAC_ALG,
    )
    if out[0] != first or out[-1] != reference(targets[-1]):
        raise RuntimeError("native MSK batch differs from the reference builder")
    return out


__all__ = ["MskPushTarget", "build_msk_messages"]
