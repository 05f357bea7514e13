"""The prediction server in this process, without MLflow: a small fitted scikit-learn model on a
contract with a time feature, behind the real app (routers, guard, batcher, prediction log).
Requests go through Starlette's TestClient, which also runs the app's lifespan."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import TypeAdapter
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

with warnings.catch_warnings():  # Starlette asks for httpx2, which is not a dependency here
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from airloop.data.contract import ColumnRule, Contract
from airloop.data.predlog import PredictionLog
from airloop.serving.app import create_app
from airloop.serving.holder import ModelHolder, Snapshot
from airloop.serving.schema import batch_model, record_model
from airloop.serving.service import ServeConfig, Service
from airloop.workspace import Workspace

CONTRACT = Contract(
    columns={
        "when": ColumnRule("datetime", nullable=False),
        "x": ColumnRule("numeric", nullable=False, min=-3.0, max=3.0),
        "y": ColumnRule("numeric", nullable=False),
    },
    target="y",
    reference_batches=[["/srv/project/data/part_0.csv", 600], ["/elsewhere/feed/part_1.csv", 600]],
)
GOOD = {"when": "2013-07-02T10:00:00Z", "x": 0.5}


def _features(frame: pd.DataFrame) -> Any:
    return np.column_stack([frame["when"].dt.hour.to_numpy(dtype=float), frame["x"].to_numpy()])


def fitted() -> Pipeline:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"when": pd.date_range("2013-01-01", periods=200, freq="h"), "x": rng.normal(size=200)})
    y = (frame["x"] + rng.normal(scale=0.5, size=200) > 0).astype(int)
    return Pipeline([("features", FunctionTransformer(_features)), ("model", LogisticRegression())]).fit(frame, y)


def snapshot(model: Any = None, max_records: int = 50) -> Snapshot:
    record = record_model(CONTRACT, "accept")
    batch = batch_model(record, max_records)
    tags = {"airloop.contract_uri": "runs:/abc/contract/contract.json", "airloop.source": "/srv/project/data"}
    return Snapshot(
        "m",
        "1",
        model or fitted(),
        CONTRACT,
        record,
        batch,
        TypeAdapter(record),
        TypeAdapter(batch),
        {},
        tags,
        "binary",
    )


def client(tmp: Path, log: Path | None = None, token: str | None = None, root: Path | None = None) -> TestClient:
    """A TestClient on the app; use it as a context manager (the lifespan starts the batcher)."""
    holder = ModelHolder(Workspace(tmp / "ws"), "m", "binary", "accept", 50)
    holder.current = snapshot()
    predlog = PredictionLog(log or tmp / "log" / "predictions.db")
    # the registry poll never comes: these tests drive the server, not the registry
    config = ServeConfig(token, 20_000, 3600.0, tmp / "labels")
    config.root = root  # set, not passed: the old code, which these tests also run against, has no such field
    return TestClient(create_app(Service(holder, predlog, config)), raise_server_exceptions=False)
