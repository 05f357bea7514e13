"""`airloop demo` on the real stack, cut to one month (July) with the corrupted batch landing then:
replay over HTTP, labels -> monitor DAG, data -> train DAG, the contract refusing the bad batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]

pytestmark = pytest.mark.integration


def test_live_demo_one_month_with_a_bad_batch(tmp_path: Path) -> None:
    res = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "flights" / "demo.py"),
            "--workspace",
            str(tmp_path / "ws"),
            "--months",
            "7-7",
            "--bad-month",
            "7",
            "--no-baselines",  # the retrain-every-month column is `airloop backtest` (tests/integration)
        ],
        capture_output=True,
        text=True,
        timeout=1200,
        cwd=tmp_path,
        env={**os.environ},
    )
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    out = res.stdout
    assert "month by month" in out
    assert "stack stopped" in out
    assert "LEFT BEHIND" not in out
    ws = tmp_path / "ws" / "demo"
    record = json.loads((ws / "demo-results.json").read_text())
    (july,) = record["months"]
    assert july["month"] == "Jul"
    assert july["replayed"] == 3000
    assert july["live_auc"] is not None
    assert 0.5 < july["static_auc"] < 1  # the first champion on the same flights, never retrained
    assert "batch rejected by the data contract" in july["action"]
    assert july["champion"] == july["champion_before"]  # the run with the bad batch promoted nothing
    assert july["served"] == july["champion"]  # the server serves the champion (v2 if July's retrain promoted)
    rejected = ws / "flights" / "incoming" / "rejected"
    assert (rejected / "flights_2013_07_resent.parquet").exists()
    assert "temp" in (rejected / "flights_2013_07_resent.parquet.report.txt").read_text()
    assert (ws / "reports" / "flights.html").exists()
    assert not list((ws / "run").glob("*.pid"))
