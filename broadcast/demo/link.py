"""The demo's model of each UE's link (a :class:`broadcast.engine.ue.link.Link`): seeded random loss
on receive (``--loss P``) and capture into the pcap file (``--pcap``).

Every datagram arriving at any socket of a UE — SRTP, SRTCP, MIKEY MTK messages, FLUTE/ALC, MSK
pushes — is first written to the capture (it was on the wire) and then dropped with probability
``loss_percent / 100``, drawn from the UE's own ``random.Random`` seeded with ``(seed, UE)``: the
same seed drops the same share, and each UE loses different packets. The counters tell what
arrived and what was dropped, by kind (the destination port says which; on 2269 the plan's
push addresses tell MSK pushes from MTK messages).
"""

from __future__ import annotations

import random
from collections import Counter

from broadcast import profile
from broadcast.demo.pcap import PcapWriter
from broadcast.demo.plan import DEFAULT_PLAN, FLUTE_PORT, RTCP_PORT, RTP_PORT, Plan

Address = tuple[str, int]


def kind_of(destination: Address, plan: Plan = DEFAULT_PLAN) -> str:
    """``srtp``, ``srtcp``, ``mtk`` (MIKEY at the media address), ``flute``, ``msk`` (MIKEY at
    one of ``plan``'s push addresses) or ``other``."""
    host, port = destination
    if port == profile.MIKEY_UDP_PORT:
        return "msk" if plan.is_push_host(host) else "mtk"
    return {RTP_PORT: "srtp", RTCP_PORT: "srtcp", FLUTE_PORT: "flute"}.get(port, "other")


class DemoLink:
    """Loss and capture for one UE (see the module doc)."""

    def __init__(
        self,
        ue_index: int,
        *,
        loss_percent: float = 0.0,
        seed: int = 0,
        pcap: PcapWriter | None = None,
        plan: Plan = DEFAULT_PLAN,
    ) -> None:
        if not 0 <= loss_percent < 100:
            raise ValueError("the loss must be 0..100 % (exclusive)")
        self.ue_index = ue_index
        self.loss = loss_percent / 100.0
        self.pcap = pcap
        self.plan = plan
        self._rng = random.Random(f"mbms-demo/{seed}/{ue_index}")
        self.received: Counter[str] = Counter()
        self.dropped: Counter[str] = Counter()
        self.sent: Counter[str] = Counter()

    def incoming(self, data: bytes, source: Address, destination: Address) -> bool:
        if self.pcap is not None:
            self.pcap.write(data, source, destination)
        kind = kind_of(destination, self.plan)
        if self.loss and self._rng.random() < self.loss:
            self.dropped[kind] += 1
            return False
        self.received[kind] += 1
        return True

    def outgoing(self, data: bytes, source: Address, destination: Address) -> None:
        if self.pcap is not None:
            self.pcap.write(data, source, destination)
        self.sent["mikey_ack"] += 1  # the only datagrams a UE sends


__all__ = ["DemoLink", "kind_of"]
