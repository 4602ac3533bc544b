"""The UE side of the MSK procedures (TS 33.246 6.3.2.2-6.3.2.3): MSK request over HTTP Digest,
MSK push over UDP with MIKEY ACK, BM-SC solicited pull.

A reusable asyncio component for the reference UE::

    client = MskClient(MskClientConfig(uri, b_tid, ks_naf, bmsc_fqdn, key_domain,
                                       listen="127.24.0.2"))
    async with client:
        answer = await client.request([MskId.current(1)])   # statuses per MSK ID
        event = await client.events.get()                   # MskEvent("msk", delivery)

* :meth:`MskClient.request` POSTs ``application/mbms-msk+xml``. The first request answers the
  server's 401 challenge (SHA-256 preferred, MD5); a 200's ``Authentication-Info`` is checked
  (``rspauth``) and its ``nextnonce`` kept, so later requests are authorized pre-emptively. A
  ``stale`` or refused pre-emptive nonce falls back to the challenge path once.
* The UDP listener (``listen:port``, 2269 by default) hands every datagram to a
  :class:`~broadcast.proto.mikey.verifier.Verifier` (MAC, COUNTER replay); an accepted MSK message
  is reported on :attr:`events` (and ``on_msk``), and its MIKEY ACK, when V = 1, goes back to the
  source address and port of the push. A re-sent push (same bytes: our ACK was lost) gets the
  same ACK again. A solicited pull makes the client request the current MSK of that Key Group.
  Pass your own ``verifier`` to share it with the MTK receivers.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import aiohttp
from yarl import URL

from broadcast import profile
from broadcast.aio.service import AsyncService
from broadcast.engine.ue.msk_digest import DigestClient
from broadcast.proto.keys.ids import KeyDomainId, MskId
from broadcast.proto.keys.material import SessionKey
from broadcast.proto.mikey.errors import MikeyError
from broadcast.proto.mikey.mbms import Kind, MskDelivery, build_ack, envelope
from broadcast.proto.mikey.verifier import Accepted, DuplicateMessage, Verifier
from broadcast.proto.msk.errors import DigestError, MskRequestError
from broadcast.proto.msk.gba import digest_password, muk_from_ks_naf, muk_id_for
from broadcast.proto.msk.msk_xml import MskStatus, build_msk_request, parse_msk_response
from broadcast.time import Rand

log = logging.getLogger("broadcast.ue.msk")


class MskClientError(Exception):
    """The MSK request failed (HTTP status, unverifiable answer); no key material in the text."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class MskClientConfig:
    """Where the BM-SC is and who the UE is (GBA: B-TID and Ks_(ext)_NAF for this BM-SC)."""

    key_management_uri: str
    b_tid: str
    ks_naf: SessionKey
    bmsc_fqdn: str
    key_domain: KeyDomainId
    listen: str = "127.0.0.1"
    port: int = profile.MIKEY_UDP_PORT
    local_address: str | None = None  # HTTP source address; default: ``listen``
    request_timeout: float = 10.0
    pull_request: bool = True  # answer a solicited pull with an MSK request


@dataclass(frozen=True, slots=True)
class MskAnswer:
    statuses: tuple[MskStatus, ...]
    challenged: bool  # True: the server answered 401 first (no usable nonce)


@dataclass(frozen=True, slots=True)
class MskEvent:
    """``msk``: a verified MSK delivery; ``pull``: a verified solicited pull for ``key_group``;
    ``mtk``: a verified MTK message (if MTK messages reach this socket)."""

    kind: Literal["msk", "pull", "mtk"]
    accepted: Accepted
    key_group: int

    @property
    def delivery(self) -> MskDelivery | None:
        return self.accepted.msk


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, owner: MskClient) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        self.owner._on_datagram(data, addr)

    def error_received(self, exc: Exception) -> None:
        self.owner.stats["udp_errors"] += 1


class MskClient(AsyncService):
    """HTTP Digest MSK requests + MIKEY MSK push receiver of one UE (module docstring)."""

    def __init__(
        self,
        config: MskClientConfig,
        *,
        verifier: Verifier | None = None,
        on_msk: Callable[[MskDelivery], None] | None = None,
        rand: Rand = os.urandom,
    ) -> None:
        self.config = config
        self.verifier = verifier if verifier is not None else Verifier()
        self.on_msk = on_msk
        self.events: asyncio.Queue[MskEvent] = asyncio.Queue()
        self.stats: Counter[str] = Counter()
        self._rand = rand
        self._digest = DigestClient(config.b_tid, digest_password(config.ks_naf), rand=rand)
        self._muk = muk_from_ks_naf(config.ks_naf)
        self._muk_id = muk_id_for(config.bmsc_fqdn, config.b_tid)
        self.verifier.add_muk(self._muk_id, self._muk)
        self._transport: asyncio.DatagramTransport | None = None
        self._session: aiohttp.ClientSession | None = None
        self._request_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return f"<MskClient {self.config.b_tid!r} at {self.config.listen}:{self.config.port}>"

    # --- life cycle ------------------------------------------------------------------------
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(self), local_addr=(self.config.listen, self.config.port)
        )
        self._transport = transport
        local = self.config.local_address or self.config.listen
        connector = aiohttp.TCPConnector(local_addr=(local, 0), limit=4)
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self.config.request_timeout),
        )

    async def stop(self) -> None:
        tasks = list(self._tasks)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    @property
    def udp_address(self) -> tuple[str, int]:
        if self._transport is None:
            raise RuntimeError("client not started")
        host, port = self._transport.get_extra_info("sockname")[:2]
        return str(host), int(port)

    # --- MSK request -----------------------------------------------------------------------
    async def request(self, msk_ids: Sequence[MskId]) -> MskAnswer:
        """POST an MSK request for ``msk_ids`` (Key Number 0 = current); returns the statuses.

        MskClientError on a refusal (status kept) or an answer that fails the rspauth check."""
        async with self._request_lock:
            return await self._request(msk_ids)

    async def _post(
        self, body: bytes, authorization: str | None
    ) -> tuple[int, bytes, list[str], str | None]:
        """One POST: (status, body, WWW-Authenticate values, Authentication-Info)."""
        session = self._session
        if session is None:
            raise MskClientError("client not started")
        headers = {"Content-Type": profile.MSK_REQUEST_CONTENT_TYPE}
        if authorization is not None:
            headers["Authorization"] = authorization
        self.stats["http_requests"] += 1
        try:
            async with session.post(
                self.config.key_management_uri, data=body, headers=headers
            ) as resp:
                data = await resp.content.read(256 * 1024)
                return (
                    resp.status,
                    data,
                    list(resp.headers.getall("WWW-Authenticate", [])),
                    resp.headers.get("Authentication-Info"),
                )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise MskClientError(f"MSK request failed: {type(exc).__name__}") from None

    async def _request(self, msk_ids: Sequence[MskId]) -> MskAnswer:
        body = build_msk_request(self.config.key_domain, msk_ids)
        uri = URL(self.config.key_management_uri).raw_path_qs
        auth = self._digest.authorization("POST", uri) if self._digest.has_nonce else None
        status, data, challenges, info = await self._post(body, auth)
        challenged = False
        if status == 401:
            # No nonce yet, or the pre-emptive one was stale / unknown: answer the challenge once.
            challenged = True
            self.stats["challenges"] += 1
            try:
                self._digest.on_challenge(challenges)
            except DigestError as exc:
                raise MskClientError(f"unusable challenge: {exc}", 401) from None
            auth = self._digest.authorization("POST", uri)
            status, data, challenges, info = await self._post(body, auth)
        if status != 200:
            self.stats[f"http_{status}"] += 1
            reason = data[:200].decode("utf-8", "replace").strip()
            if status == 401:
                self._digest.forget()
            raise MskClientError(f"MSK request refused: {status} {reason}", status)
        try:
            self._digest.on_success(info, uri)
            statuses = parse_msk_response(data)
        except (DigestError, MskRequestError) as exc:
            self._digest.forget()
            raise MskClientError(f"unverifiable MSK response: {exc}", 200) from None
        self.stats["http_ok"] += 1
        return MskAnswer(statuses, challenged)

    # --- MIKEY over UDP --------------------------------------------------------------------
    def _send(self, data: bytes, addr: tuple[object, ...]) -> None:
        if self._transport is not None:
            self._transport.sendto(data, addr[:2])

    def _on_datagram(self, data: bytes, addr: tuple[object, ...]) -> None:
        try:
            accepted = self.verifier.receive(data)
        except DuplicateMessage:
            self._on_duplicate(data, addr)
            return
        except MikeyError as exc:
            self.stats["mikey_refused"] += 1
            log.info("MIKEY message from %s refused: %s", addr[0], exc)
            return
        group = 0
        if accepted.kind is Kind.MSK and accepted.msk is not None:
            self.stats["msk_received"] += 1
            group = accepted.msk.envelope.msk_id.key_group
            if accepted.ack is not None:
                self._send(accepted.ack, addr)
                self.stats["ack_sent"] += 1
            if self.on_msk is not None:
                self.on_msk(accepted.msk)
            self.events.put_nowait(MskEvent("msk", accepted, group))
        elif accepted.kind is Kind.SOLICITED_PULL and accepted.pull is not None:
            self.stats["pull_received"] += 1
            group = accepted.pull.key_group
            self.events.put_nowait(MskEvent("pull", accepted, group))
            self._answer_pull(group)
        elif accepted.kind is Kind.MTK and accepted.mtk is not None:
            self.stats["mtk_received"] += 1
            self.events.put_nowait(
                MskEvent("mtk", accepted, accepted.mtk.envelope.msk_id.key_group)
            )

    def _on_duplicate(self, data: bytes, addr: tuple[object, ...]) -> None:
        """The very message accepted last, again: the sender did not get our answer."""
        self.stats["duplicates"] += 1
        try:
            env = envelope(data)
        except MikeyError:  # pragma: no cover - it was accepted before
            return
        if env.kind is Kind.MSK and env.ack_requested and env.muk_id == self._muk_id:
            self._send(build_ack(env, self._muk), addr)
            self.stats["ack_resent"] += 1
        elif env.kind is Kind.SOLICITED_PULL:
            self._answer_pull(env.msk_id.key_group)

    def _answer_pull(self, key_group: int) -> None:
        if not self.config.pull_request:
            return

        async def run() -> None:
            try:
                await self.request([MskId.current(key_group)])
                self.stats["pull_answered"] += 1
            except MskClientError as exc:
                self.stats["pull_request_failed"] += 1
                log.info("request after solicited pull failed: %s", exc)

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
