"""train: refit the best candidate on the whole training split and log it to MLflow."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from airloop.steps import frames
from airloop.steps.context import StepContext


def user_code_paths(ctx: StepContext) -> list[str]:
    """The transform's module file, shipped with the model when it lives in the project folder."""
    transform = ctx.loaded.spec.data.transform
    if not transform:
        return []
    module = transform.split(":")[0]
    root = ctx.loaded.root
    candidates = [root / (module.replace(".", "/") + ".py"), root / module.split(".")[0]]
    return [str(p) for p in candidates if p.exists()][:1]


def run(ctx: StepContext, refs: dict[str, Any]) -> dict[str, Any]:
    return fit_and_log(ctx, refs, frames.load(refs["train_uri"]))


def fit_and_log(ctx: StepContext, refs: dict[str, Any], frame: Any) -> dict[str, Any]:
    """Fit the tuned candidate on ``frame``, log the model with its signature and drift reference."""
    from mlflow.models import infer_signature

    from airloop.model import store
    from airloop.model.store import LoadOptions
    from airloop.steps.modeling import build_pipeline, predict_all, xy
    from airloop.steps.recent import newest
    from airloop.tracking import Tracker

    spec = ctx.loaded.spec
    best = refs["best"]
    cand = next(c for c in spec.candidates if c.name == best["candidate"])
    X, y = xy(spec, frame)
    started = time.perf_counter()
    model = build_pipeline(spec, cand, refs["features"], best["params"])
    model.fit(X, y)
    fit_seconds = time.perf_counter() - started
    device = getattr(model.steps[-1][1], "device_", None)  # where an MLP family trained: cpu or cuda
    example = X.head(5)
    pred, _ = predict_all(spec, model, example)
    example = _naive_datetimes(example)
    tracker = Tracker(ctx.workspace)
    with tempfile.TemporaryDirectory(prefix="airloop-model-") as tmp:
        folder = Path(tmp) / "pipeline"
        # stored as data, then checked to answer as the fitted pipeline does (on up to 256 rows)
        store.save(model, folder, X.head(256), spec.task, LoadOptions.of(spec).types)
        model_sha256 = store.sha256(folder / store.META)  # kept in the registry (airloop.model_sha256)
        model_uri, model_id = tracker.log_model(
            refs["mlflow_run_id"],
            folder,
            signature=infer_signature(example, pred),
            input_example=example,
            code_paths=user_code_paths(ctx),
        )
    log_reference(ctx, tracker, refs, model, X, newest(spec, frame))
    tracker.log(
        refs["mlflow_run_id"],
        params={"candidate": cand.name, "estimator": cand.estimator, **cand.params, **best["params"]},
        metrics={"train_rows": len(X), "fit_seconds": fit_seconds},
        tags={"airloop.device": device} if device else None,
    )
    out = {"model_uri": model_uri, "model_id": model_id, "candidate": cand.name, "fit_seconds": fit_seconds,
           "model_sha256": model_sha256}  # fmt: skip
    return out | ({"device": device} if device else {})


def log_reference(ctx: StepContext, tracker: Any, refs: dict[str, Any], model: Any, X: Any, recent: Any = None) -> None:
    """Summarise the training data and the model's scores on it, for drift monitoring later; with
    ``recent`` (a mask of the newest rows), those rows as a reference of their own (`steps.recent`)."""
    import json
    from dataclasses import asdict

    from airloop.data.contract import Contract
    from airloop.monitoring.drift import NumericSummary, Reference
    from airloop.steps.modeling import predict_all

    contract = Contract.from_json((ctx.run_dir / "contract.json").read_text())
    columns = reference_columns(ctx, X, contract)
    numeric = [c for c in columns if contract.columns[c].kind == "numeric"]
    categorical = [
        c
        for c in columns
        if contract.columns[c].kind in ("categorical", "boolean") and contract.columns[c].categories is not None
    ]
    folder = ctx.run_dir / "reference"
    folder.mkdir(exist_ok=True)
    whole = Reference.fit(X, numeric, categorical)
    (folder / "features.json").write_text(whole.to_json())
    if recent is not None:
        from airloop.steps.recent import log_recent

        log_recent(ctx, tracker, refs, X.reset_index(drop=True), recent, whole, numeric, categorical)
    sample = X.sample(n=min(len(X), 50_000), random_state=0)
    pred, proba = predict_all(ctx.loaded.spec, model, sample)
    scores = positive_scores(proba, pred, refs.get("labels"))
    (folder / "prediction.json").write_text(json.dumps(asdict(NumericSummary.fit(scores, bins=10, ks_sample=0))))
    tracker.log_artifact(refs["mlflow_run_id"], str(folder / "features.json"), "reference")
    tracker.log_artifact(refs["mlflow_run_id"], str(folder / "prediction.json"), "reference")


def reference_columns(ctx: StepContext, X: Any, contract: Any = None) -> list[str]:
    """The columns drift is watched on: the contract's features, but not time (the split column
    always "drifts")."""
    from airloop.data.contract import Contract

    contract = contract or Contract.from_json((ctx.run_dir / "contract.json").read_text())
    skip = {ctx.loaded.spec.split.column}
    return [c for c in contract.feature_columns() if c in X.columns and c not in skip]


def positive_scores(proba: Any, pred: Any, labels: dict[str, Any] | None) -> Any:
    """What prediction drift watches: the positive class's probability (binary), the top
    probability (multiclass), or the prediction (regression)."""
    from airloop.model.labels import Labels

    if proba is None:
        return pred
    if proba.shape[1] == 2:
        known = Labels.from_dict(labels)
        return proba[:, known.positive_index if known else -1]
    return proba.max(axis=1)


def _naive_datetimes(frame: Any) -> Any:
    """MLflow signatures refuse tz-aware datetimes: describe them as naive UTC."""
    from pandas.api import types

    out = frame.copy()
    for col in out.columns:
        if types.is_datetime64_any_dtype(out[col].dtype) and getattr(out[col].dt, "tz", None) is not None:
            out[col] = out[col].dt.tz_convert("UTC").dt.tz_localize(None)
    return out
