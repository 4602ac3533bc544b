"""The address plan of the loopback demo: ``127.N.0.0/16`` (default N = 100, ``--net N``).

Everything stays inside 127.0.0.0/8. Without a multicast-capable network (multicast is only used
inside a network namespace), the MBMS bearer's point-to-multipoint delivery is modelled by
:class:`broadcast.demo.fanout.FanOutOutput`: the services send to the session's nominal
destination, and every datagram is replicated to each UE's own loopback address with the same
port — as a gateway would replicate it to every cell. MIKEY MTK messages therefore still reach
UDP 2269 "at the destination address of the RTP stream", per UE.

Plan (:class:`Plan`, built from the second octet N; two demos with different N run side by side
on one machine):

* BM-SC: ``127.N.0.1`` — the HTTP MSK request server (ephemeral port), the source of the MSK
  pushes, of the stream and of the carousel (the media source feeds the stream in-process: no
  ingest socket);
* nominal stream destination ``127.N.1.1``, nominal carousel destination ``127.N.1.2``;
* UE ``i`` (1-based): MSK pushes on ``127.N.2.i:2269`` (its MSK requests leave from there
  too); its copy of the stream and of the carousel on ``127.N.3.i`` (RTP port, RTCP port,
  2269, FLUTE port).

The ports are the same for every N. The demo's own tests run it with N = 101 and 102 (never the
default a user runs), the UE tests use ``127.100.200.x``, the demo's unit tests
``127.100.210.x``. The module-level constants and functions are the default plan's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from broadcast import profile

MAX_UES: Final = 250
#: The second octet of the default plan and the range ``--net`` accepts.
DEFAULT_NET: Final = 100
MIN_NET: Final = 1
MAX_NET: Final = 254
RTP_PORT: Final = 5004
RTCP_PORT: Final = RTP_PORT + 1
FLUTE_PORT: Final = 4001
#: The Key Groups of the demo service: the stream's (streaming, its MSK messages carry the SRTP
#: policy) and the carousel's.
STREAM_KEY_GROUP: Final = 1
DOWNLOAD_KEY_GROUP: Final = 2


@dataclass(frozen=True)
class UeAddresses:
    index: int
    push: tuple[str, int]
    media_host: str


@dataclass(frozen=True, slots=True)
class Plan:
    """The addresses of one demo run in ``127.net.0.0/16`` (see the module doc)."""

    net: int = DEFAULT_NET

    def __post_init__(self) -> None:
        if isinstance(self.net, bool) or not isinstance(self.net, int):
            raise TypeError("the plan's network must be an int")
        if not MIN_NET <= self.net <= MAX_NET:
            raise ValueError(f"the demo network must be {MIN_NET}..{MAX_NET} (127.N.0.0/16)")

    @property
    def network(self) -> str:
        """``127.N.0.0/16``."""
        return f"127.{self.net}.0.0/16"

    @property
    def bmsc_host(self) -> str:
        return f"127.{self.net}.0.1"

    @property
    def stream_nominal(self) -> str:
        return f"127.{self.net}.1.1"

    @property
    def carousel_nominal(self) -> str:
        return f"127.{self.net}.1.2"

    @property
    def push_prefix(self) -> str:
        """The UEs' MSK push addresses are ``<push_prefix><i>``."""
        return f"127.{self.net}.2."

    @property
    def media_prefix(self) -> str:
        """The UEs' media addresses are ``<media_prefix><i>``."""
        return f"127.{self.net}.3."

    def is_push_host(self, host: str) -> bool:
        """Whether ``host`` is a UE's MSK push address in this plan."""
        return host.startswith(self.push_prefix)

    def ue_addresses(self, index: int) -> UeAddresses:
        """Addresses of UE ``index`` (1..MAX_UES)."""
        if not 1 <= index <= MAX_UES:
            raise ValueError(f"UE index must be 1..{MAX_UES}")
        return UeAddresses(
            index=index,
            push=(f"{self.push_prefix}{index}", profile.MIKEY_UDP_PORT),
            media_host=f"{self.media_prefix}{index}",
        )

    def ue_hosts(self, count: int) -> list[str]:
        """The media hosts of UEs 1..count: where the fan-out sends each UE's copy."""
        return [self.ue_addresses(i).media_host for i in range(1, count + 1)]


#: The default plan, ``127.100.0.0/16``.
DEFAULT_PLAN: Final = Plan()
BMSC_HOST: Final = DEFAULT_PLAN.bmsc_host
STREAM_NOMINAL: Final = DEFAULT_PLAN.stream_nominal
CAROUSEL_NOMINAL: Final = DEFAULT_PLAN.carousel_nominal


def ue_hosts(count: int) -> list[str]:
    """The default plan's media hosts of UEs 1..count (:meth:`Plan.ue_hosts`)."""
    return DEFAULT_PLAN.ue_hosts(count)


def ue_addresses(index: int) -> UeAddresses:
    """The default plan's addresses of UE ``index`` (:meth:`Plan.ue_addresses`)."""
    return DEFAULT_PLAN.ue_addresses(index)


__all__ = [
    "BMSC_HOST",
    "CAROUSEL_NOMINAL",
    "DEFAULT_NET",
    "DEFAULT_PLAN",
    "DOWNLOAD_KEY_GROUP",
    "FLUTE_PORT",
    "MAX_NET",
    "MAX_UES",
    "MIN_NET",
    "RTCP_PORT",
    "RTP_PORT",
    "STREAM_KEY_GROUP",
    "STREAM_NOMINAL",
    "Plan",
    "UeAddresses",
    "ue_addresses",
    "ue_hosts",
]
