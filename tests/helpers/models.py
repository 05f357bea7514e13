"""Registered versions that behave badly on purpose: a model class written into the project folder
(the server imports it from there, as it imports a feature transform), logged as a cloudpickle
(the format before airloop's safe one: the spec must say ``serving.trust_pickle: true``, TRUSTS_PICKLES)
and registered with the champion's data contract; or a registered version whose stored estimator is
swapped for another (``swap_estimator``)."""

from __future__ import annotations

import sys
from pathlib import Path

from airloop.tracking import Tracker
from airloop.tracking.tags import Tag
from airloop.workspace import Workspace

TRUSTS_PICKLES = "  trust_pickle: true\n"  # a line under `serving:`

EXPLODING = '''\
import numpy as np


class Exploding:
    """Fails on every request."""

    classes_ = np.array([0, 1])

    def predict_proba(self, X):
        raise RuntimeError("this model fails on every request")

    predict = predict_proba
'''

COIN = '''\
import numpy as np


class Coin:
    """Knows nothing: a fair coin for every record."""

    classes_ = np.array([0, 1])

    def predict_proba(self, X):
        rng = np.random.default_rng(len(X))
        p = rng.random(len(X))
        return np.column_stack([1 - p, p])

    def predict(self, X):
        return self.predict_proba(X).argmax(axis=1)
'''


def register_model(ws: Workspace, project: Path, source: str, class_name: str) -> str:
    """Register an instance of ``class_name`` (defined by ``source``) as a new version of `tiny`."""
    import importlib

    import mlflow
    import mlflow.sklearn

    module = class_name.lower()
    (project / f"{module}.py").write_text(source)
    sys.path.insert(0, str(project))
    try:
        model = getattr(importlib.import_module(module), class_name)()
        tracker = Tracker(ws)
        v1 = tracker.version("tiny", "1")
        with mlflow.start_run(run_id=v1.run_id):
            info = mlflow.sklearn.log_model(model, name=module, serialization_format="pickle")
        mv = tracker.client.create_model_version(
            "tiny", info.model_uri, run_id=v1.run_id, tags={Tag.CONTRACT_URI: v1.tags[Tag.CONTRACT_URI]}
        )
        return str(mv.version)
    finally:
        sys.path.remove(str(project))


def swap_estimator(local: Path, out: Path, estimator: object) -> Path:
    """A copy of the downloaded model folder ``local`` at ``out`` whose stored estimator is
    ``estimator`` (written with skops, its checksum updated, its ONNX form dropped: it loads, and
    answers as it can)."""
    import json
    import shutil

    import skops.io

    from airloop.model.store import data_folder
    from airloop_runtime import META
    from airloop_runtime.pipeline import sha256

    shutil.copytree(local, out)
    data = data_folder(out)
    assert data is not None, f"{local} is not in airloop's model format"
    meta = json.loads((data / META).read_text())
    path = data / meta["estimator"]["file"]
    skops.io.dump(estimator, path)
    meta["estimator"]["sha256"] = sha256(path)
    meta["onnx"] = {"refused": "the estimator was swapped by a test"}  # so the swapped estimator answers
    for form in data.glob("*.onnx"):
        form.unlink()
    (data / META).write_text(json.dumps(meta))
    return out
