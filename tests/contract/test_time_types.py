"""The timebases are checked statically: mypy (strict, as the project runs it) refuses a Unix time
or a raw float where a monotonic time is expected, and a monotonic time where a Unix time is,
on the package's own signatures (:mod:`broadcast.time` NewTypes; nothing is checked at run time).

One snippet, one in-process mypy run on it (the package modules it imports are checked too).
"""

from __future__ import annotations

import re
from pathlib import Path

from mypy import api
from testkit import REPO_ROOT

SNIPPET = """\
from broadcast.aio import clock
from broadcast.engine.bmsc.ratelimit import RateLimiter
from broadcast.time import MonotonicS, UnixS, ntp_from_unix

limiter = RateLimiter(1.0, 1, 8)
limiter.allow("ue", clock.monotonic())  # fine: a monotonic reading
limiter.allow("ue", MonotonicS(1.5))  # fine: a monotonic time made by hand
ntp_from_unix(clock.unix())  # fine: a Unix reading
limiter.allow("ue", clock.unix())  # line 9: a Unix time where a monotonic one is expected
limiter.allow("ue", 1.5)  # line 10: a raw float
ntp_from_unix(MonotonicS(2.0))  # line 11: a monotonic time where a Unix one is expected
wall: UnixS = clock.monotonic()  # line 12: a monotonic reading stored as a Unix time
"""


def test_mypy_refuses_a_timebase_mix_up(tmp_path: Path) -> None:
    snippet = tmp_path / "snippet.py"
    snippet.write_text(SNIPPET)
    config = tmp_path / "mypy.ini"
    config.write_text(f"[mypy]\nstrict = True\npython_version = 3.11\nmypy_path = {REPO_ROOT}\n")
    out, err, status = api.run(
        [
            "--config-file",
            str(config),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--no-error-summary",
            "--hide-error-context",
            str(snippet),
        ]
    )
    assert status == 1, (out, err)
    errors = {
        int(m.group(1)): m.group(2) for m in re.finditer(r"snippet\.py:(\d+): error: (.*)", out)
    }
    assert sorted(errors) == [9, 10, 11, 12], out
    assert '"UnixS"; expected "MonotonicS"' in errors[9]
    assert '"float"; expected "MonotonicS"' in errors[10]
    assert '"MonotonicS"; expected "UnixS"' in errors[11]
    assert '"MonotonicS", variable has type "UnixS"' in errors[12]
