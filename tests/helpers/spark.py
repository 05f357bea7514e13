"""A local Spark session per test module (a JVM takes seconds to start): the session
`airloop.spark.session.opened` makes, as `airloop score` does. Module-scoped, not per process: a
task run by dag.test() in this process opens and stops its own (the provider's @task.pyspark), which
would stop a session shared by later modules. And a project whose data Spark prepares."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from helpers.extras import require_spark

if TYPE_CHECKING:
    import pandas as pd


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    require_spark()
    from types import SimpleNamespace

    from airloop.spark.session import opened

    spec = SimpleNamespace(spark=SimpleNamespace(config={"spark.sql.shuffle.partitions": "4"}))
    with opened(spec, "airloop-tests", master="local[2]") as session:
        yield session


PREP = """\
import os


def build(events, spark):
    # a join with a lookup table Spark reads itself: what a spark_transform is for
    here = os.path.dirname(os.path.abspath(__file__))
    colors = spark.read.option("header", True).option("inferSchema", True).csv(os.path.join(here, "colors.csv"))
    return events.join(colors, on="color", how="left")
"""

SPEC = """\
name: {name}
task: binary
engine: spark
data:
  source:
    path: data/events
  target: label
  spark_transform: prep:build
  max_train_rows: 1000
split:
  method: time
  column: ts
  holdout_fraction: 0.25
candidates:
  - name: logreg
    estimator: sklearn.linear_model.LogisticRegression
    params: {{max_iter: 200}}
    search: {{C: {{type: float, low: 0.01, high: 10, log: true}}}}
tuning:
  trials: 2
  batch_size: 1
promotion:
  metric: roc_auc
serving:
  passthrough: [ref]
retries: {retries}
retry_delay_seconds: 0
"""
COLORS = {"red": 1.0, "green": 0.2, "blue": -0.5}


def write_spark_project(root: Path, name: str = "sparky", retries: int = 0, parts: int = 3) -> Path:
    """Events as a Parquet directory (``parts`` files of 600 rows), a color lookup the spark_transform
    joins in (its ``warmth`` becomes a feature), a model trained on a sample of 1000 rows."""
    import pandas as pd
    from helpers.projects import make_frame

    events = root / "data" / "events"
    events.mkdir(parents=True, exist_ok=True)
    for i in range(parts):
        frame = make_frame(600, seed=i, start=f"2024-0{i + 1}-01")
        frame["ts"] = pd.to_datetime(frame["ts"])
        frame.to_parquet(events / f"part-{i}.parquet", index=False)
    pd.DataFrame({"color": list(COLORS), "warmth": list(COLORS.values())}).to_csv(root / "colors.csv", index=False)
    (root / "prep.py").write_text(PREP)
    (root / "airloop.yaml").write_text(SPEC.format(name=name, retries=retries))
    return root / "airloop.yaml"


def scoring_records(path: Path, n: int = 300, seed: int = 7, joined: bool = False) -> pd.DataFrame:
    """Records as users have them (a CSV): raw events, or (``joined``) with the transform's joined
    feature as the training table has it; an id to carry; two bad values."""
    from helpers.projects import make_frame

    frame = make_frame(n, seed=seed, start="2024-05-01").drop(columns=["label"]).astype({"x": object})
    frame["ref"] = [f"id-{i}" for i in range(n)]
    frame.loc[3, "x"] = "abc"
    frame.loc[10, "color"] = "purple"
    if joined:  # as the left join makes it: no warmth for a color the lookup does not know
        frame["warmth"] = frame["color"].map(COLORS)
    frame.to_csv(path, index=False)
    return frame
