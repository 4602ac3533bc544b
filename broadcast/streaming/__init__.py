"""The protected stream service (TS 33.246 6.3.3.2.2, MTK delivery for streaming): SRTP under the
current MTK, MIKEY MTK messages on UDP 2269 at the RTP destination address.

- :class:`StreamService` — the asyncio service (``start``/``stop``/``status``), configured by a
  :class:`StreamConfig` (``load_config`` reads the TOML of ``mbms stream --config``; every key is
  documented in :mod:`broadcast.streaming.config`, example in ``example.toml``);
- :class:`MtkSchedule` — sans-IO: when to make, send, re-send and switch MTKs;
- :class:`MtkIssuer` — MTK ID, counter and MIKEY MTK message from the durable key store;
- :class:`ProtectPipeline` — check, protect (native batch SRTP) and send ingest packets;
- :func:`srtp_policy` — the session's SRTP policy as the MIKEY SP payload value (for the BM-SC's
  MSK messages); :func:`build_sdp` — the session's SDP;
- ingest sources: UDP socket, pcap file (:mod:`broadcast.streaming.pcap`), RTP generator.
"""

from broadcast.streaming.config import ConfigError, StreamConfig, load_config
from broadcast.streaming.keying import IssuedMtk, MtkIssuer, MtkUnavailable, ensure_standalone_keys
from broadcast.streaming.pipeline import ProtectPipeline
from broadcast.streaming.policy import SrtpConfig, srtp_policy
from broadcast.streaming.schedule import MtkSchedule, MtkTiming
from broadcast.streaming.sdp import SdpSession, build_sdp
from broadcast.streaming.service import StreamService, StreamStartError, StreamStatus

__all__ = [
    "ConfigError",
    "IssuedMtk",
    "MtkIssuer",
    "MtkSchedule",
    "MtkTiming",
    "MtkUnavailable",
    "ProtectPipeline",
    "SdpSession",
    "SrtpConfig",
    "StreamConfig",
    "StreamService",
    "StreamStartError",
    "StreamStatus",
    "build_sdp",
    "ensure_standalone_keys",
    "load_config",
    "srtp_policy",
]
