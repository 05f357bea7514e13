"""A new user's data set: YES/NO labels, a sixth of them missing, a column excluded. It trains to a
champion unmodified, and the model, its tags, serving and the monitor all speak YES/NO."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers.projects import make_frame, train_with_steps, write_project
from helpers.server import Server

from airloop.errors import SpecError
from airloop.spec import load_spec
from airloop.steps.window import live_performance
from airloop.tracking.tags import labels_of

pytestmark = pytest.mark.integration


def _yes_no_project(root: Path) -> Path:
    spec = write_project(root, batches=2, extra="serving:\n  poll_seconds: 0.5\n")
    spec.write_text(
        spec.read_text()
        .replace("  target: label\n", "  target: answer\n  features:\n    exclude: [note]\n")
        .replace("metrics: [roc_auc, accuracy]", "metrics: [roc_auc, f1, precision, accuracy]")
    )
    for i, path in enumerate(sorted((root / "data").glob("*.csv"))):
        frame = make_frame(600, seed=i, start=f"2024-0{i + 1}-01")
        frame["answer"] = np.where(frame.pop("label") == 1, "YES", "NO").astype(object)
        frame.loc[frame.sample(frac=1 / 6, random_state=i).index, "answer"] = None
        frame["note"] = None if i else "free text"  # all-null in one file: not judged, not used
        frame.to_csv(path, index=False)
    return spec


def test_yes_no_labels_with_gaps_train_serve_and_monitor_in_yes_no(tmp_path: Path, workspace) -> None:
    spec = _yes_no_project(tmp_path / "p")
    refs = train_with_steps(spec, workspace)

    assert refs["labels"]["positive"] == "YES"
    assert refs["labels"]["classes"] == ["NO", "YES"]
    assert "positive answer" in refs["labels"]["reason"]
    assert refs["rows_dropped_missing_target"] > 100
    assert refs["promoted"] is True
    assert {"f1", "precision", "roc_auc"} <= set(refs["metrics"])
    assert refs["metrics"]["f1"] > 0
    from airloop.tracking import Tracker

    tags = Tracker(workspace).version("tiny", refs["version"]).tags
    assert labels_of(tags) == {"classes": ["NO", "YES"], "positive": "YES"}

    server = Server(spec, workspace.root, tmp_path / "serve.log").start()
    try:
        record = make_frame(3, seed=5).drop(columns=["label"]).to_dict(orient="records")
        status, body = server.request("POST", "/predict", {"records": record})
        assert status == 200, body
        assert set(body["predictions"]) <= {"YES", "NO"}
        assert body["classes"] == ["NO", "YES"]
        assert body["positive_class"] == "YES"
        rid = body["request_id"]
        status, body = server.request("POST", "/labels", {"labels": [{"request_id": rid, "label": "yes"}]})
        assert (status, body) == (200, {"recorded": 1})
        status, body = server.request("POST", "/labels", {"labels": [{"request_id": rid, "label": "banana"}]})
        assert status == 422
        assert body["details"][0]["problem"] == '\'banana\' is not one of "NO", "YES"'
    finally:
        server.stop()

    # labels posted back as the user has them (any case) score against the YES/NO predictions
    frame = pd.DataFrame(
        {
            "label": ["yes", "NO", "YES", "no"] * 15,
            "prediction": ["YES", "NO", "NO", "NO"] * 15,
            "probabilities": [[0.2, 0.8], [0.9, 0.1], [0.6, 0.4], [0.7, 0.3]] * 15,
        }
    )
    perf = live_performance(load_spec(spec).spec, frame, labels_of(tags))
    assert perf["metrics"]["roc_auc"] == 1.0
    assert perf["metrics"]["precision"] == 1.0
    assert perf["metrics"]["f1"] == pytest.approx(2 / 3)


def test_a_positive_class_not_among_the_labels_is_refused_before_airflow_starts(tmp_path: Path) -> None:
    spec = _yes_no_project(tmp_path / "p")
    spec.write_text(spec.read_text().replace("  target: answer\n", "  target: answer\n  positive_class: MAYBE\n"))
    with pytest.raises(SpecError) as err:
        load_spec(spec, deep=True)
    (problem,) = err.value.problems
    assert problem.where == "data.positive_class"
    assert problem.line is not None
    assert "'MAYBE' is not among the labels" in problem.message
    assert "'NO', 'YES'" in problem.fix
