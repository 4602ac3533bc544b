"""The UE's checks on received MTK messages, through the project's MIKEY :class:`Verifier`.

``Verifier.receive`` is the one audited receive path (RFC 3830 §5.3-§5.4, TS 33.246 6.3.3):
decode; the MSK named in the EXT payload (Key Domain ID, MSK ID); COUNTER strictly above the last
one accepted under that MSK (replay, re-sends told apart as ``DuplicateMessage``); the MAC
(constant-time); the MTK ID inside the MSK's validity interval and newer than the current one.

The Verifier learns MSKs only from MSK messages. An MSK the UE got another way (configuration,
or an MSK client holding its own Verifier) is therefore handed to it as an MSK message under a
process-local random MUK that never leaves this object: the same checks then apply to every MTK,
whatever the MSK's origin. (A ``Verifier.add_msk`` would make this wrapping unnecessary.)

Only MTK messages are accepted here: MSK messages and solicited pulls arriving at the RTP
destination's port 2269 are refused before the Verifier sees them.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from broadcast import profile
from broadcast.keys.ids import KeyDomainId, MskId, MukId
from broadcast.keys.material import Muk
from broadcast.mikey.errors import ProfileViolation
from broadcast.mikey.mbms import Kind, MtkDelivery, build_msk_message, envelope
from broadcast.mikey.verifier import Verifier
from broadcast.ue.service_keys import MskEntry

#: ``rand(n)`` returns ``n`` random bytes (injectable for tests).
RandomSource = Callable[[int], bytes]

#: Identity of the local MUK used to hand MSKs to the Verifier (never sent anywhere).
_LOCAL_MUK_ID = MukId(b"ue.local", b"msk-installer")


class MtkGate:
    """Verifies streaming and download MTK messages against the MSKs installed with
    :meth:`install`. ``receive`` raises the Verifier's typed ``MikeyError`` subclasses."""

    def __init__(self, rand: RandomSource = os.urandom) -> None:
        self._rand = rand
        self._verifier = Verifier()
        self._muk = Muk(rand(profile.MUK_LEN))
        self._counter = 0
        self._verifier.add_muk(_LOCAL_MUK_ID, self._muk)

    def install(self, entry: MskEntry) -> None:
        """Make ``entry``'s MSK known to the Verifier (re-installing the same key keeps the MTK
        state and COUNTER of that MSK)."""
        self._counter += 1
        message = build_msk_message(
            muk=self._muk,
            muk_id=_LOCAL_MUK_ID,
            key_domain_id=entry.key_domain_id,
            msk_id=entry.msk_id,
            msk=entry.msk,
            valid_from=entry.valid_from,
            valid_to=entry.valid_to,
            counter=self._counter,
            csb_id=int.from_bytes(self._rand(4), "big"),
            rand=self._rand(profile.RAND_LEN),
            ack=False,
            srtp_policy=entry.srtp_policy,
        )
        self._verifier.receive(message)

    def knows(self, key_domain_id: KeyDomainId, msk_id: MskId) -> bool:
        return self._verifier.msk(key_domain_id, msk_id) is not None

    def receive(self, data: bytes) -> MtkDelivery:
        """Check one MTK message; on success the Verifier's state for its MSK advances."""
        if envelope(data).kind is not Kind.MTK:
            raise ProfileViolation("only MTK messages are accepted here", field="HDR")
        accepted = self._verifier.receive(data)
        assert accepted.mtk is not None
        return accepted.mtk

    def __repr__(self) -> str:
        return f"<MtkGate {len(self._verifier.msk_ids())} MSKs, keys redacted>"
