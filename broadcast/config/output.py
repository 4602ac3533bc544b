"""Output configuration shared by the streaming and download services (TOML ``[output]``).

Keys of ``[output]`` (all optional; see :class:`OutputConfig`)::

    [output]
    ttl = 1                  # IP multicast TTL, 0..255 (also the TTL of GTP-U inner packets)
    interface = "sgi_mb"     # outgoing interface for multicast: a name or one of its IPv4 addresses
    source = "172.16.1.1"    # local IPv4 address to send from (the source a gateway filters on)
    source_port = 0          # local UDP port (0: any)
    multicast_loop = true    # also deliver multicast to listeners on this host
    gso = true               # UDP GSO for runs of equal-size datagrams (falls back by itself)
    native = true            # false: one sendto per datagram (the reference path)
    send_timeout = 0.05      # seconds a blocked send may wait for socket buffer space
    sndbuf = 0               # SO_SNDBUF in bytes (0: system default)

    [output.gtpu]            # present: send every datagram as a GTP-U G-PDU (TS 29.281)
    endpoint = "127.0.0.1"   # GTP-U peer (MBMS-GW / MB-UPF user plane), IPv4 address
    port = 2152
    teid = 0x00000001        # 0..2^32-1
    sequence_numbers = false # set S and number the G-PDUs

Static checks (types, ranges, address syntax) run here and raise :class:`OutputConfigError`;
the checks against the host (interface exists, source is a local address) run when a
:class:`~broadcast.aio.sgimb.output.DatagramOutput` is opened.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from broadcast import profile
from broadcast.proto.net.gtpu import GTPU_PORT, MAX_TEID

#: Default ``send_timeout``: seconds a blocked send may wait for socket buffer space before the
#: rest of the batch is dropped and counted (SO_SNDTIMEO; the asyncio send waits this long for
#: writability). Operational tuning, not a 3GPP/RFC decision: a full send buffer on a local
#: gateway link drains in micro- to milliseconds (``broadcast.aio.sgimb.output``).
SEND_TIMEOUT_S: Final = 0.05


class OutputConfigError(ValueError):
    """An ``[output]`` setting that is malformed or does not fit this host."""


def _ipv4(value: str, key: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise OutputConfigError(f"{key}: {value!r} is not an IPv4 address") from None


def _int_in(value: object, key: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise OutputConfigError(f"{key}: expected an integer {low}..{high}, got {value!r}")
    if not low <= value <= high:
        raise OutputConfigError(f"{key}: {value} is outside {low}..{high}")
    return value


@dataclass(frozen=True)
class GtpuConfig:
    """GTP-U encapsulation towards ``endpoint:port`` with tunnel endpoint id ``teid``."""

    endpoint: str
    teid: int
    port: int = GTPU_PORT
    sequence_numbers: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "endpoint", _ipv4(self.endpoint, "output.gtpu.endpoint"))
        _int_in(self.teid, "output.gtpu.teid", 0, MAX_TEID)
        _int_in(self.port, "output.gtpu.port", 1, 0xFFFF)


@dataclass(frozen=True)
class OutputConfig:
    """How datagrams leave the engine (SGi-mb user plane, TS 29.061 clause 20).

    ``ttl``: IP multicast TTL (unicast TTL is left to the system); with GTP-U, also the TTL of
    the inner packets. ``interface``: outgoing interface for multicast, an interface name or one
    of its IPv4 addresses. ``source``: local IPv4 address the socket binds to, i.e. the source
    address the gateway sees (what a source-specific multicast filter names). ``source_port``:
    local port (0: any). ``multicast_loop``: deliver multicast to local listeners as well
    (needed for tests and the loopback demo). ``gtpu``: encapsulate in GTP-U. ``gso``: build UDP
    GSO messages. ``native``: the native batched path (False: one ``sendto`` per datagram, the
    reference it is compared with). ``send_timeout``: how long (s) one blocked send may wait for
    socket buffer space before the rest of the batch is dropped (counted). ``sndbuf``: SO_SNDBUF
    bytes, 0 for the system default.
    """

    ttl: int = profile.OUTPUT_MULTICAST_TTL
    interface: str | None = None
    source: str | None = None
    source_port: int = 0
    multicast_loop: bool = True
    gtpu: GtpuConfig | None = None
    gso: bool = True
    native: bool = True
    send_timeout: float = SEND_TIMEOUT_S
    sndbuf: int = field(default=0)

    def __post_init__(self) -> None:
        _int_in(self.ttl, "output.ttl", 0, 255)
        _int_in(self.source_port, "output.source_port", 0, 0xFFFF)
        _int_in(self.sndbuf, "output.sndbuf", 0, 1 << 30)
        if self.interface is not None and (
            not isinstance(self.interface, str) or not self.interface or len(self.interface) > 15
        ):
            raise OutputConfigError(
                f"output.interface: {self.interface!r} is not an interface name or address"
            )
        if self.source is not None:
            object.__setattr__(self, "source", _ipv4(self.source, "output.source"))
        if (
            isinstance(self.send_timeout, bool)
            or not isinstance(self.send_timeout, int | float)
            or not math.isfinite(self.send_timeout)
            or not 0 < self.send_timeout <= 60
        ):
            raise OutputConfigError(
                f"output.send_timeout: expected seconds in (0, 60], got {self.send_timeout!r}"
            )
        if self.gtpu is not None and not isinstance(self.gtpu, GtpuConfig):
            raise OutputConfigError("output.gtpu: expected a GtpuConfig")


_OUTPUT_TYPES: dict[str, tuple[type, ...]] = {
    "ttl": (int,),
    "interface": (str,),
    "source": (str,),
    "source_port": (int,),
    "multicast_loop": (bool,),
    "gso": (bool,),
    "native": (bool,),
    "send_timeout": (int, float),
    "sndbuf": (int,),
}
_GTPU_TYPES: dict[str, tuple[type, ...]] = {
    "endpoint": (str,),
    "teid": (int,),
    "port": (int,),
    "sequence_numbers": (bool,),
}


def _typed(section: Mapping[str, Any], types: dict[str, tuple[type, ...]], prefix: str) -> None:
    for key, value in section.items():
        if key not in types:
            raise OutputConfigError(
                f"{prefix}.{key}: unknown key (known: {', '.join(sorted(types))})"
            )
        wanted = types[key]
        if (isinstance(value, bool) and bool not in wanted) or not isinstance(value, wanted):
            names = " or ".join(t.__name__ for t in wanted)
            raise OutputConfigError(f"{prefix}.{key}: expected {names}, got {value!r}")


def output_config_from_mapping(section: Mapping[str, Any] | None) -> OutputConfig:
    """:class:`OutputConfig` from a parsed TOML ``[output]`` table (keys in the module doc).

    Unknown keys and wrong types raise :class:`OutputConfigError` naming the key.
    """
    if section is None:
        return OutputConfig()
    if not isinstance(section, Mapping):
        raise OutputConfigError("output: expected a table")
    plain = {k: v for k, v in section.items() if k != "gtpu"}
    _typed(plain, _OUTPUT_TYPES, "output")
    gtpu = None
    if "gtpu" in section:
        table = section["gtpu"]
        if not isinstance(table, Mapping):
            raise OutputConfigError("output.gtpu: expected a table")
        _typed(table, _GTPU_TYPES, "output.gtpu")
        for key in ("endpoint", "teid"):
            if key not in table:
                raise OutputConfigError(f"output.gtpu.{key}: required")
        gtpu = GtpuConfig(**dict(table))
    return OutputConfig(**plain, gtpu=gtpu)
