"""airloop_runtime loads data, never code: a skops file naming a function or an unlisted type is
refused before anything in it is built, and a tree whose indices point outside its arrays (which
scikit-learn does not check at predict time) is refused before it answers (issue 20)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from airloop.model import store
from airloop.model.prepare import Prepare
from airloop_runtime import META, NotLoadable, load
from airloop_runtime.trust import check_bounds

X = pd.DataFrame({"a": np.random.default_rng(0).random(200), "b": np.random.default_rng(1).random(200)})
Y = (X["a"] > 0.5).astype(int)


def stored(tmp_path: Path, estimator) -> Path:
    pipe = Pipeline([("prepare", Prepare(["a", "b"], [])), ("model", estimator)]).fit(X, Y)
    store.save(pipe, tmp_path / "model", X, "binary")
    return tmp_path / "model"


def replace_estimator(folder: Path, data: bytes) -> None:
    meta = json.loads((folder / META).read_text())
    path = folder / meta["estimator"]["file"]
    path.write_bytes(data)
    meta["estimator"]["sha256"] = hashlib.sha256(data).hexdigest()  # an attacker updates the checksum too
    (folder / META).write_text(json.dumps(meta))


def test_a_skops_file_naming_a_function_is_refused_and_nothing_runs(tmp_path: Path) -> None:
    folder = stored(tmp_path, RandomForestClassifier(n_estimators=3))
    marker = tmp_path / "ran"
    replace_estimator(folder, skops.io.dumps(FunctionTransformer(os.system, kw_args={"command": f"touch {marker}"})))
    with pytest.raises(NotLoadable, match="does not trust.*system"):
        load(folder)
    assert not marker.exists()


def test_a_pickle_in_place_of_the_estimator_is_refused_and_nothing_runs(tmp_path: Path) -> None:
    import pickle

    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    folder = stored(tmp_path, RandomForestClassifier(n_estimators=3))
    replace_estimator(folder, pickle.dumps(Payload()))
    with pytest.raises(NotLoadable, match="does not read as skops"):
        load(folder)
    assert not marker.exists()


def test_an_unknown_format_or_a_newer_version_is_refused(tmp_path: Path) -> None:
    folder = stored(tmp_path, RandomForestClassifier(n_estimators=3))
    meta = json.loads((folder / META).read_text())
    (folder / META).write_text(json.dumps({**meta, "estimator": {**meta["estimator"], "format": "pickle"}}))
    with pytest.raises(NotLoadable, match="unknown estimator format 'pickle'"):
        load(folder)
    (folder / META).write_text(json.dumps({**meta, "format_version": 99}))
    with pytest.raises(NotLoadable, match="upgrade airloop"):
        load(folder)
    (folder / META).write_text(json.dumps({**meta, "estimator": {**meta["estimator"], "file": "../../etc/passwd"}}))
    with pytest.raises(NotLoadable, match="missing"):  # only a file inside the folder is read
        load(folder)


def test_a_decision_tree_pointing_outside_its_nodes_is_refused() -> None:
    forest = RandomForestClassifier(n_estimators=2, random_state=0).fit(X, Y)
    check_bounds(forest)  # as fitted: fine
    tree = forest.estimators_[0].tree_
    state = tree.__getstate__()
    nodes = state["nodes"].copy()
    nodes["left_child"][0] = tree.node_count + 5
    state["nodes"] = nodes
    tree.__setstate__(state)
    with pytest.raises(NotLoadable, match="left child indices point outside"):
        check_bounds(forest)


def test_a_tree_that_loops_back_is_refused() -> None:
    forest = RandomForestClassifier(n_estimators=1, random_state=0).fit(X, Y)
    tree = forest.estimators_[0].tree_
    state = tree.__getstate__()
    nodes = state["nodes"].copy()
    nodes["right_child"][0] = 0  # the root's right child is the root: predict would never end
    state["nodes"] = nodes
    tree.__setstate__(state)
    with pytest.raises(NotLoadable, match="right child"):
        check_bounds(forest)


def test_a_gradient_boosting_tree_splitting_on_a_missing_feature_is_refused() -> None:
    model = HistGradientBoostingClassifier(max_iter=3).fit(X, Y)
    check_bounds(model)
    nodes = model._predictors[0][0].nodes
    nodes["feature_idx"][0] = 7
    with pytest.raises(NotLoadable, match="outside its 2 features"):
        check_bounds(model)
