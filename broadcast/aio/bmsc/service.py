"""The BM-SC MSK service: HTTP MSK request server + MSK push, in one asyncio event loop (TS 33.246
6.3.2.2-6.3.2.3).

``async with BmscService(config) as svc`` (or ``start()``/``stop()``) runs:

* the MSK request server (aiohttp) on ``http.listen:http.port`` at ``http.path``: POST with
  ``application/mbms-msk+xml``, HTTP Digest (RFC 7616, SHA-256 and MD5, qop=auth; username =
  B-TID, password = base64(Ks_(ext)_NAF)). Refusals: 401 + ``WWW-Authenticate`` (fresh nonce,
  ``stale=true`` for an expired one), 400 malformed header/body, 413 body too large, 415 wrong
  content type, 429 rate limit (per client address) — each counted in :attr:`stats` and logged
  without key material. Success: 200 + ``Authentication-Info`` (rspauth, nextnonce, qop, nc,
  cnonce) + ``application/mbms-msk-response+xml`` with a status per requested MSK ID;
* the push worker: after ``push.delay`` the MSK messages go to the UE over UDP
  (:class:`~broadcast.aio.bmsc.push.PushScheduler`: ACKs, retransmission, give-up);
* the rotation schedule (``rotation_period`` / ``rotation_lead`` per Key Group);
* optionally the admin endpoint on loopback (``admin.port``): ``POST /admin/rotate``,
  ``/admin/promote``, ``/admin/pull``, ``GET /admin/status`` with the bearer token written
  (mode 0600) to ``admin.token_file`` — used by ``mbms msk rotate|pull|status``.

Composable: pass an open ``key_store`` (and ``store`` / ``gba``) to share them with other services
in one loop; the clocks and ``rand`` are injectable: ``clock_unix`` (the wall clock) for what is
stored or told — nonces, MUK and GBA lifetimes, deliveries, the rotation schedule — and
``clock_mono`` (monotonic) for the per-client rate limit. The stores, key management and push
scheduler come from :func:`broadcast.aio.bmsc.graph.build_bmsc`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from typing import Any

from aiohttp import web

from broadcast import profile
from broadcast.aio import clock
from broadcast.aio.bmsc.graph import build_bmsc
from broadcast.aio.service import AsyncService
from broadcast.config.files import open_private
from broadcast.engine.bmsc.keymgmt import DeliveryJob, PushReport
from broadcast.engine.bmsc.ratelimit import RateLimiter
from broadcast.engine.bmsc.settings import BmscConfig
from broadcast.proto.keys.errors import KeyModelError
from broadcast.proto.keys.ids import MskId
from broadcast.proto.keys.store import KeyStore, MskRecord
from broadcast.proto.msk.digest import DigestServer, NonceManager
from broadcast.proto.msk.errors import BmscError, DigestError, MskRequestError
from broadcast.proto.msk.gba import GbaKeySource, NafKey
from broadcast.proto.msk.msk_xml import build_msk_response, parse_msk_request
from broadcast.proto.msk.store import BmscStore, Delivery
from broadcast.time import MonotonicClock, Rand, UnixClock

log = logging.getLogger("broadcast.bmsc")

#: How often the rotation schedule is checked.
ROTATION_TICK_S = 1.0
#: Seconds ``stop()`` lets requests in flight finish.
SHUTDOWN_TIMEOUT_S = 2.0


class BmscService(AsyncService):
    """HTTP MSK request server + push + rotation (module docstring)."""

    def __init__(
        self,
        config: BmscConfig,
        *,
        key_store: KeyStore | None = None,
        store: BmscStore | None = None,
        gba: GbaKeySource | None = None,
        clock_unix: UnixClock = clock.unix,
        clock_mono: MonotonicClock = clock.monotonic,
        rand: Rand = os.urandom,
        nonce_secret: bytes | None = None,
        on_failed: Callable[[Delivery], None] | None = None,
    ) -> None:
        self.config = config
        self.clock_unix = clock_unix
        self.clock_mono = clock_mono
        self._rand = rand
        self.graph = build_bmsc(
            config,
            key_store=key_store,
            store=store,
            gba=gba,
            clock_unix=clock_unix,
            rand=rand,
            on_failed=on_failed,
        )
        self.km = self.graph.km
        self.push = self.graph.push
        self.digest = DigestServer(
            config.digest_realm,
            NonceManager(
                secret=nonce_secret,
                lifetime_s=config.http.nonce_lifetime,
                max_tracked=config.http.max_nonces,
                rand=rand,
            ),
        )
        rl = config.rate_limit
        self.limiter = RateLimiter(rl.rate, rl.burst, rl.max_clients)
        self.stats: Counter[str] = Counter()
        self._jobs: dict[tuple[str, int], DeliveryJob] = {}
        self._jobs_event = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._runner: web.AppRunner | None = None
        self._admin_runner: web.AppRunner | None = None
        self._http_port = 0
        self._admin_port = 0
        self._admin_token = ""
        self._lock = asyncio.Lock()  # serialises rotations / pulls with the worker

    # --- life cycle ------------------------------------------------------------------------
    async def start(self) -> None:
        self.km.ensure_groups(self.clock_unix())
        await self.push.start()
        app = web.Application(client_max_size=self.config.http.max_body + 1024)
        app.router.add_route("*", self.config.http.path, self._handle)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_TIMEOUT_S
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.http.listen, self.config.http.port)
        await site.start()
        self._http_port = _bound_port(self._runner, self.config.http.port)
        if self.config.admin.port:
            await self._start_admin()
        self._tasks = [
            asyncio.create_task(self._worker(), name="bmsc-worker"),
            asyncio.create_task(self._rotation_loop(), name="bmsc-rotation"),
        ]
        log.info("BM-SC MSK server at %s, pushes from %s", self.url, self.push.local_address)

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._jobs:  # requests answered with 200 but not yet built: build them now
            await self._build_pending()
        for runner in (self._runner, self._admin_runner):
            if runner is not None:
                await runner.cleanup()
        self._runner = self._admin_runner = None
        await self.push.stop()
        self.graph.close()

    @property
    def url(self) -> str:
        """The key management URI (with the port actually bound)."""
        return f"http://{self.config.http.listen}:{self._http_port}{self.config.http.path}"

    @property
    def admin_url(self) -> str | None:
        if not self._admin_port:
            return None
        return f"http://{self.config.admin.listen}:{self._admin_port}"

    def snapshot(self) -> dict[str, Any]:
        """Counters of the HTTP server and the push scheduler, and delivery states."""
        return {
            "http": dict(self.stats),
            "push": dict(self.push.stats),
            "deliveries": self.km.store.delivery_counts(),
            "nonces_tracked": self.digest.nonces.tracked,
            "rate_limited_clients": len(self.limiter),
            "jobs_queued": len(self._jobs),
        }

    # --- HTTP: the MSK request -------------------------------------------------------------
    def _refuse(
        self, status: int, reason: str, peer: str, headers: list[tuple[str, str]] | None = None
    ) -> web.Response:
        self.stats[f"refused_{status}"] += 1
        if status == 401 and reason == "authentication required":
            log.debug("401 challenge to %s", peer)
        else:
            log.info("MSK request from %s refused: %d %s", peer, status, reason)
        resp = web.Response(status=status, text=reason + "\n", content_type="text/plain")
        for k, v in headers or ():
            resp.headers.add(k, v)
        return resp

    def _challenge(self, reason: str, peer: str, *, stale: bool = False) -> web.Response:
        now = self.clock_unix()
        headers = [("WWW-Authenticate", c) for c in self.digest.challenges(now, stale=stale)]
        return self._refuse(401, reason, peer, headers)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        peer = request.remote or "unknown"
        try:
            return await self._handle_msk(request, peer)
        except Exception:  # nothing a client sends may crash the server
            log.exception("MSK request from %s failed", peer)
            return self._refuse(500, "internal error", peer)

    async def _handle_msk(self, request: web.Request, peer: str) -> web.StreamResponse:
        self.stats["requests"] += 1
        wait = self.limiter.allow(peer, self.clock_mono())
        if wait:
            return self._refuse(
                429, "rate limit exceeded", peer, [("Retry-After", str(math.ceil(wait)))]
            )
        if request.method != "POST":
            return self._refuse(405, "only POST", peer, [("Allow", "POST")])
        limit = self.config.http.max_body
        if request.content_length is not None and request.content_length > limit:
            return self._refuse(413, f"body larger than {limit} bytes", peer)
        if request.content_type != profile.MSK_REQUEST_CONTENT_TYPE:
            return self._refuse(
                415, f"content type must be {profile.MSK_REQUEST_CONTENT_TYPE}", peer
            )
        try:
            body = await request.content.read(limit + 1)
        except (ValueError, ConnectionError, asyncio.IncompleteReadError):
            return self._refuse(400, "unreadable body", peer)
        if len(body) > limit:
            return self._refuse(413, f"body larger than {limit} bytes", peer)
        header = request.headers.get("Authorization")
        if header is None:
            return self._challenge("authentication required", peer)
        now = self.clock_unix()
        found: list[NafKey] = []

        def password_of(b_tid: str) -> str | None:
            key = self.km.naf_key(b_tid, now)
            if isinstance(key, NafKey):
                found.append(key)
                return key.password
            self.stats[f"gba_{key.name.lower()}"] += 1
            return None

        try:
            success = self.digest.verify(
                header,
                method=request.method,
                uri=request.raw_path,
                now_unix=now,
                password_of=password_of,
            )
        except DigestError as exc:
            if exc.http_status == 400:
                return self._refuse(400, f"bad Authorization header: {exc.detail}", peer)
            return self._challenge(exc.detail, peer, stale=exc.stale)
        naf_key = found[-1]
        try:
            parsed = parse_msk_request(body)
        except MskRequestError as exc:
            return self._refuse(exc.http_status, f"bad MSK request: {exc}", peer)
        try:
            outcome = self.km.handle_request(naf_key, parsed, peer, now)
        except (KeyModelError, BmscError) as exc:
            log.warning("MSK request from %s: store: %s", peer, exc)
            return self._refuse(503, "key store unavailable", peer)
        for job in outcome.jobs:
            self._jobs[(job.registration.impi, job.registration.key_group)] = job
        if outcome.jobs:
            self._jobs_event.set()
        self.stats["ok"] += 1
        self.stats["initiated"] += len(outcome.initiated)
        resp = web.Response(
            status=200,
            body=build_msk_response(outcome.statuses),
            content_type=profile.MSK_RESPONSE_CONTENT_TYPE,
        )
        resp.headers["Authentication-Info"] = success.authentication_info
        return resp

    # --- push worker -------------------------------------------------------------------------
    async def _build_pending(self) -> None:
        jobs = list(self._jobs.values())
        self._jobs.clear()
        async with self._lock:
            n = await asyncio.to_thread(self.km.build_deliveries, jobs, self.clock_unix())
        self.push.stats["msk_built"] += n
        self.push.poke()

    async def _worker(self) -> None:
        while True:
            await self._jobs_event.wait()
            self._jobs_event.clear()
            if not self._jobs:
                continue
            try:
                await self._build_pending()
            except Exception:
                log.exception("building MSK messages failed")
                self.push.stats["build_errors"] += 1

    # --- rotation, pull (also the programmatic API) -------------------------------------------
    async def _rotation_loop(self) -> None:
        while True:
            try:
                for action in self.km.due_rotations(self.clock_unix()):
                    async with self._lock:
                        await asyncio.to_thread(self.km.run_rotation, action, self.clock_unix())
                    self.push.poke()
                    self.stats[f"rotation_{action.action}"] += 1
            except Exception:
                log.exception("scheduled MSK rotation failed")
                self.stats["rotation_errors"] += 1
            await asyncio.sleep(ROTATION_TICK_S)

    async def rotate(self, key_group: int, *, promote_after: float | None = None) -> PushReport:
        """Create and push the NEXT MSK now; promote it ``promote_after`` s later (default lead)."""
        async with self._lock:
            report = await asyncio.to_thread(
                self.km.rotate, key_group, self.clock_unix(), promote_after=promote_after
            )
        self.push.poke()
        self.stats["rotation_on_demand"] += 1
        return report

    async def promote(self, key_group: int) -> MskRecord:
        async with self._lock:
            return await asyncio.to_thread(self.km.promote, key_group, self.clock_unix())

    async def solicited_pull(self, impi: str, key_group: int) -> int:
        """Send a BM-SC solicited pull to a registered UE; returns the delivery id."""
        async with self._lock:
            delivery_id = await asyncio.to_thread(
                self.km.solicited_pull, impi, key_group, self.clock_unix()
            )
        self.push.poke()
        return delivery_id

    # --- admin endpoint (loopback) -----------------------------------------------------------
    async def _start_admin(self) -> None:
        self._admin_token = secrets.token_hex(32)
        path = self.config.admin_token_path
        with open_private(path) as f:
            f.write(self._admin_token + "\n")
        app = web.Application(client_max_size=4096)
        app.router.add_post("/admin/rotate", self._admin_rotate)
        app.router.add_post("/admin/promote", self._admin_promote)
        app.router.add_post("/admin/pull", self._admin_pull)
        app.router.add_get("/admin/status", self._admin_status)
        self._admin_runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_TIMEOUT_S
        )
        await self._admin_runner.setup()
        site = web.TCPSite(self._admin_runner, self.config.admin.listen, self.config.admin.port)
        await site.start()
        self._admin_port = _bound_port(self._admin_runner, self.config.admin.port)

    async def _admin_args(self, request: web.Request) -> dict[str, Any]:
        expected = f"Bearer {self._admin_token}"
        given = request.headers.get("Authorization", "")
        if not secrets.compare_digest(given.encode(), expected.encode()):
            raise web.HTTPUnauthorized(text="admin token required\n")
        if request.method == "GET":
            return {}
        try:
            data = await request.json()
        except (ValueError, UnicodeDecodeError):
            raise web.HTTPBadRequest(text="JSON body expected\n") from None
        if not isinstance(data, dict):
            raise web.HTTPBadRequest(text="JSON object expected\n")
        return data

    @staticmethod
    def _int_arg(data: dict[str, Any], name: str) -> int:
        v = data.get(name)
        if isinstance(v, bool) or not isinstance(v, int):
            raise web.HTTPBadRequest(text=f"{name} (integer) required\n")
        return v

    async def _admin_rotate(self, request: web.Request) -> web.Response:
        data = await self._admin_args(request)
        after = data.get("promote_after")
        if after is not None and (isinstance(after, bool) or not isinstance(after, int | float)):
            raise web.HTTPBadRequest(text="promote_after must be a number\n")
        try:
            report = await self.rotate(self._int_arg(data, "key_group"), promote_after=after)
        except KeyModelError as exc:
            raise web.HTTPConflict(text=f"{exc}\n") from None
        return web.json_response(_jsonable(report))

    async def _admin_promote(self, request: web.Request) -> web.Response:
        data = await self._admin_args(request)
        try:
            rec = await self.promote(self._int_arg(data, "key_group"))
        except KeyModelError as exc:
            raise web.HTTPConflict(text=f"{exc}\n") from None
        return web.json_response({"current": str(rec.msk_id)})

    async def _admin_pull(self, request: web.Request) -> web.Response:
        data = await self._admin_args(request)
        impi = data.get("impi")
        if not isinstance(impi, str):
            raise web.HTTPBadRequest(text="impi (string) required\n")
        try:
            did = await self.solicited_pull(impi, self._int_arg(data, "key_group"))
        except KeyModelError as exc:
            raise web.HTTPNotFound(text=f"{exc}\n") from None
        return web.json_response({"delivery": did})

    async def _admin_status(self, request: web.Request) -> web.Response:
        await self._admin_args(request)
        return web.json_response(self.snapshot())


def _bound_port(runner: web.AppRunner, configured: int) -> int:
    for site in runner.sites:
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        for s in sockets:
            return int(s.getsockname()[1])
    return configured


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, MskId):
        return str(obj)
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _jsonable(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, int | float | str | bool) or obj is None:
        return obj
    return str(obj)


__all__ = ["BmscService"]
