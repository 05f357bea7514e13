"""register: a new model version under the project name, with lineage, metrics and the verdict."""

from __future__ import annotations

from typing import Any

from airloop.steps.context import StepContext
from airloop.steps.lineage import code_version


def version_tags(ctx: StepContext, refs: dict[str, Any]) -> dict[str, Any]:
    ls = ctx.loaded
    gate = refs["gate"]
    tags: dict[str, Any] = {
        "airloop.data_fingerprint": refs["fingerprint"],
        "airloop.spec_hash": ls.spec_hash,
        "airloop.code_version": code_version(ls.root),
        "airloop.dag_id": ctx.dag_id,
        "airloop.run_id": ctx.run_id,
        "airloop.candidate": refs.get("candidate", ""),
        "airloop.gate": "passed" if gate["passed"] else "refused",
        "airloop.gate_reasons": "; ".join(gate["reasons"]),
        "airloop.contract_uri": f"runs:/{refs['mlflow_run_id']}/contract/contract.json",
        "airloop.reference_uri": f"runs:/{refs['mlflow_run_id']}/reference",
        "airloop.features": refs["features"],
    }
    tags.update({f"airloop.metric.{k}": round(v, 6) for k, v in refs["metrics"].items()})
    return tags


def run(ctx: StepContext, refs: dict[str, Any]) -> dict[str, Any]:
    from airloop.tracking import Tracker

    tracker = Tracker(ctx.workspace)
    tags = version_tags(ctx, refs)
    name = ctx.name
    # A cleared-and-rerun register must not add a second version for the same DAG run.
    for v in tracker.client.search_model_versions(f"name = '{name}' and run_id = '{refs['mlflow_run_id']}'"):
        tracker.set_version_tags(name, str(v.version), tags)
        return {"version": str(v.version)}
    version = tracker.register(name, refs["model_uri"], refs["mlflow_run_id"], refs.get("model_id"), tags)
    return {"version": version}
