"""The champion against a second model on live traffic: a shadow challenger (the same requests,
paired) or a canary (its share of the traffic). The monitor calls these before judging drift;
the decisions themselves are pure (``airloop.monitoring.live``), the alias moves are
``airloop.tracking.aliases``.
"""

from __future__ import annotations

from typing import Any

from airloop.steps.context import StepContext
from airloop.tracking.tags import Tag


def answers(frame: Any, column: str, labels: dict[str, Any] | None) -> Any:
    """A column of labels or predictions as an array sklearn reads, on the model's classes ("1" -> 1)."""
    import numpy as np

    from airloop.model.labels import coerce

    values = list(frame[column])
    if labels and labels.get("classes"):
        values = coerce(values, labels["classes"])
    return np.asarray(values)  # object arrays of numbers read as "unknown" to sklearn: coerce first


def answers_of(frame: Any, prefix: str, labels: dict[str, Any] | None) -> tuple[Any, Any]:
    """(predictions, probabilities or None) of the champion (prefix "") or the shadow ("shadow_")."""
    import numpy as np

    probs = list(frame[f"{prefix}probabilities"])
    proba = np.asarray(probs, dtype="float64") if probs and probs[0] is not None else None
    return answers(frame, f"{prefix}prediction", labels), proba


def judge_challenger(ctx: StepContext, tracker: Any, champion: Any) -> dict[str, Any] | None:
    """The shadow challenger against the champion on the labeled requests both answered
    (serving.shadow); under ``promotion.live.action: promote`` a winner becomes champion."""
    from airloop.data.replicas import sources
    from airloop.data.scan import read_shadow
    from airloop.monitoring.live import compare
    from airloop.tracking import aliases
    from airloop.tracking.tags import CHALLENGER, labels_of

    spec = ctx.loaded.spec
    version = tracker.alias_version(spec.name, CHALLENGER)
    parts = sources(ctx.workspace, spec.name)  # the workspace's own log and each replica's front here
    if version is None or not parts:
        return None
    frame = read_shadow(None, version, parts)
    if frame.empty:
        return None  # never shadowed
    frame = frame[(frame["model_version"] == str(champion.version)) & frame["label"].notna()]
    labels = labels_of(champion.tags)
    metric = spec.promotion_metric
    y = answers(frame, "label", labels)  # empty until labels arrive: compare() then says it waits
    mine, theirs = answers_of(frame, "", labels), answers_of(frame, "shadow_", labels)
    positive = labels.get("positive") if labels else None
    found = compare(metric, y, mine, theirs, spec.promotion.live, labels["classes"] if labels else None, positive)
    out: dict[str, Any] = {"version": version, **found.as_dict(), "promoted": False}
    if found.wins and spec.promotion.live.action == "promote":
        aliases.promote(tracker, spec.name, version, by="live comparison")
        tracker.set_version_tags(spec.name, version, {Tag.LIVE_EVIDENCE: found.reason[:4000]})
        out["promoted"] = True
    return out


def judge_canary(ctx: StepContext, tracker: Any, champion: Any) -> dict[str, Any] | None:
    """The canary (serving.canary) against the champion on the records each answered since it
    started: rolled back when it fails or is worse beyond ``promotion.canary.max_drop``, promoted
    when it holds over ``min_labeled`` labeled records."""
    from airloop.data.replicas import sources
    from airloop.data.scan import read_canary
    from airloop.monitoring.live import judge_canary as judge
    from airloop.tracking import aliases
    from airloop.tracking.tags import labels_of

    spec = ctx.loaded.spec
    if spec.serving.canary is None:
        return None
    alias = spec.serving.canary.alias
    version = tracker.alias_version(spec.name, alias)
    parts = sources(ctx.workspace, spec.name)
    if version is None or not parts:
        return None
    frame, failed = read_canary(None, version, str(champion.version), parts)
    labels = labels_of(champion.tags)

    def labeled(which: str) -> tuple[Any, Any, Any]:
        part = frame[(frame["model_version"] == which) & frame["label"].notna()] if not frame.empty else frame
        if part.empty:
            return [], [], None
        return (answers(part, "label", labels), *answers_of(part, "", labels))

    answered = int((frame["model_version"] == version).sum()) if not frame.empty else 0
    found = judge(
        spec.promotion_metric,
        labeled(str(champion.version)),
        labeled(version),
        answered,
        failed,
        spec.promotion.canary,
        labels["classes"] if labels else None,
        labels.get("positive") if labels else None,
    )
    out: dict[str, Any] = {"version": version, **found.as_dict()}
    if found.action == "rollback":
        aliases.end_canary(tracker, spec.name, alias, "rolled back", found.reason)
    elif found.action == "promote":
        aliases.end_canary(tracker, spec.name, alias, "promoted", found.reason)
        tracker.set_version_tags(spec.name, version, {Tag.LIVE_EVIDENCE: found.reason[:4000]})
    return out


def moved(challenger: dict[str, Any] | None, canary: dict[str, Any] | None) -> tuple[str, str] | None:
    """(verdict, reason) when a live judgement changed the champion or rolled a canary back."""
    if canary and canary["action"] == "rollback":
        return f"canary v{canary['version']} rolled back", canary["reason"]
    if canary and canary["action"] == "promote":
        return f"canary v{canary['version']} promoted on live traffic", canary["reason"]
    if challenger and challenger["promoted"]:
        return f"challenger v{challenger['version']} promoted on live traffic", challenger["reason"]
    return None


def deploy_moved(ctx: StepContext, tracker: Any, before: str, verdict: str, reason: str) -> dict[str, Any] | None:
    """With ``deploy:``, commit the champion a live judgement made (a canary or a shadow challenger
    promoted) to the GitOps repository, as the train DAG's deploy step commits a gated one. A canary
    rolled back changes nothing the cluster runs (it never ran there): nothing is committed."""
    import logging

    from airloop.errors import EnvironmentProblem
    from airloop.tracking.tags import CHAMPION

    spec = ctx.loaded.spec
    after = tracker.alias_version(spec.name, CHAMPION)
    if spec.deploy is None or after is None or str(after) == before:
        return None
    from airloop.packaging import gitops

    try:
        return gitops.deploy(
            ctx.workspace,
            ctx.loaded,
            str(after),
            headline=f"airloop: deploy {spec.name} v{after} as champion (was v{before}), {verdict}",
            evidence=[f"why: the monitor judged it on live traffic: {verdict}", f"  - {reason}"],
            trailers={"Airloop-Promoted-By": "monitor", "Airflow-Dag-Id": ctx.dag_id, "Airflow-Run-Id": ctx.run_id},
            echo=logging.getLogger("airloop.steps").info,
        )
    except Exception as exc:  # the alias moved already: say how to get the cluster there too
        raise EnvironmentProblem(
            f"v{after} became champion ({verdict}), but its manifests were not committed: {exc}",
            hint=f"fix the GitOps repository, then `airloop promote {ctx.loaded.path} {after}` commits them",
        ) from exc
