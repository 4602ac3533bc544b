"""``mbms stream --config FILE [--duration S] [--sdp PATH]``: run one protected stream session.

A thin layer over :class:`broadcast.aio.streaming.service.StreamService`: load the TOML
configuration (every key is documented in :mod:`broadcast.config.stream`;
``broadcast/config/examples/stream.toml`` is a complete example), start the session, write its SDP
file, and show its state until ``--duration`` seconds have passed, the ingest has ended (pcap file,
generator ``count``) or SIGINT/SIGTERM.

On a terminal the state is one live status line (MSK ID, MTK ID, packets/s, time to the next
switch); otherwise one log line every ``--status-every`` seconds. Keys are never shown.

Exit codes: 0 the session ran and stopped normally; 1 the configuration is unusable or the
session could not start (the message says why); 64 command-line usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, Final, TextIO

from broadcast.aio import clock
from broadcast.aio.streaming.service import StreamService, StreamStartError, StreamStatus
from broadcast.cli.common import configure_logging, number_option
from broadcast.config.stream import load_config
from broadcast.proto.errors import ConfigError
from broadcast.time import MonotonicS

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
#: Refresh of the live status line on a terminal.
TTY_REFRESH: Final = 0.5
#: Default period of the plain status log lines when not on a terminal.
LOG_EVERY: Final = 5.0


class RateMeter:
    """Packets/s between two status snapshots."""

    def __init__(self) -> None:
        self._last: tuple[MonotonicS, int] | None = None

    def update(self, now_mono: MonotonicS, packets: int) -> float:
        last, self._last = self._last, (now_mono, packets)
        if last is None or now_mono <= last[0]:
            return 0.0
        return (packets - last[1]) / (now_mono - last[0])


def status_line(st: StreamStatus, pps: float) -> str:
    """One line: keys by identifier only."""
    if st.seconds_to_switch is not None:
        nxt = f"next switch in {st.seconds_to_switch:.1f} s"
    elif st.packets_to_switch is not None:
        nxt = f"next MTK in {st.packets_to_switch} pkts"
    else:
        nxt = "next switch pending"
    parts = [
        f"{st.session}",
        f"MSK {st.msk_id or '-'}",
        f"MTK {st.mtk_id or '-'}",
        f"{pps:,.0f} pkt/s",
        nxt,
        f"switches {st.switches}",
        f"sent {st.srtp_out}",
    ]
    if st.bad_total:
        parts.append(f"dropped {st.bad_total}")
    if st.error:
        parts.append(f"ERROR: {st.error}")
    return " | ".join(parts)


async def run_session(
    service: StreamService,
    *,
    duration: float | None,
    out: TextIO,
    tty: bool,
    status_every: float,
) -> int:
    """Start ``service``, report its state on ``out`` until it should stop, stop it."""
    try:
        await service.start()
    except StreamStartError as exc:
        print(f"mbms stream: cannot start: {exc}", file=sys.stderr)
        return EXIT_FAILED
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    meter = RateMeter()
    meter.update(clock.monotonic(), 0)
    started = clock.monotonic()
    tick = TTY_REFRESH if tty else status_every
    try:
        while not stop.is_set():
            remaining = None if duration is None else started + duration - clock.monotonic()
            if remaining is not None and remaining <= 0:
                break
            if service.ingest_finished.is_set():
                break
            wait = tick if remaining is None else min(tick, remaining)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)
            st = service.status()
            line = status_line(st, meter.update(clock.monotonic(), st.srtp_out))
            if tty:
                out.write("\r\x1b[K" + line)
            else:
                out.write(line + "\n")
            out.flush()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)
        await service.stop()
        if tty:
            out.write("\n")
    st = service.status()
    out.write(
        f"stopped: {st.srtp_out} SRTP and {st.srtcp_out} SRTCP packets sent, "
        f"{st.mtks_issued} MTKs, {st.switches} switches, {st.mikey_sent} MTK messages, "
        f"{st.bad_total} ingest packets dropped"
        + (f" ({', '.join(f'{k} {v}' for k, v in sorted(st.bad.items()))})" if st.bad else "")
        + "\n"
    )
    out.flush()
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"mbms stream: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.sdp is not None:
        session = replace(config.session, sdp=None if args.sdp == "" else Path(args.sdp))
        config = replace(config, session=session)
    if not logging.getLogger().handlers:
        configure_logging(logging.WARNING if args.quiet else logging.INFO)
    out = sys.stdout
    tty = out.isatty()
    return asyncio.run(
        run_session(
            StreamService(config),
            duration=args.duration,
            out=out,
            tty=tty,
            status_every=args.status_every,
        )
    )


_POSITIVE = number_option(float, lambda v: v > 0, what="a number", rule="must be > 0")


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``stream`` to the ``mbms`` parser."""
    p = commands.add_parser(
        "stream",
        help="run a protected stream session (SRTP + MTK messages on UDP 2269)",
        description=(
            "Protect an RTP stream with SRTP under MTKs that change periodically and send the "
            "MIKEY MTK messages to UDP 2269 at the same destination (TS 33.246 6.3.3.2.2). "
            "Configuration keys: see broadcast/config/stream.py and "
            "broadcast/config/examples/stream.toml."
        ),
        epilog="exit codes: 0 ran and stopped; 1 unusable configuration or cannot start; "
        "64 usage error.",
    )
    p.add_argument("--config", required=True, metavar="FILE", help="the session's TOML file")
    p.add_argument(
        "--duration", type=_POSITIVE, metavar="S", help="stop after S seconds (default: run on)"
    )
    p.add_argument(
        "--sdp", metavar="PATH", help='write the SDP here instead ("" = do not write it)'
    )
    p.add_argument(
        "--status-every",
        type=_POSITIVE,
        default=LOG_EVERY,
        metavar="S",
        help=f"status log period when not on a terminal (default {LOG_EVERY:g} s)",
    )
    p.add_argument("--quiet", action="store_true", help="log warnings and errors only")
    p.set_defaults(handler=run)
