"""A registered model lists what loading it imports, pinned (issue 20: requirements were a fixed
list, so a model holding an xgboost estimator did not list xgboost and failed wherever it loaded)."""

from __future__ import annotations

import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest
import scipy.special
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from airloop.errors import UserCodeError
from airloop.model import requirements
from airloop.model.requirements import pinned


def _fit(step) -> Pipeline:
    X = np.random.default_rng(0).random((60, 3))
    return Pipeline([("f", step), ("m", LogisticRegression())]).fit(X, (X[:, 0] > 0.5).astype(int))


def test_what_the_fitted_object_imports_is_listed_and_pinned() -> None:
    reqs = pinned(_fit(FunctionTransformer(scipy.special.expit)))
    assert f"scipy=={version('scipy')}" in reqs  # only because this pipeline holds a scipy function
    assert f"scikit-learn=={version('scikit-learn')}" in reqs
    assert {r.split("==")[0] for r in reqs} >= {"mlflow", "cloudpickle", "numpy"}
    assert "scipy" not in {r.split("==")[0] for r in pinned(_fit(FunctionTransformer()))}


def test_the_shipped_transform_adds_its_imports_but_not_itself(tmp_path: Path) -> None:
    (tmp_path / "feats.py").write_text(
        "import os\nimport yaml\n\n\ndef add(frame):\n    import sqlalchemy\n    return frame\n"
    )
    reqs = {r.split("==")[0] for r in pinned(_fit(FunctionTransformer()), [str(tmp_path / "feats.py")])}
    assert {"PyYAML", "SQLAlchemy"} <= reqs  # a lazy import inside the function counts too
    assert "feats" not in reqs
    assert "os" not in reqs


def test_a_module_no_package_provides_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "handmade.py").write_text("def double(x):\n    return x * 2\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import handmade

    try:
        with pytest.raises(UserCodeError, match="module `handmade`"):
            pinned(_fit(FunctionTransformer(handmade.double)))
    finally:
        sys.modules.pop("handmade", None)


def test_a_local_build_label_is_not_pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("importlib.metadata.version", lambda name: "2.13.0+cpu")
    assert requirements._pin("torch") == "torch==2.13.0"  # the wheel's local label is on no index
