"""The plan: plain data that round-trips through JSON, so it can be inspected and tested alone."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

# Task kinds that run even when a run does not train (``skip_training`` in its refs: the inputs were
# trained already, or landed data waits for a retrain request): validate settles landed files and
# closes the MLflow run; every later task is skipped. The DAG layer and the in-process driver read this.
RUN_ON_SAME_INPUTS = ("ingest", "validate")
# The task kind a person answers (Airflow's human-in-the-loop operator), not a step airloop runs.
APPROVAL = "approve"


@dataclass(frozen=True)
class PlanTask:
    task_id: str
    kind: str  # a key of airloop.steps.runner.STEPS
    upstream: tuple[str, ...] = ()
    # A mapped task runs once per item of its upstream's ``batches`` output.
    mapped: bool = False
    # A collecting task also receives the list of outputs of this mapped task.
    collects: str | None = None
    # Where the task's ``refs`` come from, when not from its first upstream.
    refs_from: str | None = None
    # Assets this task emits an event for when it succeeds.
    outlets: tuple[str, ...] = ()
    # What the task does, for the orchestrator's UI (Airflow's task doc_md).
    doc: str = ""
    # The executor queue the task is sent to (Celery); None: the orchestrator's default queue.
    queue: str | None = None
    # The Kubernetes pod template file the task runs in (KubernetesExecutor); None: the executor's own.
    pod_template: str | None = None
    # The task runs with a Spark session (engine: spark), opened by the orchestrator from Plan.spark.
    spark: bool = False


@dataclass(frozen=True)
class Plan:
    dag_id: str
    project: str
    spec_path: str
    workspace: str
    schedule: str | None
    retries: int
    retry_delay_seconds: float
    description: str
    tasks: tuple[PlanTask, ...] = field(default_factory=tuple)
    tags: tuple[str, ...] = ()
    max_active_trials: int = 4
    # Asset URIs whose events also start the DAG (any of them, or the cron schedule).
    schedule_assets: tuple[str, ...] = ()
    # (asset URI, folder): the triggerer raises the asset's event when a _READY marker lands there.
    watched_folders: tuple[tuple[str, str], ...] = ()
    # hash of the spec the plan was built from (what the DAG's docs show; each run snapshots its own)
    spec_hash: str = ""
    # promotion.approval: required -> how long the `approve` task waits for a person
    approval_timeout_seconds: float | None = None
    # engine: spark -> {"conn_id": Airflow connection, "config": Spark settings} for its Spark tasks
    spark: dict[str, Any] = field(default_factory=dict)

    def task(self, task_id: str) -> PlanTask:
        return next(t for t in self.tasks if t.task_id == task_id)

    def tasks_after(self, task_id: str) -> list[str]:
        """Tasks that list ``task_id`` as a direct upstream."""
        return [t.task_id for t in self.tasks if task_id in t.upstream]

    def downstream(self, task_id: str) -> list[str]:
        """``task_id`` and every task after it, in order (what clearing from it reruns)."""
        found = {task_id}
        for t in self.tasks:
            if found & set(t.upstream):
                found.add(t.task_id)
        return [t.task_id for t in self.tasks if t.task_id in found]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Plan:
        raw = json.loads(text)
        raw["tasks"] = tuple(
            PlanTask(**{**t, "upstream": tuple(t["upstream"]), "outlets": tuple(t.get("outlets", ()))})
            for t in raw["tasks"]
        )
        raw["tags"] = tuple(raw["tags"])
        raw["schedule_assets"] = tuple(raw.get("schedule_assets", ()))
        raw["watched_folders"] = tuple(tuple(w) for w in raw.get("watched_folders", ()))
        return cls(**raw)
