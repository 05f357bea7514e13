"""The candidate pipeline: user transform -> encoding -> estimator, and feature resolution."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from airloop.errors import DataError, UserCodeError
from airloop.model.prepare import as_text
from airloop.steps.modeling import build_pipeline, make_estimator, resolve_features, score, xy

FEATURES = {"numeric": ["a", "b"], "categorical": ["c"]}


@pytest.fixture
def frame() -> pd.DataFrame:
    """40 rows; y follows a, c carries signal too; NaN in a numeric and a categorical column."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=40)
    a[[3, 17]] = np.nan
    c = np.where(rng.random(40) > 0.5, "red", "blue").astype(object)
    c[[5, 9]] = None
    y = ((np.nan_to_num(a) > 0) | (c == "red")).astype(int)
    return pd.DataFrame({"a": a, "b": rng.normal(size=40), "c": c, "unused": "zzz", "y": y})


def candidate(spec, i: int = 0):
    return spec.candidates[i]


def test_binary_pipeline_fits_and_predicts_with_nans(make_spec, frame):
    spec = make_spec(
        candidates=[{"name": "lr", "estimator": "sklearn.linear_model.LogisticRegression", "params": {"max_iter": 200}}]
    )
    X, y = xy(spec, frame)

    model = build_pipeline(spec, candidate(spec), FEATURES, {"C": 10.0}).fit(X, y)

    assert model.named_steps["model"].C == 10.0
    assert model.named_steps["model"].max_iter == 200
    pred = model.predict(X)
    assert pred.shape == (40,)
    assert set(pred) <= {0, 1}
    assert model.predict_proba(X).shape == (40, 2)
    assert (pred == y).mean() > 0.8
    # unseen category and missing values at prediction time
    new = pd.DataFrame({"a": [np.nan, 1.0], "b": [0.0, np.nan], "c": ["green", None], "unused": "q"})
    assert model.predict(new).shape == (2,)
    scores = score(spec, ["roc_auc", "accuracy", "log_loss"], model, X, y)
    assert set(scores) == {"roc_auc", "accuracy", "log_loss"}
    assert scores["roc_auc"] > 0.8


def test_ordinal_encoding_without_scaling(make_spec, frame):
    spec = make_spec(
        candidates=[
            {
                "name": "hgb",
                "estimator": "sklearn.tree.DecisionTreeClassifier",
                "encoding": "ordinal",
                "scale": False,
                "params": {"random_state": 0},
            }
        ]
    )
    X, y = xy(spec, frame)

    model = build_pipeline(spec, candidate(spec), FEATURES, {}).fit(X, y)

    prepared = model.named_steps["prepare"].transform(X)
    assert prepared.shape == (40, 3)  # one ordinal column for c, no one-hot expansion
    assert (model.predict(X) == y).all()  # a tree memorises its training set


def test_regression_pipeline(make_spec, frame):
    spec = make_spec(
        task="regression",
        data={"target": "t"},
        candidates=[{"name": "ridge", "estimator": "sklearn.linear_model.Ridge"}],
    )
    data = frame.drop(columns=["y"]).assign(t=lambda f: 3 * f["b"] + 1)
    X, y = xy(spec, data)

    model = build_pipeline(spec, candidate(spec), FEATURES, {"alpha": 0.001}).fit(X, y)

    assert np.allclose(model.predict(X), y, atol=0.05)
    assert score(spec, ["rmse", "r2"], model, X, y)["r2"] > 0.99


def test_numeric_only_and_categorical_only(make_spec, frame):
    spec = make_spec()
    X, y = xy(spec, frame)

    for features in ({"numeric": ["a"], "categorical": []}, {"numeric": [], "categorical": ["c"]}):
        model = build_pipeline(spec, candidate(spec), features, {}).fit(X, y)
        assert model.predict(X).shape == (40,)


def test_transform_runs_before_encoding(make_spec, frame, isolated_imports, tmp_path, monkeypatch):
    module = isolated_imports(tmp_path, "def add(frame):\n    frame['d'] = frame['a'] * 2\n    return frame\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = make_spec(data={"transform": f"{module}:add"})
    X, y = xy(spec, frame)

    model = build_pipeline(spec, candidate(spec), {"numeric": ["d"], "categorical": []}, {}).fit(X, y)

    assert list(model.named_steps) == ["transform", "prepare", "model"]
    assert model.predict(X).shape == (40,)
    assert "d" not in X.columns  # the transform works on a copy


def test_transform_that_raises_names_the_transform(make_spec, frame, isolated_imports, tmp_path, monkeypatch):
    module = isolated_imports(tmp_path, "def boom(frame):\n    raise KeyError('time_hour')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = make_spec(data={"transform": f"{module}:boom"})
    X, y = xy(spec, frame)
    pipeline = build_pipeline(spec, candidate(spec), FEATURES, {})

    with pytest.raises(UserCodeError) as info:
        pipeline.fit(X, y)

    assert f"transform `{module}:boom` raised KeyError" in info.value.message
    assert "time_hour" in info.value.message
    assert info.value.hint


def test_transform_that_returns_no_frame(make_spec, frame, isolated_imports, tmp_path, monkeypatch):
    module = isolated_imports(tmp_path, "def nothing(frame):\n    frame['d'] = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = make_spec(data={"transform": f"{module}:nothing"})

    with pytest.raises(UserCodeError, match="returned NoneType, not a DataFrame"):
        build_pipeline(spec, candidate(spec), FEATURES, {}).fit(*xy(spec, frame))


def test_estimator_that_does_not_import(make_spec):
    spec = make_spec(candidates=[{"name": "x", "estimator": "no_such_pkg_zz.Model"}])

    with pytest.raises(UserCodeError) as info:
        build_pipeline(spec, candidate(spec), FEATURES, {})

    assert "estimator `no_such_pkg_zz.Model`: cannot import module `no_such_pkg_zz`" in info.value.message
    assert info.value.exit_code == 5


def test_estimator_class_misspelt(make_spec):
    spec = make_spec(candidates=[{"name": "x", "estimator": "sklearn.linear_model.LogisticRegresion"}])

    with pytest.raises(UserCodeError) as info:
        make_estimator(candidate(spec), {})

    assert info.value.hint == "did you mean `LogisticRegression`?"


def test_estimator_refusing_its_parameters(make_spec):
    spec = make_spec()

    with pytest.raises(UserCodeError) as info:
        make_estimator(candidate(spec), {"no_such_param": 1})

    assert "refused its parameters" in info.value.message
    assert "candidate `lr`" in info.value.hint


def test_tuned_params_override_fixed_ones(make_spec):
    spec = make_spec(
        candidates=[
            {"name": "lr", "estimator": "sklearn.linear_model.LogisticRegression", "params": {"C": 1.0, "max_iter": 50}}
        ]
    )

    est = make_estimator(candidate(spec), {"C": 0.1})

    assert (est.C, est.max_iter) == (0.1, 50)


def test_resolve_features_infers_kinds(make_spec):
    frame = pd.DataFrame(
        {
            "num": [1.0, 2.0],
            "int": [1, 2],
            "text": ["a", "b"],
            "flag": [True, False],
            "when": pd.to_datetime(["2024-01-01", "2024-01-02"]),
            "ts": [1, 2],
            "skip": [0, 1],
            "y": [0, 1],
        }
    )
    spec = make_spec(data={"features": {"exclude": ["skip"]}}, split={"method": "time", "column": "ts"})

    assert resolve_features(spec, frame) == {"numeric": ["num", "int"], "categorical": ["text", "flag"]}


def test_resolve_features_declared_lists_are_kept(make_spec):
    frame = pd.DataFrame({"a": [1.0], "b": ["x"], "c": [2.0], "y": [0]})
    spec = make_spec(data={"features": {"numeric": ["c"]}})

    assert resolve_features(spec, frame) == {"numeric": ["c"], "categorical": []}


def test_resolve_features_missing_declared_feature(make_spec):
    spec = make_spec(data={"features": {"numeric": ["a", "gone"]}})

    with pytest.raises(DataError) as info:
        resolve_features(spec, pd.DataFrame({"a": [1.0], "y": [0]}))

    assert "features not found in the data: gone" in info.value.message
    assert "a, y" in info.value.hint


def test_resolve_features_none_left(make_spec):
    with pytest.raises(DataError, match="no feature columns"):
        resolve_features(make_spec(), pd.DataFrame({"y": [0, 1]}))


def test_xy_casts_whole_float_labels_for_classification(make_spec):
    frame = pd.DataFrame({"a": [1.0, 2.0], "y": [0.0, 1.0]})

    X, y = xy(make_spec(), frame)
    _, y_reg = xy(make_spec(task="regression", evaluation={"metrics": ["rmse"]}), frame)

    assert list(X.columns) == ["a"]
    assert y.dtype == "int64"
    assert y_reg.dtype == "float64"


def test_as_text_marks_missing_values():
    out = as_text(pd.DataFrame({"c": ["a", None, np.nan], "n": [1, 2, 3]}))

    assert out["c"].tolist() == ["a", "__missing__", "__missing__"]
    assert out["n"].tolist() == ["1", "2", "3"]


def test_estimators_are_seeded_unless_the_spec_seeds_them(make_spec) -> None:
    spec = make_spec(
        candidates=[
            {"name": "hgb", "estimator": "sklearn.ensemble.HistGradientBoostingClassifier"},
            {"name": "own", "estimator": "sklearn.ensemble.RandomForestClassifier", "params": {"random_state": 7}},
            {"name": "knn", "estimator": "sklearn.neighbors.KNeighborsClassifier"},
        ]
    )
    hgb, own, knn = (make_estimator(c, {}, seed=3) for c in spec.candidates)
    assert hgb.random_state == 3
    assert own.random_state == 7
    assert not hasattr(knn, "random_state")
