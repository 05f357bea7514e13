"""The batcher: a request alone in the server is answered on the event loop once requests have come
alone for a while; company sends every request to the batching thread, predicted together; every
answer is committed to the log, flat, before it is returned."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import TypeAdapter
from sklearn.linear_model import LogisticRegression

from airloop.data.contract import ColumnRule, Contract
from airloop.data.predlog import PredictionLog
from airloop.serving.batcher import INLINE_AFTER, Batcher
from airloop.serving.holder import Snapshot
from airloop.serving.schema import batch_model, record_model

CONTRACT = Contract(
    columns={"x": ColumnRule("numeric", nullable=False), "c": ColumnRule("categorical"), "y": ColumnRule("numeric")},
    target="y",
)


class Model:
    """predict_proba on x alone (the frame must carry both features, as trained)."""

    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        x = rng.normal(size=200)
        self.inner = LogisticRegression().fit(x[:, None], x > 0)
        self.classes_ = np.array([0, 1])

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        assert list(frame.columns) == ["x", "c"]
        return self.inner.predict_proba(frame[["x"]].to_numpy())


def snapshot() -> Snapshot:
    record = record_model(CONTRACT, "accept")
    batch = batch_model(record, 100)
    adapters = TypeAdapter(record), TypeAdapter(batch)
    return Snapshot("m", "3", Model(), CONTRACT, record, batch, *adapters, {}, {}, "binary")


def test_alone_on_the_loop_together_in_the_thread_and_all_logged(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path / "p.db")
    snap = snapshot()

    async def scenario() -> tuple[Batcher, list, list]:
        batcher = Batcher(log)
        batcher.start()
        try:
            one = [await batcher.submit(snap, [{"x": float(i), "c": "a"}], f"r{i}") for i in range(INLINE_AFTER + 4)]
            inline_after_lone = batcher.inline
            together = await asyncio.gather(
                *(batcher.submit(snap, [{"x": -1.0, "c": None}], f"g{i}") for i in range(16))
            )
            assert batcher.inline == inline_after_lone  # company: none of these on the loop
            return batcher, one, together
        finally:
            await batcher.stop()

    batcher, one, together = asyncio.run(scenario())
    assert 0 < batcher.inline <= 4  # the lone requests after INLINE_AFTER of them came alone
    assert [p for p, _ in one] == [[0]] + [[1]] * (INLINE_AFTER + 3)
    assert all(p == [0] for p, _ in together)
    con = sqlite3.connect(tmp_path / "p.db")
    rows = con.execute(
        'select request_id, model_version, prediction, probabilities, "x:x", "x:c" from predictions'
    ).fetchall()
    assert len(rows) == INLINE_AFTER + 4 + 16
    by_id = {r[0]: r for r in rows}
    assert by_id["r5"][1:3] == ("3", "1")
    assert by_id["r5"][4:] == (5.0, "a")
    assert json.loads(by_id["r5"][3]) == one[5][1][0]  # the answer's probabilities, as logged
    assert by_id["g0"][5] is None
