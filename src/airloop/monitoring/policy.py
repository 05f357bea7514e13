"""The retraining policy: one pure function, ``decide(history, window, policy)``.

The monitor DAG and ``airloop backtest`` call this same function, so a backtest measures exactly the
decisions production makes. Nothing here reads files, MLflow or the clock: every time is a *data
time* (epoch seconds on the data's own clock: the time column of the predictions, else when they
were logged), so a replay, a backfill and production decide the same on the same data.

Triggers, any of which asks for retraining:
- drift that matters: the share of the champion's importance (permutation importance on its
  holdout, recorded at training) carried by drifted features reaches ``drift_importance``. A
  champion without recorded importance falls back to counting drifted features (``drifted_features``).
- performance: a live metric under its floor (``min_performance``), or the promotion metric worse
  than the champion's holdout by more than ``max_performance_drop`` (in the metric's units) or
  ``max_relative_drop`` (a share of the holdout value). Measured on labeled predictions, or
  estimated from the scores before labels arrive (``performance``: measured, estimated, or auto =
  measured when enough labels are in, else estimated).
A trigger inside the cooldown (data time since the last request) is suppressed, and says until when.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

WAITING, REQUESTED, NO_ACTION, SUPPRESSED = "waiting", "retrain requested", "no action", "suppressed"


@dataclass(frozen=True)
class Signal:
    """One feature's drift, with the share of the model's behaviour it drives."""

    feature: str
    drifted: bool
    statistic: float
    importance: float | None = None  # the champion's permutation importance (None: not recorded)


@dataclass(frozen=True)
class Window:
    """What one monitor run saw: the predictions since the last run, in data time."""

    end: float  # data time of the newest prediction
    rows: int
    signals: tuple[Signal, ...] = ()
    measured: dict[str, float | None] = field(default_factory=dict)  # live metrics (empty: too few labels)
    labeled: int = 0
    estimated: dict[str, float | None] = field(default_factory=dict)  # metrics estimated from the scores
    start: float | None = None


@dataclass(frozen=True)
class History:
    """What the policy remembers between runs, and the champion it judges."""

    last_request: float | None = None  # data time of the last retrain request
    holdout: dict[str, float] = field(default_factory=dict)  # the champion's holdout metrics


@dataclass(frozen=True)
class Policy:
    """The spec's monitoring policy, as plain values (``Policy.of(spec)``)."""

    metric: str
    maximize: bool = True
    min_rows: int = 100
    min_labeled: int = 50
    drift_importance: float | None = 0.5
    drifted_features: int | None = None
    min_performance: dict[str, float] = field(default_factory=dict)
    max_performance_drop: float | None = None  # in the metric's units
    max_relative_drop: float | None = 0.1  # a share of the holdout value
    performance: str = "measured"  # measured | estimated | auto
    cooldown_seconds: float = 0.0

    @classmethod
    def of(cls, spec: Any) -> Policy:
        from airloop.metrics import METRICS

        m = spec.monitoring
        metric = spec.promotion_metric
        return cls(
            metric=metric,
            maximize=METRICS[metric].direction == "maximize",
            min_rows=m.min_rows,
            min_labeled=m.min_labeled,
            drift_importance=m.drift_importance,
            drifted_features=m.drifted_features,
            min_performance=dict(m.min_performance),
            max_performance_drop=m.max_performance_drop,
            max_relative_drop=m.max_relative_drop,
            performance=m.performance,
            cooldown_seconds=m.cooldown_hours * 3600,
        )


@dataclass(frozen=True)
class Decision:
    retrain: bool
    verdict: str  # waiting | retrain requested | no action | suppressed
    reasons: tuple[str, ...]
    weighted_drift: float | None = None  # share of importance on drifted features
    performance_source: str | None = None  # measured | estimated (what the performance checks used)
    suppressed_until: float | None = None

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)

    def to_dict(self) -> dict[str, Any]:
        return {
            "retrain": self.retrain,
            "verdict": self.verdict,
            "reason": self.reason,
            "weighted_drift": self.weighted_drift,
            "performance_source": self.performance_source,
            "suppressed_until": self.suppressed_until,
        }


def decide(history: History, window: Window, policy: Policy) -> Decision:
    """Whether this window asks for retraining, and why (each reason a sentence)."""
    if window.rows < policy.min_rows:
        why = f"{window.rows} new predictions, {policy.min_rows} needed before judging"
        return Decision(False, WAITING, (why,))
    weighted = weighted_drift(window.signals)
    reasons = drift_reasons(window.signals, weighted, policy)
    source, live = performance_of(window, policy)
    reasons += performance_reasons(live, source, history, policy)
    if not reasons:
        return Decision(False, NO_ACTION, ("no trigger: " + calm(weighted, source, live, policy),), weighted, source)
    if history.last_request is not None and policy.cooldown_seconds > 0:
        until = history.last_request + policy.cooldown_seconds
        if window.end < until:
            reasons.append(
                f"suppressed: cooldown until {when(until)} (last request at {when(history.last_request)}, "
                f"data now at {when(window.end)})"
            )
            return Decision(False, SUPPRESSED, tuple(reasons), weighted, source, until)
    return Decision(True, REQUESTED, tuple(reasons), weighted, source)


def weighted_drift(signals: tuple[Signal, ...]) -> float | None:
    """The share of the champion's (positive) importance carried by drifted features; None when no
    importance was recorded, or the model depends on no feature at all."""
    known = [s for s in signals if s.importance is not None]
    total = sum(max(s.importance or 0.0, 0.0) for s in known)
    if not known or total <= 0:
        return None
    return sum(max(s.importance or 0.0, 0.0) for s in known if s.drifted) / total


def drift_reasons(signals: tuple[Signal, ...], weighted: float | None, policy: Policy) -> list[str]:
    drifted = [s.feature for s in signals if s.drifted]
    if weighted is not None and policy.drift_importance is not None:
        if weighted >= policy.drift_importance:
            return [
                f"drifted features ({', '.join(drifted)}) carry {weighted:.0%} of the champion's importance "
                f"(policy: {policy.drift_importance:.0%})"
            ]
        return []
    if policy.drifted_features is not None and len(drifted) >= policy.drifted_features:
        return [f"{len(drifted)} features drifted ({', '.join(drifted)}), policy allows {policy.drifted_features - 1}"]
    return []


def performance_of(window: Window, policy: Policy) -> tuple[str | None, dict[str, float | None]]:
    """Which performance the checks use: measured (enough labels), estimated, or none."""
    measured = window.measured if window.labeled >= policy.min_labeled else {}
    if policy.performance == "measured" or (policy.performance == "auto" and measured):
        return ("measured", measured) if measured else (None, {})
    return ("estimated", window.estimated) if window.estimated else (None, {})


def performance_reasons(
    live: dict[str, float | None], source: str | None, history: History, policy: Policy
) -> list[str]:
    reasons = []
    for name, floor in policy.min_performance.items():
        value = live.get(name)
        if value is not None and value < floor:
            reasons.append(f"{source} {name} {value:.4f} is below the minimum {floor}")
    value, holdout = live.get(policy.metric), history.holdout.get(policy.metric)
    if value is None or holdout is None:
        return reasons
    drop = (holdout - value) if policy.maximize else (value - holdout)
    if policy.max_performance_drop is not None and drop > policy.max_performance_drop:
        reasons.append(
            f"{source} {policy.metric} {value:.4f} is {drop:.4f} worse than the holdout {holdout:.4f} "
            f"(policy allows {policy.max_performance_drop})"
        )
    elif policy.max_relative_drop is not None and holdout != 0 and drop / abs(holdout) > policy.max_relative_drop:
        reasons.append(
            f"{source} {policy.metric} {value:.4f} is {drop / abs(holdout):.1%} worse than the holdout {holdout:.4f} "
            f"(policy allows {policy.max_relative_drop:.0%})"
        )
    return reasons


def calm(weighted: float | None, source: str | None, live: dict[str, float | None], policy: Policy) -> str:
    parts = []
    if weighted is not None:
        parts.append(f"drifted features carry {weighted:.0%} of the importance")
    value = live.get(policy.metric)
    parts.append(f"{source} {policy.metric} {value:.4f}" if value is not None else "no performance to judge yet")
    return ", ".join(parts)


def when(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M UTC")
