"""Run one stage: time it, record progress events, and close the MLflow run on a final failure.

The orchestrator (Airflow, or a test) calls ``execute``; nothing here knows about Airflow.
"""

from __future__ import annotations

import importlib
import logging
import time
import traceback
from typing import Any

from airloop.errors import AirloopError
from airloop.quiet import quiet_libraries
from airloop.steps.context import StepContext
from airloop.tracking.tags import Tag
from airloop.workspace import OUTCOME_FILE

log = logging.getLogger("airloop.steps")

# task kind -> "module:function" in airloop.steps
STEPS: dict[str, str] = {
    "ingest": "ingest:run",
    "validate": "validate:run",
    "split": "split:run",
    "tune_plan": "tune:plan",
    "tune_trials": "tune:run_batch",
    "tune_select": "tune:select",
    "train": "train:run",
    "refit": "refit:run",
    "evaluate": "evaluate:run",
    "gate": "gate:run",
    "register": "register:run",
    "promote": "promote:run",
    "deploy": "deploy:run",
    "monitor": "monitor:run",
    "score": "score:run",
}


# engine: spark (``ingest`` says so in the refs it hands on) -> the stages whose Spark form is a
# module of its own
SPARK_STEPS: dict[str, str] = {"validate": "validate_spark:run"}


def resolve(kind: str, spark: bool = False) -> Any:
    module, func = (SPARK_STEPS[kind] if spark and kind in SPARK_STEPS else STEPS[kind]).split(":")
    return getattr(importlib.import_module(f"airloop.steps.{module}"), func)


def is_final(exc: BaseException) -> bool:
    """Errors that are the same however often a step is tried: retrying only delays the report."""
    return isinstance(exc, AirloopError) and not exc.retryable


def execute(
    kind: str,
    ctx: StepContext,
    refs: dict[str, Any],
    *,
    task_id: str | None = None,
    last_try: bool = True,
    merge: bool = True,
    **kwargs: Any,
) -> dict[str, Any]:
    """Run stage ``kind``; return ``refs`` merged with its output (or the output alone). A
    ``precheck`` keyword (what the orchestrator found before the step could start: a Spark master
    that does not answer) is raised as the step's own failure, events and all."""
    quiet_libraries()
    precheck = kwargs.pop("precheck", None)
    task_id = task_id or kind
    label = task_id + (f"[{kwargs['batch']['candidate']}#{kwargs['batch']['index']}]" if "batch" in kwargs else "")
    ctx.emit({"event": "start", "task": task_id, "label": label, "try": ctx.try_number})
    started = time.perf_counter()
    try:
        if precheck is not None:
            raise precheck
        out = resolve(kind, refs.get("engine") == "spark")(ctx, refs, **kwargs)
    except BaseException as exc:
        seconds = time.perf_counter() - started
        final = last_try or is_final(exc)
        message = exc.format() if isinstance(exc, AirloopError) else f"{type(exc).__name__}: {exc}"
        ctx.emit(
            {
                "event": "failed",
                "task": task_id,
                "label": label,
                "try": ctx.try_number,
                "seconds": seconds,
                "final": final,
                "error": message,
                "exit_code": getattr(exc, "exit_code", 1),
                "traceback": None if isinstance(exc, AirloopError) else traceback.format_exc(limit=8),
            }
        )
        if final and refs.get("mlflow_run_id"):
            _close_failed(ctx, refs["mlflow_run_id"], task_id, message)
        if final:
            tell(ctx, task_id, {}, message)
        raise
    seconds = time.perf_counter() - started
    ctx.emit(
        {
            "event": "success",
            "task": task_id,
            "label": label,
            "try": ctx.try_number,
            "seconds": seconds,
            "output": _summary(out),
        }
    )
    tell(ctx, task_id, out)
    return {**refs, **out} if merge else out


def tell(ctx: StepContext, task_id: str, out: dict[str, Any], error: str | None = None) -> None:
    """What the step did, at INFO for its task log, and the run's outcome so far into the run folder
    (``outcome.txt``: the Airflow layer makes it the DAG run's note, `airloop status` shows it)."""
    from airloop.steps import story

    for line in story.told(task_id, out) if error is None else [f"failed: {error}"]:
        log.info("%s: %s", task_id, line)
    try:
        waits = ctx.loaded.spec.promotion.approval == "required"
        text = story.outcome_of(ctx.run_dir, approval_waits=waits)
        told = ctx.run_dir / OUTCOME_FILE
        if text and (not told.exists() or told.read_text().strip() != text):
            log.info("run outcome: %s", text)
            told.write_text(text + "\n")
            ctx.extra["outcome"] = text  # new: the Airflow layer makes it the run's note
    except Exception as exc:  # the story is told best effort: never fail a step that worked over it
        log.warning("could not write the run's outcome: %s", exc)


def _close_failed(ctx: StepContext, mlflow_run_id: str, task_id: str, message: str) -> None:
    try:
        from airloop.tracking import Tracker

        tracker = Tracker(ctx.workspace)
        tracker.log(mlflow_run_id, tags={Tag.FAILED_STEP: task_id, Tag.ERROR: message[:4000]})
        tracker.finish(mlflow_run_id, "FAILED")
    except Exception:  # never hide the step's own error behind a bookkeeping one
        pass


def _summary(out: dict[str, Any]) -> dict[str, Any]:
    keep = (
        "rows",
        "rows_dropped_missing_target",
        "sampled",
        "train_rows",
        "holdout_rows",
        "completed",
        "best",
        "metrics",
        "champion",
        "gate",
        "version",
        "promoted",
        "champion_before",
        "champion_after",
        "tuning",
        "candidate",
        "fit_seconds",
        "device",
        "retrain",
        "reason",
        "monitor",
        "server_reload",
        "contract_warnings",
        "labels",
        "landing",
        "same_inputs_as",
        "skip_training",
        "refit",
        "approval",
        "deployed",
        "scoring",
    )
    return {k: out[k] for k in keep if k in out}
