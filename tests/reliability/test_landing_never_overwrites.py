"""Issue 7, finding 1: a landed file never replaces accepted data, and a copy is not counted twice.

Before the fix, landing April as `part_0.csv` (January's name) replaced January on disk, and the
run that did it succeeded having read both; a second rejected file of the same name replaced the
first one's evidence in incoming/rejected/."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers.projects import make_frame, train_with_steps, write_landing_project

from airloop.workspace import Workspace

pytestmark = pytest.mark.integration


def test_a_landed_name_that_is_taken_is_suffixed_and_a_copy_is_set_aside(tmp_path: Path, record_property) -> None:
    spec, incoming = write_landing_project(tmp_path / "p")
    data = tmp_path / "p" / "data"
    ws = Workspace(tmp_path / "ws")
    train_with_steps(spec, ws, run_id="r1")
    january = (data / "part_0.csv").read_bytes()

    make_frame(200, seed=7, start="2024-04-01").to_csv(incoming / "part_0.csv", index=False)  # April, January's name
    shutil.copy(data / "part_1.csv", incoming / "again.csv")  # February, landed a second time
    (incoming / "_READY").write_text("")
    refs = train_with_steps(spec, ws, run_id="r2")

    assert (data / "part_0.csv").read_bytes() == january  # January is intact
    assert (data / "part_0.landed-1.csv").exists()  # April joined under a free name
    assert refs["rows"] == 1200 + 200  # February counted once
    assert refs["landing"] == {
        "accepted_renamed": ["part_0.csv -> part_0.landed-1.csv"],
        "duplicates": ["again.csv (same bytes as part_1.csv)"],
    }
    assert (incoming / "duplicates" / "again.csv").exists()  # set aside, not deleted
    assert not (data / "again.csv").exists()
    record_property(
        "observed", "January intact; April joined as part_0.landed-1.csv; a copy of February set aside unread"
    )


def test_a_second_rejected_file_of_the_same_name_keeps_the_first(tmp_path: Path, record_property) -> None:
    spec, incoming = write_landing_project(tmp_path / "p")
    ws = Workspace(tmp_path / "ws")
    train_with_steps(spec, ws, run_id="r1")
    for i, color in enumerate(("purple", "orange")):
        bad = make_frame(200, seed=8 + i, start="2024-05-01").assign(color=color)
        bad.to_csv(incoming / "may.csv", index=False)
        (incoming / "_READY").write_text("")
        with pytest.raises(Exception, match="data contract"):
            train_with_steps(spec, ws, run_id=f"bad{i}")
    rejected = incoming / "rejected"
    assert "purple" in (rejected / "may.csv").read_text()
    assert "orange" in (rejected / "may.landed-1.csv").read_text()
    assert (rejected / "may.landed-1.csv.report.txt").exists()
    record_property("observed", "two rejected may.csv: both kept (may.csv, may.landed-1.csv), each with its report")
