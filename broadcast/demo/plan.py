"""The address plan of the loopback demo.

Everything stays inside 127.0.0.0/8. Without a multicast-capable network (multicast is only used
inside a network namespace), the MBMS bearer's point-to-multipoint delivery is modelled by
:class:`broadcast.demo.fanout.FanOutOutput`: the services send to the session's nominal
destination, and every datagram is replicated to each UE's own loopback address with the same
port — as a gateway would replicate it to every cell. MIKEY MTK messages therefore still reach
UDP 2269 "at the destination address of the RTP stream", per UE.

Plan (the second octet keeps the demo apart from the tests' ranges):

* BM-SC HTTP server: ``127.100.0.1`` (ephemeral port);
* nominal stream destination ``127.100.1.1``, nominal carousel destination ``127.100.1.2``;
* UE ``i`` (1-based): MSK pushes on ``127.100.2.i:2269``; its copy of the stream and of the
  carousel on ``127.100.3.i`` (RTP port, 2269, FLUTE port).
"""

from __future__ import annotations

from dataclasses import dataclass

from broadcast import profile

MAX_UES = 250
BMSC_HOST = "127.100.0.1"
STREAM_NOMINAL = "127.100.1.1"
CAROUSEL_NOMINAL = "127.100.1.2"
RTP_PORT = 5004
FLUTE_PORT = 4001


@dataclass(frozen=True)
class UeAddresses:
    index: int
    push: tuple[str, int]
    media_host: str


def ue_addresses(index: int) -> UeAddresses:
    """Addresses of UE ``index`` (1..MAX_UES)."""
    if not 1 <= index <= MAX_UES:
        raise ValueError(f"UE index must be 1..{MAX_UES}")
    return UeAddresses(
        index=index,
        push=(f"127.100.2.{index}", profile.MIKEY_UDP_PORT),
        media_host=f"127.100.3.{index}",
    )
