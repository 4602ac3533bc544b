"""SDP of a protected stream session (RFC 4566; RFC 3711 ``RTP/SAVP``; spec-digest §2.5).

::

    v=0
    o=- <session id> <version> IN IP4 <origin>
    s=<session name>
    c=IN IP4 <destination>[/<ttl>]
    t=0 0
    [a=source-filter: incl IN IP4 <destination> <source>]
    m=<video|audio> <port> RTP/SAVP <payload type>
    a=rtpmap:<payload type> <encoding>/<clock rate>[/<channels>]
    [a=ssrc:<ssrc> cname:<cname>]...

RFC 4566 §5.7: an IPv4 multicast address carries its TTL (``/ttl``); a unicast one must not. No
``a=crypto`` / ``a=key-mgmt``: in MBMS the keys come from MIKEY (MSK by push/request, MTK on UDP
2269 at the same destination, TS 33.246 6.3.3.2.2); the protection description of the service
announcement names the MSK. RTCP goes to port + 1 (RFC 3550 §11), so no ``a=rtcp``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SdpSession:
    """What the SDP of one stream session says."""

    name: str
    destination: str
    port: int
    payload_type: int
    encoding: str
    clock_rate: int
    media: str = "video"
    ttl: int = 1
    channels: int | None = None
    source: str | None = None
    ssrcs: Sequence[int] = ()
    cname: str | None = None
    session_id: int = 0
    version: int = 0


def _clean(text: str, what: str) -> str:
    """Refuse characters that would break the line structure of SDP (RFC 4566 §5)."""
    if not text or any(c in text for c in "\r\n\0"):
        raise ValueError(f"SDP {what} must be non-empty and without CR, LF or NUL")
    return text


def build_sdp(s: SdpSession) -> str:
    """The SDP text (CRLF line ends, RFC 4566 §5)."""
    dest = ipaddress.IPv4Address(s.destination)
    if s.media not in ("video", "audio"):
        raise ValueError("SDP media must be video or audio")
    if not 0 <= s.payload_type <= 127:
        raise ValueError("RTP payload type must be 0..127")
    if not 0 < s.port < 65536:
        raise ValueError("port must be 1..65535")
    origin = s.source or s.destination
    connection = f"{dest}/{s.ttl}" if dest.is_multicast else str(dest)
    rtpmap = f"{_clean(s.encoding, 'encoding')}/{s.clock_rate}"
    if s.channels:
        rtpmap += f"/{s.channels}"
    lines = [
        "v=0",
        f"o=- {s.session_id} {s.version} IN IP4 {origin}",
        f"s={_clean(s.name, 'session name')}",
        f"c=IN IP4 {connection}",
        "t=0 0",
    ]
    if s.source and dest.is_multicast:
        lines.append(f"a=source-filter: incl IN IP4 {dest} {s.source}")
    lines += [
        f"m={s.media} {s.port} RTP/SAVP {s.payload_type}",
        f"a=rtpmap:{s.payload_type} {rtpmap}",
    ]
    if s.cname:
        cname = _clean(s.cname, "CNAME")
        lines += [f"a=ssrc:{ssrc} cname:{cname}" for ssrc in s.ssrcs]
    return "\r\n".join(lines) + "\r\n"


__all__ = ["SdpSession", "build_sdp"]
