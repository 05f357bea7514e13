"""Checks that run before Airflow starts: a target that cannot be learned, a time column that does not parse."""

from __future__ import annotations

import pandas as pd
import pytest

from airloop.data.preflight import learnable, time_values
from airloop.errors import UnusableData


def test_text_dates_parse_for_a_time_split_and_garbage_is_refused() -> None:
    when = time_values(pd.Series(["2013-01-02", "12/31/2012", None]), "day")
    assert when.iloc[1] < when.iloc[0]
    with pytest.raises(UnusableData, match="`day` does not parse as a time") as err:
        time_values(pd.Series(["2013-01-02", "soon", "later"]), "day")
    assert err.value.where == ("split", "column")


def test_regression_needs_a_numeric_varying_target(make_spec) -> None:
    spec = make_spec(task="regression", candidates=[{"name": "lr", "estimator": "sklearn.linear_model.Ridge"}])
    with pytest.raises(UnusableData, match="not numeric"):
        learnable(spec, pd.DataFrame({"y": ["a", "b"]}))
    with pytest.raises(UnusableData, match="constant"):
        learnable(spec, pd.DataFrame({"y": [2.0, 2.0, None]}))
    assert learnable(spec, pd.DataFrame({"y": [1.0, 2.0]})) is None


def test_binary_labels_come_back_with_their_positive_class(make_spec) -> None:
    spec = make_spec()
    labels = learnable(spec, pd.DataFrame({"y": ["YES", "NO", None, "NO"]}))
    assert labels is not None
    assert labels.positive == "YES"
