"""Every name airloop writes into MLflow: aliases and tag keys, spelled once.

Tests and readers outside the package (reports, the demo) use these too, so a renamed tag
breaks at import, not silently in a search filter.
"""

from __future__ import annotations

import json
from typing import Any

# Registry aliases: the only deployment switch (moved in airloop.tracking.aliases)
CHAMPION, CHALLENGER, PREVIOUS, CANARY = "champion", "challenger", "previous", "canary"
ALIASES = (CHAMPION, PREVIOUS, CHALLENGER, CANARY)

PREFIX = "airloop."  # every tag airloop writes starts with it


class Tag:
    """Tag keys on runs and model versions."""

    PROJECT = "airloop.project"
    DAG_ID = "airloop.dag_id"
    RUN_ID = "airloop.run_id"
    KIND = "airloop.kind"  # "monitor" on monitor runs
    # lineage (runs and versions)
    SPEC_HASH = "airloop.spec_hash"
    CODE_VERSION = "airloop.code_version"
    DATA_FINGERPRINT = "airloop.data_fingerprint"
    # a registered version
    CANDIDATE = "airloop.candidate"
    # the SHA-256 of the version's airloop-model.json (which holds its files' own SHA-256s): kept in
    # the registry, so files rewritten in the artifact store are refused at load
    MODEL_SHA256 = "airloop.model_sha256"
    FEATURES = "airloop.features"
    CLASSES = "airloop.classes"  # JSON list, in the model's order
    POSITIVE_CLASS = "airloop.positive_class"  # JSON value: "YES", 1, true
    CONTRACT_URI = "airloop.contract_uri"
    REFERENCE_URI = "airloop.reference_uri"
    GATE = "airloop.gate"  # "passed" | "refused"
    GATE_REASONS = "airloop.gate_reasons"  # joined with REASON_SEP
    PROMOTED = "airloop.promoted"
    PROMOTED_BY = "airloop.promoted_by"  # "hand" | "rollback" | "live comparison"
    LIVE_EVIDENCE = "airloop.live_evidence"  # why a shadow challenger or a canary was promoted on live traffic
    APPROVAL = "airloop.approval"  # "approved" | "rejected" | "timed out" | "not asked" (promotion.approval)
    APPROVED_BY = "airloop.approval_by"
    APPROVED_AT = "airloop.approval_at"
    APPROVAL_COMMENT = "airloop.approval_comment"
    CANARY = "airloop.canary"  # "started" | "rolled back" | "promoted"
    CANARY_REASON = "airloop.canary_reason"
    VERSION = "airloop.version"
    TRAINED_UNTIL = "airloop.trained_until"  # ISO time of the newest row the version learned from (time split)
    GATED_UNTIL = "airloop.gated_until"  # ... and of the newest row the fit the gate judged learned from
    SAME_INPUTS_AS = "airloop.same_inputs_as"  # on a train run that found its inputs already trained
    # refit on all data after the gate (promotion.refit: all)
    REFIT = "airloop.refit"  # "holdout" (the gated fit is registered) | "all"
    REFIT_ROWS = "airloop.refit_rows"
    GATED_MODEL_URI = "airloop.gated_model_uri"  # the fit the gate judged, when a refit was registered
    # failures and monitoring
    FAILED_STEP = "airloop.failed_step"
    ERROR = "airloop.error"
    VERDICT = "airloop.verdict"
    CONTRACT_WARNINGS = "airloop.contract_warnings"
    REASON = "airloop.reason"
    CHAMPION_VERSION = "airloop.champion_version"

    METRIC_PREFIX = "airloop.metric."

    @staticmethod
    def metric(name: str) -> str:
        return Tag.METRIC_PREFIX + name


REASON_SEP = "; "


def metrics_of(tags: dict[str, Any]) -> dict[str, float]:
    """The metrics recorded on a version, by metric name."""
    return {k.removeprefix(Tag.METRIC_PREFIX): float(v) for k, v in tags.items() if k.startswith(Tag.METRIC_PREFIX)}


def labels_tags(labels: dict[str, Any]) -> dict[str, str]:
    """Classes and positive class as JSON, so that 1, true and "1" stay apart."""
    tags = {Tag.CLASSES: json.dumps(labels["classes"])}
    if labels.get("positive") is not None:
        tags[Tag.POSITIVE_CLASS] = json.dumps(labels["positive"])
    return tags


def labels_of(tags: dict[str, Any]) -> dict[str, Any] | None:
    """The classes and positive class a version was trained with (None for regression or older versions)."""
    if Tag.CLASSES not in tags:
        return None
    positive = tags.get(Tag.POSITIVE_CLASS)
    return {"classes": json.loads(tags[Tag.CLASSES]), "positive": None if positive is None else json.loads(positive)}


def lineage_of(tags: dict[str, Any]) -> dict[str, Any]:
    """airloop's non-metric tags, without the prefix."""
    return {
        k.removeprefix(PREFIX): v
        for k, v in tags.items()
        if k.startswith(PREFIX) and not k.startswith(Tag.METRIC_PREFIX)
    }
