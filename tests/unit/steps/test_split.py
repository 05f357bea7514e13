"""split_frame: time splits hold out the latest rows; random splits are reproducible by seed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from airloop.errors import DataError
from airloop.steps.split import split_frame


@pytest.fixture
def frame() -> pd.DataFrame:
    """20 rows whose timestamps are shuffled against the row order."""
    order = np.random.default_rng(1).permutation(20)
    return pd.DataFrame(
        {
            "ts": pd.Timestamp("2024-01-01") + pd.to_timedelta(order, unit="D"),
            "x": np.arange(20.0),
            "y": [0, 1] * 10,
        }
    )


def test_time_split_holds_the_latest_rows_out(make_spec, frame):
    spec = make_spec(split={"method": "time", "column": "ts", "holdout_fraction": 0.2})

    train, holdout = split_frame(spec, frame)

    assert (len(train), len(holdout)) == (16, 4)
    assert train["ts"].max() < holdout["ts"].min()
    assert list(holdout["ts"]) == sorted(frame["ts"])[-4:]
    assert sorted(train.index.tolist() + holdout.index.tolist()) == list(range(20))


def test_time_split_keeps_rows_intact(make_spec, frame):
    spec = make_spec(split={"method": "time", "column": "ts"})

    train, holdout = split_frame(spec, frame)

    pd.testing.assert_frame_equal(pd.concat([train, holdout]).sort_index(), frame)


def test_time_split_column_missing_names_the_columns(make_spec, frame):
    spec = make_spec(split={"method": "time", "column": "when"})

    with pytest.raises(DataError) as info:
        split_frame(spec, frame)

    assert "`when` is not in the data" in info.value.message
    assert "ts, x, y" in info.value.hint


def test_random_split_is_reproducible_with_a_seed(make_spec, frame):
    spec = make_spec(split={"method": "random", "seed": 7, "holdout_fraction": 0.25})

    train1, holdout1 = split_frame(spec, frame)
    train2, holdout2 = split_frame(spec, frame)

    assert len(holdout1) == 5
    pd.testing.assert_frame_equal(holdout1, holdout2)
    pd.testing.assert_frame_equal(train1, train2)
    assert set(train1.index).isdisjoint(holdout1.index)
    assert len(train1) + len(holdout1) == len(frame)


def test_random_split_depends_on_the_seed(make_spec, frame):
    holdouts = {tuple(sorted(split_frame(make_spec(split={"seed": seed}), frame)[1].index)) for seed in range(5)}

    assert len(holdouts) > 1


def test_holdout_has_at_least_one_row(make_spec, frame):
    spec = make_spec(split={"holdout_fraction": 0.01})

    assert len(split_frame(spec, frame)[1]) == 1


@pytest.mark.parametrize("rows", [0, 1, 2])
def test_too_few_rows_is_a_data_error(make_spec, frame, rows):
    with pytest.raises(DataError) as info:
        split_frame(make_spec(), frame.head(rows))

    assert f"only {rows} rows" in info.value.message
    assert "holdout_fraction" in info.value.hint


def test_three_rows_is_enough(make_spec, frame):
    train, holdout = split_frame(make_spec(), frame.head(3))

    assert (len(train), len(holdout)) == (2, 1)


def test_random_split_of_classes_is_stratified(make_spec) -> None:
    frame = pd.DataFrame({"x": np.arange(200.0), "y": ["rare"] * 10 + ["common"] * 190})
    spec = make_spec(split={"method": "random", "holdout_fraction": 0.2, "seed": 3})

    train, holdout = split_frame(spec, frame)

    assert holdout["y"].value_counts().to_dict() == {"common": 38, "rare": 2}
    assert len(train) == 160
    again, _ = split_frame(spec, frame)
    assert again.index.equals(train.index)
