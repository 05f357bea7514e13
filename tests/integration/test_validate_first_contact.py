"""First contact with a new data set: the data a contract comes from passes it, unused columns are not judged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.projects import make_frame, write_project

from airloop.errors import ContractViolation
from airloop.spec import load_spec
from airloop.steps.context import StepContext
from airloop.steps.runner import execute
from airloop.workspace import Workspace

pytestmark = pytest.mark.integration


def _validate(spec: Path, ws: Workspace, run_id: str) -> dict:
    ctx = StepContext(load_spec(spec).spec.name, str(spec), ws, run_id=run_id)
    refs = execute("ingest", ctx, {})
    return execute("validate", ctx, refs)


def test_files_the_contract_is_inferred_from_pass_it_and_excluded_columns_are_not_judged(tmp_path: Path) -> None:
    spec = write_project(tmp_path / "p", batches=2)
    spec.write_text(
        spec.read_text().replace("  target: label\n", "  target: label\n  features:\n    exclude: [note]\n")
    )
    data = tmp_path / "p" / "data"
    for i, path in enumerate(sorted(data.glob("*.csv"))):
        frame = make_frame(600, seed=i, start=f"2024-0{i + 1}-01")
        # one file has many more nulls than the pooled rate + tolerance: it is part of the reference
        if i == 1:
            frame.loc[frame.index[:120], "size"] = None
        frame["note"] = "fine"
        frame.to_csv(path, index=False)
    ws = Workspace(tmp_path / "ws")
    _validate(spec, ws, "r1")
    report = json.loads((ws.run_dir("tiny", "r1") / "contract_report.json").read_text())
    assert report["accepted"] is True
    assert report["not_checked"] == ["note"]
    assert "note" not in json.loads(ws.contract_file("tiny").read_text())["columns"]

    # a later batch: the excluded column goes all-null (not judged); the judged ones are healthy
    later = make_frame(600, seed=9, start="2024-03-01").assign(note=None)
    later.to_csv(data / "part_9.csv", index=False)
    _validate(spec, ws, "r2")

    # a later batch that breaks a judged column is still refused
    broken = make_frame(600, seed=10, start="2024-04-01").assign(note="fine")
    broken["x"] = broken["x"] * 1000
    broken.to_csv(data / "part_10.csv", index=False)
    with pytest.raises(ContractViolation, match="part_10.csv"):
        _validate(spec, ws, "r3")


def test_a_moderate_null_rise_is_trained_on_with_a_warning(tmp_path: Path) -> None:
    # two reference files: over 1,000 distinct `ts` texts, so it is free text, not a category
    spec = write_project(tmp_path / "p", batches=2)
    ws = Workspace(tmp_path / "ws")
    _validate(spec, ws, "r1")
    later = make_frame(2000, seed=12, start="2024-03-01")
    later.loc[later.index[:500], "size"] = None  # 25% nulls where the reference had none: warn, not block
    later.to_csv(tmp_path / "p" / "data" / "part_5.csv", index=False)
    out = _validate(spec, ws, "r2")
    assert out["contract_warnings"] == ["part_5.csv: size null_rate"]
    report = json.loads((ws.run_dir("tiny", "r2") / "contract_report.json").read_text())
    assert report["accepted"] is True
    assert "(warn)" in (ws.run_dir("tiny", "r2") / "contract_report.txt").read_text()
