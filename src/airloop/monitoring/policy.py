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
- staleness: the champion's expected loss from the age of its data (``monitoring.staleness``: the
  decay per day measured on its holdout at training, times the days from its newest training row to
  the window's end) exceeds ``max_staleness_loss``. Data with a trend retrains on its own clock; a
  project whose holdout showed no decay never asks on this ground.
Persistent drift. A feature that had drifted already in the champion's newest training data (its
recent slice against the whole reference, recorded at training) and has not moved on from that
recent slice counts as persistent, not new: a trend or a season keeps the newest data unlike any
training mix, and retraining cannot silence it. Persistent drift is reported, never counted.
A trigger inside the cooldown (data time since the last request) is suppressed, and says until when.

Window size. A window of ``min_rows`` predictions or more is judged on its point estimates. A
smaller one (down to ``FEWEST_ROWS``) is judged at its own sample size, with ``confidence``: each
measured metric as a bootstrap interval, each PSI drift only above the PSI chance alone reaches at
that size (``monitoring.confidence``). A trigger that fires even at the calm end of its interval
decides (a request); when no trigger fires even at the alarming end, the window decides "no action";
otherwise it is *accumulating*: the cursor stays (``monitoring.cursor``) and the next run judges it
with the rows that arrive meanwhile. Every verdict says which: "decided on N predictions with 90%
confidence", or "accumulating". ``confidence: None`` restores the fixed gate (wait for ``min_rows``).
Labels the same way: a measured metric needs ``min_labeled`` labels for its point value, and down to
FEWEST_ROWS it is judged by its bootstrap interval in a window of any size ("decided on 400
predictions, 12 of them labeled, with 90% confidence"), or accumulates until more labels come.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from airloop.monitoring.staleness import DAY

ACCUMULATING, REQUESTED, NO_ACTION, SUPPRESSED = "accumulating", "retrain requested", "no action", "suppressed"
FEWEST_ROWS = 10  # below this a window is never judged: a bootstrap of a handful of rows states nothing


def fewest_labeled(min_labeled: int, confidence: float | None) -> int:
    """The labeled rows from which a live metric is measured: ``min_labeled`` for point values, down
    to FEWEST_ROWS where (with ``confidence``) fewer are judged by their bootstrap interval."""
    return min(FEWEST_ROWS, min_labeled) if confidence is not None else min_labeled


@dataclass(frozen=True)
class Signal:
    """One feature's drift, with the share of the model's behaviour it drives."""

    feature: str
    drifted: bool
    statistic: float
    importance: float | None = None  # the champion's permutation importance (None: not recorded)
    noise: float | None = None  # the statistic chance reaches at this window's size (None: a test, or not needed)
    persistent: bool = False  # drifted at the last training too, and not beyond it now: retraining cannot remove it

    @property
    def sure(self) -> bool:
        """Drifted beyond what chance gives a window of this size."""
        return self.drifted and (self.noise is None or self.statistic >= self.noise)


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
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)  # measured metrics, small windows
    estimated_intervals: dict[str, tuple[float, float]] = field(default_factory=dict)  # CBPE, small windows


@dataclass(frozen=True)
class History:
    """What the policy remembers between runs, and the champion it judges."""

    last_request: float | None = None  # data time of the last retrain request
    holdout: dict[str, float] = field(default_factory=dict)  # the champion's holdout metrics
    decay_per_day: float | None = None  # the champion's expected relative loss per day of data age
    trained_until: float | None = None  # data time of the newest row the champion learned from


@dataclass(frozen=True)
class Policy:
    """The spec's monitoring policy, as plain values (``Policy.of(spec)``)."""

    metric: str
    maximize: bool = True
    min_rows: int = 100  # from here on, point estimates; below it, judged with ``confidence``
    confidence: float | None = 0.9  # None: a window under min_rows waits (the fixed gate)
    min_labeled: int = 50
    drift_importance: float | None = 0.5
    drifted_features: int | None = None
    min_performance: dict[str, float] = field(default_factory=dict)
    max_performance_drop: float | None = None  # in the metric's units
    max_relative_drop: float | None = 0.1  # a share of the holdout value
    performance: str = "measured"  # measured | estimated | auto
    cooldown_seconds: float = 0.0
    max_staleness_loss: float | None = 0.1  # a share of the holdout metric (None: staleness never asks)

    @classmethod
    def of(cls, spec: Any) -> Policy:
        from airloop.metrics import METRICS

        m = spec.monitoring
        metric = spec.promotion_metric
        return cls(
            metric=metric,
            maximize=METRICS[metric].direction == "maximize",
            min_rows=m.min_rows,
            confidence=m.confidence,
            min_labeled=m.min_labeled,
            drift_importance=m.drift_importance,
            drifted_features=m.drifted_features,
            min_performance=dict(m.min_performance),
            max_performance_drop=m.max_performance_drop,
            max_relative_drop=m.max_relative_drop,
            performance=m.performance,
            cooldown_seconds=m.cooldown_hours * 3600,
            max_staleness_loss=m.max_staleness_loss,
        )


@dataclass(frozen=True)
class Decision:
    retrain: bool
    verdict: str  # accumulating | retrain requested | no action | suppressed
    reasons: tuple[str, ...]
    weighted_drift: float | None = None  # share of importance on drifted features
    performance_source: str | None = None  # measured | estimated (what the performance checks used)
    suppressed_until: float | None = None
    confidence: float | None = None  # a small window's: what the decision was taken with (None: point estimates)
    alarms: tuple[str, ...] = ()  # what fired, comparable across windows: drift:<features>, performance:<m>, staleness
    staleness: float | None = None  # the champion's expected loss from its data age (None: not recorded)
    persistent: tuple[str, ...] = ()  # drifted features whose drift was present at the last training

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
            "confidence": self.confidence,
            "alarms": list(self.alarms),
            "staleness": self.staleness,
            "persistent": list(self.persistent),
        }


def decide(history: History, window: Window, policy: Policy) -> Decision:
    """Whether this window asks for retraining, and why (each reason a sentence)."""
    floor = min(FEWEST_ROWS, policy.min_rows)
    small = window.rows < policy.min_rows
    if window.rows < floor or (small and policy.confidence is None):
        need = floor if window.rows < floor else policy.min_rows
        why = f"accumulating: {window.rows} new predictions, {need} needed before judging"
        return Decision(False, ACCUMULATING, (why,))
    source, live = performance_of(window, policy)
    few = source == "measured" and window.labeled < policy.min_labeled  # a measured metric on few labels
    sure = policy.confidence if small or few else None
    persistent = [s.feature for s in window.signals if s.drifted and s.persistent]
    signals = tuple(replace(s, drifted=False) if s.persistent else s for s in window.signals)  # new drift only
    weighted = weighted_drift(signals)
    calm_signals = tuple(replace(s, drifted=s.sure) for s in signals) if small else signals
    reasons = drift_reasons(calm_signals, weighted_drift(calm_signals), policy)
    drifted = [s.feature for s in calm_signals if s.drifted]
    alarms = [f"drift:{','.join(sorted(drifted))}"] if reasons else []
    # judged by its bootstrap interval in a small window, or on fewer than min_labeled labels
    spans = window.estimated_intervals if source == "estimated" else window.intervals
    fired, unsure = performance_checks(live, spans if small or few else None, source, history, policy)
    stale = staleness_reasons(history, window, policy)
    alarms += [f"performance:{policy.metric}"] * bool(fired) + ["staleness"] * bool(stale)
    reasons += fired + stale
    kept = f"persistent drift, present at the last training (not counted): {', '.join(persistent)}"
    # what every judged verdict states; each return below adds its verdict and reasons
    known = Decision(False, NO_ACTION, (), weighted, source, confidence=sure, staleness=staleness(history, window),
                     persistent=tuple(persistent))  # fmt: skip
    if not reasons and sure is not None:
        chance = [f"{d} (not beyond chance at this size)" for d in drift_reasons(signals, weighted, policy)] * small
        unsure = chance + unsure
        if unsure:
            size = f"{window.rows} new predictions" if small else f"{window.labeled} labeled predictions"
            why = f"accumulating: {size} decide nothing with {sure:.0%} confidence: "
            return replace(known, verdict=ACCUMULATING, reasons=(why + "; ".join(unsure),))
    said = ""
    if sure is not None:
        labeled = f", {window.labeled} of them labeled," if few else ""
        said = f" (decided on {window.rows} predictions{labeled} with {sure:.0%} confidence)"
    if not reasons:
        why = "no trigger: " + calm(weighted, source, live, policy, known.staleness)
        why += f"; {kept}" * bool(persistent) + said
        return replace(known, reasons=(why,))
    reasons += [kept] * bool(persistent)
    reasons[-1] += said
    if history.last_request is not None and policy.cooldown_seconds > 0:
        until = history.last_request + policy.cooldown_seconds
        if window.end < until:
            reasons.append(
                f"suppressed: cooldown until {when(until)} (last request at {when(history.last_request)}, "
                f"data now at {when(window.end)})"
            )
            known = replace(known, verdict=SUPPRESSED, suppressed_until=until)
            return replace(known, reasons=tuple(reasons), alarms=tuple(alarms))
    return replace(known, retrain=True, verdict=REQUESTED, reasons=tuple(reasons), alarms=tuple(alarms))


def weighted_drift(signals: tuple[Signal, ...]) -> float | None:
    """The share of the champion's (positive) importance carried by drifted features; None when no
    importance was recorded, or the model depends on no feature at all."""
    known = [s for s in signals if s.importance is not None]
    total = sum(max(s.importance or 0.0, 0.0) for s in known)
    if not known or total <= 0:
        return None
    return sum(max(s.importance or 0.0, 0.0) for s in known if s.drifted) / total


def staleness_reasons(history: History, window: Window, policy: Policy) -> list[str]:
    """The expected loss from the champion's data age, when it exceeds the policy's bound. Measured
    at training, not sampled from this window: a small window states it as surely as a large one."""
    bound, expected = policy.max_staleness_loss, staleness(history, window)
    if bound is None or expected is None or expected <= bound:
        return []
    age = (window.end - (history.trained_until or 0.0)) / DAY
    return [
        f"staleness: the champion's data is {age:.0f} days old; at the decay measured on its holdout "
        f"({(history.decay_per_day or 0.0) * 30:.1%} per 30 days) it is expected {expected:.1%} worse "
        f"(policy: {bound:.0%})"
    ]


def staleness(history: History, window: Window) -> float | None:
    """The champion's expected loss from its data age at the window's end (a share of its holdout
    metric); None when its decay or its training time was not recorded."""
    if history.decay_per_day is None or history.trained_until is None:
        return None
    return history.decay_per_day * max((window.end - history.trained_until) / DAY, 0.0)


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
    enough = fewest_labeled(policy.min_labeled, policy.confidence)
    few = window.labeled < policy.min_labeled
    measured = window.measured if window.labeled >= enough and (not few or window.intervals) else {}
    if policy.performance == "measured" or (policy.performance == "auto" and measured):
        return ("measured", measured) if measured else (None, {})
    return ("estimated", window.estimated) if window.estimated else (None, {})


@dataclass(frozen=True)
class Check:
    """One performance trigger: ``metric`` worse than ``bound`` (below it when higher is better).
    ``rule``: floor (``limit`` is the floor), drop (the allowed drop in the metric's units) or
    relative (the allowed share of the holdout)."""

    metric: str
    bound: float
    higher_is_better: bool
    rule: str
    limit: float
    holdout: float = 0.0

    def fires(self, value: float) -> bool:
        return value < self.bound if self.higher_is_better else value > self.bound

    def says(self, value: float, source: str | None) -> str:
        if self.rule == "floor":
            return f"{source} {self.metric} {value:.4f} is below the minimum {self.limit}"
        drop = (self.holdout - value) if self.higher_is_better else (value - self.holdout)
        worse = f"{drop:.4f}" if self.rule == "drop" else f"{drop / abs(self.holdout):.1%}"
        allows = f"{self.limit}" if self.rule == "drop" else f"{self.limit:.0%}"
        said = f"{source} {self.metric} {value:.4f} is {worse} worse than the holdout {self.holdout:.4f}"
        return f"{said} (policy allows {allows})"


def checks(live: dict[str, float | None], history: History, policy: Policy) -> list[list[Check]]:
    """The performance triggers, in groups of which only the first to fire is reported: the floors
    one by one, then the absolute and the relative drop from the holdout."""
    groups = [
        [Check(name, floor, True, "floor", floor)]
        for name, floor in policy.min_performance.items()
        if live.get(name) is not None
    ]
    metric, holdout = policy.metric, history.holdout.get(policy.metric)
    if live.get(metric) is None or holdout is None:
        return groups
    sign = -1 if policy.maximize else 1
    drops = []
    if (allowed := policy.max_performance_drop) is not None:
        drops.append(Check(metric, holdout + sign * allowed, policy.maximize, "drop", allowed, holdout))
    if (share := policy.max_relative_drop) is not None and holdout != 0:
        bound = holdout + sign * share * abs(holdout)
        drops.append(Check(metric, bound, policy.maximize, "relative", share, holdout))
    return [*groups, drops] if drops else groups


def performance_checks(
    live: dict[str, float | None],
    intervals: dict[str, tuple[float, float]] | None,
    source: str | None,
    history: History,
    policy: Policy,
) -> tuple[list[str], list[str]]:
    """(triggers that fire, triggers that may fire). ``intervals`` None: on the point values, where
    nothing is uncertain. Otherwise on each metric's interval: a trigger fires when even the calm end
    is past its bound, and may fire when only the alarming end is (or the metric has no interval)."""
    fired: list[str] = []
    unsure: list[str] = []
    for group in checks(live, history, policy):
        for check in group:
            value = live[check.metric]
            assert value is not None  # checks() keeps only the metrics with a value
            if intervals is None:
                if check.fires(value):
                    fired.append(check.says(value, source))
                    break
                continue
            span = intervals.get(check.metric)
            if span is None:
                unsure.append(f"{source} {check.metric} {value:.4f} has no interval at this size")
                break
            low, high = span
            calm_end, alarm_end = (high, low) if check.higher_is_better else (low, high)
            shown = f" ({policy.confidence:.0%} interval {low:.4f} to {high:.4f})"
            if check.fires(calm_end):
                fired.append(check.says(value if check.fires(value) else calm_end, source) + shown)
                break
            if check.fires(alarm_end):
                unsure.append(f"{source} {check.metric} {value:.4f}{shown} straddles {check.bound:.4f}")
    return fired, unsure


def calm(
    weighted: float | None,
    source: str | None,
    live: dict[str, float | None],
    policy: Policy,
    stale: float | None = None,
) -> str:
    parts = []
    if weighted is not None:
        parts.append(f"drifted features carry {weighted:.0%} of the importance")
    value = live.get(policy.metric)
    parts.append(f"{source} {policy.metric} {value:.4f}" if value is not None else "no performance to judge yet")
    if stale is not None:
        parts.append(f"expected loss from staleness {stale:.1%}")
    return ", ".join(parts)


def when(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M UTC")
