"""Prepare without imputation: missing numbers reach an estimator that splits on them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from airloop.model.prepare import Prepare


def test_missing_numbers_stay_nan_without_imputation_and_become_the_median_with_it() -> None:
    X = pd.DataFrame({"a": [1.0, np.nan, 3.0, 5.0], "c": ["x", "y", None, "x"]})
    kept = Prepare(["a"], ["c"], encoding="ordinal", scale=False, impute=False, min_frequency=1).fit(X)
    out = kept.transform(X)
    assert np.isnan(out[1, 0])
    assert out[[0, 2, 3], 0].tolist() == [1.0, 3.0, 5.0]
    filled = Prepare(["a"], ["c"], encoding="ordinal", scale=False, min_frequency=1).fit(X).transform(X)
    assert filled[1, 0] == 3.0
