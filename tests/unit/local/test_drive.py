"""The pieces a scripted demo drives the loop with: landing markers, label files, reading verdicts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from airloop.data.sources import READY
from airloop.local import drive
from airloop.workspace import Workspace


def test_labels_land_as_a_csv_then_the_marker(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    path = drive.deliver_labels(ws, "p", [("e1", 1), ("e2", 0)], "batch.csv")
    assert path.parent == ws.labels_folder("p")
    assert pd.read_csv(path).to_dict("records") == [{"entity_id": "e1", "label": 1}, {"entity_id": "e2", "label": 0}]
    assert (ws.labels_folder("p") / READY).exists()
    assert not list(ws.labels_folder("p").glob("*.tmp"))


def test_rejected_files_ignore_their_reports(tmp_path: Path) -> None:
    landing = tmp_path / "incoming"
    assert drive.rejected_files(landing) == set()
    (landing / "rejected").mkdir(parents=True)
    (landing / "rejected" / "may.csv").write_text("x")
    (landing / "rejected" / "may.csv.report.txt").write_text("why")
    assert drive.rejected_files(landing) == {"may.csv"}


def test_last_monitoring_reads_the_latest_verdict(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    assert drive.last_monitoring(ws, "p") == {}
    rows = [
        (1.0, "1", "x", "psi", 0.5, True, 10, "no action"),
        (2.0, "1", "x", "psi", 0.3, True, 10, "retrain requested"),
        (2.0, "1", "y", "chi2", 9.0, False, 10, "retrain requested"),
        (2.0, "1", "live_roc_auc", "metric", 0.71234, False, 10, "retrain requested"),
    ]
    cols = ["at", "champion", "feature", "method", "statistic", "drifted", "rows", "verdict"]
    ws.monitoring_history("p").parent.mkdir(parents=True)
    pd.DataFrame(rows, columns=cols).to_parquet(ws.monitoring_history("p"))
    ws.monitoring_state("p").write_text('{"last_request": 2.0}')
    got = drive.last_monitoring(ws, "p")
    assert got == {
        "verdict": "retrain requested",
        "drifted": ["x"],
        "live": {"roc_auc": 0.7123},
        "state": {"last_request": 2.0},
    }


def test_last_monitoring_reads_persistent_drift_and_staleness(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    rows = [
        (2.0, "1", "x", "psi", 0.3, True, 10, "no action", True, 0.04),
        (2.0, "1", "y", "psi", 0.4, True, 10, "no action", False, 0.04),
    ]
    cols = ["at", "champion", "feature", "method", "statistic", "drifted", "rows", "verdict", "persistent", "staleness"]
    ws.monitoring_history("p").parent.mkdir(parents=True)
    pd.DataFrame(rows, columns=cols).to_parquet(ws.monitoring_history("p"))
    got = drive.last_monitoring(ws, "p")
    assert (got["drifted"], got["persistent"], got["staleness"]) == (["x", "y"], ["x"], 0.04)
