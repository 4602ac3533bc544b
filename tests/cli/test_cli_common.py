"""broadcast.cli.common: -v levels, range-checked number options (as mbms demo/receive use them)."""

from __future__ import annotations

import argparse
import logging

import pytest

from broadcast.cli.common import add_verbose, number_option, verbose_level
from broadcast.cli.main import EXIT_USAGE
from broadcast.cli.main import main as mbms_main


def test_verbose_levels() -> None:
    assert [verbose_level(n) for n in (0, 1, 2, 5)] == [
        logging.WARNING,
        logging.INFO,
        logging.DEBUG,
        logging.DEBUG,
    ]
    p = argparse.ArgumentParser()
    add_verbose(p)
    assert p.parse_args(["-vv"]).verbose == 2 and p.parse_args([]).verbose == 0


def test_number_option_converts_and_checks() -> None:
    pct = number_option(float, lambda v: 0 <= v <= 50, what="a percentage", rule="0..50 %")
    assert pct("12.5") == 12.5 and pct("0") == 0.0
    with pytest.raises(argparse.ArgumentTypeError, match="not a percentage: 'x'"):
        pct("x")
    for bad in ("51", "-1", "nan"):
        with pytest.raises(argparse.ArgumentTypeError, match=r"0\.\.50 %"):
            pct(bad)
    count = number_option(int, lambda v: v >= 1, what="a count", rule="at least 1")
    assert count("3") == 3
    with pytest.raises(argparse.ArgumentTypeError, match=r"not a count: '1\.5'"):
        count("1.5")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["demo", "--loss", "x"], "not a percentage: 'x'"),
        (["demo", "--ues", "0"], "the number of UEs must be 1.."),
        (["demo", "--duration", "abc"], "not a number of seconds: 'abc'"),
        (["receive", "--config", "c.toml", "--duration", "0"], "the duration must be > 0"),
    ],
)
def test_commands_report_bad_numbers(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert mbms_main(argv) == EXIT_USAGE
    assert message in capsys.readouterr().err
