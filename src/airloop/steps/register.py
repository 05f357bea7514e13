"""register: a new model version under the project name, with lineage, metrics and the verdict."""

from __future__ import annotations

from typing import Any

from airloop.steps.context import StepContext
from airloop.steps.lineage import code_version
from airloop.tracking.tags import REASON_SEP, Tag, labels_tags


def version_tags(ctx: StepContext, refs: dict[str, Any]) -> dict[str, Any]:
    ls = ctx.loaded
    gate = refs["gate"]
    tags: dict[str, Any] = {
        Tag.DATA_FINGERPRINT: refs["fingerprint"],
        Tag.SPEC_HASH: ls.spec_hash,
        Tag.CODE_VERSION: code_version(ls.root),
        Tag.DAG_ID: ctx.dag_id,
        Tag.RUN_ID: ctx.run_id,
        Tag.CANDIDATE: refs.get("candidate", ""),
        Tag.GATE: "passed" if gate["passed"] else "refused",
        Tag.GATE_REASONS: REASON_SEP.join(gate["reasons"]),
        Tag.CONTRACT_URI: f"runs:/{refs['mlflow_run_id']}/contract/contract.json",
        Tag.REFERENCE_URI: f"runs:/{refs['mlflow_run_id']}/reference",
        Tag.FEATURES: refs["features"],
    }
    from airloop.steps.refit import refit_tags

    tags.update(refit_tags(refs))
    if refs.get("model_sha256"):
        tags[Tag.MODEL_SHA256] = refs["model_sha256"]
    until = refs.get("holdout_until") if (refs.get("refit") or {}).get("done") else refs.get("train_until")
    if until:
        tags[Tag.TRAINED_UNTIL] = until
    if refs.get("train_until"):
        tags[Tag.GATED_UNTIL] = refs["train_until"]
    if refs.get("labels"):
        tags.update(labels_tags(refs["labels"]))
    tags.update({Tag.metric(k): round(v, 6) for k, v in refs["metrics"].items()})
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
