"""The flights example, run as a user runs it: `airloop demo` end to end on embedded defaults."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]

pytestmark = pytest.mark.integration


def test_quick_demo_trains_then_gates_the_july_retrain(tmp_path: Path) -> None:
    res = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "flights" / "demo.py"),
            "--quick",
            "--workspace",
            str(tmp_path / "ws"),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
        env={**os.environ},
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    out = res.stdout
    for text in (
        "run 1: train on January-June",
        "run 2: July landed",
        "summary",
        "where to look next",
        "mlflow ui --backend-store-uri",
        "airflow standalone",
    ):
        assert text in out
    assert ("run 2 promoted" in out) or ("run 2 kept the champion" in out)
    record = json.loads((tmp_path / "ws" / "demo" / "demo-results.json").read_text())
    first, second = record["runs"]
    assert first["state"] == second["state"] == "success"
    assert first["outputs"]["tuning"]["trials"] >= 20
    assert len(first["outputs"]["tuning"]["per_candidate"]) >= 2
    assert first["outputs"]["champion_after"] == "1"
    # run 2 was gated against run 1's champion on its own holdout
    assert second["outputs"]["champion"]["version"] == "1"
    assert "roc_auc" in second["outputs"]["champion"]["metrics"]
    assert not (tmp_path / "mlruns").exists()
