"""gate: pass the candidate only if it meets every threshold and beats the champion by delta."""

from __future__ import annotations

from typing import Any

from airloop.metrics import METRICS
from airloop.spec.models import Promotion
from airloop.steps.context import StepContext
from airloop.tracking.tags import REASON_SEP, Tag


def decide(
    promotion: Promotion, metric: str, candidate: dict[str, float], champion: dict[str, Any] | None
) -> dict[str, Any]:
    """The verdict, with one reason per check, passed or not. Pure: unit-tested without MLflow."""
    reasons, passed = [], True
    for name, th in promotion.thresholds.items():
        value = candidate[name]
        if th.min is not None and value < th.min:
            passed = False
            reasons.append(f"{name} {value:.4f} is below the minimum {th.min}")
        elif th.max is not None and value > th.max:
            passed = False
            reasons.append(f"{name} {value:.4f} is above the maximum {th.max}")
        else:
            reasons.append(f"{name} {value:.4f} meets its threshold")
    if champion is None:
        reasons.append("no champion yet")
    elif "metrics" not in champion:
        reasons.append(
            f"champion v{champion['version']} cannot score this holdout ({champion.get('error')}); "
            "compared on thresholds only"
        )
    else:
        # the same rows for both: the holdout rows the champion never saw, when evaluate found enough
        ours, theirs = (champion.get("candidate_metrics") or candidate)[metric], champion["metrics"][metric]
        delta = promotion.min_improvement
        maximize = METRICS[metric].direction == "maximize"
        gain = ours - theirs if maximize else theirs - ours
        word = "higher" if maximize else "lower"
        # compare with a hair of slack: 0.57 - 0.56 is 0.00999... in floating point
        on = f" on the {champion['rows']} {champion['on']}" if champion.get("rows") else ""
        if gain > 0 and gain >= delta - 1e-9:
            reasons.append(
                f"{metric} {ours:.4f} beats champion v{champion['version']} ({theirs:.4f}){on} "
                f"by {gain:+.4f} (needs {word} by at least {delta})"
            )
        else:
            passed = False
            reasons.append(
                f"{metric} {ours:.4f} does not beat champion v{champion['version']} ({theirs:.4f}){on} "
                f"by at least {delta} ({word} is better, gain {gain:+.4f})"
            )
    return {"passed": passed, "metric": metric, "reasons": reasons}


def run(ctx: StepContext, refs: dict[str, Any]) -> dict[str, Any]:
    from airloop.tracking import Tracker

    spec = ctx.loaded.spec
    verdict = decide(spec.promotion, spec.promotion_metric, refs["metrics"], refs.get("champion"))
    Tracker(ctx.workspace).log(
        refs["mlflow_run_id"],
        tags={
            Tag.GATE: "passed" if verdict["passed"] else "refused",
            Tag.GATE_REASONS: REASON_SEP.join(verdict["reasons"]),
        },
    )
    return {"gate": verdict}
