"""Shared helpers of the tests/bmsc modules (not a test module): a BM-SC on loopback
(127.24.x.x), GBA subscribers, UE clients.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from broadcast.aio.bmsc.service import BmscService
from broadcast.aio.ue.msk_client import MskClient, MskClientConfig
from broadcast.engine.bmsc.settings import (
    BmscConfig,
    HttpConfig,
    KeyGroupConfig,
    PushConfig,
    RateLimitConfig,
)
from broadcast.proto.keys.ids import KeyDomainId
from broadcast.proto.msk.gba import NafKey, naf_id
from broadcast.proto.msk.store import Subscription
from broadcast.store.bmsc import SQLiteBmscStore
from broadcast.store.gba_sim import SQLiteGbaStore

T = TypeVar("T")

FQDN = "bmsc.mnc001.mcc001.pub.3gppnetwork.org"
KDID = KeyDomainId.from_plmn("001", "01")
SERVER_HOST = "127.24.0.1"
#: Generous bound of every wait in these tests (they finish far sooner).
TIMEOUT = 10.0


def config(tmp_path: Path, **changes: Any) -> BmscConfig:
    """A fast test configuration: port 0 everywhere, short push delay and backoff."""
    base = BmscConfig(
        fqdn=FQDN,
        store=str(tmp_path / "bmsc.db"),
        key_domain=KDID,
        key_groups=(KeyGroupConfig(1), KeyGroupConfig(2, streaming=True)),
        http=HttpConfig(listen=SERVER_HOST, port=0),
        rate_limit=RateLimitConfig(rate=0.0),
        push=PushConfig(
            source=SERVER_HOST, delay=0.0, ack_timeout=0.1, backoff=1.5, max_attempts=3
        ),
    )
    return dataclasses.replace(base, **changes)


def add_subscriber(
    cfg: BmscConfig,
    impi: str,
    groups: tuple[int, ...] = (1,),
    *,
    lifetime: int = 3600,
    now: float | None = None,
) -> NafKey:
    """Bootstrap ``impi`` in the BSF simulator and subscribe it; returns the UE's NAF key."""
    now = time.time() if now is None else now
    gba = SQLiteGbaStore(cfg.store, bsf_domain=cfg.gba.bsf_domain)
    store = SQLiteBmscStore(cfg.store)
    try:
        boot = gba.bootstrap(impi, now_unix=int(now), lifetime=lifetime)
        for g in groups:
            store.add_subscription(Subscription(impi, cfg.key_domain, g))
        return gba.ue_material(boot.b_tid, naf_id(cfg.fqdn))
    finally:
        gba.close()
        store.close()


def ue(svc: BmscService, key: NafKey, host: str, port: int = 0, **kw: Any) -> MskClient:
    """An MskClient for ``key`` listening on ``host:port`` (0 = any port)."""
    return MskClient(
        MskClientConfig(
            svc.url,
            key.b_tid,
            key.ks_naf,
            svc.config.fqdn,
            svc.config.key_domain,
            listen=host,
            port=port,
            **kw,
        )
    )


def run(coro_fn: Callable[[], Awaitable[T]], timeout: float = 30.0) -> T:
    async def main() -> T:
        return await asyncio.wait_for(coro_fn(), timeout)  # type: ignore[arg-type]

    return asyncio.run(main())
