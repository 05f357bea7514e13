"""What training records for staleness and persistent drift: the clock of a version's training time,
and which rows are its most recent."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from airloop.steps.decay import until_seconds
from airloop.steps.recent import newest


def spec(method: str = "time", fraction: float = 0.25) -> SimpleNamespace:
    return SimpleNamespace(split=SimpleNamespace(method=method, column="ts", holdout_fraction=fraction))


def test_a_trained_until_tag_reads_on_the_monitors_clock() -> None:
    assert until_seconds("2024-01-02 00:00:00") == pytest.approx(pd.Timestamp("2024-01-02", tz="UTC").timestamp())
    assert until_seconds("2024-01-02T00:00:00+00:00") == until_seconds("2024-01-02 00:00:00")
    assert until_seconds(None) is None
    assert until_seconds("not a time") is None


def test_the_newest_share_of_rows_by_time_whatever_their_order() -> None:
    times = pd.date_range("2024-01-01", periods=400, freq="h").astype(str)
    frame = pd.DataFrame({"ts": list(reversed(times)), "x": range(400)})
    mask = newest(spec(), frame)
    assert mask.sum() == 100
    assert set(frame.loc[mask, "ts"]) == set(times[-100:])


def test_no_recent_slice_without_a_time_split_or_with_too_few_rows() -> None:
    frame = pd.DataFrame({"ts": pd.date_range("2024-01-01", periods=400, freq="h").astype(str)})
    assert newest(spec(method="random"), frame) is None
    assert newest(spec(), frame.head(50)) is None  # the slice would be all of it
