"""Turn a ``Plan`` into an ``airflow.sdk`` DAG whose tasks call ``airloop.steps.runner.execute``.

Parse-time cost matters (every task re-parses its DAG file), so heavy libraries are imported only
inside task bodies, through the runner.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import (
    DAG,
    Asset,
    AssetOrTimeSchedule,
    AssetWatcher,
    CronTriggerTimetable,
    get_current_context,
    task,
)

from airloop.plan import APPROVAL, RUN_ON_SAME_INPUTS, Plan, PlanTask
from airloop.plan.names import NEW_DATA, TO_SCORE

EVENTS_CONF = "airloop_events_file"  # the run conf key `airloop run` sets for tasks on remote workers


def _context_ids() -> tuple[str, str, int, bool]:
    ctx = get_current_context()
    ti = ctx["ti"]
    try_number = int(ti.try_number or 1)
    max_tries = int(getattr(ti, "max_tries", 0) or 0)
    return ti.dag_id, ti.run_id, try_number, try_number > max_tries


def _events_file() -> str | None:
    """Where `airloop run` follows the steps: its child's environment, or, for a task a Celery
    worker runs (started without that environment), the run's conf (``airloop.airflow.testrun``)."""
    if os.environ.get("AIRLOOP_EVENTS_FILE"):
        return os.environ["AIRLOOP_EVENTS_FILE"]
    dag_run = get_current_context().get("dag_run")
    conf = getattr(dag_run, "conf", None) or {}
    return conf.get(EVENTS_CONF) if isinstance(conf, dict) else None


def _run(
    kind: str, task_id: str, plan_json: str, refs: dict[str, Any], merge: bool = True, **kwargs: Any
) -> dict[str, Any]:
    from airloop.errors import AirloopError
    from airloop.plan import Plan
    from airloop.steps.context import StepContext
    from airloop.steps.runner import execute, is_final
    from airloop.workspace import Workspace

    plan = Plan.from_json(plan_json)
    dag_id, run_id, try_number, last = _context_ids()
    ctx = StepContext(
        project=plan.project,
        spec_path=plan.spec_path,
        workspace=Workspace.resolve(plan.workspace),
        dag_id=dag_id,
        run_id=run_id,
        try_number=try_number,
        events_file=_events_file(),
    )
    try:
        return execute(kind, ctx, refs or {}, task_id=task_id, last_try=last, merge=merge, **kwargs)
    except AirloopError as exc:
        if is_final(exc):
            from airflow.sdk.exceptions import AirflowFailException

            raise AirflowFailException(exc.format()) from exc
        raise
    finally:  # a new outcome of the run (this step decided it) becomes the DAG run's note
        if ctx.extra.get("outcome"):
            from airloop.airflow.notes import set_note

            set_note(dag_id, run_id, ctx.extra["outcome"])


@task(multiple_outputs=False)
def step(
    kind: str, task_id: str, plan_json: str, refs: dict[str, Any] | None = None, decision: Any = "none"
) -> dict[str, Any]:
    refs = refs or {}
    if decision != "none":  # the answer of an approval task (None: not asked, e.g. under dag.test)
        refs = {**refs, "approval": decision}
    if refs.get("skip_training") and kind not in RUN_ON_SAME_INPUTS:  # Airflow skips the rest of the chain
        from airflow.sdk.exceptions import AirflowSkipException

        raise AirflowSkipException(str(refs["skip_training"]))
    return _run(kind, task_id, plan_json, refs)


@task(multiple_outputs=False)
def plan_batches(kind: str, task_id: str, plan_json: str, refs: dict[str, Any]) -> list[dict[str, Any]]:
    # Airflow maps only over a plain return value, so this task returns the list itself.
    return _run(kind, task_id, plan_json, refs, merge=False)["tune_batches"]


@task(multiple_outputs=False)
def mapped_step(kind: str, task_id: str, plan_json: str, refs: dict[str, Any], batch: dict[str, Any]) -> dict[str, Any]:
    return _run(kind, task_id, plan_json, refs, merge=False, batch=batch)


@task(multiple_outputs=False)
def collect_step(
    kind: str, task_id: str, plan_json: str, refs: dict[str, Any], results: list[dict[str, Any]]
) -> dict[str, Any]:
    return _run(kind, task_id, plan_json, refs, results=list(results))


@task(multiple_outputs=False)
def request_retrain(refs: dict[str, Any], asset_uri: str) -> dict[str, Any]:
    """Succeed (and so emit the retrain asset event, with the reason) only when the policy says so."""
    from airflow.sdk.exceptions import AirflowSkipException

    if not refs.get("retrain"):
        raise AirflowSkipException(refs.get("reason") or "no retraining needed")
    extra = {"reason": refs["reason"], "champion": refs.get("monitor", {}).get("champion")}
    get_current_context()["outlet_events"][_asset(asset_uri)].extra = extra
    return extra


# How often the triggerer looks for `_READY`: the worst-case wait from the marker to the asset event.
# One directory listing per poke is cheap. AIRLOOP_WATCH_POKE_SECONDS (read where the DAG is parsed).
WATCH_POKE_SECONDS = float(os.environ.get("AIRLOOP_WATCH_POKE_SECONDS", "0.5"))


def _asset(uri: str, folder: str | None = None) -> Asset:
    if folder is None:
        return Asset(uri=uri, name=uri)
    from airflow.providers.standard.triggers.file import DirectoryFileDeleteTrigger

    from airloop.airflow.triggers import ReadyMarkerTrigger
    from airloop.data.sources import READY

    # The triggerer watches the folder (only while the DAG is unpaused) and takes the marker as it
    # raises the event: one marker, one event, no polling loop of airloop's own. A data or scoring
    # landing folder keeps its marker, renamed, for its task to know which files it vouches for.
    kind = ReadyMarkerTrigger if uri.endswith(("/" + NEW_DATA, "/" + TO_SCORE)) else DirectoryFileDeleteTrigger
    trigger = kind(directory=folder, filename=READY, poke_interval=WATCH_POKE_SECONDS)
    return Asset(uri=uri, name=uri, watchers=[AssetWatcher(name=f"{uri}#landing", trigger=trigger)])


def _schedule(plan: Plan) -> Any:
    if not plan.schedule_assets:
        return plan.schedule
    folders = dict(plan.watched_folders)
    assets: Any = None
    for uri in plan.schedule_assets:
        one = _asset(uri, folders.get(uri))
        assets = one if assets is None else assets | one
    if plan.schedule is None:
        return assets
    return AssetOrTimeSchedule(timetable=CronTriggerTimetable(plan.schedule, timezone="UTC"), assets=assets)


def dag_doc(plan: Plan) -> str:
    """The DAG's doc_md (the "Dag Docs" button in the DAG page's header): what it does, where its
    spec is, where its runs and models go, and where each task's own doc is."""
    schedule = plan.schedule or "none"
    triggers = ", ".join(f"`{a}`" for a in plan.schedule_assets) or "none"
    watched = "".join(
        f"\n| landing folder for `{a}` | `{f}` (drop files, then `_READY`) |" for a, f in plan.watched_folders
    )
    monitor = "monitor" in plan.tags
    runs = "one run per DAG run, nested under the champion's training run" if monitor else "one parent run per DAG run"
    approval = ""
    if any(t.kind == APPROVAL for t in plan.tasks):
        approval = (
            "\n\nA candidate that passes the gate waits at `approve` for a person: answer it under "
            "Browse > Required Actions, or with `airloop approve PATH`."
        )
    return (
        f"### {plan.description}\n\n"
        "Generated by airloop: edit the spec and the DAG follows (the DAG file only names it).\n\n"
        "| | |\n|---|---|\n"
        f"| spec | `{plan.spec_path}` |\n"
        f"| spec hash | `{plan.spec_hash}` (each run snapshots the spec it used into its run folder) |\n"
        f"| workspace | `{plan.workspace}` |\n"
        f"| MLflow experiment | `{plan.project}` ({runs}) |\n"
        f"| MLflow registered model | `{plan.project}` (aliases `champion`, `previous`, `challenger`; `canary` with "
        "serving.canary) |\n"
        f"| cron schedule | `{schedule}` |\n"
        f"| asset triggers | {triggers} |"
        f"{watched}\n\n"
        "Tasks: " + " -> ".join(f"`{t.task_id}`" for t in plan.tasks) + ". What each task does: open the task "
        "page (click the task's name in the Grid's left column, or go to "
        f"`/dags/{plan.dag_id}/tasks/TASK_ID`) and press **Documentation**." + approval
    )


def _routing(t: PlanTask) -> dict[str, Any]:
    """Where the executor runs the task: its queue (else Airflow's [operators] default_queue) and
    the pod template the KubernetesExecutor starts it from (other executors ignore it)."""
    out: dict[str, Any] = {}
    if t.queue:
        out["queue"] = t.queue
    if t.pod_template:
        out["executor_config"] = {"pod_template_file": t.pod_template}
    return out


def build_dag(plan: Plan) -> DAG:
    plan_json = plan.to_json()
    default_args = {"retries": plan.retries, "retry_delay": timedelta(seconds=plan.retry_delay_seconds)}
    with DAG(
        dag_id=plan.dag_id,
        description=plan.description,
        schedule=_schedule(plan),
        start_date=datetime(2024, 1, 1, tzinfo=UTC),
        catchup=False,
        max_active_runs=1,
        default_args=default_args,
        tags=list(plan.tags),
        doc_md=dag_doc(plan),
    ) as dag:
        outputs: dict[str, Any] = {}  # task_id -> XComArg of its return value
        for t in plan.tasks:
            upstream: Any = outputs[t.upstream[0]] if t.upstream else None
            refs: Any = outputs[t.refs_from] if t.refs_from else upstream
            common = {"kind": t.kind, "task_id": t.task_id, "plan_json": plan_json}
            ids: dict[str, Any] = {"task_id": t.task_id, "doc_md": t.doc or None, **_routing(t)}
            if t.kind == APPROVAL:
                from airloop.airflow.approval import CandidateApproval

                assert plan.approval_timeout_seconds is not None
                approval = CandidateApproval(
                    **ids,
                    project=plan.project,
                    refs_task=t.upstream[0],
                    response_timeout=timedelta(seconds=plan.approval_timeout_seconds),
                    retries=0,  # a retry would ask again
                )
                upstream >> approval  # it reads the candidate's refs from that task's XCom
                outputs[t.task_id] = approval.output
            elif t.upstream and plan.task(t.upstream[0]).kind == APPROVAL:
                outputs[t.task_id] = step.override(**ids)(refs=refs, decision=upstream, **common)
            elif t.kind == "request_retrain":
                outputs[t.task_id] = request_retrain.override(**ids, outlets=[_asset(u) for u in t.outlets], retries=0)(
                    refs=refs, asset_uri=t.outlets[0]
                )
            elif t.mapped:
                outputs[t.task_id] = (
                    mapped_step.override(**ids, max_active_tis_per_dag=plan.max_active_trials)
                    .partial(refs=refs, **common)
                    .expand(batch=upstream)
                )
            elif t.collects:
                outputs[t.task_id] = collect_step.override(**ids)(refs=refs, results=outputs[t.collects], **common)
            elif any(plan.task(d).mapped for d in plan.tasks_after(t.task_id)):
                outputs[t.task_id] = plan_batches.override(**ids)(refs=refs, **common)
            elif t.spark:
                from airloop.airflow.spark import spark_settings, spark_task

                spark_step = spark_task(multiple_outputs=False, **ids, **spark_settings(plan.spark))(_spark_step)
                outputs[t.task_id] = spark_step(refs=upstream, **common)
            else:
                outputs[t.task_id] = step.override(**ids)(refs=upstream, **common)
    return dag


def _spark_step(
    kind: str,
    task_id: str,
    plan_json: str,
    refs: dict[str, Any] | None = None,
    spark: Any = None,
    unreachable: Exception | None = None,
) -> dict[str, Any]:
    """A step that reads the data on Spark: the provider opened ``spark`` from the connection, or
    (``unreachable``) did not, because its master does not answer: the step fails with that."""
    if unreachable is not None:
        return _run(kind, task_id, plan_json, refs or {}, precheck=unreachable)
    return _run(kind, task_id, plan_json, refs or {}, spark=spark)
