"""Prepare: the lean imputer/scaler/encoder inside every airloop model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from airloop.model.prepare import Prepare


def frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    x[::10] = np.nan
    color = rng.choice(["red", "green", "blue", "rare"], p=[0.5, 0.3, 0.19, 0.01], size=n).astype(object)
    color[::7] = None
    return pd.DataFrame({"x": x, "k": rng.integers(0, 5, n).astype(float), "color": color})


@pytest.mark.parametrize("encoding", ["onehot", "ordinal"])
def test_small_and_large_frames_encode_identically(encoding: str) -> None:
    df = frame()
    prep = Prepare(["x", "k"], ["color"], encoding=encoding, min_frequency=5).fit(df)
    whole = prep.transform(df)  # the vectorised path
    rowwise = np.vstack([prep.transform(df.iloc[[i]]) for i in range(len(df))])  # the per-request path
    np.testing.assert_array_equal(whole, rowwise)


def test_onehot_puts_rare_unseen_and_missing_in_other() -> None:
    df = frame()
    prep = Prepare(["x"], ["color"], min_frequency=5).fit(df)
    names = list(prep.get_feature_names_out())
    assert names[0] == "x"
    assert "color=rare" not in names
    assert "color=other" in names
    assert "color=__missing__" in names  # missing was frequent in training: its own column
    new = pd.DataFrame({"x": [np.nan, 1.0], "color": ["purple", "rare"]})
    out = prep.transform(new)
    other = names.index("color=other")
    assert out[0, other] == 1.0
    assert out[1, other] == 1.0
    assert out.sum(axis=1).tolist() == pytest.approx([1.0 + out[0, 0], 1.0 + out[1, 0]])
    # a missing numeric value becomes the training median, scaled
    assert out[0, 0] == pytest.approx((np.nanmedian(df["x"]) - prep.means_[0]) / prep.scales_[0])


def test_ordinal_codes_unknown_as_minus_one_and_no_scaling() -> None:
    df = frame()
    prep = Prepare(["x"], ["color"], encoding="ordinal", scale=False).fit(df)
    out = prep.transform(pd.DataFrame({"x": [2.5], "color": ["nope"]}))
    assert out.tolist() == [[2.5, -1.0]]
    assert prep.transform(pd.DataFrame({"x": [0.0], "color": ["red"]}))[0, 1] == 0  # most frequent first
