"""The UE's checks on received MTK messages, through the project's MIKEY :class:`Verifier`.

``Verifier.receive`` is the one audited receive path (RFC 3830 §5.3-§5.4, TS 33.246 6.3.3):
decode; the MSK named in the EXT payload (Key Domain ID, MSK ID); COUNTER strictly above the last
one accepted under that MSK (replay, re-sends told apart as ``DuplicateMessage``); the MAC
(constant-time); the MTK ID inside the MSK's validity interval and newer than the current one.

MSKs reach the gate from the UE's MSK store (configuration, or the MSK client that verified the
MSK message with the MUK) and are installed with ``Verifier.add_msk``: the same checks then apply
to every MTK, whatever the MSK's origin.

Only MTK messages are accepted here: MSK messages and solicited pulls arriving at the RTP
destination's port 2269 are refused before the Verifier sees them.
"""

from __future__ import annotations

from broadcast.engine.ue.service_keys import MskEntry
from broadcast.proto.keys.ids import KeyDomainId, MskId
from broadcast.proto.mikey.errors import ProfileViolation
from broadcast.proto.mikey.mbms import Kind, MtkDelivery, envelope
from broadcast.proto.mikey.verifier import Verifier


class MtkGate:
    """Verifies streaming and download MTK messages against the MSKs installed with
    :meth:`install`. ``receive`` raises the Verifier's typed ``MikeyError`` subclasses."""

    def __init__(self) -> None:
        self._verifier = Verifier()

    def install(self, entry: MskEntry) -> None:
        """Make ``entry``'s MSK known to the Verifier (re-installing the same key keeps the MTK
        state and COUNTER of that MSK)."""
        self._verifier.add_msk(
            entry.key_domain_id, entry.msk_id, entry.msk, entry.valid_from, entry.valid_to
        )

    def knows(self, key_domain_id: KeyDomainId, msk_id: MskId) -> bool:
        return self._verifier.knows_msk(key_domain_id, msk_id)

    def receive(self, data: bytes) -> MtkDelivery:
        """Check one MTK message; on success the Verifier's state for its MSK advances."""
        if envelope(data).kind is not Kind.MTK:
            raise ProfileViolation("only MTK messages are accepted here", field="HDR")
        accepted = self._verifier.receive(data)
        assert accepted.mtk is not None
        return accepted.mtk

    def __repr__(self) -> str:
        return f"<MtkGate {len(self._verifier.msk_ids())} MSKs, keys redacted>"
