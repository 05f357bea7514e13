"""Build the plans of a project: train (ingest -> ... -> promote) and monitor (monitor -> request_retrain).

Neutral: no Airflow and no workspace layout. Folders the triggerer must watch come in resolved
from the caller (the DAG file knows the workspace).
"""

from __future__ import annotations

from airloop.plan.model import Plan, PlanTask
from airloop.plan.names import labels_asset, monitor_dag_id, new_data_asset, retrain_asset, train_dag_id
from airloop.spec import LoadedSpec

# One line per task kind: shown in the Airflow UI (task Details) next to the task's logs.
TASK_DOCS = {
    "ingest": "Read the data source, fingerprint it, snapshot the spec into the run folder, open the MLflow run.",
    "validate": "Check every data file against the data contract; a violation fails the run (not retried) "
    "and moves landed files to `rejected/` with the report.",
    "split": "Split into training and holdout (by time or at random) as the spec says.",
    "tune_plan": "Lay out the Optuna trials of every candidate in batches (one mapped task per batch).",
    "tune_trials": "Run one batch of Optuna trials; the study is shared, so batches spread over workers.",
    "tune_select": "Pick the best candidate and parameters over all trials.",
    "train": "Fit the chosen pipeline (transform, encoding, estimator) and log it to MLflow with its "
    "signature and the drift reference.",
    "evaluate": "Score the candidate and the current champion on the same holdout.",
    "gate": "Compare with thresholds and the champion; record the verdict and its reasons.",
    "refit": "After a passed gate, fit the same pipeline and parameters on training + holdout rows "
    "(promotion.refit: all); that fit is registered, with the gate's evidence from the judged fit.",
    "register": "Register a model version with lineage tags (data fingerprint, spec hash, code version, run ids).",
    "approve": "Wait for a person to approve or reject the registered candidate (promotion.approval: "
    "required): the Airflow UI's Required Actions, or `airloop approve PATH`. The body is the gate's evidence; "
    "no decision within promotion.approval_timeout_hours rejects.",
    "promote": "Move aliases: a passed gate makes the version `champion` (old one `previous`); "
    "a refused one becomes `challenger`.",
    "monitor": "Drift per feature and of the scores since the last run, live performance on labeled "
    "predictions, and the retraining policy.",
    "request_retrain": "Emit the retrain-requested asset event (with the reason) when the policy asks; "
    "skipped otherwise.",
}


def _task(task_id: str, kind: str, upstream: tuple[str, ...] = (), **kw: object) -> PlanTask:
    return PlanTask(task_id, kind, upstream, doc=TASK_DOCS.get(kind, ""), **kw)  # type: ignore[arg-type]


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
        tasks=(
            _task("monitor", "monitor"),
            _task("request_retrain", "request_retrain", ("monitor",), outlets=(retrain_asset(spec.name),)),
        ),
        tags=("airloop", spec.name, "monitor"),
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
        tasks=tuple(tasks),
        tags=("airloop", spec.name, "train"),
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
