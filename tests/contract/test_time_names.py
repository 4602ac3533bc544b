"""The time contract of the package tree (``broadcast/time.py``, "Naming rule"), on the source:

- no parameter named ``now*`` has a default value (the caller always says when "now" is);
- every ``now*`` parameter names its timebase (``now_mono``, ``now_unix``, ``now_ntp``) and is
  annotated with one of the time types;
- a parameter named ``*_mono`` / ``*_unix`` / ``*_ntp`` is annotated with the type of that base,
  a parameter annotated with a time type carries the suffix of its base, and the clocks are
  ``clock_mono: MonotonicClock`` / ``clock_unix: UnixClock``;
- nothing but :mod:`broadcast.aio.clock` reads the time (``time.time``, ``time.monotonic``,
  ``time.perf_counter``..., an event loop's ``time()``, ``datetime.now()``).

Checked with :mod:`ast` (no import side effects), over every module of ``broadcast/``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from testkit import REPO_ROOT

PACKAGE = REPO_ROOT / "broadcast"
#: The one module that reads the clocks.
CLOCK_MODULE = PACKAGE / "aio" / "clock.py"

#: Timebase suffix -> the type of an instant in that base (broadcast/time.py).
INSTANT_TYPES = {"_mono": "MonotonicS", "_unix": "UnixS", "_ntp": "NtpS"}
#: Clock parameter name -> its type.
CLOCK_TYPES = {"clock_mono": "MonotonicClock", "clock_unix": "UnixClock"}
#: ``time`` module functions that read a clock.
TIME_READS = frozenset(
    {
        "time",
        "time_ns",
        "monotonic",
        "monotonic_ns",
        "perf_counter",
        "perf_counter_ns",
        "process_time",
        "process_time_ns",
        "thread_time",
        "thread_time_ns",
        "clock_gettime",
        "clock_gettime_ns",
        "localtime",
        "gmtime",
        "ctime",
        "asctime",
    }
)
#: ``datetime`` / ``date`` constructors that read the wall clock.
DATETIME_READS = frozenset({"now", "utcnow", "today"})

Source = tuple[str, ast.Module]


def _sources() -> list[Source]:
    return [
        (str(p.relative_to(REPO_ROOT)), ast.parse(p.read_text(), str(p)))
        for p in sorted(PACKAGE.rglob("*.py"))
    ]


SOURCES = _sources()


def _parameters(tree: ast.Module) -> Iterator[tuple[ast.arg, ast.expr | None, int, bool]]:
    """(parameter, its default or None, line, whether it can be annotated: not a lambda's) of
    every function and lambda."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        typed = not isinstance(node, ast.Lambda)
        a = node.args
        positional = [*a.posonlyargs, *a.args]
        defaults: list[ast.expr | None] = [None] * (len(positional) - len(a.defaults))
        defaults += a.defaults
        for arg, default in zip(positional, defaults, strict=True):
            yield arg, default, node.lineno, typed
        for arg, kw_default in zip(a.kwonlyargs, a.kw_defaults, strict=True):
            yield arg, kw_default, node.lineno, typed


def _base_type(arg: ast.arg) -> str | None:
    """The annotation without an ``| None`` (``Optional``), as source text."""
    if arg.annotation is None:
        return None
    ann = arg.annotation
    if isinstance(ann, ast.Constant) and isinstance(ann.value, str):  # a quoted annotation
        ann = ast.parse(ann.value, mode="eval").body
    if isinstance(ann, ast.BinOp) and isinstance(ann.op, ast.BitOr):
        sides = [ann.left, ann.right]
        rest = [s for s in sides if not (isinstance(s, ast.Constant) and s.value is None)]
        if len(rest) == 1:
            ann = rest[0]
    return ast.unparse(ann).rpartition(".")[2]


def _now_defaults(sources: list[Source]) -> list[str]:
    return [
        f"{path}:{line}: {arg.arg} = {ast.unparse(default)}"
        for path, tree in sources
        for arg, default, line, _ in _parameters(tree)
        if arg.arg.startswith("now") and default is not None
    ]


def _unnamed_bases(sources: list[Source]) -> list[str]:
    bad = []
    instants = set(INSTANT_TYPES.values())
    for path, tree in sources:
        for arg, _, line, typed in _parameters(tree):
            if not arg.arg.startswith("now"):
                continue
            ann = _base_type(arg)
            if not arg.arg.endswith(tuple(INSTANT_TYPES)) or (typed and ann not in instants):
                bad.append(f"{path}:{line}: {arg.arg}: {ann}")
    return bad


def _mismatches(sources: list[Source]) -> list[str]:
    bad = []
    suffix_of = {t: s for s, t in INSTANT_TYPES.items()}
    name_of_clock = {t: n for n, t in CLOCK_TYPES.items()}
    for path, tree in sources:
        for arg, _, line, typed in _parameters(tree):
            if not typed:  # a lambda's parameters have no annotation to compare
                continue
            name, ann = arg.arg, _base_type(arg)
            where = f"{path}:{line}: {name}: {ann}"
            if name in CLOCK_TYPES:
                if ann != CLOCK_TYPES[name]:
                    bad.append(f"{where} (a {name} is a {CLOCK_TYPES[name]})")
                continue
            if ann in name_of_clock and name != name_of_clock[ann]:
                bad.append(f"{where} (a {ann} is named {name_of_clock[ann]})")
            for suffix, wanted in INSTANT_TYPES.items():
                if name.endswith(suffix) and ann != wanted:
                    bad.append(f"{where} (a *{suffix} is a {wanted})")
            if ann in suffix_of and not name.endswith(suffix_of[ann]):
                bad.append(f"{where} (a {ann} is named *{suffix_of[ann]})")
    return bad


def _clock_reads(sources: list[Source], *, exempt: Path | None = CLOCK_MODULE) -> list[str]:
    bad = []
    for path, tree in sources:
        if exempt is not None and REPO_ROOT / path == exempt:
            continue
        time_names = {"time"} | {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
            if alias.name == "time"
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "time":
                names = [a.name for a in node.names if a.name in TIME_READS]
                if names:
                    bad.append(f"{path}:{node.lineno}: from time import {', '.join(names)}")
            elif isinstance(node, ast.Attribute):
                owner = node.value.id if isinstance(node.value, ast.Name) else None
                if (owner in time_names and node.attr in TIME_READS) or (
                    owner in {"datetime", "date"} and node.attr in DATETIME_READS
                ):
                    bad.append(f"{path}:{node.lineno}: {owner}.{node.attr}")
            elif (  # loop.time(), asyncio.get_running_loop().time()
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "time"
                and not node.args
                and not (isinstance(node.func.value, ast.Name) and node.func.value.id in time_names)
            ):
                bad.append(f"{path}:{node.lineno}: {ast.unparse(node)}")
    return bad


def test_no_now_parameter_has_a_default() -> None:
    bad = _now_defaults(SOURCES)
    why = "now* parameters with a default (the caller says when now is):\n"
    assert not bad, why + "\n".join(bad)


def test_every_now_parameter_says_its_timebase() -> None:
    bad = _unnamed_bases(SOURCES)
    assert not bad, (
        "now* parameters must be now_mono: MonotonicS / now_unix: UnixS / now_ntp: NtpS:\n"
        + "\n".join(bad)
    )


def test_time_names_and_types_agree() -> None:
    bad = _mismatches(SOURCES)
    assert not bad, "time parameters whose name and type disagree:\n" + "\n".join(bad)


def test_only_the_clock_module_reads_the_time() -> None:
    bad = _clock_reads(SOURCES)
    assert not bad, "clock reads outside broadcast/aio/clock.py:\n" + "\n".join(bad)


def test_the_time_checks_see_what_they_must_refuse() -> None:
    """Each check finds its violation in a synthetic module (so a passing run means something),
    and lets the forms the rule allows pass."""
    source = (
        "import time\nimport asyncio\nfrom time import monotonic\nfrom datetime import datetime\n"
        "def a(x, now=0.0): ...\n"
        "def b(now: float): ...\n"
        "def c(now_mono: UnixS, expires_unix: float, t: NtpS): ...\n"
        "def d(clock_mono: UnixClock, wall: MonotonicClock): ...\n"
        "def e(): return time.time(), asyncio.get_running_loop().time(), datetime.now()\n"
        "def ok(now_unix: UnixS, at_mono: MonotonicS | None, clock_unix: UnixClock): ...\n"
        "def also_ok(*, now_ntp: 'NtpS', clock_rate: int = 90000): time.sleep(0)\n"
        "f, g = lambda now_unix: now_unix, lambda now: now\n"
    )
    sources = [("broadcast/engine/fake.py", ast.parse(source))]
    assert _now_defaults(sources) == ["broadcast/engine/fake.py:5: now = 0.0"]
    assert _unnamed_bases(sources) == [
        "broadcast/engine/fake.py:5: now: None",
        "broadcast/engine/fake.py:6: now: float",
        "broadcast/engine/fake.py:12: now: None",
    ]
    mismatches = "\n".join(_mismatches(sources))
    for wanted in (
        ":7: now_mono: UnixS (a *_mono is a MonotonicS)",
        ":7: now_mono: UnixS (a UnixS is named *_unix)",
        ":7: expires_unix: float (a *_unix is a UnixS)",
        ":7: t: NtpS (a NtpS is named *_ntp)",
        ":8: clock_mono: UnixClock (a clock_mono is a MonotonicClock)",
        ":8: wall: MonotonicClock (a MonotonicClock is named clock_mono)",
    ):
        assert wanted in mismatches
    assert ":10:" not in mismatches and ":11:" not in mismatches and ":12:" not in mismatches
    assert sorted(_clock_reads(sources)) == [
        "broadcast/engine/fake.py:3: from time import monotonic",
        "broadcast/engine/fake.py:9: asyncio.get_running_loop().time()",
        "broadcast/engine/fake.py:9: datetime.now",
        "broadcast/engine/fake.py:9: time.time",
    ]


@pytest.mark.parametrize("name", ["monotonic", "unix", "perf_counter"])
def test_the_clock_module_is_where_the_clocks_are(name: str) -> None:
    """The exemption above names the module that has the clocks and reads them."""
    tree = ast.parse(CLOCK_MODULE.read_text())
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert name in functions
    reads = _clock_reads([("broadcast/aio/clock.py", tree)], exempt=None)
    assert any(r.endswith(f"time.{'time' if name == 'unix' else name}") for r in reads)
