"""``mbms inspect``: decode MIKEY messages into a readable tree, check them with a key, and show
sample MBMS messages built with fixed demo keys.

``mbms inspect mikey HEX|FILE|- [--key HEX] [--answers HEX|FILE|-] [--show-keys] [--json]``
``mbms inspect sample [--kind msk|mtk|pull|ack|all] [--show-keys] [--json]``

Exit codes: 0 decoded (and, with ``--key``, verified); 1 the input cannot be read or decoded
(the message names the field and byte offset) or cannot be checked; 2 the MAC does not verify
with the given key; 64 command-line usage error.

Key bytes are never printed unless ``--show-keys`` is given: the decrypted key data is shown by
its identifiers only (MSK ID, MTK ID, validity, MKI, "salt present").
"""

from __future__ import annotations

import argparse
import string
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final, TypeVar

from broadcast.cli.render import dumps, hexdump
from broadcast.proto.keys import KeyDomainId, Msk, MskId, Mtk, MtkId, Muk, MukId, SrtpSalt
from broadcast.proto.mikey import (
    MikeyError,
    SrtpPolicy,
    build_ack,
    build_msk_message,
    build_mtk_message,
    build_solicited_pull,
    envelope,
)
from broadcast.proto.mikey.payloads import SrtpCs
from broadcast.proto.mikey.render import Check, render_message
from broadcast.proto.tree import JsonValue, Section, to_json, to_text

_P = TypeVar("_P", bound=argparse.ArgumentParser)

EXIT_OK: Final = 0
EXIT_MALFORMED: Final = 1
EXIT_BAD_MAC: Final = 2
EXIT_USAGE: Final = 64

MIKEY_DESCRIPTION: Final = """\
Decode one MIKEY message into a tree of named fields; with --key, verify its MAC and show the
decrypted key data by identifiers only (key bytes only with --show-keys).

exit codes: 0 decoded (and verified with --key); 1 input unreadable or not a valid MIKEY
message (the error names the field and byte offset), or the key cannot be checked; 2 the MAC
does not verify with the given key; 64 usage error."""
#: Read at most this much input (a MIKEY message is at most 65507 bytes; hex text is longer).
MAX_INPUT: Final = 1 << 20
KEY_LEN: Final = 16

# --- demo-only constants ------------------------------------------------------------------------
# DEMO ONLY. Public, fixed keys so that ``mbms inspect sample`` prints the same bytes every time
# and anyone can re-check them. Never use them to protect anything.
DEMO_MUK: Final = bytes(range(0x00, 0x10))  # 000102...0f, the UE's MUK
DEMO_MSK: Final = bytes(range(0x10, 0x20))  # 101112...1f, MSK 0001/0001
DEMO_MTK: Final = bytes(range(0x20, 0x30))  # 202122...2f, MTK 0003
DEMO_SALT: Final = bytes(range(0x30, 0x3E))  # 303132...3d, SRTP master salt (14 bytes)
DEMO_KEY_DOMAIN: Final = KeyDomainId.from_plmn("001", "01")  # 00F110, the test PLMN
DEMO_MSK_ID: Final = MskId(1, 1)
DEMO_MTK_ID: Final = MtkId(3)
DEMO_VALID_FROM: Final = MtkId(1)
DEMO_VALID_TO: Final = MtkId(1000)
DEMO_MUK_ID: Final = MukId.of("bmsc.example.org", "ZGVtby1idGlk@bsf.example.org")
DEMO_SSRC: Final = 0x5EED5EED
DEMO_MSK_CSB_ID: Final = 0x1A2B3C4D
DEMO_PULL_CSB_ID: Final = 0x5A6B7C8D


class InputError(Exception):
    """The input is neither readable nor hex; the text says where (no key material in it)."""


# --- reading input ------------------------------------------------------------------------------

_HEX: Final = frozenset(string.hexdigits)
_SEPARATORS: Final = frozenset(string.whitespace + ":")


def parse_hex(text: str, what: str) -> bytes:
    """Hex digits with optional whitespace / colons (and a leading ``0x``) to bytes.

    Errors name the offending character's offset in ``text`` but never echo ``text`` itself
    (it may be a key).
    """
    start = len(text) - len(text.lstrip())
    if text[start : start + 2] in ("0x", "0X"):
        start += 2
    digits: list[str] = []
    last = 0
    for i in range(start, len(text)):
        c = text[i]
        if c in _HEX:
            digits.append(c)
            last = i
        elif c not in _SEPARATORS:
            raise InputError(f"invalid hex digit {c!r} at offset {i} of the {what}")
    if not digits:
        raise InputError(f"the {what} holds no hex digits")
    if len(digits) % 2:
        raise InputError(
            f"odd number of hex digits ({len(digits)}) in the {what}: "
            f"the digit at offset {last} has no pair"
        )
    return bytes.fromhex("".join(digits))


def _looks_like_hex_text(data: bytes) -> bool:
    # A MIKEY message starts with version 0x01, never with a printable character, so a file of
    # hex digits is never a binary message.
    if not data.isascii():
        return False
    text = data.decode("ascii").strip()
    if text[:2] in ("0x", "0X"):
        text = text[2:]
    return bool(text) and set(text) <= _HEX | _SEPARATORS


def _read_limited(stream: BinaryIO, what: str) -> bytes:
    data = stream.read(MAX_INPUT + 1)
    if len(data) > MAX_INPUT:
        raise InputError(f"{what} is larger than {MAX_INPUT} bytes; not a MIKEY message")
    return data


def load_input(spec: str, stdin: BinaryIO | None = None) -> bytes:
    """``-`` = stdin, an existing file = its bytes, otherwise a hex string. A file or stdin that
    holds hex text is accepted too."""
    what = "input"
    if spec == "-":
        data = _read_limited(stdin if stdin is not None else sys.stdin.buffer, "standard input")
        what = "standard input"
    else:
        path = Path(spec)
        try:
            is_file = path.is_file()
        except OSError:  # e.g. a long hex string is too long for a file name
            is_file = False
        if not is_file:
            try:
                return parse_hex(spec, "argument")
            except InputError as exc:
                raise InputError(f"neither an existing file nor hex ({exc})") from None
        what = f"file {spec}"
        try:
            with path.open("rb") as f:
                data = _read_limited(f, what)
        except OSError as exc:
            raise InputError(f"cannot read {spec}: {exc.strerror}") from None
    if _looks_like_hex_text(data):
        return parse_hex(data.decode("ascii"), f"hex text of the {what}")
    return data


def key_argument(text: str) -> bytes:
    """argparse type of ``--key``: 16 bytes in hex. Errors never repeat the value."""
    try:
        key = parse_hex(text, "key")
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if len(key) != KEY_LEN:
        raise argparse.ArgumentTypeError(
            f"the key must be {KEY_LEN} bytes ({2 * KEY_LEN} hex digits), got {len(key)} bytes"
        )
    return key


# --- the decoded, checked tree ------------------------------------------------------------------

#: Exit code of each outcome of the key check.
_EXIT_OF: Final = {
    Check.NOT_CHECKED: EXIT_OK,
    Check.VERIFIED: EXIT_OK,
    Check.BAD_MAC: EXIT_BAD_MAC,
    Check.FAILED: EXIT_MALFORMED,
    Check.ANSWERS_NEEDED: EXIT_USAGE,
}


@dataclass(slots=True)
class Report:
    """The tree to print, the exit code and, when not 0, the line for stderr."""

    tree: Section
    exit_code: int = EXIT_OK
    problem: str | None = None


def inspect_message(
    data: bytes, *, key: bytes | None = None, answers: bytes | None = None, show_keys: bool = False
) -> Report:
    """:func:`broadcast.proto.mikey.render.render_message` with the exit code of its outcome.
    Raises ``MikeyError`` when the bytes are not a MIKEY message at all."""
    r = render_message(data, key=key, answers=answers, show_keys=show_keys)
    return Report(r.tree, _EXIT_OF[r.check], r.problem)


# --- commands -----------------------------------------------------------------------------------


def _error_json(message: str, exc: MikeyError | None = None) -> str:
    err: dict[str, JsonValue] = {"message": message}
    if exc is not None:
        err |= {"field": exc.field, "offset": exc.offset}
    return dumps({"error": err})


def run_mikey(args: argparse.Namespace) -> int:
    out, err = sys.stdout, sys.stderr
    prog = "mbms inspect mikey"
    if args.input == "-" and args.answers == "-":
        print(f"{prog}: error: only one of INPUT and --answers can be '-'", file=err)
        return EXIT_USAGE
    try:
        data = load_input(args.input)
        answers = None if args.answers is None else load_input(args.answers)
        report = inspect_message(data, key=args.key, answers=answers, show_keys=args.show_keys)
    except InputError as exc:
        print(f"{prog}: {exc}", file=err)
        if args.json:
            print(_error_json(str(exc)), file=out)
        return EXIT_MALFORMED
    except MikeyError as exc:
        print(f"{prog}: not a valid MIKEY message: {exc}", file=err)
        if args.json:
            print(_error_json(str(exc), exc), file=out)
        return EXIT_MALFORMED
    except Exception as exc:  # a library bug on hostile input: say so, never a traceback
        text = f"internal error while decoding ({type(exc).__name__}); please report it"
        print(f"{prog}: {text}", file=err)
        if args.json:
            print(_error_json(text), file=out)
        return EXIT_MALFORMED
    if args.json:
        print(dumps(to_json(report.tree)), file=out)
    else:
        if args.hexdump:
            print("\n".join(hexdump(data)), file=out)
        print("\n".join(to_text(report.tree)), file=out)
    if report.problem is not None:
        prefix = "" if report.exit_code == EXIT_BAD_MAC else f"{prog}: "
        print(f"{prefix}{report.problem}", file=err)
    return report.exit_code


@dataclass(frozen=True, slots=True)
class Sample:
    kind: str
    title: str
    data: bytes
    key: bytes
    key_name: str
    answers: bytes | None = None


def build_samples() -> dict[str, Sample]:
    """The sample MBMS messages, built with the DEMO_* constants (identical bytes every run)."""
    msk = build_msk_message(
        muk=Muk(DEMO_MUK),
        muk_id=DEMO_MUK_ID,
        key_domain_id=DEMO_KEY_DOMAIN,
        msk_id=DEMO_MSK_ID,
        msk=Msk(DEMO_MSK),
        valid_from=DEMO_VALID_FROM,
        valid_to=DEMO_VALID_TO,
        counter=7,
        csb_id=DEMO_MSK_CSB_ID,
        rand=bytes(range(0xA0, 0xB0)),
        ack=True,
        srtp_policy=SrtpPolicy(),
    )
    mtk = build_mtk_message(
        msk=Msk(DEMO_MSK),
        key_domain_id=DEMO_KEY_DOMAIN,
        msk_id=DEMO_MSK_ID,
        mtk_id=DEMO_MTK_ID,
        mtk=Mtk(DEMO_MTK),
        counter=3,
        rand=bytes(range(0xB0, 0xC0)),
        salt=SrtpSalt(DEMO_SALT),
        srtp_sessions=(SrtpCs(0, DEMO_SSRC, 0),),
    )
    pull = build_solicited_pull(
        muk=Muk(DEMO_MUK),
        muk_id=DEMO_MUK_ID,
        key_domain_id=DEMO_KEY_DOMAIN,
        key_group=DEMO_MSK_ID.key_group,
        counter=8,
        csb_id=DEMO_PULL_CSB_ID,
        rand=bytes(range(0xC0, 0xD0)),
    )
    ack = build_ack(envelope(msk), Muk(DEMO_MUK))
    return {
        "msk": Sample(
            "msk",
            "MSK delivery: MSK 0001/0001 to one UE, streaming Key Group (SRTP policy), "
            "MIKEY ACK requested",
            msk,
            DEMO_MUK,
            "DEMO_MUK",
        ),
        "mtk": Sample(
            "mtk",
            "MTK delivery (streaming): MTK 0003 under MSK 0001/0001, with SRTP salt and MKI",
            mtk,
            DEMO_MSK,
            "DEMO_MSK",
        ),
        "pull": Sample(
            "pull",
            "BM-SC solicited pull: ask the UE to request the current MSK of Key Group 0001",
            pull,
            DEMO_MUK,
            "DEMO_MUK",
        ),
        "ack": Sample(
            "ack",
            "MIKEY ACK: the UE's answer to the MSK delivery sample",
            ack,
            DEMO_MUK,
            "DEMO_MUK",
            answers=msk,
        ),
    }


def run_sample(args: argparse.Namespace) -> int:
    out = sys.stdout
    samples = build_samples()
    chosen = list(samples.values()) if args.kind == "all" else [samples[args.kind]]
    reports = [
        inspect_message(s.data, key=s.key, answers=s.answers, show_keys=args.show_keys)
        for s in chosen
    ]
    status = max(r.exit_code for r in reports)
    if args.json:
        items: list[JsonValue] = []
        for s, r in zip(chosen, reports, strict=True):
            item: dict[str, JsonValue] = {"sample": s.kind, "title": s.title, "key": s.key_name}
            if args.show_keys:
                item["key_hex"] = s.key.hex()
            tree = to_json(r.tree)
            assert isinstance(tree, dict)
            items.append(item | tree)
        print(dumps(items), file=out)
        return status
    print(
        "Sample MBMS MIKEY messages built with fixed DEMO-ONLY keys (DEMO_MUK, DEMO_MSK, ... in "
        "broadcast/cli/inspect_cmd.py); each is decoded and checked with its key.",
        file=out,
    )
    for n, (s, r) in enumerate(zip(chosen, reports, strict=True), 1):
        key_text = f"{s.key_name} = {s.key.hex()}" if args.show_keys else s.key_name
        print(f"\n=== Sample {n}/{len(chosen)}: {s.title} ===", file=out)
        print(f"{len(s.data)} bytes, checked with --key {key_text}", file=out)
        print("\n".join(hexdump(s.data)), file=out)
        print("", file=out)
        print("\n".join(to_text(r.tree)), file=out)
        if r.problem is not None:
            print(r.problem, file=sys.stderr)
    return status


# --- argparse wiring ----------------------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction[_P]) -> None:
    """Add ``inspect`` with its ``mikey`` and ``sample`` subcommands to the ``mbms`` parser."""
    inspect = subparsers.add_parser(
        "inspect",
        help="decode and check MIKEY messages",
        description="Decode MIKEY messages (RFC 3830 / RFC 4563, MBMS profile) into a tree.",
    )
    sub = inspect.add_subparsers(dest="inspect_command", required=True, metavar="WHAT")

    mikey = sub.add_parser(
        "mikey",
        help="decode one MIKEY message",
        description=MIKEY_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    mikey.add_argument(
        "input",
        metavar="HEX|FILE|-",
        help="the message as hex (spaces and colons allowed), a file (binary or hex text), "
        "or - for standard input",
    )
    mikey.add_argument(
        "--key",
        type=key_argument,
        metavar="HEX",
        help="16-byte key to verify the MAC with: the MUK for MSK messages, solicited pull and "
        "ACK, the MSK for MTK messages",
    )
    mikey.add_argument(
        "--answers",
        metavar="HEX|FILE|-",
        help="for a MIKEY ACK: the MSK message it answers (needed to check it with --key)",
    )
    mikey.add_argument(
        "--show-keys", action="store_true", help="also print decrypted key and salt bytes"
    )
    mikey.add_argument("--json", action="store_true", help="print JSON instead of text")
    mikey.add_argument("--hexdump", action="store_true", help="print a hex dump before the tree")
    mikey.set_defaults(handler=run_mikey)

    sample = sub.add_parser(
        "sample",
        help="build sample MBMS messages with demo keys and inspect them",
        description="Build MSK, MTK, solicited-pull and ACK messages with fixed demo-only keys, "
        "show their bytes and the decoded, verified tree.",
    )
    sample.add_argument(
        "--kind", choices=("msk", "mtk", "pull", "ack", "all"), default="all", help="default all"
    )
    sample.add_argument(
        "--show-keys", action="store_true", help="also print the demo keys and decrypted keys"
    )
    sample.add_argument("--json", action="store_true", help="print JSON instead of text")
    sample.set_defaults(handler=run_sample)
