"""`airloop backtest` on a small project whose concept changes mid-way: the replay trains once per
cutoff, scores the three policies on the same periods, and writes the JSON shape other tools read."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers.projects import write_project

pytestmark = pytest.mark.integration

POLICY = """
monitoring:
  min_rows: 100
  min_labeled: 50
  max_performance_drop: 0.05
  cooldown_hours: 0
"""


def month(m: int, seed: int, flipped: bool) -> pd.DataFrame:
    """400 rows in month m of 2024; from April the label follows `size`, no longer `x`."""
    rng = np.random.default_rng(seed)
    n = 400
    x, size = rng.normal(size=n), rng.uniform(0, 10, n)
    color = rng.choice(["red", "green", "blue"], size=n)
    logit = (size - 5) * 1.2 if flipped else 1.5 * x - 0.5
    label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    ts = pd.Timestamp(2024, m, 1) + pd.to_timedelta(np.sort(rng.uniform(0, 27, n)), unit="D")
    visits = rng.integers(0, 5, n)  # an integer feature: MLflow hints about integer schemas on each log
    return pd.DataFrame({"ts": ts.astype(str), "x": x, "size": size, "visits": visits, "color": color, "label": label})


@pytest.fixture
def drifting(tmp_path: Path) -> Path:
    spec = write_project(tmp_path / "p", min_auc=0.0, batches=0, extra=POLICY)
    for m in range(1, 7):
        month(m, seed=m, flipped=m >= 4).to_csv(tmp_path / "p" / "data" / f"m{m}.csv", index=False)
    return spec


def test_backtest_replays_three_policies_on_shared_trainings(drifting: Path, tmp_path: Path) -> None:
    out_json, out_html = tmp_path / "bt.json", tmp_path / "bt.html"
    res = subprocess.run(
        [sys.executable, "-m", "airloop.cli", "backtest", str(drifting), "--start", "2024-03-01",
         "--end", "2024-07-01", "--every", "month", "--workspace", str(tmp_path / "ws"),
         "--json", str(out_json), "--html", str(out_html)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "2024-03-01  rows" in res.stdout  # progress, one line per period
    assert "mlflow" not in res.stderr.lower()  # no library noise between its lines (was one warning a training)
    result = json.loads(out_json.read_text())
    assert result["metric"] == "roc_auc"
    periods = result["periods"]
    assert [p["start"][:10] for p in periods] == ["2024-03-01", "2024-04-01", "2024-05-01", "2024-06-01"]
    for p in periods:
        assert {"start", "end", "rows", "static", "scheduled", "loop", "loop_trained"} <= set(p)
        assert p["rows"] == 400
    s = result["summary"]
    assert s["static"]["trainings"] == 1
    assert s["scheduled"]["trainings"] == 4  # the first champion, then after every period but the last
    assert set(s["loop"]) >= {"mean", "trainings", "compute_seconds"}
    # March is like the training data: every policy serves the first champion, and scores the same
    assert periods[0]["static"] == periods[0]["scheduled"] == periods[0]["loop"]
    # April flips the concept: the monitor sees the drop, the loop retrains, and it pays
    assert periods[1]["loop_trained"]
    assert "worse than the holdout" in periods[1]["loop_decision"]["reason"]
    assert periods[3]["loop"] > periods[3]["static"] + 0.1
    assert s["loop"]["mean"] > s["static"]["mean"]
    assert s["loop"]["trainings"] <= s["scheduled"]["trainings"]
    # one training per cutoff, whichever policies asked for it
    runs = list((tmp_path / "ws" / "backtest" / "tiny" / "ws").glob("projects/tiny/runs/cut-*"))
    assert sorted(r.name for r in runs) == ["cut-p000", "cut-p001", "cut-p002", "cut-p003"]
    page = out_html.read_text()
    assert "<img" in page
    assert "scheduled" in page


def test_backtest_without_a_time_column_says_so(tmp_path: Path) -> None:
    spec = write_project(tmp_path / "p", min_auc=0.0)
    spec.write_text(spec.read_text().replace("  method: time\n  column: ts\n", "  method: random\n"))
    res = subprocess.run(
        [sys.executable, "-m", "airloop.cli", "backtest", str(spec), "--start", "2024-02-01", "--end", "2024-03-01",
         "--workspace", str(tmp_path / "ws")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert res.returncode == 2, res.stderr
    assert "names no time column" in res.stderr
    assert "split.column" in res.stderr


def test_backtest_chooses_a_policy_on_the_first_half_and_reports_the_second(drifting: Path, tmp_path: Path) -> None:
    (tmp_path / "eager.yaml").write_text("monitoring:\n  max_performance_drop: 0.0\n  max_relative_drop: 0.0\n")
    (tmp_path / "deaf.yaml").write_text(
        "monitoring:\n  max_performance_drop: null\n  max_relative_drop: null\n  drift_importance: null\n"
        "  drifted_features: null\n  max_staleness_loss: null\n"
    )
    out_json = tmp_path / "bt.json"
    res = subprocess.run(
        [sys.executable, "-m", "airloop.cli", "backtest", str(drifting), "--start", "2024-04-01",
         "--end", "2024-06-01", "--every", "month", "--workspace", str(tmp_path / "ws"), "--json", str(out_json),
         "--policies", f"{tmp_path / 'eager.yaml'},{tmp_path / 'deaf.yaml'}"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    result = json.loads(out_json.read_text())
    choice = result["policy_choice"]
    assert (choice["periods"], choice["first_half"]) == (2, 1)
    assert set(choice["chosen_on"]) == {"loop", "eager", "deaf"}
    assert set(choice["report"]) == {"static", "scheduled", "loop", "eager", "deaf"}
    april, may = result["periods"]
    # April flips the concept: `eager` retrains after it (on the shared April cutoff), `deaf` never does
    assert april["policies"]["eager"]["trained"]
    assert not april["policies"]["deaf"]["trained"]
    assert april["policies"]["deaf"]["metric"] == april["static"]
    assert choice["report"]["deaf"]["mean"] == may["static"]  # reported on May alone
    assert choice["report"]["eager"]["mean"] == may["policies"]["eager"]["metric"]
    runs = list((tmp_path / "ws" / "backtest" / "tiny" / "ws").glob("projects/tiny/runs/cut-*"))
    assert sorted(r.name for r in runs) == ["cut-p000", "cut-p001"]  # one training per cutoff, shared
    suggested = tmp_path / "bt.monitoring.yaml"
    assert choice["suggestion"] == str(suggested)
    text = suggested.read_text()
    assert f"`{choice['chosen']}` chosen on the first 1 periods" in text
    assert "monitoring:" in res.stdout
    assert "reported on periods 2-2 only" in res.stdout
