"""A MIKEY message: HDR followed by a chain of payloads linked by next-payload codes (RFC 3830 §5).

``Message.encode`` writes the chain; ``Message.decode`` follows it from any order, bounded in
payload count, and remembers where the MAC / verification data starts so that the caller can
check it against exactly the bytes that were received.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, TypeVar

from broadcast.proto.mikey.constants import PayloadType
from broadcast.proto.mikey.errors import LimitExceeded, MikeyDecodeError, UnsupportedValue
from broadcast.proto.mikey.payloads import PAYLOAD_CLASSES, Header, Kemac, Payload, Verification
from broadcast.proto.mikey.reader import Reader

#: Upper bound on payloads in one message (the profile's largest has 8).
MAX_PAYLOADS: Final = 32
#: Upper bound on a MIKEY message (a UDP datagram).
MAX_MESSAGE_LEN: Final = 65507

P = TypeVar("P", bound=Payload)


@dataclass(frozen=True, slots=True)
class Message:
    """A MIKEY message. ``raw`` and ``auth_end`` are set when it was decoded from bytes."""

    header: Header
    payloads: tuple[Payload, ...]
    raw: bytes | None = field(default=None, compare=False, repr=False)
    #: Offset of the MAC (KEMAC) or Ver data (V) in ``raw``: the authenticated data ends here.
    auth_end: int | None = field(default=None, compare=False, repr=False)

    def encode(self) -> bytes:
        types = [p.TYPE for p in self.payloads] + [PayloadType.LAST]
        out = [self.header.encode(types[0])]
        for p, nxt in zip(self.payloads, types[1:], strict=True):
            out.append(bytes((nxt,)))
            out.append(p.encode_body())
        return b"".join(out)

    def all(self, cls: type[P]) -> list[P]:
        return [p for p in self.payloads if isinstance(p, cls)]

    def first(self, cls: type[P]) -> P | None:
        for p in self.payloads:
            if isinstance(p, cls):
                return p
        return None

    def authenticated_bytes(self) -> bytes:
        """The received bytes the MAC / verification covers (everything before the MAC field)."""
        if self.raw is None or self.auth_end is None:
            raise MikeyDecodeError("message was not decoded or carries no MAC", field="MAC")
        return self.raw[: self.auth_end]

    @classmethod
    def decode(cls, data: bytes) -> Message:
        """Decode a whole message. Any defect raises a ``MikeyError`` subclass."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise MikeyDecodeError("a MIKEY message must be bytes")
        data = bytes(data)
        if len(data) > MAX_MESSAGE_LEN:
            raise LimitExceeded(f"message of {len(data)} bytes", field="message", offset=0)
        r = Reader(data)
        header, nxt = Header.decode(r)
        payloads: list[Payload] = []
        auth_end: int | None = None
        while nxt != PayloadType.LAST:
            if len(payloads) >= MAX_PAYLOADS:
                raise LimitExceeded(
                    f"more than {MAX_PAYLOADS} payloads", field="next payload", offset=r.offset
                )
            payload_cls = PAYLOAD_CLASSES.get(nxt)
            if payload_cls is None:
                raise UnsupportedValue(
                    f"payload type {nxt} not supported", field="next payload", offset=r.offset
                )
            start = r.offset
            if auth_end is not None:
                raise MikeyDecodeError(
                    "payload after the MAC/verification payload", field="next payload", offset=start
                )
            nxt = r.u8(f"{payload_cls.__name__} next payload")
            payload = payload_cls.decode_body(r)
            if isinstance(payload, Kemac):
                auth_end = r.offset - len(payload.mac)
            elif isinstance(payload, Verification):
                auth_end = r.offset - len(payload.data)
            payloads.append(payload)
        if r.remaining:
            raise MikeyDecodeError(
                f"{r.remaining} bytes after the last payload", field="message", offset=r.offset
            )
        return cls(header, tuple(payloads), data, auth_end)
