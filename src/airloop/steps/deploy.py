"""deploy: after ``promote``, commit the new champion's Kubernetes manifests to the GitOps repository.

Only in a plan whose spec has ``deploy:``. A run that did not promote commits nothing (the cluster
keeps serving the champion it has). The manifests and the image tag are ``airloop package``'s
(``airloop.packaging.gitops``); the commit message carries the gate's evidence and the Airflow run,
so that the repository's history says why each image went out.
"""

from __future__ import annotations

from typing import Any

from airloop.steps.context import StepContext


def run(ctx: StepContext, refs: dict[str, Any]) -> dict[str, Any]:
    import logging

    spec = ctx.loaded.spec
    if spec.deploy is None:  # the plan adds this task only with deploy:, but a rerun may see an edited spec
        return {"deployed": {"committed": False, "reason": "deploy is not set in the spec"}}
    version = str(refs["version"])
    if not refs.get("promoted"):
        reason = f"v{version} was not promoted: nothing is committed, the cluster keeps its champion"
        return {"deployed": {"committed": False, "reason": reason}}
    from airloop.packaging import gitops

    log = logging.getLogger("airloop.steps")
    before = refs.get("champion_before")
    headline = f"airloop: deploy {spec.name} v{version} as champion" + (f" (was v{before})" if before else "")
    done = gitops.deploy(
        ctx.workspace,
        ctx.loaded,
        version,
        headline=headline,
        evidence=evidence_lines(refs),
        trailers={"Airflow-Dag-Id": ctx.dag_id, "Airflow-Run-Id": ctx.run_id},
        echo=log.info,
    )
    return {"deployed": done}


def evidence_lines(refs: dict[str, Any]) -> list[str]:
    """The gate's verdict, its reasons and the metrics it judged, as lines of a commit message."""
    gate = refs.get("gate") or {}
    lines = [f"gate: {'passed' if gate.get('passed') else 'refused'} on {gate.get('metric')}"]
    lines += [f"  - {r}" for r in gate.get("reasons") or []]
    metrics = refs.get("metrics") or {}
    if metrics:
        lines.append("metrics (holdout): " + ", ".join(f"{k}={float(v):.4f}" for k, v in sorted(metrics.items())))
    if refs.get("approval"):
        lines.append(f"approval: {refs['approval']}")
    return lines
