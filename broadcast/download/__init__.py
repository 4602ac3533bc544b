"""The protected file carousel (MBMS download, TS 33.246 §6.3.3 / TS 26.346 FLUTE).

Files are protected as OMA DRM v2 DCF under the current MTK and sent as FLUTE objects; the MIKEY
MTK message travels as its own object in the same session. Sans-IO parts:

- :mod:`~broadcast.download.scheduler` — order and pace of the packets (priorities, repeat
  intervals, token-bucket bitrate);
- :mod:`~broadcast.download.session` — TOIs, FDT Instances (IDs, Expires), retirement;
- :mod:`~broadcast.download.objects` — streaming DCF/gzip preparation of the transport objects;
- :mod:`~broadcast.download.keys` — MTKs and their MIKEY messages from the durable key store;
- :mod:`~broadcast.download.receiver` — the UE side: FLUTE → MIKEY → MTK → DCF → files
  (:mod:`~broadcast.download.worker` feeds it from asyncio in a worker thread, so Raptor decoding
  and big files never stall the event loop);
- :mod:`~broadcast.download.watch`, :mod:`~broadcast.download.sdp`,
  :mod:`~broadcast.download.config`.

:class:`~broadcast.download.service.CarouselService` runs it all in asyncio.
"""

from broadcast.download.config import CarouselConfig, ConfigError, load_config
from broadcast.download.receiver import (
    DownloadEvent,
    DownloadReceiver,
    FileReceived,
    FileRejected,
    MtkReceived,
)
from broadcast.download.service import CarouselService, CarouselStats
from broadcast.download.worker import ReceiveWorker

__all__ = [
    "CarouselConfig",
    "CarouselService",
    "CarouselStats",
    "ConfigError",
    "DownloadEvent",
    "DownloadReceiver",
    "FileReceived",
    "FileRejected",
    "MtkReceived",
    "ReceiveWorker",
    "load_config",
]
