"""refit: after a passed gate, fit the gated pipeline again on training + holdout rows.

The holdout is the newest data under a time split: the model that serves should learn from it too.
The gate's evidence stays the gated fit's holdout metrics (a refit has no holdout left to be judged
on); the registered version names the fit that was judged (``airloop.gated_model_uri``). A refused
candidate is registered as it was judged, without a refit.
"""

from __future__ import annotations

from typing import Any

from airloop.steps import frames
from airloop.steps.context import StepContext
from airloop.tracking.tags import Tag


def run(ctx: StepContext, refs: dict[str, Any]) -> dict[str, Any]:
    import pandas as pd

    from airloop.steps.train import fit_and_log
    from airloop.tracking import Tracker

    if not refs["gate"]["passed"]:
        return {"refit": {"done": False, "reason": "gate refused: the judged fit is registered as it is"}}
    frame = pd.concat([frames.load(refs["train_uri"]), frames.load(refs["holdout_uri"])], ignore_index=True)
    fitted = fit_and_log(ctx, refs, frame)
    Tracker(ctx.workspace).log(refs["mlflow_run_id"], metrics={"refit_rows": len(frame)})
    return {
        **fitted,
        "refit": {"done": True, "rows": len(frame), "gated_model_uri": refs["model_uri"]},
    }


def refit_tags(refs: dict[str, Any]) -> dict[str, Any]:
    """What a registered version says about the fit it holds."""
    refit = refs.get("refit") or {}
    if not refit.get("done"):
        return {Tag.REFIT: "holdout"}
    return {Tag.REFIT: "all", Tag.REFIT_ROWS: refit["rows"], Tag.GATED_MODEL_URI: refit["gated_model_uri"]}
