"""The UE's MSK procedures for one User Service (TS 33.246 6.3.2.2-6.3.2.3): the MSK client run
for the Key Groups the announcement lists.

:class:`UeKeyManagement` wires a :class:`~broadcast.aio.ue.msk_client.MskClient` into the UE:

- GBA credentials (B-TID, Ks_(ext)_NAF from the key file, :mod:`broadcast.config.gba_key`) give the
  HTTP Digest password and the MUK; the key management URI and Key Domain come from the
  announcement (6.3.2.2.2; the URI may be overridden in ``[msk_client]``);
- at start it requests the current MSK (Key Number 0) of every announced Key Group — the
  initiation of key management (6.3.2.2.2). A failed request (no answer, HTTP error, unverifiable
  answer) is retried with a doubling wait (1 s up to ``retry_max``) until it succeeds;
- MSK messages pushed to ``listen:port`` are verified by the client (MAC with the MUK, COUNTER
  replay, the MTK ID interval they carry) and go into the UE's
  :class:`~broadcast.engine.ue.service_keys.MskStore` (``on_msk``); the client sends the MIKEY ACK
  when the message asks for one (V = 1), and answers a BM-SC solicited pull with a new request;
- a missed MSK update seen in the traffic (:meth:`on_missed_msk`, from the streaming and
  download receivers) re-requests the current MSK of that Key Group, at most once per Key Group
  per ``rerequest_interval`` seconds (6.3.2.2.3: unauthenticated traffic triggers it).

With a :class:`~broadcast.engine.ue.link.Link`, the push socket's datagrams go through it (simulated
loss, capture) like the session sockets'. Counters (:meth:`counters`) are the client's plus
``requests`` / ``request_failures`` / ``rerequests`` / ``rerequests_limited`` /
``initial_request_ok``; :meth:`summary` adds the last status per MSK ID and the MSK IDs pushed.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import Counter
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, Final

from broadcast import profile
from broadcast.aio import clock
from broadcast.aio.ue.msk_client import MskAnswer, MskClient, MskClientConfig, MskClientError
from broadcast.config.ue import MskClientSettings
from broadcast.engine.ue.link import Link, peer
from broadcast.engine.ue.report import JsonValue
from broadcast.engine.ue.service_keys import MskStore
from broadcast.proto.announce.protection import ProtectionDescription
from broadcast.proto.errors import ConfigError
from broadcast.proto.keys.ids import KeyDomainId, MskId
from broadcast.proto.mikey.mbms import MskDelivery
from broadcast.time import MonotonicClock, Rand, UnixClock

log = logging.getLogger("broadcast.ue.msk")

#: Status codes remembered per MSK ID (the most recent answers).
MAX_STATUSES: Final = 64


class LinkedMskClient(MskClient):
    """An :class:`MskClient` whose UDP datagrams (pushes in, ACKs out) pass a :class:`Link`."""

    def __init__(
        self,
        config: MskClientConfig,
        *,
        link: Link,
        on_msk: Callable[[MskDelivery], None] | None = None,
        rand: Rand = os.urandom,
    ) -> None:
        super().__init__(config, on_msk=on_msk, rand=rand)
        self.link = link

    def _local(self) -> tuple[str, int]:
        try:
            return self.udp_address
        except RuntimeError:
            return self.config.listen, self.config.port

    def _on_datagram(self, data: bytes, addr: tuple[object, ...]) -> None:
        if self.link.incoming(bytes(data), peer(addr), self._local()):
            super()._on_datagram(data, addr)

    def _send(self, data: bytes, addr: tuple[object, ...]) -> None:
        if self._transport is not None:
            self.link.outgoing(bytes(data), self._local(), peer(addr))
        super()._send(data, addr)


class UeKeyManagement:
    """The MSK client of one UE for one announced service (see the module doc)."""

    def __init__(
        self,
        settings: MskClientSettings,
        protection: ProtectionDescription,
        store: MskStore,
        *,
        link: Link | None = None,
        clock_mono: MonotonicClock = clock.monotonic,
        clock_unix: UnixClock = clock.unix,
        rand: Rand = os.urandom,
    ) -> None:
        km = protection.key_management
        uri = settings.key_management_uri or (km.uri if km is not None else None)
        if uri is None:
            raise ConfigError(
                "is not set and the announcement names no key management server",
                table="msk_client",
                key="key_management_uri",
            )
        if protection.key_domain_id is None:
            raise ConfigError("the announcement names no Key Domain ID", table="announcement")
        creds = settings.credentials
        if km is not None and km.fqdn != creds.bmsc_fqdn:
            raise ConfigError(
                f"the GBA key file is for BM-SC {creds.bmsc_fqdn}, the announcement's key "
                f"management server is {km.fqdn}",
                table="msk_client",
                key="key_file",
            )
        self.settings = settings
        self.key_domain: KeyDomainId = protection.key_domain_id
        self.key_groups: tuple[int, ...] = protection.key_groups
        self.uri = uri
        self.store = store
        self.clock_mono = clock_mono
        self.clock_unix = clock_unix
        config = MskClientConfig(
            key_management_uri=uri,
            b_tid=creds.b_tid,
            ks_naf=creds.ks_naf,
            bmsc_fqdn=creds.bmsc_fqdn,
            key_domain=self.key_domain,
            listen=settings.listen,
            port=settings.port,
            local_address=settings.http_source,
            request_timeout=settings.request_timeout,
        )
        self.client: MskClient = (
            MskClient(config, on_msk=store.on_delivery, rand=rand)
            if link is None
            else LinkedMskClient(config, link=link, on_msk=store.on_delivery, rand=rand)
        )
        self.stats: Counter[str] = Counter()
        #: The last status code the BM-SC gave per requested MSK ID (``"00010000": 200``).
        self.statuses: dict[str, int] = {}
        #: Every MSK delivered by push, as ``MSK ID`` (in order).
        self.pushed: list[str] = []
        self.initial_done = asyncio.Event()
        self._last_rerequest: dict[int, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._started = False

    # -- life cycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        """Bind the push socket and start the initial MSK request (in the background)."""
        if self.settings.credentials.is_expired(self.clock_unix()):
            log.warning(
                "the GBA key of B-TID %s has expired: the BM-SC will refuse the MSK request "
                "(bootstrap again: mbms gba add)",
                self.settings.credentials.b_tid,
            )
            self.stats["gba_key_expired"] = 1
        await self.client.start()
        self._started = True
        self._spawn(self._initial(), "msk-initial-request")
        self._spawn(self._drain_events(), "msk-events")

    async def stop(self) -> None:
        tasks = list(self._tasks)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        if self._started:
            await self.client.stop()
            self._started = False

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- requests --------------------------------------------------------------------------------
    async def request(self, msk_ids: Sequence[MskId]) -> MskAnswer:
        """One MSK request (MskClientError when it fails); statuses are recorded."""
        self.stats["requests"] += 1
        try:
            answer = await self.client.request(msk_ids)
        except MskClientError:
            self.stats["request_failures"] += 1
            raise
        for status in answer.statuses:
            self.statuses[str(status.msk_id)] = status.code
            if len(self.statuses) > MAX_STATUSES:
                del self.statuses[next(iter(self.statuses))]
            if status.code != profile.MSK_STATUS_OK:
                log.warning("the BM-SC answered %d for MSK %s", status.code, status.msk_id)
        return answer

    async def _initial(self) -> None:
        """Initiation of key management: the current MSK of every announced Key Group."""
        wanted = [MskId.current(g) for g in self.key_groups]
        wait = 1.0
        while True:
            try:
                await self.request(wanted)
            except MskClientError as exc:
                log.warning("MSK request failed (%s); retrying in %.0f s", exc, wait)
                await asyncio.sleep(wait)
                wait = min(self.settings.retry_max, wait * 2)
                continue
            self.stats["initial_request_ok"] = 1
            self.initial_done.set()
            return

    def on_missed_msk(self, key_domain_id: KeyDomainId, msk_id: MskId) -> None:
        """Traffic names an MSK this UE lacks: re-request the current MSK of its Key Group."""
        group = msk_id.key_group
        if key_domain_id != self.key_domain or group not in self.key_groups:
            return
        now = self.clock_mono()
        last = self._last_rerequest.get(group)
        if last is not None and now - last < self.settings.rerequest_interval:
            self.stats["rerequests_limited"] += 1
            return
        self._last_rerequest[group] = now
        self.stats["rerequests"] += 1
        log.info("missed MSK update (MSK %s named by traffic): requesting the current MSK", msk_id)

        async def rerequest() -> None:
            try:
                await self.request([MskId.current(group)])
            except MskClientError as exc:
                log.info("re-request for Key Group %d failed: %s", group, exc)

        if self._started:
            self._spawn(rerequest(), "msk-rerequest")

    async def _drain_events(self) -> None:
        """Consume the client's event queue (it is unbounded): count what arrived."""
        while True:
            event = await self.client.events.get()
            self.stats[f"events_{event.kind}"] += 1
            delivery = event.delivery
            if event.kind == "msk" and delivery is not None:
                self.pushed.append(str(delivery.envelope.msk_id))
                if len(self.pushed) > MAX_STATUSES:
                    del self.pushed[0]

    # -- report ----------------------------------------------------------------------------------
    def counters(self) -> Mapping[str, int]:
        """The client's counters and this wiring's (see the module doc)."""
        merged: Counter[str] = Counter(self.client.stats)
        merged.update(self.stats)
        return dict(sorted(merged.items()))

    def summary(self) -> dict[str, JsonValue]:
        creds = self.settings.credentials
        statuses: dict[str, JsonValue] = dict(self.statuses)
        return {
            "b_tid": creds.b_tid,
            "impi": creds.impi,
            "key_management_uri": self.uri,
            "push_listen": f"{self.settings.listen}:{self.settings.port}",
            "statuses": statuses,
            "pushed": list(self.pushed),
        }


__all__ = ["LinkedMskClient", "UeKeyManagement"]
