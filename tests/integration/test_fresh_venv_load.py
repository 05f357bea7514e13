"""A registered version loads where airloop is not installed (issue 20): a fresh virtualenv made
from the version's own requirements alone, with neither airloop nor this checkout on the path,
loads it through MLflow and answers exactly as airloop does in process.

Before, every version required `airloop==<version>` (on no index) and was a cloudpickle naming
airloop's classes: it could not load outside a checkout of this repository."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers.projects import make_frame, train_with_steps, write_project
from helpers.venv import answers_in_fresh_venv

from airloop.model import store
from airloop.workspace import Workspace

pytestmark = pytest.mark.integration


def test_a_version_loads_in_a_fresh_venv_from_its_requirements_alone(tmp_path: Path) -> None:
    import mlflow.artifacts

    spec = write_project(tmp_path / "project", min_auc=0.0)  # its feature transform ships with the model
    ws = Workspace(tmp_path / "ws")
    train_with_steps(spec, ws)
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri="models:/tiny/1", dst_path=str(tmp_path / "v1")))
    assert "airloop" not in (local / "requirements.txt").read_text()
    records = tmp_path / "records.json"
    make_frame(40, seed=5).drop(columns=["label"]).to_json(records, orient="records", date_format="iso")

    answered = answers_in_fresh_venv(local, records, tmp_path)

    assert answered["runtime"] == "airloop_runtime.pipeline"  # the copy shipped in the version's code/
    here = store.load(str(local), store.LoadOptions(runtime="python"))  # what the venv runs: no onnxruntime there
    frame = pd.read_json(records, orient="records")  # the very records the venv read
    assert answered["labels"] == here.predict(frame).tolist()
    np.testing.assert_allclose(answered["proba"], here.predict_proba(frame), rtol=0, atol=1e-12)
