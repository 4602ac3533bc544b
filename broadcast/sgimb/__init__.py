"""SGi-mb output: the BM-SC side of the interface to the MBMS gateway (TS 29.061 SGi-mb user plane).

User-plane traffic of a session (SRTP, MIKEY on 2269, FLUTE/ALC) leaves the engine as plain UDP/IP,
usually to the session's multicast group, with a configurable TTL, outgoing interface and source
address; optionally encapsulated in GTP-U (TS 29.281 G-PDU) for direct M1/MB-UPF style feeding.
The streaming and download services both send through :class:`DatagramOutput` (batched: UDP GSO
and sendmmsg in ``native/udp_send.pyx``); their TOML ``[output]`` table is read by
:func:`output_config_from_mapping`.
"""

from broadcast.sgimb.config import (
    GtpuConfig,
    OutputConfig,
    OutputConfigError,
    output_config_from_mapping,
)
from broadcast.sgimb.output import ASYNC_SLICE, DatagramOutput, OutputStats

__all__ = [
    "ASYNC_SLICE",
    "DatagramOutput",
    "GtpuConfig",
    "OutputConfig",
    "OutputConfigError",
    "OutputStats",
    "output_config_from_mapping",
]
