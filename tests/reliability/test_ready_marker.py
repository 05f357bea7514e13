"""Issue 7, finding 6 (last part): landed files are taken only once a `_READY` marker vouches for
them, by every path (before: a plain `airloop run` read whatever was in the landing folder, so a
half-written file could be ingested)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from helpers.projects import make_frame, train_with_steps, write_landing_project

from airloop.workspace import Workspace

pytestmark = pytest.mark.integration


def test_only_files_written_before_the_marker_are_taken_and_the_marker_is_spent(
    tmp_path: Path, record_property
) -> None:
    spec, incoming = write_landing_project(tmp_path / "p")
    ws = Workspace(tmp_path / "ws")

    make_frame(200, seed=5, start="2024-04-01").to_csv(incoming / "april.csv", index=False)
    refs = train_with_steps(spec, ws, run_id="r1")  # no marker yet: april waits
    assert refs["rows"] == 1200
    assert (incoming / "april.csv").exists()

    (incoming / "_READY").write_text("")
    later = time.time() + 5
    make_frame(200, seed=6, start="2024-05-01").to_csv(incoming / "may.csv", index=False)
    os.utime(incoming / "may.csv", (later, later))  # still being written after the marker
    refs = train_with_steps(spec, ws, run_id="r2")
    assert refs["rows"] == 1400  # april only
    assert refs["landing"] == {"accepted": ["april.csv"]}
    assert (incoming / "may.csv").exists()
    assert not (incoming / "_READY").exists()  # spent: what it vouched for is settled

    marker = incoming / "_READY.taken-1"  # as the triggerer leaves it when it starts a run
    marker.write_text("")
    os.utime(marker, (later + 1, later + 1))
    refs = train_with_steps(spec, ws, run_id="r3")
    assert refs["landing"] == {"accepted": ["may.csv"]}
    assert not marker.exists()
    record_property("observed", "no marker: nothing taken; a file newer than the marker waited for the next one")
