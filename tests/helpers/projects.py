"""A small project on disk: synthetic data, one fast candidate, a tiny search."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

SPEC = """\
name: {name}
task: binary
data:
  source:
    path: data/*.csv
  target: label
  transform: feats:add_features
split:
  method: time
  column: ts
  holdout_fraction: 0.25
candidates:
  - name: logreg
    estimator: {estimator}
    params: {params}
    search: {search}
tuning:
  trials: 2
  batch_size: 1
  sample_rows: 1000
evaluation:
  metrics: [roc_auc, accuracy]
promotion:
  metric: roc_auc
  thresholds:
    roc_auc: {{min: {min_auc}}}
  min_improvement: 0.01
retries: {retries}
retry_delay_seconds: 0
"""

FEATS = """\
import os
from pathlib import Path

import pandas as pd


def add_features(frame):
    flaky = os.environ.get("AIRLOOP_TEST_FLAKY_MARKER")
    if flaky and not Path(flaky).exists():
        Path(flaky).write_text("failed once")
        raise RuntimeError("transient failure in the transform")
    if os.environ.get("AIRLOOP_TEST_TRANSFORM_SLEEP"):
        import time

        time.sleep(float(os.environ["AIRLOOP_TEST_TRANSFORM_SLEEP"]))
    if os.environ.get("AIRLOOP_TEST_TRANSFORM_RAISES"):
        raise ValueError("the transform is broken on purpose")
    # text that is not a time is a missing hour (imputed): `ts` is free text in the contract, and a
    # transform that raised on a client's text would be a model failure, a 500 (issue 24, finding 7)
    frame["hour"] = pd.to_datetime(frame["ts"], errors="coerce").dt.hour.astype("float64")
    return frame
"""


def make_frame(n: int, seed: int, start: str = "2024-01-01") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    color = rng.choice(["red", "green", "blue"], size=n)
    logit = 1.5 * x + (color == "red") * 1.0 - 0.5
    label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    ts = pd.date_range(start, periods=n, freq="h")
    return pd.DataFrame({"ts": ts.astype(str), "x": x, "size": rng.uniform(0, 10, n), "color": color, "label": label})


def write_project(
    root: Path,
    name: str = "tiny",
    *,
    estimator: str = "sklearn.linear_model.LogisticRegression",
    params: str = "{max_iter: 200}",
    search: str = "{C: {type: float, low: 0.01, high: 10, log: true}}",
    min_auc: float = 0.55,
    retries: int = 0,
    batches: int = 2,
    rows: int = 600,
    extra: str = "",
) -> Path:
    (root / "data").mkdir(parents=True, exist_ok=True)
    for i in range(batches):
        make_frame(rows, seed=i, start=f"2024-0{i + 1}-01").to_csv(root / "data" / f"part_{i}.csv", index=False)
    (root / "feats.py").write_text(FEATS)
    spec = SPEC.format(name=name, estimator=estimator, params=params, search=search, min_auc=min_auc, retries=retries)
    (root / "airloop.yaml").write_text(textwrap.dedent(spec) + extra)
    return root / "airloop.yaml"


def write_landing_project(root: Path) -> tuple[Path, Path]:
    """The small project with a landing folder (data.incoming) and a gate any model passes."""
    spec = write_project(root, min_auc=0.0)
    spec.write_text(spec.read_text().replace("  target: label\n", "  target: label\n  incoming: incoming\n"))
    (root / "incoming").mkdir()
    return spec, root / "incoming"


def train_with_steps(spec_path: Path, ws, run_id: str = "manual_1", until: str | None = None) -> dict:
    """Run the train plan in this process, without Airflow: a champion in a few seconds (or the
    tasks up to ``until``)."""
    from airloop.local.inprocess import run_train
    from airloop.spec import load_spec

    return run_train(load_spec(spec_path), ws, run_id, until=until)


SERVING = """
serving:
  poll_seconds: 0.5
  max_records: 50
  max_body_bytes: 20000
"""


def records(n: int, seed: int = 11) -> list[dict]:
    frame = make_frame(n, seed=seed).drop(columns=["label"])
    return json.loads(frame.to_json(orient="records"))
