"""Run a project's train plan in this process, without Airflow: the plan's tasks in order, each
through the same step runner (``airloop.steps.runner.execute``) a DAG task calls.

What `airloop backtest` trains with, and the tests' quick champions. The DAG layer and this driver
read the same plan: mapped tasks run once per batch, a collecting task gets their outputs, and a run
whose inputs are already trained stops after the tasks in ``RUN_ON_SAME_INPUTS``, as the DAG skips.
An approval task has no one to ask here: promote keeps the candidate as challenger ("not asked").
"""

from __future__ import annotations

from typing import Any

from airloop.plan import APPROVAL, RUN_ON_SAME_INPUTS, build_train_plan, train_dag_id
from airloop.spec import LoadedSpec
from airloop.steps.context import StepContext
from airloop.steps.runner import execute
from airloop.workspace import Workspace


def run_train(
    loaded: LoadedSpec, ws: Workspace, run_id: str, refs: dict[str, Any] | None = None, until: str | None = None
) -> dict[str, Any]:
    """The train plan's tasks (up to and including ``until``, else all); returns the refs the last
    task saw, its output merged in."""
    plan = build_train_plan(loaded, str(ws.root))
    ctx = StepContext(plan.project, str(loaded.path), ws, dag_id=train_dag_id(plan.project), run_id=run_id)
    refs = dict(refs or {})
    batches: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for t in plan.tasks:
        if refs.get("skip_training") and t.kind not in RUN_ON_SAME_INPUTS:
            break
        if t.kind == APPROVAL:  # no one to ask in this process: promote records "not asked"
            refs = {**refs, "approval": None}
        elif t.mapped:
            results = [execute(t.kind, ctx, refs, task_id=t.task_id, merge=False, batch=b) for b in batches]
        elif t.collects:
            refs = execute(t.kind, ctx, refs, task_id=t.task_id, results=results)
        elif any(plan.task(d).mapped for d in plan.tasks_after(t.task_id)):
            batches = execute(t.kind, ctx, refs, task_id=t.task_id, merge=False)["tune_batches"]
        else:
            refs = execute(t.kind, ctx, refs, task_id=t.task_id)
        if t.task_id == until:
            break
    return refs
