"""The BM-SC object graph, built in one place (the composition root of ``mbms serve``).

:func:`build_bmsc` wires what every BM-SC process needs (TS 33.246 6.3.2): the key store
(:class:`~broadcast.store.keys.SQLiteKeyStore`), the BM-SC tables
(:class:`~broadcast.store.bmsc.SQLiteBmscStore`), the GBA key source (the local BSF simulator,
:class:`~broadcast.store.gba_sim.SQLiteGbaStore`), key management over them
(:class:`~broadcast.engine.bmsc.keymgmt.KeyManagement`) and the push scheduler that sends its
deliveries (:class:`~broadcast.aio.bmsc.push.PushScheduler`).
:class:`~broadcast.aio.bmsc.service.BmscService` adds the HTTP side on top; the ``--direct``
``mbms msk`` commands use the graph alone. A store passed in is shared, not owned: only what
:func:`build_bmsc` opened is closed by :meth:`BmscGraph.close`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from broadcast.aio import clock
from broadcast.aio.bmsc.push import PushScheduler
from broadcast.engine.bmsc.keymgmt import KeyManagement
from broadcast.engine.bmsc.settings import BmscConfig
from broadcast.proto.keys.store import KeyStore
from broadcast.proto.msk.gba import GbaKeySource
from broadcast.proto.msk.store import BmscStore, Delivery
from broadcast.store.bmsc import SQLiteBmscStore
from broadcast.store.gba_sim import SQLiteGbaStore
from broadcast.store.keys import SQLiteKeyStore
from broadcast.time import Rand, UnixClock


class _Closeable(Protocol):
    def close(self) -> None: ...


@dataclass(slots=True)
class BmscGraph:
    """Key management and the push scheduler over their stores; ``owned``: what to close."""

    km: KeyManagement
    push: PushScheduler
    owned: tuple[_Closeable, ...] = ()

    @property
    def store(self) -> BmscStore:
        """The BM-SC tables (registrations, deliveries)."""
        return self.km.store

    def close(self) -> None:
        """Close the stores :func:`build_bmsc` opened, last opened first (idempotent)."""
        owned, self.owned = self.owned, ()
        for obj in reversed(owned):
            obj.close()


def build_bmsc(
    config: BmscConfig,
    *,
    key_store: KeyStore | None = None,
    store: BmscStore | None = None,
    gba: GbaKeySource | None = None,
    clock_unix: UnixClock = clock.unix,
    rand: Rand = os.urandom,
    on_failed: Callable[[Delivery], None] | None = None,
) -> BmscGraph:
    """The BM-SC graph of ``config``: each store not given is opened on ``config.store``."""
    owned: list[_Closeable] = []
    if key_store is None:
        sqlite_keys = SQLiteKeyStore(config.store)
        owned.append(sqlite_keys)
        key_store = sqlite_keys
    if store is None:
        tables = SQLiteBmscStore(config.store)
        owned.append(tables)
        store = tables
    if gba is None:
        sim = SQLiteGbaStore(config.store, bsf_domain=config.gba.bsf_domain, rand=rand)
        owned.append(sim)
        gba = sim
    km = KeyManagement(config, key_store, store, gba, rand=rand, perf_counter=clock.perf_counter)
    push = PushScheduler(km, config.push, clock_unix=clock_unix, on_failed=on_failed)
    return BmscGraph(km, push, tuple(owned))


__all__ = ["BmscGraph", "build_bmsc"]
