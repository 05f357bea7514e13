"""The floor: a bare ASGI app that only calls predict_proba on one pre-parsed row per request.

No validation, no JSON parsing of the body, no logging: what is left is uvicorn's HTTP handling
plus the model. Run: WORKSPACE=... python -m uvicorn bare_asgi:app (see bench/serve/run.py).
"""

import json
import os
import sys

import mlflow
import pandas as pd

from airloop.model import store

ws = os.environ["WORKSPACE"]
sys.path.insert(0, os.environ["PROJECT"])
mlflow.set_tracking_uri(f"sqlite:///{ws}/mlflow/mlflow.db")
# the scikit-learn estimator: the floor the ONNX form is measured against
model = store.load(f"models:/{os.environ.get('MODEL', 'flights')}@champion", store.LoadOptions(runtime="python"))
row = pd.DataFrame.from_records([json.loads(os.environ["RECORD"])])
row["time_hour"] = pd.to_datetime(row["time_hour"], utc=True).dt.tz_localize(None)
try:
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
except Exception:
    pass


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    proba = model.predict_proba(row)
    body = json.dumps({"p": float(proba[0, 1])}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})
