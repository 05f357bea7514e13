"""A fitted pipeline is stored as data (airloop-model.json + the estimator in a safe format) and
loads back answering exactly as it did; a version stored as a pickle loads only where the project
trusts pickles (issue 20)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import GradientBoostingRegressor, HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline

from airloop.errors import RegistryError, UserCodeError
from airloop.model import store
from airloop.model.prepare import Prepare
from airloop.model.transform import FeatureTransform
from airloop_runtime import META

PYTHON = store.LoadOptions(runtime="python")  # the estimator itself (exact), not its ONNX form (within 1e-5)
FEATS = "def add(frame):\n    frame['ab'] = frame['a'] * frame['b']\n    return frame\n"


def frame(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.random(n), "b": rng.random(n), "c": rng.choice(["x", "y", "z", None], n)})
    X.loc[::7, "a"] = np.nan
    return X


def fit(estimator, y, transform: str | None = None, **prepare) -> Pipeline:
    steps = [("transform", FeatureTransform(transform))] if transform else []
    numeric = ["a", "b", "ab"] if transform else ["a", "b"]
    steps += [("prepare", Prepare(numeric, ["c"], **prepare)), ("model", estimator)]
    return Pipeline(steps).fit(frame(), y)


LABELS = np.where(frame()["b"] > 0.5, "YES", "NO")  # the user's own labels, not 0/1
CASES = {
    "logistic": (lambda: LogisticRegression(), LABELS, "binary", {}),
    "hist_gradient_boosting": (
        lambda: HistGradientBoostingClassifier(max_iter=20),
        LABELS,
        "binary",
        {"impute": False},
    ),
    "random_forest": (lambda: RandomForestClassifier(n_estimators=5, random_state=0), LABELS, "binary", {}),
    "gradient_boosting_regression": (
        lambda: GradientBoostingRegressor(n_estimators=10),
        frame()["b"].to_numpy() * 3,
        "regression",
        {"encoding": "ordinal"},
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_stored_pipeline_answers_exactly_as_the_fitted_one(case: str, tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "feats_store.py").write_text(FEATS)
    monkeypatch.syspath_prepend(str(tmp_path))
    make, y, task, prepare = CASES[case]
    pipe = fit(make(), y, "feats_store:add", **prepare)
    meta = store.save(pipe, tmp_path / "model", frame(), task)
    assert meta["estimator"]["format"] == "skops"
    assert meta["transform"]["path"] == "feats_store:add"
    assert len(meta["transform"]["sha256"]) == 64  # the module's source, checked at load
    loaded = store.load(str(_as_mlflow_folder(tmp_path)), PYTHON)
    probe = frame(50).assign(c=["w"] * 50)  # an unseen category too
    if task == "regression":
        np.testing.assert_array_equal(loaded.predict(probe), pipe.predict(probe))
    else:
        np.testing.assert_array_equal(loaded.predict_proba(probe), pipe.predict_proba(probe))
        assert loaded.classes_.tolist() == ["NO", "YES"]
        assert set(loaded.predict(probe)) <= {"NO", "YES"}


def test_a_transform_changed_since_training_is_said_at_load(tmp_path: Path, monkeypatch, caplog) -> None:
    (tmp_path / "feats_changed.py").write_text(FEATS)
    monkeypatch.syspath_prepend(str(tmp_path))
    pipe = fit(LogisticRegression(), LABELS, "feats_changed:add")
    store.save(pipe, tmp_path / "model", frame(), "binary")
    folder = str(_as_mlflow_folder(tmp_path))
    assert store.describe(store.load(folder, PYTHON))["transform"]["changed_since_training"] is False
    (tmp_path / "feats_changed.py").write_text(FEATS.replace("* frame['b']", "+ frame['b']"))

    with caplog.at_level("WARNING", logger="airloop.model"):
        loaded = store.load(folder, PYTHON)  # served with today's code, and said so

    assert store.describe(loaded)["transform"] == {"path": "feats_changed:add", "changed_since_training": True}
    assert "transform `feats_changed:add` changed since the model was trained" in caplog.text


def _as_mlflow_folder(tmp_path: Path) -> Path:
    """The layout MLflow gives a logged pyfunc model (MLmodel + data/<folder>), without logging."""
    (tmp_path / "MLmodel").write_text(
        f"flavors:\n  python_function:\n    loader_module: {store.LOADER_MODULE}\n    data: model\n"
    )
    return tmp_path


def test_a_type_the_safe_format_does_not_trust_is_refused_unless_the_candidate_lists_it(tmp_path: Path) -> None:
    pipe = fit(KNeighborsClassifier(), LABELS)  # stores a KDTree: not among skops' or airloop's trusted types
    with pytest.raises(UserCodeError, match="KDTree") as refused:
        store.save(pipe, tmp_path / "refused", frame(), "binary")
    assert "trusted_types" in refused.value.hint
    kinds = ("sklearn.metrics._dist_metrics.EuclideanDistance64", "sklearn.neighbors._kd_tree.KDTree")
    store.save(pipe, tmp_path / "model", frame(), "binary", kinds)
    _as_mlflow_folder(tmp_path)
    with pytest.raises(RegistryError, match="does not trust"):
        store.load(str(tmp_path))  # a loader that does not list them refuses the version
    assert store.load(str(tmp_path), store.LoadOptions(types=kinds)).predict(frame(5)).shape == (5,)


def test_a_version_stored_as_a_pickle_loads_only_when_the_project_trusts_pickles(tmp_path: Path) -> None:
    import mlflow.sklearn

    pipe = fit(LogisticRegression(), LABELS)
    mlflow.sklearn.save_model(pipe, str(tmp_path / "legacy"), serialization_format="cloudpickle")
    with pytest.raises(RegistryError, match="pickle registered before") as refused:
        store.load(str(tmp_path / "legacy"))
    assert "trust_pickle" in refused.value.hint
    loaded = store.load(str(tmp_path / "legacy"), store.LoadOptions(pickle=True))
    np.testing.assert_array_equal(loaded.predict_proba(frame(20)), pipe.predict_proba(frame(20)))


def test_a_changed_estimator_file_is_refused(tmp_path: Path) -> None:
    store.save(fit(LogisticRegression(), LABELS), tmp_path / "model", frame(), "binary")
    meta = json.loads((tmp_path / "model" / META).read_text())
    (tmp_path / "model" / meta["estimator"]["file"]).write_bytes(b"PK\x03\x04 not the stored estimator")
    with pytest.raises(RegistryError, match="changed after the model was stored"):
        store.load(str(_as_mlflow_folder(tmp_path)))


FAMILY_CASES = {
    "xgboost classifier, text labels": ("xgboost", "XGBClassifier", LABELS, "binary"),
    "xgboost regressor": ("xgboost", "XGBRegressor", frame()["b"].to_numpy(), "regression"),
    "lightgbm classifier, text labels": ("lightgbm", "LGBMClassifier", LABELS, "binary"),
    "lightgbm multiclass": ("lightgbm", "LGBMClassifier", np.array(["a", "b", "c"])[np.arange(300) % 3], "multiclass"),
    "lightgbm regressor": ("lightgbm", "LGBMRegressor", frame()["b"].to_numpy(), "regression"),
}


@pytest.mark.parametrize("case", sorted(FAMILY_CASES))
def test_a_boosting_library_model_is_stored_in_its_own_format(case: str, tmp_path: Path) -> None:
    from helpers.extras import require

    from airloop.spec.models import Candidate
    from airloop.steps.modeling import make_estimator

    module, name, y, task = FAMILY_CASES[case]
    require(module)
    extra = {"verbose": -1} if module == "lightgbm" else {}
    cand = Candidate(name="c", estimator=f"{module}.{name}", params={"n_estimators": 15, "n_jobs": 1, **extra})
    pipe = fit(make_estimator(cand, {}, seed=0), y, encoding="ordinal", impute=False)
    meta = store.save(pipe, tmp_path / "model", frame(), task)
    assert meta["estimator"]["format"] == {"xgboost": "xgboost-ubj", "lightgbm": "lightgbm-text"}[module]
    loaded = store.load(str(_as_mlflow_folder(tmp_path)), PYTHON)
    probe = frame(40)
    np.testing.assert_array_equal(loaded.predict(probe), pipe.predict(probe))
    if task != "regression":
        np.testing.assert_array_equal(loaded.predict_proba(probe), pipe.predict_proba(probe))
        assert loaded.classes_.tolist() == sorted(set(y.tolist()))
