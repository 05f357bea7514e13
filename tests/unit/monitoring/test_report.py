"""The HTML report: real MLflow on SQLite with two trained versions, a synthetic monitoring history
and a rejected contract report; and an empty project that must render "nothing yet" notes."""

from __future__ import annotations

import html
import json
import re
import time
from pathlib import Path

import pandas as pd
import pytest
from helpers.projects import make_frame, train_with_steps, write_project

from airloop.monitoring.report import write_report
from airloop.workspace import MLFLOW_ENV, Workspace

XSS = "<script>alert(1)</script>"


def _history(path: Path) -> None:
    """Three monitor runs of champion v1: x drifts in the last one, beside color's persistent drift
    (drifted at the last training too); the expected loss from staleness grows."""
    start = time.time() - 3 * 3600
    rows = []
    runs = [(0.01, 0.02, 0.81, 0.02), (0.05, 0.03, 0.79, 0.05), (0.42, 0.34, 0.66, 0.123)]
    for i, (psi_x, psi_color, acc, stale) in enumerate(runs):
        at = start + i * 3600
        verdict = "retrain requested" if psi_x > 0.2 else "no action"
        common = {"at": at, "champion": "1", "verdict": verdict, "alarms": "drift:x" if psi_x > 0.2 else ""}
        common |= {"staleness": stale, "persistent": False}
        color_drifted = psi_color > 0.2
        rows += [
            {**common, "feature": "x", "method": "psi", "statistic": psi_x, "drifted": psi_x > 0.2, "rows": 300},
            {
                **common,
                "feature": "color",
                "method": "psi",
                "statistic": psi_color,
                "drifted": color_drifted,
                "rows": 300,
                "persistent": color_drifted,
            },  # fmt: skip
            {**common, "feature": "live_accuracy", "method": "metric", "statistic": acc, "drifted": False, "rows": 120},
        ]
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_parquet(path, index=False)


def _contract_report(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "contract": "inferred earlier (contract.json)",
        "batches": [
            {"name": "part_0.csv", "rows": 600, "violations": []},
            {
                "name": "part_9.csv",
                "rows": 50,
                "violations": [
                    {
                        "column": "size",
                        "rule": "max",
                        "message": "3 values above the maximum 10.0",
                        "examples": [99.5, 120.0],
                        "count": 3,
                    },
                    {
                        "column": "color",
                        "rule": "categories",
                        "message": "1 value outside the known categories",
                        "examples": [XSS],
                        "count": 1,
                    },
                ],
            },
        ],
        "accepted": False,
    }
    path.write_text(json.dumps(report))


def _backtest(path: Path) -> None:
    """What `airloop backtest` leaves for the report: two months, the loop retrained after the first."""

    def period(start: str, static: float, loop: float, trained: bool) -> dict:
        scores = {"static": static, "scheduled": loop, "loop": loop}
        decision = {"verdict": "x", "reason": f"why {XSS}"}
        return {
            "start": start,
            "rows": 900,
            "labeled": 880,
            **scores,
            "loop_trained": trained,
            "loop_decision": decision,
        }

    result = {
        "metric": "roc_auc",
        "periods": [period("2024-03-01", 0.7, 0.7, True), period("2024-04-01", 0.6, 0.68, False)],
        "summary": {p: {"mean": 0.66, "trainings": 2, "compute_seconds": 3.0} for p in ("static", "scheduled", "loop")},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Workspace]:
    root = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(MLFLOW_ENV, raising=False)
        spec = write_project(root / "p", min_auc=0.0)
        ws = Workspace(root / "ws")
        train_with_steps(spec, ws, run_id="run_1")
        # a second version needs new inputs: the same data would not be trained again
        make_frame(300, seed=9, start="2024-03-01").to_csv(root / "p" / "data" / "part_2.csv", index=False)
        train_with_steps(spec, ws, run_id="run_2")
    _history(ws.project("tiny") / "monitoring" / "history.parquet")
    _contract_report(ws.project("tiny") / "runs" / "r9" / "contract_report.json")
    _backtest(ws.backtest_dir("tiny") / "result.json")
    return spec, ws


def test_report_shows_versions_live_metrics_drift_and_violations(
    trained: tuple[Path, Workspace], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(MLFLOW_ENV, raising=False)
    spec, ws = trained
    path = write_report(spec, ws)

    assert path == ws.root / "reports" / "tiny.html"
    page = path.read_text()
    assert "<b>v1</b>" in page
    assert "<b>v2</b>" in page
    assert "champion" in page
    assert "no champion yet" in page  # v1's gate reason
    assert "roc_auc" in page
    assert "run_1" in page  # Airflow run id tag
    assert "live_accuracy" in page
    assert "retrain requested" in page
    assert "alarm fatigue: 0 of 1 retrain requests changed nothing" in page  # the last one: not judged yet
    assert "color (persistent), x" in page  # the new signals of issue 26, run by run
    assert "12.3% expected" in page
    for feature in ("x", "color"):
        assert f"<td>{feature}</td>" in page
    assert "part_9.csv" in page
    assert "<td>size</td><td>max</td>" in page
    assert "99.5" in page
    assert page.count("data:image/png;base64,") == 4  # versions, live metrics, drift, backtest
    assert "the loop&#x27;s monitor decided" in page
    assert "nothing yet" not in page
    # issue 25: each run's outcome, the same line as its DAG run note
    assert "<td>run_1</td><td>v1 promoted (roc_auc " in page


def test_report_is_self_contained_and_escaped(trained: tuple[Path, Workspace], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MLFLOW_ENV, raising=False)
    spec, ws = trained
    page = write_report(spec, ws, out=ws.root / "elsewhere" / "r.html").read_text()

    assert XSS not in page
    assert html.escape(XSS) in page
    assert "<script" not in page.lower()
    # nothing fetched from anywhere: no external src/href, no CSS import or url()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page, re.IGNORECASE)
    assert "@import" not in page
    assert "url(" not in page
    for src in re.findall(r'src="([^"]*)"', page):
        assert src.startswith("data:image/png;base64,")
    for href in re.findall(r'href="([^"]*)"', page):
        assert href.startswith("#")


def test_empty_project_renders_nothing_yet_notes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MLFLOW_ENV, raising=False)
    spec = write_project(tmp_path / "p")
    ws = Workspace(tmp_path / "ws")

    page = write_report(spec, ws).read_text()

    assert page.count("nothing yet") == 6  # runs, versions, live, drift, contract, backtest
    assert "has no registered version" in page
    assert "no monitor run" in page
    assert "data:image/png" not in page
    assert not (ws.mlflow_dir / "mlflow.db").exists()  # reading created no store


def test_partial_and_broken_pieces_render_notes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MLFLOW_ENV, raising=False)
    spec = write_project(tmp_path / "p")
    ws = Workspace(tmp_path / "ws")
    history = ws.project("tiny") / "monitoring" / "history.parquet"
    history.parent.mkdir(parents=True)
    pd.DataFrame({"at": [1.0], "feature": ["x"]}).to_parquet(history)
    broken = ws.project("tiny") / "runs" / "r1" / "contract_report.json"
    broken.parent.mkdir(parents=True)
    broken.write_text("{not json")
    (tmp_path / "out").mkdir()

    path = write_report(spec, ws, out=tmp_path / "out")

    page = path.read_text()
    assert path == tmp_path / "out" / "tiny.html"
    assert "lacks the column(s) champion, drifted, method, rows, statistic, verdict" in page
    assert f"could not read {broken}" in page
    assert "no batch has broken the data contract" in page
