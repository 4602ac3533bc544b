"""SGi-mb output: the BM-SC side of the interface to the MBMS gateway (TS 29.061 SGi-mb user plane).

User-plane traffic of a session (SRTP, MIKEY on 2269, FLUTE/ALC) leaves the engine as plain UDP/IP,
usually to the session's multicast group, with a configurable TTL, outgoing interface and source
address; optionally encapsulated in GTP-U (TS 29.281 G-PDU) for direct M1/MB-UPF style feeding.
The streaming and download services both send through :class:`DatagramOutput`.
"""

from broadcast.sgimb.output import DatagramOutput, OutputConfig, OutputStats

__all__ = ["DatagramOutput", "OutputConfig", "OutputStats"]
