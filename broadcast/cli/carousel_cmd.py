"""``mbms carousel --config FILE``: run a protected FLUTE file carousel (TS 33.246 download).

``mbms carousel --config FILE [--duration S] [--rounds N] [--sdp PATH] [--quiet]``

Publishes the configured files as OMA DCF under the current MTK, with the MIKEY MTK message in the
same FLUTE session, repeats everything, rotates the MTK, follows the input directory, and writes
the session's SDP. The configuration format is documented in :mod:`broadcast.config.carousel`
(example: ``broadcast/config/examples/carousel.toml``). Progress: a status line redrawn in place on
a terminal, a plain log line every few seconds otherwise. Stops after ``--duration`` seconds, after
``--rounds`` complete rounds, or on Ctrl-C.

Exit codes: 0 done; 1 the carousel could not start (configuration, key store, files); 64 usage.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import Any, TextIO

from broadcast.aio import clock
from broadcast.aio.download.service import CarouselService, CarouselStats
from broadcast.cli.common import configure_logging, number_option
from broadcast.config.carousel import load_config
from broadcast.engine.keys.issuing import KeyGroupKindError
from broadcast.proto.errors import ConfigError
from broadcast.proto.keys import KeyModelError, KeyStoreError

#: Seconds between two progress lines when the output is not a terminal.
LOG_EVERY = 5.0
#: Seconds between two redraws of the status line on a terminal.
REDRAW_EVERY = 0.5


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"  # pragma: no cover


def progress_line(stats: CarouselStats) -> str:
    """One line of progress: objects, bytes, rounds, bitrate, keys."""
    keys = f" MSK {stats.msk_id} MTK {stats.mtk_id}" if stats.mtk_id else ""
    return (
        f"[{stats.elapsed:7.1f}s] objects {stats.objects} ({_size(stats.live_bytes)}) · "
        f"sent {stats.packets} pkts / {_size(stats.bytes_sent)} · rounds {stats.rounds} · "
        f"{stats.bitrate / 1e6:.2f} Mbit/s · FDT {stats.fdt_instance_id}{keys}"
    )


async def run_carousel(
    service: CarouselService,
    *,
    duration: float | None,
    rounds: int | None,
    out: TextIO,
    tty: bool,
) -> CarouselStats:
    """Run ``service`` until the duration or the rounds are reached; print progress to ``out``."""
    await service.start()
    try:
        start = clock.monotonic()
        last_log = start
        while True:
            stats = service.stats
            now = clock.monotonic()
            done = (duration is not None and now - start >= duration) or (
                rounds is not None and stats.rounds >= rounds
            )
            if tty:
                out.write("\r" + progress_line(stats) + "\033[K")
                out.flush()
            elif done or now - last_log >= LOG_EVERY:
                out.write(progress_line(stats) + "\n")
                out.flush()
                last_log = now
            if done:
                break
            await asyncio.sleep(REDRAW_EVERY if tty else 0.1)
        if tty:
            out.write("\n")
        return service.stats
    finally:
        await service.stop()


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"mbms carousel: {exc}", file=sys.stderr)
        return 1
    if args.sdp is not None:
        config = type(config)(**{**_fields(config), "sdp_path": Path(args.sdp)})
    configure_logging(logging.WARNING if args.quiet else logging.INFO)
    service = CarouselService(config)
    try:
        stats = asyncio.run(
            run_carousel(
                service,
                duration=args.duration,
                rounds=args.rounds,
                out=sys.stdout,
                tty=sys.stdout.isatty(),
            )
        )
    except (OSError, KeyGroupKindError, KeyModelError, KeyStoreError) as exc:
        print(f"mbms carousel: {exc}", file=sys.stderr)
        return 1
    if service.sdp is not None and config.sdp_path is None:
        sys.stdout.write(service.sdp)
    print(f"done: {stats.rounds} round(s), {stats.packets} packets", file=sys.stderr)
    return 0


def _fields(config: Any) -> dict[str, Any]:
    return {name: getattr(config, name) for name in config.__dataclass_fields__}


_POSITIVE_FLOAT = number_option(float, lambda v: v > 0, what="a number", rule="must be > 0")
_POSITIVE_INT = number_option(int, lambda v: v > 0, what="an integer", rule="must be > 0")


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``carousel`` to the ``mbms`` parser."""
    parser = commands.add_parser(
        "carousel",
        help="run a protected FLUTE file carousel (DCF + in-band MIKEY MTK)",
        description=(__doc__ or "").split("\n\n")[2],
    )
    parser.add_argument("--config", required=True, metavar="FILE", help="carousel TOML file")
    parser.add_argument(
        "--duration", type=_POSITIVE_FLOAT, metavar="S", help="stop after S seconds"
    )
    parser.add_argument(
        "--rounds", type=_POSITIVE_INT, metavar="N", help="stop after N complete rounds"
    )
    parser.add_argument("--sdp", metavar="PATH", help="write the SDP here (overrides session.sdp)")
    parser.add_argument("--quiet", action="store_true", help="log warnings only")
    parser.set_defaults(handler=run)
