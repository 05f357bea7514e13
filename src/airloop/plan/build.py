"""Build the train plan from a spec: ingest -> validate -> split -> tune -> ... -> promote."""

from __future__ import annotations

from airloop.plan.model import Plan, PlanTask
from airloop.spec import LoadedSpec


def train_dag_id(project: str) -> str:
    return f"{project}__train"


def monitor_dag_id(project: str) -> str:
    return f"{project}__monitor"


def new_data_asset(project: str) -> str:
    """The asset whose event (a _READY marker in data.incoming) starts a train run."""
    return f"airloop://{project}/new-data"


def labels_asset(project: str) -> str:
    """The asset whose event (a _READY marker in the labels folder) starts a monitor run."""
    return f"airloop://{project}/labels"


def retrain_asset(project: str) -> str:
    """The asset the monitor emits when its policy asks for retraining; the train DAG listens."""
    return f"airloop://{project}/retrain-requested"


def workspace_labels_folder(workspace: str, project: str) -> str:
    from airloop.runtime.workspace import Workspace

    return str(Workspace.resolve(workspace).labels_folder(project))


def build_monitor_plan(loaded: LoadedSpec, workspace: str) -> Plan:
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
        watched_folders=((labels_asset(spec.name), workspace_labels_folder(workspace, spec.name)),),
        tasks=(
            PlanTask("monitor", "monitor"),
            PlanTask("request_retrain", "request_retrain", ("monitor",), outlets=(retrain_asset(spec.name),)),
        ),
        tags=("airloop", spec.name, "monitor"),
    )


def build_train_plan(loaded: LoadedSpec, workspace: str) -> Plan:
    spec = loaded.spec
    chain = ["ingest", "validate", "split"]
    tasks = [PlanTask(chain[0], chain[0])]
    tasks += [PlanTask(t, t, (prev,)) for prev, t in zip(chain, chain[1:], strict=False)]
    tasks += [
        PlanTask("tune_plan", "tune_plan", ("split",)),
        PlanTask("tune_trials", "tune_trials", ("tune_plan",), mapped=True, refs_from="split"),
        PlanTask("tune_select", "tune_select", ("tune_trials",), collects="tune_trials", refs_from="split"),
    ]
    prev = "tune_select"
    for t in ("train", "evaluate", "gate", "register", "promote"):
        tasks.append(PlanTask(t, t, (prev,)))
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
        schedule_assets=(
            *([new_data_asset(spec.name)] if spec.data.incoming else []),
            retrain_asset(spec.name),
        ),
        watched_folders=(
            ((new_data_asset(spec.name), str(loaded.resolve(spec.data.incoming))),) if spec.data.incoming else ()
        ),
    )
