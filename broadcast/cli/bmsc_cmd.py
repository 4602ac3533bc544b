"""``mbms serve | gba | subscribe | msk``: the BM-SC MSK procedures (TS 33.246 6.3.2).

``mbms serve --config FILE``
    Run the BM-SC: MSK request server (HTTP Digest), MSK push with MIKEY ACK, rotation schedule
    and, when ``[admin] port`` is set, the loopback admin endpoint (``broadcast/config/bmsc.py``
    documents the TOML; ``broadcast/config/examples/bmsc.toml`` is an example).
``mbms gba add --config FILE --impi IMPI [--lifetime S] [--show-keys] [--key-file PATH]``
    Bootstrap a subscriber in the local BSF simulator: prints the B-TID and the NAF-ID; the UE's
    Ks_(ext)_NAF (the Digest password is its base64) only with ``--show-keys``, or written as
    JSON to ``--key-file`` (mode 0600). ``mbms gba list`` lists the bootstraps (no keys).
``mbms subscribe add|remove|list --config FILE --impi IMPI --key-group G [--delivery HOST:PORT]``
    Which subscriber may receive which Key Group (authorization of the MSK request).
``mbms msk rotate|promote|pull|status|list --config FILE ...``
    ``rotate``: create the NEXT MSK, push it to every registered UE, promote it after the lead
    time (``--promote-after S``). ``pull --ue IMPI --key-group G``: BM-SC solicited pull.
    ``status``: the running server's counters. These talk to the running server's admin
    endpoint (token from ``[admin] token_file``); with ``--direct`` they act on the store and
    send from this process instead (it then waits for the ACKs itself). ``list`` reads the
    store: MSKs per Key Group with their state, registered UEs and delivery states.

Exit codes: 0 done; 1 failure (the message says why); 64 usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
import urllib.error
import urllib.request
from contextlib import suppress
from typing import Any, Final

from broadcast.aio import clock
from broadcast.aio.bmsc.graph import build_bmsc
from broadcast.aio.bmsc.service import BmscService
from broadcast.config.bmsc import load
from broadcast.config.gba_key import GbaCredentials, write_gba_key
from broadcast.engine.bmsc.settings import BmscConfig
from broadcast.proto.errors import ConfigError
from broadcast.proto.keys.errors import KeyModelError
from broadcast.proto.msk.errors import BmscError
from broadcast.proto.msk.gba import naf_id
from broadcast.proto.msk.store import DeliveryState, Subscription
from broadcast.store.bmsc import SQLiteBmscStore
from broadcast.store.gba_sim import SQLiteGbaStore
from broadcast.store.keys import SQLiteKeyStore
from broadcast.time import UnixS

EXIT_OK: Final = 0
EXIT_FAIL: Final = 1


class CliError(Exception):
    """A failure to report on stderr (exit code 1)."""


def _config(args: argparse.Namespace) -> BmscConfig:
    try:
        return load(args.config)
    except ConfigError as exc:
        raise CliError(str(exc)) from None


def _run(fn: Any, args: argparse.Namespace) -> int:
    try:
        return int(fn(args))
    except (CliError, BmscError, ConfigError, KeyModelError) as exc:
        print(f"mbms: {exc}", file=sys.stderr)
        return EXIT_FAIL


# --- serve ----------------------------------------------------------------------------------


async def _serve(cfg: BmscConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with BmscService(cfg) as svc:
        print(f"BM-SC key management URI: {svc.url}", flush=True)
        print(f"MSK pushes from {svc.push.local_address[0]}:{svc.push.local_address[1]}")
        if svc.admin_url:
            print(f"admin endpoint: {svc.admin_url} (token in {cfg.admin_token_path})")
        sys.stdout.flush()
        await stop.wait()


def cmd_serve(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper()),
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    asyncio.run(_serve(_config(args)))
    return EXIT_OK


# --- gba ------------------------------------------------------------------------------------


def cmd_gba_add(args: argparse.Namespace) -> int:
    cfg = _config(args)
    gba = SQLiteGbaStore(cfg.store, bsf_domain=cfg.gba.bsf_domain)
    try:
        lifetime = args.lifetime if args.lifetime is not None else cfg.gba.key_lifetime
        boot = gba.bootstrap(args.impi, now_unix=UnixS(int(clock.unix())), lifetime=lifetime)
        naf = naf_id(cfg.fqdn)
        key = gba.ue_material(boot.b_tid, naf)
    finally:
        gba.close()
    print(f"IMPI:       {boot.impi}")
    print(f"B-TID:      {boot.b_tid}")
    print(f"NAF-ID:     {cfg.fqdn} + Ua 0x{naf[-5:].hex()}")
    print(f"expires at: {boot.expires_at} (unix seconds)")
    credentials = GbaCredentials(boot.impi, boot.b_tid, cfg.fqdn, boot.expires_at, key.ks_naf)
    if args.key_file:
        write_gba_key(args.key_file, credentials)
        print(f"UE key material written to {args.key_file} (mode 0600)")
    if args.show_keys:  # the one place keys are printed: asked for explicitly
        material = credentials.to_json()
        print(f"Ks_NAF:     {material['ks_naf']}")
        print(f"password:   {material['digest_password']}  (base64 of Ks_NAF)")
        print(f"MUK:        {material['muk']}")
    return EXIT_OK


def cmd_gba_list(args: argparse.Namespace) -> int:
    cfg = _config(args)
    gba = SQLiteGbaStore(cfg.store, bsf_domain=cfg.gba.bsf_domain)
    try:
        boots = gba.list_bootstraps(args.impi)
    finally:
        gba.close()
    now = UnixS(int(clock.unix()))
    for b in boots:
        state = "expired" if b.is_expired(now) else "valid"
        print(f"{b.impi}\t{b.b_tid}\texpires {b.expires_at}\t{state}")
    return EXIT_OK


# --- subscribe --------------------------------------------------------------------------------


def _delivery(text: str | None) -> tuple[str | None, int | None]:
    if not text:
        return None, None
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) <= 65535:
        raise CliError("--delivery must be HOST:PORT")
    return host, int(port)


def cmd_subscribe(args: argparse.Namespace) -> int:
    cfg = _config(args)
    store = SQLiteBmscStore(cfg.store)
    try:
        if args.action == "list":
            for s in store.list_subscriptions(args.impi):
                where = f"\t{s.delivery_host}:{s.delivery_port}" if s.delivery_host else ""
                print(f"{s.impi}\t{s.key_domain}\tKey Group {s.key_group}{where}")
            return EXIT_OK
        if args.impi is None or args.key_group is None:
            raise CliError("--impi and --key-group are required")
        if cfg.group(args.key_group) is None:
            raise CliError(f"Key Group {args.key_group} is not in the configuration")
        if args.action == "add":
            host, port = _delivery(args.delivery)
            store.add_subscription(
                Subscription(args.impi, cfg.key_domain, args.key_group, host, port)
            )
            print(f"{args.impi} may receive Key Group {args.key_group}")
        else:
            if not store.remove_subscription(args.impi, cfg.key_domain, args.key_group):
                raise CliError("no such subscription")
            print(f"{args.impi} may no longer receive Key Group {args.key_group}")
    finally:
        store.close()
    return EXIT_OK


# --- msk ------------------------------------------------------------------------------------


def _admin(cfg: BmscConfig, method: str, path: str, body: dict[str, Any] | None) -> Any:
    if not cfg.admin.port:
        raise CliError("the configuration has no [admin] port: use --direct")
    try:
        with open(cfg.admin_token_path, encoding="ascii") as f:
            token = f.read().strip()
    except OSError as exc:
        raise CliError(
            f"cannot read the admin token ({exc.strerror}): is the server running?"
        ) from None
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        f"http://{cfg.admin.listen}:{cfg.admin.port}{path}",
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=600) as resp:  # noqa: S310
            return json.loads(resp.read().decode())
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace").strip()
        raise CliError(f"server refused: {exc.code} {detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise CliError(f"cannot reach the admin endpoint: {exc}") from None


async def _direct(cfg: BmscConfig, action: Any, wait: bool) -> Any:
    """Run ``action(km, now_unix)`` on the store, then send from this process until done."""
    graph = build_bmsc(cfg)
    push = graph.push
    try:
        await push.start()
        result = await asyncio.to_thread(action, graph.km, clock.unix())
        push.poke()
        if wait:
            p = cfg.push
            limit = clock.monotonic() + sum(p.wait_after(n) for n in range(1, p.max_attempts + 1))
            while graph.store.delivery_counts().get(DeliveryState.PENDING, 0) and (
                clock.monotonic() < limit + 2
            ):
                await asyncio.sleep(0.05)
        return result, dict(push.stats)
    finally:
        await push.stop()
        graph.close()


def cmd_msk(args: argparse.Namespace) -> int:
    cfg = _config(args)
    if args.msk_command == "list":
        return _msk_list(cfg)
    if args.msk_command == "status":
        print(json.dumps(_admin(cfg, "GET", "/admin/status", None), indent=2))
        return EXIT_OK
    if args.msk_command == "rotate":
        body = {"key_group": args.key_group, "promote_after": args.promote_after}
        if args.direct:
            report, stats = asyncio.run(
                _direct(
                    cfg,
                    lambda km, now_unix: km.rotate(
                        args.key_group, now_unix, promote_after=args.promote_after
                    ),
                    True,
                )
            )
            print(
                f"NEXT MSK {report.msk_id} of Key Group {report.key_group}: pushed to "
                f"{report.pushed} UEs, {report.pulled} solicited pulls; {stats}"
            )
            return EXIT_OK
        print(json.dumps(_admin(cfg, "POST", "/admin/rotate", body), indent=2))
        return EXIT_OK
    if args.msk_command == "promote":
        if args.direct:
            rec, _ = asyncio.run(
                _direct(cfg, lambda km, now_unix: km.promote(args.key_group, now_unix), False)
            )
            print(f"MSK {rec.msk_id} is now current")
            return EXIT_OK
        print(json.dumps(_admin(cfg, "POST", "/admin/promote", {"key_group": args.key_group})))
        return EXIT_OK
    body = {"impi": args.ue, "key_group": args.key_group}
    if args.direct:
        did, stats = asyncio.run(
            _direct(
                cfg,
                lambda km, now_unix: km.solicited_pull(args.ue, args.key_group, now_unix),
                False,
            )
        )
        print(f"solicited pull sent (delivery {did}); {stats}")
        return EXIT_OK
    print(json.dumps(_admin(cfg, "POST", "/admin/pull", body)))
    return EXIT_OK


def _msk_list(cfg: BmscConfig) -> int:
    keys = SQLiteKeyStore(cfg.store)
    store = SQLiteBmscStore(cfg.store)
    try:
        for g in cfg.key_groups:
            try:
                msks = keys.list_msks(cfg.key_domain, g.number)
            except KeyModelError:
                msks = []
            n = store.count_registrations(cfg.key_domain, g.number)
            print(
                f"Key Group {g.number} ({'streaming' if g.streaming else 'download'}): "
                f"{n} registered UEs"
            )
            for m in msks[-5:]:
                print(
                    f"  MSK {m.msk_id}  {m.state.value:8}  MTK IDs {m.mtk_id_low}..{m.mtk_id_high}"
                )
        print(f"deliveries: {store.delivery_counts()}")
    finally:
        store.close()
        keys.close()
    return EXIT_OK


# --- registration -----------------------------------------------------------------------------


def _add_config(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", required=True, metavar="FILE", help="BM-SC TOML configuration")


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Adds ``serve``, ``gba``, ``subscribe`` and ``msk`` to the ``mbms`` parser."""
    serve = commands.add_parser(
        "serve",
        help="run the BM-SC MSK server (HTTP Digest MSK requests, MSK push, rotation)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_config(serve)
    serve.add_argument("--log-level", default="info", choices=("debug", "info", "warning"))
    serve.set_defaults(handler=lambda a: _run(cmd_serve, a))

    gba = commands.add_parser("gba", help="GBA bootstrap simulator (subscribers, B-TIDs)")
    gsub = gba.add_subparsers(dest="gba_command", required=True, metavar="WHAT")
    add = gsub.add_parser("add", help="bootstrap a subscriber: prints its B-TID")
    _add_config(add)
    add.add_argument("--impi", required=True, help="the subscriber's IMPI")
    add.add_argument("--lifetime", type=int, help="key lifetime in seconds")
    add.add_argument(
        "--show-keys", action="store_true", help="print Ks_NAF, the Digest password and the MUK"
    )
    add.add_argument("--key-file", help="write the UE key material as JSON (mode 0600)")
    add.set_defaults(handler=lambda a: _run(cmd_gba_add, a))
    lst = gsub.add_parser("list", help="list bootstraps (no keys)")
    _add_config(lst)
    lst.add_argument("--impi")
    lst.set_defaults(handler=lambda a: _run(cmd_gba_list, a))

    sub = commands.add_parser("subscribe", help="which subscriber may receive which Key Group")
    sub.add_argument("action", choices=("add", "remove", "list"))
    _add_config(sub)
    sub.add_argument("--impi")
    sub.add_argument("--key-group", type=int)
    sub.add_argument("--delivery", metavar="HOST:PORT", help="push address instead of the source")
    sub.set_defaults(handler=lambda a: _run(cmd_subscribe, a))

    msk = commands.add_parser("msk", help="MSK rotation, solicited pull, status")
    msub = msk.add_subparsers(dest="msk_command", required=True, metavar="WHAT")
    rot = msub.add_parser("rotate", help="create, push and schedule the NEXT MSK")
    rot.add_argument("--key-group", type=int, required=True)
    rot.add_argument("--promote-after", type=float, help="seconds until it becomes current")
    pro = msub.add_parser("promote", help="make the NEXT MSK current now")
    pro.add_argument("--key-group", type=int, required=True)
    pull = msub.add_parser("pull", help="BM-SC solicited pull to a registered UE")
    pull.add_argument("--ue", required=True, metavar="IMPI")
    pull.add_argument("--key-group", type=int, required=True)
    st = msub.add_parser("status", help="counters of the running server")
    ls = msub.add_parser("list", help="MSKs, registrations and deliveries in the store")
    for p in (rot, pro, pull, st, ls):
        _add_config(p)
        p.set_defaults(handler=lambda a: _run(cmd_msk, a))
    for p in (rot, pro, pull):
        p.add_argument(
            "--direct", action="store_true", help="act on the store and send from this process"
        )


__all__ = ["register"]
