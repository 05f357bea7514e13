"""The same champion behind BentoML 1.4 with adaptive batching: one worker, no prediction log.

Run by bench/serve/run.py in BentoML's own venv (its pins clash with Airflow's), as
``bentoml serve bentoml_service:Flights`` with MODEL_URI, MLFLOW_TRACKING_URI and PYTHONPATH
(airloop's src, for the pickled pipeline classes, and the project, for its feature transform).
Requests: ``{"records": [{...}, ...]}``; BentoML merges the records of concurrent requests into
one ``predict_proba`` call of up to MAX_BATCH rows.
"""

from __future__ import annotations

import os
from typing import Any

import bentoml

MAX_BATCH = int(os.environ.get("BENTO_MAX_BATCH", "4096"))
# BentoML sheds requests (503) whose predicted wait exceeds this: at 20 ms it refused most of the
# 100-record batches at c=16 here, so the bench gives it room; every refusal still shows in non-2xx
MAX_LATENCY_MS = int(os.environ.get("BENTO_MAX_LATENCY_MS", "1000"))


@bentoml.service(workers=1, traffic={"timeout": 60})
class Flights:
    def __init__(self) -> None:
        from airloop.model import store

        self.model = store.load(os.environ["MODEL_URI"], store.LoadOptions(runtime="python"))

    @bentoml.api(batchable=True, max_batch_size=MAX_BATCH, max_latency_ms=MAX_LATENCY_MS)
    def predict(self, records: list[dict[str, Any]]) -> list[list[float]]:
        import pandas as pd

        return self.model.predict_proba(pd.DataFrame.from_records(records)).tolist()  # type: ignore[no-any-return]
