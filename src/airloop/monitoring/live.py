"""Two models judged on live traffic: the champion and a shadow challenger on the same labeled rows.

Pure: arrays in, a ``Comparison`` out. The difference is paired (both models answered the same
records), so a bootstrap over rows gives its confidence interval without assuming a distribution;
the challenger wins when the interval's lower end clears ``min_improvement``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the spec's own settings are the policies (one home for their defaults)
    from airloop.spec.models import CanaryPromotion, LivePromotion

BOOTSTRAP_ROUNDS = 1000


@dataclass(frozen=True)
class Comparison:
    metric: str
    rows: int
    champion: float | None = None
    challenger: float | None = None
    difference: float | None = None  # how much better the challenger is (positive: better), in metric units
    low: float | None = None  # the confidence interval of the difference
    high: float | None = None
    wins: bool = False
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare(
    metric: str,
    y: Any,
    champion: tuple[Any, Any],
    challenger: tuple[Any, Any],
    policy: LivePromotion,
    classes: Any = None,
    positive: Any = None,
    seed: int = 0,
) -> Comparison:
    """``champion`` and ``challenger`` are (predictions, probabilities or None) on the rows of ``y``."""
    import numpy as np

    from airloop.metrics import METRICS, compute

    n = len(y)
    if n < policy.min_labeled:
        return Comparison(metric, n, reason=f"waiting: {n} labeled rows answered by both, {policy.min_labeled} needed")
    sign = 1.0 if METRICS[metric].direction == "maximize" else -1.0

    def score(idx: Any, pred: Any, proba: Any) -> float:
        return compute(metric, y[idx], pred[idx], None if proba is None else proba[idx], classes, positive)

    everything = np.arange(n)
    try:
        a, b = score(everything, *champion), score(everything, *challenger)
    except ValueError as exc:  # one class only among the labels so far
        return Comparison(metric, n, reason=f"{metric} is undefined on these labels: {exc}")
    diff = sign * (b - a)
    low = high = None
    if policy.test == "bootstrap":
        rng = np.random.default_rng(seed)
        models = (champion, challenger)
        fast = _fast_scorer(metric, y, models, classes, positive)

        def rescore(idx: Any, model: int) -> float:
            return fast(idx, model) if fast else score(idx, *models[model])

        diffs = []
        for _ in range(BOOTSTRAP_ROUNDS):
            idx = rng.integers(0, n, n)
            try:
                diffs.append(sign * (rescore(idx, 1) - rescore(idx, 0)))
            except ValueError:  # a resample with one class: skip it
                continue
        tail = (1 - policy.confidence) / 2
        low, high = (float(q) for q in np.quantile(diffs, [tail, 1 - tail]))
    evidence = low if low is not None else diff
    wins = evidence > policy.min_improvement
    ci = f" ({policy.confidence:.0%} CI {low:+.4f} to {high:+.4f})" if low is not None else ""
    verb = "beats" if wins else "does not beat"
    reason = (
        f"challenger {verb} the champion on {n} labeled live rows: {metric} {b:.4f} vs {a:.4f}, "
        f"difference {diff:+.4f}{ci}, needed > {policy.min_improvement:g}"
    )
    return Comparison(metric, n, a, b, diff, low, high, wins, reason)


def _fast_scorer(
    metric: str, y: Any, models: tuple[tuple[Any, Any], ...], classes: Any, positive: Any
) -> Callable[[Any, int], float] | None:
    """The bootstrap's thousand scorings of resampled rows with ``airloop.metrics.fast_binary`` on
    class indexes: equal to ``compute`` to float rounding, where sklearn's input checks made each
    call on 2,000 rows ~3 ms, ten times the work. None (score with ``compute``) where that does not
    apply: a metric fast_binary does not know, not two classes, or a label outside them."""
    import numpy as np

    from airloop.metrics import FAST_BINARY, fast_binary

    two = list(classes) if classes is not None else []
    positive = two[-1] if positive is None and two else positive
    if metric not in FAST_BINARY or len(two) != 2 or positive not in two:
        return None
    at = two.index(positive)

    def indexes(values: Any) -> Any:
        values = np.asarray(values, dtype=object)
        return np.where(values == two[1], 1, np.where(values == two[0], 0, -1))

    truth, answers = indexes(y), [indexes(pred) for pred, _ in models]
    if (truth < 0).any() or any((a < 0).any() for a in answers):
        return None
    probas = [None if proba is None else np.asarray(proba) for _, proba in models]

    def rescore(idx: Any, model: int) -> float:
        proba = probas[model]
        return fast_binary(metric, truth[idx], answers[model][idx], None if proba is None else proba[idx], at)

    return rescore


@dataclass(frozen=True)
class CanaryVerdict:
    action: str  # "waiting" | "rollback" | "promote"
    reason: str
    answered: int = 0
    failed: int = 0
    labeled: int = 0
    champion: float | None = None
    canary: float | None = None
    difference: float | None = None  # how much better the canary is (negative: worse), in metric units

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def judge_canary(
    metric: str,
    champion: tuple[Any, Any, Any],
    canary: tuple[Any, Any, Any],
    answered: int,
    failed: int,
    policy: CanaryPromotion,
    classes: Any = None,
    positive: Any = None,
) -> CanaryVerdict:
    """``champion`` and ``canary`` are (labels, predictions, probabilities or None) of the labeled
    records each answered (different records: the traffic is split). Failures roll back first;
    then the metric: worse by more than ``max_drop`` rolls back, holding over ``min_labeled``
    labeled records promotes."""
    from airloop.metrics import METRICS, compute

    seen = answered + failed
    rate = failed / seen if seen else 0.0
    counts: dict[str, Any] = {"answered": answered, "failed": failed, "labeled": len(canary[0])}
    if seen >= policy.min_requests and rate > policy.max_error_rate:
        why = f"canary failed on {failed} of {seen} records ({rate:.1%}), more than {policy.max_error_rate:.1%}"
        return CanaryVerdict("rollback", why, **counts)
    if len(canary[0]) < policy.min_labeled or len(champion[0]) < policy.min_labeled:
        why = (
            f"waiting: {len(canary[0])} labeled canary records and {len(champion[0])} of the champion's, "
            f"{policy.min_labeled} each needed"
        )
        return CanaryVerdict("waiting", why, **counts)
    try:
        a = compute(metric, champion[0], champion[1], champion[2], classes, positive)
        b = compute(metric, canary[0], canary[1], canary[2], classes, positive)
    except ValueError as exc:
        return CanaryVerdict("waiting", f"{metric} is undefined on these labels: {exc}", **counts)
    diff = (b - a) if METRICS[metric].direction == "maximize" else (a - b)
    scores: dict[str, Any] = {"champion": a, "canary": b, "difference": diff}
    said = (
        f"{metric} {b:.4f} on {len(canary[0])} labeled canary records vs the champion's {a:.4f} on {len(champion[0])}"
    )
    if diff < -policy.max_drop:
        return CanaryVerdict(
            "rollback", f"canary is worse: {said} (allowed drop {policy.max_drop:g})", **counts, **scores
        )
    return CanaryVerdict("promote", f"canary holds: {said} (allowed drop {policy.max_drop:g})", **counts, **scores)
