"""Issue 7, finding 2: each file is judged by its own columns and types, so a bad file never drags
the good files beside it down (before: a column in one file was `extra_column` on every file, and a
`;`-separated CSV made the good CSV landed with it fail and go to rejected/ too). Issue 24: the good
file is not held back in the landing folder either; it joins data/ in the run that refused the bad one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.projects import make_frame, train_with_steps, write_landing_project

from airloop.errors import ContractViolation
from airloop.workspace import Workspace

pytestmark = pytest.mark.integration


def _blamed(ws: Workspace, run_id: str) -> dict[str, list[str]]:
    report = json.loads((ws.run_dir("tiny", run_id) / "contract_report.json").read_text())
    return {Path(b["name"]).name: sorted({v["rule"] for v in b["violations"]}) for b in report["batches"]}


def test_only_the_file_that_breaks_the_contract_is_blamed_and_rejected(tmp_path: Path, record_property) -> None:
    spec, incoming = write_landing_project(tmp_path / "p")
    ws = Workspace(tmp_path / "ws")
    train_with_steps(spec, ws, run_id="r1")

    make_frame(200, seed=5, start="2024-04-01").to_csv(incoming / "april.csv", index=False)  # good
    make_frame(200, seed=6, start="2024-05-01").to_csv(incoming / "may.csv", index=False, sep=";")  # one column
    (incoming / "_READY").write_text("")
    with pytest.raises(ContractViolation, match="may.csv"):
        train_with_steps(spec, ws, run_id="r2")

    blamed = _blamed(ws, "r2")
    assert blamed["april.csv"] == []
    assert blamed["part_0.csv"] == []
    assert blamed["part_1.csv"] == []
    assert blamed["may.csv"] == ["extra_column", "missing_column"]
    assert (incoming / "rejected" / "may.csv").exists()
    # issue 24: the good file beside it is not held back: it joins data/ now, and trains next run
    assert (tmp_path / "p" / "data" / "april.csv").exists()
    assert not (incoming / "april.csv").exists()
    assert not (incoming / "rejected" / "april.csv").exists()
    assert not (incoming / "_READY").exists()  # spent: every file it vouched for is settled
    assert "may.csv" in (incoming / "rejected" / "may.csv.report.txt").read_text()
    assert "april.csv" not in (incoming / "rejected" / "may.csv.report.txt").read_text()  # its own report

    refs = train_with_steps(spec, ws, run_id="r3")  # the good file trains on the next run
    assert refs["rows"] == 1200 + 200
    assert "landing" not in refs
    record_property(
        "observed", "only the ;-separated file blamed and rejected; the good file beside it joined data/ at once"
    )
