"""SRTP in bulk: many RTP packets under one master key in one native call (RFC 3711 §3.3).

:class:`SrtpBatchSender` wraps an :class:`~broadcast.proto.srtp.sender.SrtpSender` and protects a
list of RTP packets under ONE MKI; the result equals ``[sender.protect(p, mki) for p in packets]``
byte for byte, and the sender's state (per-SSRC ROC / highest index, the key's packet counter)
ends up as after that loop. Packets may belong to several SSRCs and wrap SEQ.

Accounting (done here because ``SrtpSender.protect`` does it inline together with the crypto):
per packet, the same steps as ``SrtpSender.protect`` — header parse (same typed errors),
``StreamState.local_index`` (RFC 3711 Appendix A), the 2^48 index bound, the ``IndexReused``
check against the SSRC's window, and the master key's packet limit. It runs on scratch copies
of the touched SSRCs' windows, so a batch is **all-or-nothing**: on any
:class:`~broadcast.proto.srtp.errors.SrtpError` no packet is returned and the sender's state is
unchanged (the per-packet loop would have protected, and committed, the packets before the bad
one). On the native path the common case — well-formed packets whose indices strictly
increase per SSRC, within the key's packet limit and the stream table — is accounted in C
(``scan_rtp``, ``estimate_indices``: one pass, no Python per packet) and each touched window is
then set in one step; anything else (a replay, reordering, a malformed packet, a limit) goes
through the per-packet loop, which decides and raises. The sender's internals used: ``keys``
(``get``, ``check_srtp``, ``srtp_limit``), ``_streams`` (``get``, ``fresh``, ``commit``,
``max_streams``) and ``StreamState.srtp_window``.

Crypto: ``broadcast._native.srtp_batch`` (required) runs the per-packet AES-CM / HMAC-SHA1 /
RCC work in C with the GIL released (one call per run of packets sharing session keys — all of
them when key_derivation_rate = 0). ``native=False`` is the reference (oracle) path the tests
compare it with: the per-packet accounting of :meth:`SrtpBatchSender._plan` and the pure-Python
:func:`~broadcast.proto.srtp.transform.protect_rtp` / ``verify_rtp`` / ``decrypt_rtp``.

:func:`unprotect_batch` is the stateless receive-side counterpart for packets of one master key
whose indices the caller knows: a list of RTP packets, ``None`` where the tag does not verify or
the packet carries another MKI. The native call checks every packet itself before any crypto;
only when it refuses the batch does the per-packet check run to raise the typed error.
"""

from __future__ import annotations

from collections.abc import Sequence

from broadcast._native import srtp_batch as _native
from broadcast.proto.srtp.cipher import MAX_KEYSTREAM_BYTES
from broadcast.proto.srtp.errors import (
    AuthenticationFailed,
    IndexOutOfRange,
    IndexReused,
    KeyLifetimeExhausted,
    PacketTooLong,
    TooManyStreams,
)
from broadcast.proto.srtp.keyring import MasterKey
from broadcast.proto.srtp.keys import SessionKeys, key_derivation_r
from broadcast.proto.srtp.packet import parse_rtp_fixed, rtp_header_len
from broadcast.proto.srtp.policy import Cipher, CryptoPolicy
from broadcast.proto.srtp.replay import INDEX_LIMIT, ReplayWindow, Verdict
from broadcast.proto.srtp.sender import SrtpSender
from broadcast.proto.srtp.stream import StreamState
from broadcast.proto.srtp.transform import decrypt_rtp, protect_rtp, split_srtp, verify_rtp


def _header_len(rtp: bytes) -> int:
    """Clear header length; malformed packets raise exactly what the pure path raises."""
    n = len(rtp)
    if n >= 12 and rtp[0] >> 6 == 2:
        b0 = rtp[0]
        length = 12 + 4 * (b0 & 0x0F)
        if b0 & 0x10:
            if length + 4 <= n:
                length += 4 + 4 * ((rtp[length + 2] << 8) | rtp[length + 3])
                if length <= n:
                    return length
        elif length <= n:
            return length
    return rtp_header_len(rtp, parse_rtp_fixed(rtp), n)  # raises the typed error


#: (SSRC, its state, the window it gets on commit, new SSRC?) of a planned batch.
_Touched = tuple[int, StreamState, ReplayWindow, bool]


def _copy_window(window: ReplayWindow) -> ReplayWindow:
    copy = ReplayWindow(window.size)
    copy.highest = window.highest
    copy._bits = window._bits
    return copy


def _native_args(
    keys: SessionKeys, mki: bytes, policy: CryptoPolicy
) -> tuple[bytes, bytes, bytes, bytes, bool, int, int, int]:
    """(k_e, k_s, k_a, MKI, encrypt, auth, tag_len, R): the leading arguments of the kernels."""
    return (
        bytes(keys.encryption_key),
        bytes(keys.salt),
        bytes(keys.auth_key),
        mki,
        policy.srtp_cipher is Cipher.AES_CM,
        int(policy.srtp_auth),
        policy.srtp_tag_len,
        policy.roc_rate,
    )


def protect_indexed(
    policy: CryptoPolicy,
    keys: SessionKeys,
    mki: bytes,
    packets: Sequence[bytes],
    indices: Sequence[int],
    *,
    header_lens: Sequence[int],
    native: bool = True,
) -> list[bytes]:
    """Stateless: protect ``packets`` (already validated) at the given ``indices`` (SRTP only).

    ``header_lens`` serves the pure path; the native loop re-derives (and re-checks) them.
    ``native=False``: the pure-Python reference (the tests' oracle).
    """
    if native:
        out: list[bytes] = _native.protect_batch(*_native_args(keys, mki, policy), packets, indices)
        return out
    return [
        protect_rtp(
            policy,
            keys,
            rtp,
            header_len=hl,
            ssrc=int.from_bytes(rtp[8:12], "big"),
            index=index,
            mki=mki,
        )
        for rtp, index, hl in zip(packets, indices, header_lens, strict=True)
    ]


class SrtpBatchSender:
    """Batch front end of an :class:`SrtpSender` (which keeps all the state).

    ``native=False`` selects the reference path — per-packet accounting and pure-Python crypto,
    the oracle the tests compare the native path with (same bytes, same state, same errors).
    """

    __slots__ = ("native", "sender")

    def __init__(self, sender: SrtpSender, *, native: bool = True) -> None:
        self.sender = sender
        self.native = native

    def protect_batch(self, packets: Sequence[bytes], mki: bytes) -> list[bytes]:
        """``[sender.protect(p, mki) for p in packets]``, all-or-nothing (see the module doc)."""
        sender = self.sender
        if packets:
            _header_len(bytes(packets[0]))  # the per-packet loop parses it before the MKI lookup
        key = sender.keys.get(bytes(mki))
        sender.keys.check_srtp(key)
        plan = self._fast_plan(packets, key) if self.native else None
        if plan is None:
            pkts = [bytes(p) for p in packets]
            indices, header_lens, touched = self._plan(pkts, key)
        else:
            pkts, indices, touched = plan
            header_lens = []  # the native loop derives them
        out = self._crypt(key.mki, key, pkts, indices, header_lens)

        # Commit (nothing above changed the sender).
        streams = sender._streams
        for ssrc, state, window, new in touched:
            state.srtp_window = window
            if new:
                streams.commit(ssrc, state)
        key.srtp_packets += len(pkts)
        return out

    def _fast_plan(
        self, packets: Sequence[bytes], key: MasterKey
    ) -> tuple[list[bytes], list[int], list[_Touched]] | None:
        """The common case in C: well-formed packets whose indices strictly increase per SSRC.

        Same indices and windows as :meth:`_plan`; None (nothing changed) when anything is
        unusual — a malformed packet, a replay or reordering, the key's packet limit, too many
        SSRCs, an index out of range, an unknown ROC — and :meth:`_plan` then decides.
        """
        sender = self.sender
        pkts = list(packets)
        if len(pkts) > sender.keys.srtp_limit - key.srtp_packets:
            return None
        aes = sender.policy.srtp_cipher is Cipher.AES_CM
        scan = _native.scan_rtp(pkts, aes)
        if scan is None:
            return None
        ssrcs, slots = scan
        streams = sender._streams
        states: list[tuple[int, StreamState, bool]] = []
        highest: list[int] = []
        base_roc: list[int] = []
        n_new = 0
        for ssrc in ssrcs:
            state = streams.get(ssrc)
            new = state is None
            if state is None:
                if len(streams) + n_new >= streams.max_streams:
                    return None
                n_new += 1
                state = streams.fresh()
            h = state.srtp_window.highest
            if h is None and state.base_roc is None:
                return None
            highest.append(-1 if h is None else h)
            base_roc.append(0 if state.base_roc is None else state.base_roc)
            states.append((ssrc, state, new))
        est = _native.estimate_indices(pkts, slots, highest, base_roc)
        if est is None:
            return None
        indices, spans = est
        touched: list[_Touched] = []
        for j, ((ssrc, state, new), span) in enumerate(zip(states, spans, strict=True)):
            first, last, count = span
            old = state.srtp_window
            size = old.size
            if last - first == count - 1:  # consecutive: offsets 0 .. count-1 below the last
                recent = (1 << min(count, size)) - 1
            else:
                recent = 0
                for index, slot in zip(indices, slots, strict=True):
                    if slot == j and last - index < size:
                        recent |= 1 << (last - index)
            window = ReplayWindow(size)
            window.highest = last
            shift = size if old.highest is None else min(last - old.highest, size)
            window._bits = ((old._bits << shift) | recent) & ((1 << size) - 1)
            touched.append((ssrc, state, window, new))
        return pkts, indices, touched

    def _plan(
        self, pkts: list[bytes], key: MasterKey
    ) -> tuple[list[int], list[int], list[_Touched]]:
        """Per packet, as ``SrtpSender.protect``: typed errors in the per-packet order, on
        scratch windows (see the module doc)."""
        sender = self.sender
        policy = sender.policy
        ring = sender.keys
        streams = sender._streams
        aes = policy.srtp_cipher is Cipher.AES_CM
        # SSRC field (4 bytes) -> (SSRC, state, scratch window, new?)
        touched: dict[bytes, _Touched] = {}
        n_new = 0
        indices: list[int] = []
        header_lens: list[int] = []
        budget = ring.srtp_limit - key.srtp_packets
        for count, rtp in enumerate(pkts):
            hl = _header_len(rtp)
            if count >= budget:
                raise KeyLifetimeExhausted(
                    f"master key {key.mki.hex()} reached its SRTP packet limit"
                )
            seq = (rtp[2] << 8) | rtp[3]
            ssrc_field = rtp[8:12]
            entry = touched.get(ssrc_field)
            if entry is None:
                ssrc = int.from_bytes(ssrc_field, "big")
                state = streams.get(ssrc)
                new = state is None
                if state is None:
                    if len(streams) + n_new >= streams.max_streams:
                        raise TooManyStreams(f"already tracking {streams.max_streams} SSRCs")
                    n_new += 1
                    state = streams.fresh()
                entry = (ssrc, state, _copy_window(state.srtp_window), new)
                touched[ssrc_field] = entry
            ssrc, state, window, _ = entry
            highest = window.highest
            # StreamState.local_index / replay.estimate_index (RFC 3711 Appendix A), inlined
            if highest is None:
                assert state.base_roc is not None
                index = (state.base_roc << 16) | seq
            else:
                roc, s_l = highest >> 16, highest & 0xFFFF
                if s_l < 32768:
                    v = roc - 1 if seq - s_l > 32768 else roc
                else:
                    v = roc + 1 if s_l - 32768 > seq else roc
                index = v * 65536 + seq
            if index >= INDEX_LIMIT:
                raise KeyLifetimeExhausted(f"SRTP index space of SSRC {ssrc:#010x} exhausted")
            if index < 0:
                raise IndexOutOfRange(f"SEQ {seq} lies before ROC 0")
            if aes and len(rtp) - hl > MAX_KEYSTREAM_BYTES:
                raise PacketTooLong(
                    f"encrypted portion of {len(rtp) - hl} bytes exceeds 2^16 AES blocks"
                )
            if highest is not None and index > highest:
                # ReplayWindow.accept's "newer" branch, inlined for the common in-order case
                size = window.size
                shift = index - highest
                window._bits = ((window._bits << min(shift, size)) | 1) & ((1 << size) - 1)
                window.highest = index
            else:
                if window.check(index) is not Verdict.FRESH:
                    raise IndexReused(f"SEQ {seq} of SSRC {ssrc:#010x} was already protected")
                window.accept(index)
            indices.append(index)
            header_lens.append(hl)
        return indices, header_lens, list(touched.values())

    def _crypt(
        self,
        mki: bytes,
        key: MasterKey,
        pkts: list[bytes],
        indices: list[int],
        header_lens: list[int],
    ) -> list[bytes]:
        policy = self.sender.policy
        if not pkts:
            return []
        if policy.key_derivation_rate == 0:
            keys = key.session_keys(rtcp=False, index=0)
            return protect_indexed(
                policy, keys, mki, pkts, indices, header_lens=header_lens, native=self.native
            )
        # Runs of packets that share the session keys (r = index DIV key_derivation_rate).
        out: list[bytes] = []
        start = 0
        kdr = policy.key_derivation_rate
        for k in range(1, len(pkts) + 1):
            if k == len(pkts) or key_derivation_r(indices[k], kdr) != key_derivation_r(
                indices[start], kdr
            ):
                keys = key.session_keys(rtcp=False, index=indices[start])
                out += protect_indexed(
                    policy,
                    keys,
                    mki,
                    pkts[start:k],
                    indices[start:k],
                    header_lens=header_lens[start:k],
                    native=self.native,
                )
                start = k
        return out


def _unprotect_header_len(
    policy: CryptoPolicy, mki_len: int, aes: bool, packet: bytes, index: int
) -> int:
    """Clear header length of a well-formed SRTP packet at ``index``; 0 when any check of
    :func:`unprotect_batch` fails (it then redoes them with the typed errors). No copies."""
    n = len(packet)
    if n < 12 or packet[0] >> 6 != 2:
        return 0
    seq = (packet[2] << 8) | packet[3]
    if not 0 <= index < INDEX_LIMIT or index & 0xFFFF != seq:
        return 0
    end = n - mki_len - policy.srtp_tag_len_for(seq)  # the RTP packet ends here
    b0 = packet[0]
    hl = 12 + 4 * (b0 & 0x0F)
    if b0 & 0x10:
        if hl + 4 > end:
            return 0
        hl += 4 + 4 * ((packet[hl + 2] << 8) | packet[hl + 3])
    if end < 12 or hl > end or (aes and end - hl > MAX_KEYSTREAM_BYTES):
        return 0
    return hl


def unprotect_batch(
    policy: CryptoPolicy,
    keys: SessionKeys,
    mki: bytes,
    packets: Sequence[bytes],
    indices: Sequence[int],
    *,
    native: bool = True,
) -> list[bytes | None]:
    """SRTP packets of ONE master key (session ``keys``, ``mki``) at known ``indices`` -> RTP
    packets; ``None`` where the tag does not verify or the MKI is not ``mki``.

    Malformed packets (too short for header + MKI + tag, bad version, header past the end,
    encrypted portion over 2^16 blocks) raise the pure path's typed errors before anything is
    decrypted; an index whose low 16 bits are not the packet's SEQ raises ``ValueError``.
    No replay window or ROC estimation: the caller owns the indices. ``native=False``: the
    pure-Python reference (the tests' oracle).
    """
    mki = bytes(mki)
    if native:
        # The native call checks every packet first (before any crypto) for exactly what the
        # loop below checks; only when it refuses the batch are the typed errors worked out.
        try:
            fast: list[bytes | None] = _native.unprotect_batch(
                *_native_args(keys, mki, policy), packets, indices
            )
        except (TypeError, ValueError):
            pass
        else:
            return fast
    pkts = [bytes(p) for p in packets]
    idx = [int(i) for i in indices]
    if len(idx) != len(pkts):
        raise ValueError(f"{len(pkts)} packets but {len(idx)} indices")
    aes = policy.srtp_cipher is Cipher.AES_CM
    mki_len = len(mki)
    header_lens: list[int] = []
    for packet, index in zip(pkts, idx, strict=True):
        hl = _unprotect_header_len(policy, mki_len, aes, packet, index)
        if hl:
            header_lens.append(hl)
            continue
        # Something is wrong: the checks below raise the typed error (slow path, same order).
        fixed = parse_rtp_fixed(packet)
        if not 0 <= index < INDEX_LIMIT or index & 0xFFFF != fixed.seq:
            raise ValueError(f"index {index} does not fit SEQ {fixed.seq}")
        parts = split_srtp(policy, len(mki), packet, fixed.seq)
        hl = rtp_header_len(packet, fixed, len(parts.portion))
        if aes and len(parts.portion) - hl > MAX_KEYSTREAM_BYTES:
            raise PacketTooLong(
                f"encrypted portion of {len(parts.portion) - hl} bytes exceeds 2^16 AES blocks"
            )
        header_lens.append(hl)
    if native:
        # The typed checks passed: the refusal came from an argument's type (bytearray, ...)
        checked: list[bytes | None] = _native.unprotect_batch(
            *_native_args(keys, mki, policy), pkts, idx
        )
        return checked
    out: list[bytes | None] = []
    for packet, index, hl in zip(pkts, idx, header_lens, strict=True):
        seq = index & 0xFFFF
        parts = split_srtp(policy, len(mki), packet, seq)
        if parts.mki != mki:
            out.append(None)
            continue
        try:
            verify_rtp(policy, keys, parts, roc=index >> 16, seq=seq)
        except AuthenticationFailed:
            out.append(None)
            continue
        ssrc = int.from_bytes(packet[8:12], "big")
        out.append(decrypt_rtp(policy, keys, parts, header_len=hl, ssrc=ssrc, index=index))
    return out


__all__ = ["SrtpBatchSender", "protect_indexed", "unprotect_batch"]
