"""SDP of a FLUTE download session (RFC 4566; FLUTE attributes as TS 26.346 §7.3 / RFC 4570).

::

    v=0
    o=- <session id> <version> IN IP4 <source>
    s=<name>
    t=0 0
    a=source-filter: incl IN IP4 * <source>        RFC 4570: only this sender
    a=flute-tsi:<TSI>
    a=flute-ch:1
    a=FEC-declaration:0 encoding-id=<0|1>         0 Compact No-Code, 1 Raptor (RFC 5053)
    m=application <port> FLUTE/UDP 0
    c=IN IP4 <destination>[/<ttl>]

The FEC declaration (``a=FEC-declaration``, TS 26.346 FLUTE SDP) names the session's FEC scheme:
encoding-id=1 when the carousel sends its files with Raptor. Each object's own FEC OTI travels in
EXT_FTI and the FDT (``FEC-OTI-*``, incl. Raptor's ``FEC-OTI-Scheme-Specific-Info``), so FDT
Instances (RFC 3926 §3.3: FEC Encoding ID 0 SHOULD be used for them), MIKEY objects and tiny
files stay Compact No-Code.

RFC 4566 §5.7: the TTL suffix belongs to IPv4 *multicast* connection addresses only, so it is
written for a multicast destination and left out for a unicast one (e.g. a loopback test).
"""

from __future__ import annotations

import ipaddress


def carousel_sdp(
    *,
    name: str,
    tsi: int,
    destination: tuple[str, int],
    source: str,
    ttl: int = 1,
    session_id: int = 0,
    version: int = 1,
    fec_encoding_id: int = 0,
) -> str:
    """The SDP text (CRLF line ends, RFC 4566 §5)."""
    address, port = destination
    multicast = ipaddress.ip_address(address).is_multicast
    connection = f"{address}/{ttl}" if multicast else address
    clean_name = " ".join(name.split()) or "-"
    lines = [
        "v=0",
        f"o=- {session_id} {version} IN IP4 {source}",
        f"s={clean_name}",
        "t=0 0",
        f"a=source-filter: incl IN IP4 * {source}",
        f"a=flute-tsi:{tsi}",
        "a=flute-ch:1",
        f"a=FEC-declaration:0 encoding-id={fec_encoding_id}",
        f"m=application {port} FLUTE/UDP 0",
        f"c=IN IP4 {connection}",
    ]
    return "\r\n".join(lines) + "\r\n"


__all__ = ["carousel_sdp"]
