"""The estimator's ONNX form is stored only when it answers as the estimator does (issue 20), and
the runtime uses it where it may: `auto` where onnxruntime is installed, never under `python`, and
`onnx` refuses a version without one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers.extras import require
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import NearestCentroid
from sklearn.pipeline import Pipeline

from airloop.model import onnx, store
from airloop.model.prepare import Prepare
from airloop_runtime import META, NotLoadable, load

rng = np.random.default_rng(0)
X = pd.DataFrame({"a": rng.random(400), "b": rng.random(400), "c": rng.choice(["x", "y", "z"], 400)})
X.loc[::9, "a"] = np.nan
LABELS = np.where(X["b"] + rng.normal(0, 0.2, 400) > 0.5, "YES", "NO")


def stored(tmp_path: Path, estimator, y=LABELS, task="binary", **prepare) -> tuple[Pipeline, Path, dict]:
    pipe = Pipeline([("prepare", Prepare(["a", "b"], ["c"], **prepare)), ("model", estimator)]).fit(X, y)
    meta = store.save(pipe, tmp_path / "model", X, task)
    return pipe, tmp_path / "model", meta


CASES = {
    "logistic": (lambda: LogisticRegression(), LABELS, "binary", {}),
    "hist_gradient_boosting, missing values": (
        lambda: HistGradientBoostingClassifier(max_iter=30),
        LABELS,
        "binary",
        {"impute": False, "encoding": "ordinal"},
    ),
    "random_forest regression": (
        lambda: RandomForestRegressor(n_estimators=5),
        X["b"].to_numpy() * 1000,
        "regression",
        {},
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_converted_estimator_answers_within_the_tolerance(case: str, tmp_path: Path) -> None:
    require("onnxruntime")
    make, y, task, prepare = CASES[case]
    pipe, folder, meta = stored(tmp_path, make(), y, task, **prepare)
    assert meta["onnx"]["verified"] is True, meta["onnx"]
    assert meta["onnx"]["max_abs_diff"] <= onnx.TOLERANCE * (1000 if task == "regression" else 1)
    fast = load(folder)  # auto: onnxruntime is installed
    assert fast.runtime.startswith("onnxruntime")
    python = load(folder, runtime="python")
    assert python.runtime.startswith("python (scikit-learn")
    probe = X.sample(100, random_state=1)
    if task == "regression":
        np.testing.assert_allclose(fast.predict(probe), pipe.predict(probe), rtol=onnx.TOLERANCE)
    else:
        np.testing.assert_allclose(fast.predict_proba(probe), pipe.predict_proba(probe), atol=onnx.TOLERANCE)
        assert fast.classes_.tolist() == ["NO", "YES"]


def test_an_estimator_without_a_converter_is_served_in_python_with_the_reason(tmp_path: Path) -> None:
    require("onnxruntime")
    pipe, folder, meta = stored(tmp_path, NearestCentroid())
    assert "NearestCentroid" in meta["onnx"]["refused"]
    assert not (folder / onnx.FILE).exists()
    assert load(folder).runtime.startswith("python")
    with pytest.raises(NotLoadable, match="no verified ONNX form"):
        load(folder, runtime="onnx")


def test_a_form_that_answers_differently_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require("onnxruntime")
    other = Pipeline([("prepare", Prepare(["a", "b"], ["c"])), ("model", LogisticRegression(C=1e-3))]).fit(X, LABELS)
    converted = onnx.convert(other.steps[-1][1], 6, classifier=True)
    monkeypatch.setattr(onnx, "convert", lambda *a, **k: converted)  # a converter that gets it wrong
    _, folder, meta = stored(tmp_path, LogisticRegression())
    assert meta["onnx"]["refused"].startswith("answers differ by up to")
    assert load(folder).runtime.startswith("python")


def test_a_changed_onnx_file_is_refused(tmp_path: Path) -> None:
    require("onnxruntime")
    _, folder, meta = stored(tmp_path, LogisticRegression())
    (folder / onnx.FILE).write_bytes(b"\x08\x07 not the verified graph")
    with pytest.raises(NotLoadable, match="changed after the model was stored"):
        load(folder)
    assert load(folder, runtime="python").runtime.startswith("python")  # the Python estimator still loads


def test_without_onnxruntime_nothing_is_converted_and_the_version_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxruntime" else real(name, *a))
    _, folder, meta = stored(tmp_path, LogisticRegression())
    assert "pip install 'airloop[onnx]'" in meta["onnx"]["refused"]
    assert json.loads((folder / META).read_text())["onnx"] == meta["onnx"]
    assert load(folder).runtime.startswith("python")
