"""The address plan of the loopback demo.

Everything stays inside 127.0.0.0/8. Without a multicast-capable network (multicast is only used
inside a network namespace), the MBMS bearer's point-to-multipoint delivery is modelled by
:class:`broadcast.demo.fanout.FanOutOutput`: the services send to the session's nominal
destination, and every datagram is replicated to each UE's own loopback address with the same
port — as a gateway would replicate it to every cell. MIKEY MTK messages therefore still reach
UDP 2269 "at the destination address of the RTP stream", per UE.

Plan (the second octet keeps the demo apart from the tests' ranges):

* BM-SC: ``127.100.0.1`` — the HTTP MSK request server (ephemeral port), the source of the MSK
  pushes, of the stream and of the carousel (the media source feeds the stream in-process: no
  ingest socket);
* nominal stream destination ``127.100.1.1``, nominal carousel destination ``127.100.1.2``;
* UE ``i`` (1-based): MSK pushes on ``127.100.2.i:2269`` (its MSK requests leave from there
  too); its copy of the stream and of the carousel on ``127.100.3.i`` (RTP port, RTCP port,
  2269, FLUTE port).

The demo's own tests use the same plan (they run the demo), the UE tests ``127.100.200.x``.
"""

from __future__ import annotations

from dataclasses import dataclass

from broadcast import profile

MAX_UES = 250
BMSC_HOST = "127.100.0.1"
STREAM_NOMINAL = "127.100.1.1"
CAROUSEL_NOMINAL = "127.100.1.2"
RTP_PORT = 5004
RTCP_PORT = RTP_PORT + 1
FLUTE_PORT = 4001
#: The Key Groups of the demo service: the stream's (streaming, its MSK messages carry the SRTP
#: policy) and the carousel's.
STREAM_KEY_GROUP = 1
DOWNLOAD_KEY_GROUP = 2


@dataclass(frozen=True)
class UeAddresses:
    index: int
    push: tuple[str, int]
    media_host: str


def ue_hosts(count: int) -> list[str]:
    """The media hosts of UEs 1..count: where the fan-out sends each UE's copy."""
    return [ue_addresses(i).media_host for i in range(1, count + 1)]


def ue_addresses(index: int) -> UeAddresses:
    """Addresses of UE ``index`` (1..MAX_UES)."""
    if not 1 <= index <= MAX_UES:
        raise ValueError(f"UE index must be 1..{MAX_UES}")
    return UeAddresses(
        index=index,
        push=(f"127.100.2.{index}", profile.MIKEY_UDP_PORT),
        media_host=f"127.100.3.{index}",
    )
