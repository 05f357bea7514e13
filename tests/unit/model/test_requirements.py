"""A registered model lists what loading it imports, pinned (issue 20: requirements were a fixed
list, so a model holding an xgboost estimator did not list xgboost and failed wherever it loaded),
and never airloop itself: the runtime that reads it travels with it."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from airloop.errors import UserCodeError
from airloop.model import requirements, store
from airloop.model.prepare import Prepare
from airloop.model.requirements import constraints, pinned


def _stored(tmp_path: Path, sparse: bool = False) -> Path:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.random(60), "b": rng.random(60)})
    pipe = Pipeline([("prepare", Prepare(["a", "b"], [])), ("model", LogisticRegression())])
    pipe.fit(X, (X["a"] > 0.5).astype(int))
    if sparse:
        pipe.named_steps["model"].sparsify()  # its coefficients become a scipy.sparse matrix
    trusted = ("scipy.sparse._csr.csr_matrix",) if sparse else ()  # as a candidate's trusted_types would
    store.save(pipe, tmp_path / "model", X, "binary", trusted)
    return tmp_path / "model"


def names(reqs: list[str]) -> set[str]:
    return {r.split("==")[0] for r in reqs}


def test_what_the_stored_model_imports_is_listed_and_pinned(tmp_path: Path) -> None:
    reqs = pinned(_stored(tmp_path))
    assert f"scikit-learn=={version('scikit-learn')}" in reqs
    assert names(reqs) == {"mlflow-skinny", "numpy", "pandas", "scikit-learn", "skops"}  # no airloop, no pickle
    # scipy only when the stored estimator itself holds a scipy object
    assert "scipy" in names(pinned(_stored(tmp_path / "sparse", sparse=True)))


def test_dependencies_are_pinned_as_constraints(tmp_path: Path) -> None:
    pins = constraints(pinned(_stored(tmp_path)))
    assert f"scipy=={version('scipy')}" in pins  # scikit-learn's, as installed here
    assert "airloop" not in names(pins)


def test_the_shipped_transform_adds_its_imports_but_not_itself(tmp_path: Path) -> None:
    (tmp_path / "feats.py").write_text(
        "import os\nimport yaml\n\n\ndef add(frame):\n    import sqlalchemy\n    return frame\n"
    )
    reqs = names(pinned(_stored(tmp_path), [str(tmp_path / "feats.py")]))
    assert {"PyYAML", "SQLAlchemy"} <= reqs  # a lazy import inside the function counts too
    assert "feats" not in reqs
    assert "os" not in reqs


def test_a_module_no_package_provides_is_named(tmp_path: Path) -> None:
    (tmp_path / "feats.py").write_text("import handmade_zz\n\n\ndef add(frame):\n    return frame\n")
    with pytest.raises(UserCodeError, match="module `handmade_zz`"):
        pinned(_stored(tmp_path), [str(tmp_path / "feats.py")])


def test_a_transform_that_imports_airloop_is_refused(tmp_path: Path) -> None:
    (tmp_path / "feats.py").write_text("from airloop.model.labels import normalize\n\n\ndef add(f):\n    return f\n")
    with pytest.raises(UserCodeError, match="load without airloop"):
        pinned(_stored(tmp_path), [str(tmp_path / "feats.py")])


def test_a_local_build_label_is_not_pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("importlib.metadata.version", lambda name: "2.13.0+cpu")
    assert requirements._pin("torch") == "torch==2.13.0"  # the wheel's local label is on no index
