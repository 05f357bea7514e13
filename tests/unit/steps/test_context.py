"""A run's spec is fixed at ingest: later tasks read the snapshot, not the YAML as it is now."""

from __future__ import annotations

import json
from pathlib import Path

from airloop.steps.context import StepContext
from airloop.workspace import Workspace


def _write(folder: Path, trials: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "airloop.yaml").write_text(
        "name: snap\ntask: binary\ndata: {source: {path: d/*.csv}, target: y}\n"
        "candidates: [{name: lr, estimator: sklearn.linear_model.LogisticRegression}]\n"
        f"tuning: {{trials: {trials}}}\n"
    )
    return folder / "airloop.yaml"


def test_tasks_after_ingest_read_the_snapshot_even_when_the_yaml_changes(tmp_path: Path) -> None:
    spec = _write(tmp_path / "p", trials=3)
    ws = Workspace(tmp_path / "ws")
    ingest = StepContext("snap", str(spec), ws, run_id="r1")
    fixed = ingest.snapshot_spec()
    record = json.loads(ingest.snapshot_file.read_text())
    assert record["hash"] == fixed.spec_hash
    assert record["path"] == str(spec)

    _write(tmp_path / "p", trials=9)  # someone edits the spec while the run goes on
    later = StepContext("snap", str(spec), ws, run_id="r1")
    assert later.loaded.spec.tuning.trials == 3
    assert later.loaded.spec_hash == fixed.spec_hash
    assert later.loaded.path == spec

    other_run = StepContext("snap", str(spec), ws, run_id="r2")  # no snapshot: the YAML as it is now
    assert other_run.loaded.spec.tuning.trials == 9


def test_a_snapshot_round_trips_every_section_of_the_example(tmp_path: Path) -> None:
    example = Path(__file__).parents[3] / "examples" / "flights" / "airloop.yaml"
    ctx = StepContext("flights", str(example), Workspace(tmp_path / "ws"), run_id="r1")
    fixed = ctx.snapshot_spec()
    del ctx.__dict__["loaded"]
    assert ctx.loaded.spec == fixed.spec
    assert ctx.loaded.spec_hash == fixed.spec_hash
