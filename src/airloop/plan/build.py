"""Build the plans of a project: train (ingest -> ... -> promote) and monitor (monitor -> request_retrain).

Neutral: no Airflow and no workspace layout. Folders the triggerer must watch come in resolved
from the caller (the DAG file knows the workspace).
"""

from __future__ import annotations

from dataclasses import replace

from airloop.plan.model import Plan, PlanTask
from airloop.plan.names import (
    labels_asset,
    monitor_dag_id,
    new_data_asset,
    retrain_asset,
    score_asset,
    score_dag_id,
    train_dag_id,
)
from airloop.spec import LoadedSpec

# One paragraph per task kind: the task's doc_md. Airflow 3.3 shows it on the task's page
# (/dags/<dag_id>/tasks/<task_id>) behind its "Documentation" button, not in the Details tab.
TASK_DOCS = {
    "ingest": "Read the data source (and files landed in `data.incoming`), fingerprint the data, snapshot "
    "the spec into the run folder (every later task of the run reads that snapshot), and open this run's "
    "MLflow run. It notes when the same data, spec and code trained a version already (validate then stops "
    "the run).",
    "validate": "Check each data file on its own against the data contract. A `block` violation fails the run "
    "with a report (not retried; nothing is trained or registered); `warn` violations are trained on and "
    "listed. Landed files move into the data source's folder when accepted, into `rejected/` in the landing "
    "folder with a report when refused. When these inputs trained a version already, or landed data waits "
    "for the monitor's retrain request (monitoring.train_on_new_data: when_requested), the run stops here: "
    "the later tasks are skipped.",
    "split": "Split the rows into training and holdout as `split` says: the newest rows (by time) or at "
    "random with a seed; resolve the feature columns.",
    "tune_plan": "Sample the tuning rows, create one Optuna study per candidate and lay its trials out in "
    "batches: one mapped `tune_trials` task per batch.",
    "tune_trials": "Run one batch of Optuna trials (each an MLflow child run). The studies are shared, so "
    "batches spread over workers and each sampler still sees every finished trial.",
    "tune_select": "Pick the best candidate and parameters over all trials.",
    "train": "Fit the chosen pipeline (transform, encoding, estimator) on the whole training split and log "
    "it to MLflow with its signature, an input example and the drift reference the monitor compares with.",
    "evaluate": "Score the candidate and the current champion on the same holdout (the champion on the "
    "holdout rows it never trained on, when there are enough).",
    "gate": "Pass the candidate only if it meets every threshold in `promotion.thresholds` and beats the "
    "champion by `promotion.min_improvement` on the same holdout; the verdict and its reasons are tagged.",
    "refit": "After a passed gate, fit the same pipeline and parameters on training + holdout rows "
    "(promotion.refit: all); that fit is registered, with the gate's evidence from the judged fit. A refused "
    "candidate is registered as judged, without a refit.",
    "register": "Register a model version, whatever the gate said, with its metrics, the gate's verdict and "
    "lineage tags (data fingerprint, spec hash, code version, DAG and run ids).",
    "approve": "Wait for a person to approve or reject the registered candidate (promotion.approval: "
    "required): Browse > Required Actions in the Airflow UI, this task instance's Required Actions tab, or "
    "`airloop approve PATH [--reject] [--comment TEXT]`. The form shows the gate's evidence; the comment is "
    "optional. No answer within promotion.approval_timeout_hours records Reject (which is why the form "
    "highlights Reject). A candidate the gate refused is not put to anyone. Under `airloop run` no one can "
    "be asked: the candidate waits as `challenger` (`airloop promote PATH VERSION` promotes it).",
    "promote": "Move the aliases. A version that passed the gate (and was approved, with promotion.approval: "
    "required) is smoke-tested (it must load and answer its input example), then becomes `champion` and the "
    "old champion `previous`; the prediction server `airloop up` started is asked to load it now (it also "
    "polls). Any other version is held as `challenger` and the champion is untouched. A failed smoke test "
    "fails this task.",
    "deploy": "With `deploy:` in the spec: after a promotion, package the new champion (`airloop package`'s "
    "build context, kept in the workspace; the image tag is the version plus the context's digest), validate "
    "its Kubernetes manifests and commit them to the GitOps repository (`deploy.gitops_dir`), the gate's "
    "evidence and this run's id in the message. A run that did not promote commits nothing.",
    "monitor": "Judge the champion on the predictions logged since the last run: drift of every feature and "
    "of the scores against its training reference, live performance on labeled predictions (estimated until "
    "labels arrive); judge a shadow challenger (serving.shadow) or a canary (serving.canary) against it on "
    "live traffic; then apply the retraining policy (`request_retrain` acts on its answer).",
    "score": "Score the files landed in `scoring.incoming` (those written before its `_READY` marker) with "
    "the champion into `scoring.output`, each file on its own, as `airloop score` does: every record judged "
    "against the model's contract, refused ones into the rejects with row, field and problem. A scored file "
    "moves to `scored/` in the landing folder; one that cannot be scored (it lacks a feature column, does not "
    "parse) to `rejected/` with a report, and the task fails naming it, after the others were scored.",
    "request_retrain": "When the policy asks for retraining, emit the retrain-requested asset event with the "
    "reason (it starts the train DAG); skipped otherwise.",
}


def _task(task_id: str, kind: str, upstream: tuple[str, ...] = (), **kw: object) -> PlanTask:
    return PlanTask(task_id, kind, upstream, doc=TASK_DOCS.get(kind, ""), **kw)  # type: ignore[arg-type]


# The task kinds that read the data, on Spark when the spec says engine: spark.
SPARK_KINDS = ("ingest", "validate", "score")


def _queued(loaded: LoadedSpec, tasks: list[PlanTask]) -> tuple[PlanTask, ...]:
    """Each task with the queue the spec routes it to (spec.queues, keyed by task id), the pod
    template it runs in (spec.pod_templates), and (engine: spark) whether it runs with a Spark session."""
    queues, pods = loaded.spec.queues, loaded.spec.pod_templates
    spark = loaded.spec.engine == "spark"
    out = [replace(t, queue=queues[t.task_id]) if t.task_id in queues else t for t in tasks]
    out = [replace(t, pod_template=str(loaded.resolve(pods[t.task_id]))) if t.task_id in pods else t for t in out]
    return tuple(replace(t, spark=True) if spark and t.kind in SPARK_KINDS else t for t in out)


def _spark(loaded: LoadedSpec) -> dict[str, object]:
    if loaded.spec.engine != "spark":
        return {}
    return {"conn_id": loaded.spec.spark.conn_id, "config": dict(loaded.spec.spark.config)}


def build_monitor_plan(loaded: LoadedSpec, workspace: str, labels_folder: str) -> Plan:
    """``labels_folder``: where label files land (with a _READY marker) to start a monitor run."""
    spec = loaded.spec
    return Plan(
        dag_id=monitor_dag_id(spec.name),
        project=spec.name,
        spec_path=str(loaded.path),
        workspace=workspace,
        schedule=spec.monitoring.schedule,
        retries=spec.retries,
        retry_delay_seconds=spec.retry_delay_seconds,
        description=f"airloop: monitor {spec.name}'s champion (drift, live performance) and request retraining",
        schedule_assets=(labels_asset(spec.name),),
        watched_folders=((labels_asset(spec.name), labels_folder),),
        spec_hash=loaded.spec_hash,
        tasks=_queued(
            loaded,
            [
                _task("monitor", "monitor"),
                _task("request_retrain", "request_retrain", ("monitor",), outlets=(retrain_asset(spec.name),)),
            ],
        ),
        tags=("airloop", spec.name, "monitor"),
    )


def build_score_plan(loaded: LoadedSpec, workspace: str) -> Plan | None:
    """The score DAG: one task, started by a _READY marker in scoring.incoming; None without one."""
    spec = loaded.spec
    if not spec.scoring.incoming:
        return None
    return Plan(
        dag_id=score_dag_id(spec.name),
        project=spec.name,
        spec_path=str(loaded.path),
        workspace=workspace,
        schedule=None,
        retries=spec.retries,
        retry_delay_seconds=spec.retry_delay_seconds,
        description=f"airloop: score files landed in scoring.incoming with {spec.name}'s champion",
        schedule_assets=(score_asset(spec.name),),
        watched_folders=((score_asset(spec.name), str(loaded.resolve(spec.scoring.incoming))),),
        spec_hash=loaded.spec_hash,
        tasks=_queued(loaded, [_task("score", "score")]),
        tags=("airloop", spec.name, "score"),
        spark=_spark(loaded),
    )


def build_train_plan(loaded: LoadedSpec, workspace: str) -> Plan:
    spec = loaded.spec
    chain = ["ingest", "validate", "split"]
    tasks = [_task(chain[0], chain[0])]
    tasks += [_task(t, t, (prev,)) for prev, t in zip(chain, chain[1:], strict=False)]
    tasks += [
        _task("tune_plan", "tune_plan", ("split",)),
        _task("tune_trials", "tune_trials", ("tune_plan",), mapped=True, refs_from="split"),
        _task("tune_select", "tune_select", ("tune_trials",), collects="tune_trials", refs_from="split"),
    ]
    prev = "tune_select"
    after_gate = ("refit",) if spec.promotion.refit == "all" else ()
    approval = ("approve",) if spec.promotion.approval == "required" else ()
    for t in ("train", "evaluate", "gate", *after_gate, "register", *approval, "promote"):
        # promote after an approval takes its refs from register and the decision from approve
        tasks.append(_task(t, t, (prev,), refs_from="register" if prev == "approve" else None))
        prev = t
    if spec.deploy is not None:
        tasks.append(_task("deploy", "deploy", ("promote",)))
    n_cand = len(spec.candidates)
    return Plan(
        dag_id=train_dag_id(spec.name),
        project=spec.name,
        spec_path=str(loaded.path),
        workspace=workspace,
        schedule=spec.schedule,
        retries=spec.retries,
        retry_delay_seconds=spec.retry_delay_seconds,
        description=f"airloop: train {spec.name} ({spec.task}, {n_cand} candidate(s), "
        f"{spec.tuning.trials} trials each)",
        tasks=_queued(loaded, tasks),
        tags=("airloop", spec.name, "train"),
        spark=_spark(loaded),
        spec_hash=loaded.spec_hash,
        approval_timeout_seconds=spec.promotion.approval_timeout_hours * 3600 if approval else None,
        schedule_assets=(
            *([new_data_asset(spec.name)] if spec.data.incoming else []),
            retrain_asset(spec.name),
        ),
        watched_folders=(
            ((new_data_asset(spec.name), str(loaded.resolve(spec.data.incoming))),) if spec.data.incoming else ()
        ),
    )
