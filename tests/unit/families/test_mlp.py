"""The PyTorch and Keras MLP families (issue 20): seeded, early-stopped on a validation part of the
training rows, stored as arrays that load with numpy alone (no torch, no keras) and answer as the
fitted model does, in Python (1e-9) and through their ONNX graph (1e-5); a device they cannot use
and a missing extra are said before anything trains."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers.extras import require
from sklearn.pipeline import Pipeline

from airloop.errors import UserCodeError
from airloop.model import onnx, requirements, store
from airloop.model.prepare import Prepare
from airloop.model.userimport import import_object
from airloop_runtime import load

rng = np.random.default_rng(3)
X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300), "c": rng.choice(["x", "y", "z"], 300)})
LABELS = np.where(X["a"] + (X["c"] == "x") + rng.normal(0, 0.3, 300) > 0.5, "YES", "NO")
PRICE = 20_000 + 3_000 * X["a"] - 1_000 * (X["c"] == "y") + rng.normal(0, 200, 300)
SMALL = {"layers": 2, "width": 16, "epochs": 12, "batch_size": 32, "learning_rate": 0.01, "random_state": 7}
FAMILIES = {"torch": "TorchMLP", "keras": "KerasMLP"}


def family(name: str, kind: str):
    require(name)
    import airloop.families

    return getattr(airloop.families, f"{FAMILIES[name]}{kind}")


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def fitted(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Each family's classifier and regressor, fitted once in a pipeline and stored."""
    name = request.param
    out = {"name": name}
    for kind, y, task in (("Classifier", LABELS, "binary"), ("Regressor", PRICE, "regression")):
        pipe = Pipeline([("prepare", Prepare(["a", "b"], ["c"])), ("model", family(name, kind)(**SMALL))]).fit(X, y)
        folder = tmp_path_factory.mktemp(f"{name}-{kind}")
        out[kind] = (pipe, folder, store.save(pipe, folder, X, task))
    return out


def test_a_fit_is_seeded_and_keeps_its_best_validation_epoch(fitted) -> None:
    pipe, _, _ = fitted["Classifier"]
    model = pipe.named_steps["model"]
    again = Pipeline([("prepare", Prepare(["a", "b"], ["c"])), ("model", type(model)(**SMALL))]).fit(X, LABELS)
    for mine, theirs in zip(model.coefs_, again.named_steps["model"].coefs_, strict=True):
        np.testing.assert_array_equal(mine, theirs)
    assert model.device_ == "cpu"
    assert model.n_epochs_ <= SMALL["epochs"]
    assert (pipe.predict(X) == LABELS).mean() > 0.8
    patient = type(model)(**{**SMALL, "epochs": 400, "patience": 3}).fit(pipe[:-1].transform(X), LABELS)
    assert patient.n_epochs_ < 400  # the validation loss stopped improving long before


def test_the_stored_mlp_answers_as_fitted_in_python_and_in_onnx(fitted) -> None:
    require("onnxruntime")
    for kind in ("Classifier", "Regressor"):
        pipe, folder, meta = fitted[kind]
        assert meta["estimator"]["format"] == "mlp-npz"
        assert meta["estimator"]["library"].startswith(fitted["name"])
        assert meta["estimator"]["device"] == "cpu"
        assert meta["onnx"]["verified"] is True, meta["onnx"]
        python, fast = load(folder, runtime="python"), load(folder)
        assert fast.runtime.startswith("onnxruntime")
        if kind == "Classifier":
            np.testing.assert_allclose(python.predict_proba(X), pipe.predict_proba(X), rtol=0, atol=1e-9)
            np.testing.assert_allclose(fast.predict_proba(X), pipe.predict_proba(X), rtol=0, atol=onnx.TOLERANCE)
            assert python.classes_.tolist() == ["NO", "YES"]
        else:
            np.testing.assert_allclose(python.predict(X), pipe.predict(X), rtol=1e-12)
            np.testing.assert_allclose(fast.predict(X), pipe.predict(X), rtol=onnx.TOLERANCE)


def test_loading_needs_neither_the_training_library_nor_scikit_learn(fitted) -> None:
    _, folder, _ = fitted["Classifier"]
    names = {p.split("==")[0] for p in requirements.pinned(folder)}
    assert names == {"mlflow-skinny", "numpy", "pandas"}


def test_a_tampered_weights_file_is_refused(fitted, tmp_path: Path) -> None:
    import json
    import shutil

    from airloop_runtime import NotLoadable

    _, folder, meta = fitted["Regressor"]
    copy = shutil.copytree(folder, tmp_path / "m")
    with (copy / "estimator.npz").open("wb") as f:  # an object array: reading it would unpickle
        np.savez(f, W0=np.array([object()], dtype=object), b0=np.zeros(1), W1=np.zeros((1, 1)), b1=np.zeros(1))
    entry = meta["estimator"] | {"sha256": store.sha256(copy / "estimator.npz")}
    (copy / "airloop-model.json").write_text(json.dumps(meta | {"estimator": entry, "onnx": None}))
    with pytest.raises(NotLoadable, match="does not read as mlp-npz"):
        load(copy, runtime="python")


def test_missing_values_and_bad_params_say_what_to_change(fitted) -> None:
    pipe, _, _ = fitted["Classifier"]
    cls = type(pipe.named_steps["model"])
    with pytest.raises(ValueError, match="impute: true"):
        cls(**SMALL).fit(np.array([[np.nan, 1.0]] * 20), ["a", "b"] * 10)
    with pytest.raises(ValueError, match="layers must be a whole number"):
        cls(layers=0).fit(np.ones((20, 2)), ["a", "b"] * 10)


def test_an_unknown_device_or_a_gpu_this_machine_lacks_is_refused(fitted) -> None:
    cls = type(fitted["Classifier"][0].named_steps["model"])
    with pytest.raises(ValueError, match="'gpu' is not one of auto, cpu, cuda"):
        cls(device="gpu").check_device()
    if cls()._cuda():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ValueError, match="sees no GPU"):
        cls(device="cuda").check_device()
    assert cls(device="auto").check_device() == "cpu"


class NeedsAnExtra:
    airloop_requires = ("a_library_nobody_installed",)
    extra = "torch"


def test_a_family_whose_extra_is_missing_names_the_extra() -> None:
    with pytest.raises(UserCodeError) as err:
        import_object(f"{__name__}.NeedsAnExtra", what="estimator", sep=".")
    assert "a_library_nobody_installed" in err.value.message
    assert "airloop[torch]" in (err.value.hint or "")
