"""``mbms demo``: every procedure end to end on loopback (:mod:`broadcast.demo.runner`).

``mbms demo [--duration S] [--ues N] [--loss P] [--seed N] [--fec compact-no-code|raptor]
[--decode-media] [--pcap FILE] [--keylog FILE] [--json FILE] [--net N] [-v]``

Starts, in one process on 127.N.0.0/16 (default N = 100): the BM-SC (HTTP Digest MSK requests,
MSK push with MIKEY ACK), a protected stream of real media (VP8 test pattern + Opus tone under
SRTP), a protected carousel of sample files (DCF under download MTKs, FLUTE), and ``--ues``
reference UEs with their own GBA credentials. The UEs register, get their MSKs, receive the
MTKs of both sessions, decrypt the media and the files; during the run the stream switches MTKs,
the BM-SC rotates the MSKs and the carousel changes MTK. A live view shows each UE's progress;
the end prints the table of checks per UE.

``--loss P`` drops P % of the datagrams reaching every UE socket (seeded by ``--seed``);
``--pcap FILE`` writes the UDP traffic as a pcap file (Wireshark dissects MIKEY on 2269);
``--keylog FILE`` writes every MSK and MTK with its IDs (and SRTP salt) — key bytes, mode 0600;
``--decode-media`` decodes the decrypted video and audio on every UE; ``--json FILE`` writes the
report (schema ``mbms-demo-report/1``, see :mod:`broadcast.demo.report`); ``--net N`` runs on
127.N.0.0/16 (:mod:`broadcast.demo.plan`), so demos with different N run side by side.

Exit codes: 0 every UE passed every check; 1 a UE (or the run) failed a check; 2 the demo could
not be set up (an address in use, ...); 64 usage error; 130 interrupted (SIGINT/SIGTERM end
the run early; the clean-up and the report still happen).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any, Final

from broadcast.cli.common import add_verbose, configure_logging, number_option, verbose_level
from broadcast.demo.plan import DEFAULT_NET, MAX_NET, MAX_UES, MIN_NET
from broadcast.demo.report import dumps, final_table
from broadcast.demo.runner import FEC_CHOICES, DemoError, DemoOptions, run_demo
from broadcast.demo.timeline import DEFAULT_DURATION, MAX_DURATION, MIN_DURATION

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_SETUP: Final = 2
EXIT_INTERRUPTED: Final = 130
PROG: Final = "mbms demo"


_duration = number_option(
    float,
    lambda v: MIN_DURATION <= v <= MAX_DURATION,
    what="a number of seconds",
    rule=f"the duration must be {MIN_DURATION:g}..{MAX_DURATION:g} seconds",
)
_ues = number_option(
    int,
    lambda v: 1 <= v <= MAX_UES,
    what="a number of UEs",
    rule=f"the number of UEs must be 1..{MAX_UES}",
)
_net = number_option(
    int,
    lambda v: MIN_NET <= v <= MAX_NET,
    what="a network number",
    rule=f"the network must be {MIN_NET}..{MAX_NET} (127.N.0.0/16)",
)
_loss = number_option(
    float, lambda v: 0 <= v <= 50, what="a percentage", rule="the loss must be 0..50 %"
)


def run(args: argparse.Namespace) -> int:
    configure_logging(verbose_level(args.verbose))
    options = DemoOptions(
        duration=args.duration,
        ues=args.ues,
        loss=args.loss,
        seed=args.seed,
        fec=args.fec,
        decode_media=args.decode_media,
        pcap=args.pcap,
        keylog=args.keylog,
        net=args.net,
    )
    out = sys.stdout
    try:
        report = asyncio.run(run_demo(options, out, tty=out.isatty()))
    except DemoError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_SETUP
    except OSError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_SETUP
    out.write("\n" + final_table(report))
    out.flush()
    if args.json is not None:
        try:
            args.json.write_text(dumps(report), encoding="utf-8")
        except OSError as exc:
            print(f"{PROG}: cannot write the report {args.json}: {exc.strerror}", file=sys.stderr)
            return EXIT_FAILED
    if report["summary"].get("interrupted"):
        return EXIT_INTERRUPTED
    return EXIT_OK if report["ok"] else EXIT_FAILED


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``demo`` to the ``mbms`` parser."""
    p = commands.add_parser(
        "demo",
        help="BM-SC, a protected stream and carousel and N UEs on loopback, end to end",
        description=__doc__.split("\n\n", 2)[2] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--duration",
        type=_duration,
        default=DEFAULT_DURATION,
        metavar="S",
        help=f"seconds the stream and the carousel run (default {DEFAULT_DURATION:g}; "
        f"MTK period and MSK rotation scale with it)",
    )
    p.add_argument("--ues", type=_ues, default=5, metavar="N", help="reference UEs (default 5)")
    p.add_argument(
        "--loss",
        type=_loss,
        default=0.0,
        metavar="P",
        help="drop P %% of what reaches every UE socket, at random (seeded; default 0)",
    )
    p.add_argument("--seed", type=int, default=1, help="seed of the loss and the sample files")
    p.add_argument(
        "--fec",
        choices=FEC_CHOICES,
        default="compact-no-code",
        help="FEC of the carousel's files (default compact-no-code)",
    )
    p.add_argument(
        "--decode-media",
        action="store_true",
        help="every UE decodes the decrypted VP8/Opus and counts the frames",
    )
    p.add_argument("--pcap", type=Path, metavar="FILE", help="write the UDP traffic as pcap")
    p.add_argument(
        "--keylog",
        type=Path,
        metavar="FILE",
        help="write every MSK and MTK learnt (key bytes, mode 0600)",
    )
    p.add_argument("--json", type=Path, metavar="FILE", help="write the report as JSON")
    p.add_argument(
        "--net",
        type=_net,
        default=DEFAULT_NET,
        metavar="N",
        help=f"run on 127.N.0.0/16, N in {MIN_NET}..{MAX_NET} (default {DEFAULT_NET}); "
        "another N lets a second demo run at the same time",
    )
    add_verbose(p)
    p.set_defaults(handler=run)


__all__ = ["register"]
