"""The champion's most recent training data, as a drift reference of its own (``reference/recent.json``).

Written at training beside the whole reference: the newest ``split.holdout_fraction`` of the fit's
rows by the split column (time splits only), summarised like the reference, with the features whose
drift was present already then (that recent slice against the whole reference). The monitor judges
each window against both; a feature drifted against the whole reference that was drifted at
training and is not drifted against the recent slice is *persistent* (``policy.Signal.persistent``).
"""

from __future__ import annotations

from typing import Any

from airloop.steps.context import StepContext

FILE = "recent.json"
MIN_ROWS = 50  # a smaller slice's bins say little


def newest(spec: Any, frame: Any) -> Any:
    """Which rows of ``frame`` are its most recent (a boolean mask), or None without a time split."""
    from airloop.steps.decay import clock

    column = spec.split.column
    if spec.split.method != "time" or column not in frame.columns:
        return None
    when = clock(frame[column])
    n = max(MIN_ROWS, round(len(frame) * spec.split.holdout_fraction))
    if when.isna().all() or n >= len(frame):
        return None
    cut = when.sort_values(kind="stable", na_position="first").iloc[-n]
    return (when >= cut).to_numpy()


def log_recent(
    ctx: StepContext, tracker: Any, refs: dict[str, Any], X: Any, mask: Any, whole: Any, numeric: Any, categorical: Any
) -> None:
    """Store the recent slice's reference and the drift it already carried against ``whole``."""
    import json

    from airloop.monitoring.drift import Reference, compute_drift

    m = ctx.loaded.spec.monitoring
    recent = Reference.fit(X[mask], numeric, categorical)
    carried = compute_drift(
        whole,
        X[mask],
        numeric_method=m.numeric_method,
        categorical_method=m.categorical_method,
        psi_threshold=m.psi_threshold,
        p_threshold=m.p_threshold,
    )
    body = {"reference": json.loads(recent.to_json()), "drifted": [d.feature for d in carried if d.drifted]}
    folder = ctx.run_dir / "reference"
    folder.mkdir(exist_ok=True)
    (folder / FILE).write_text(json.dumps(body))
    tracker.log_artifact(refs["mlflow_run_id"], str(folder / FILE), "reference")
