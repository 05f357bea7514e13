"""Periods of a backtest: calendar steps from the start, the last cut at the end, clear errors."""

from __future__ import annotations

import pandas as pd
import pytest

from airloop.backtest.periods import periods
from airloop.errors import UsageError


def test_months_follow_the_calendar_and_the_last_is_cut_at_the_end() -> None:
    got = periods("2013-07-01", "2013-09-15", "month")
    assert [(a.strftime("%m-%d"), b.strftime("%m-%d")) for a, b in got] == [
        ("07-01", "08-01"),
        ("08-01", "09-01"),
        ("09-01", "09-15"),
    ]
    assert got[0][0] == pd.Timestamp("2013-07-01", tz="UTC")


@pytest.mark.parametrize(("every", "n"), [("day", 14), ("week", 2), ("quarter", 1), ("year", 1)])
def test_other_periods(every: str, n: int) -> None:
    assert len(periods("2013-07-01", "2013-07-15", every)) == n


@pytest.mark.parametrize(
    ("start", "end", "every", "problem"),
    [
        ("2013-07-01", "2013-07-01", "month", "is not after --start"),
        ("July", "2013-08-01", "month", "--start 'July' is not a date"),
        ("2013-07-01", "2013-08-01", "fortnight", "is not a period"),
    ],
)
def test_bad_options_say_what_to_fix(start: str, end: str, every: str, problem: str) -> None:
    with pytest.raises(UsageError, match=problem) as info:
        periods(start, end, every)
    assert info.value.exit_code == 2
    assert info.value.hint
