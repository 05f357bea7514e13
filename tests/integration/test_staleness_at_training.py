"""At training, a time-split project records how fast its model decays with the age of its data
(reference/decay.json) and its most recent training data as a reference of its own, with the drift
already present there (reference/recent.json); the monitor's History reads both."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers.projects import train_with_steps, write_project

from airloop.workspace import Workspace

pytestmark = pytest.mark.integration


def history_rows(n: int, trend: bool, seed: int = 3) -> pd.DataFrame:
    """Hourly rows; with ``trend``, the label follows ``x`` less and less, and ``size`` grows, as
    time goes on."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, n)
    x, size = rng.normal(size=n), rng.uniform(0, 10, n) + (8 * t if trend else 0)
    logit = 4.0 * x * (1 - t) if trend else 2.0 * x
    label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    color = rng.choice(["red", "green", "blue"], size=n)
    ts = pd.date_range("2024-01-01", periods=n, freq="h")
    return pd.DataFrame({"ts": ts.astype(str), "x": x, "size": size, "color": color, "label": label})


def trained(tmp_path: Path, trend: bool) -> tuple[dict, dict]:
    spec = write_project(tmp_path / "p", min_auc=0.0, batches=0)
    history_rows(4000, trend).to_csv(tmp_path / "p" / "data" / "all.csv", index=False)
    ws = Workspace(tmp_path / "ws")
    refs = train_with_steps(spec, ws, until="evaluate")
    folder = ws.run_dir("tiny", "manual_1") / "reference"
    decay = json.loads((folder / "decay.json").read_text())
    recent = json.loads((folder / "recent.json").read_text())
    assert refs["train_until"]
    assert len(decay["slices"]) == 8
    return decay, recent


def test_a_trend_is_measured_as_decay_and_as_drift_present_at_training(tmp_path: Path) -> None:
    decay, recent = trained(tmp_path, trend=True)
    assert decay["metric"] == "roc_auc"
    assert decay["per_day"] > 0  # the holdout's newer slices score worse
    ages = [a for a, _ in decay["slices"]]
    assert ages == sorted(ages)
    assert ages[0] >= 0
    assert "size" in recent["drifted"]
    assert "x" not in recent["drifted"]


def test_stationary_data_measures_no_decay_and_no_drift_at_training(tmp_path: Path) -> None:
    decay, recent = trained(tmp_path, trend=False)
    assert decay["per_day"] == 0.0
    assert recent["drifted"] == []
