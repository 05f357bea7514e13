"""The monitor's view of a window of predictions: the champion's references, one streaming pass
(`monitoring.window.WindowPass`) over the prediction log or over a frame (the backtest), and what
the pass tells: drift, live performance on the labeled rows, estimated performance, and the
policy's ``Window`` in data time.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from typing import Any

from airloop.monitoring.window import small_pages
from airloop.tracking.tags import Tag, labels_of, metrics_of


def references(champion: Any) -> dict[str, Any]:
    """The champion's drift reference (features.json, prediction.json) and, when recorded,
    importance.json, calibration.json, decay.json (`steps.decay`) and recent.json (`steps.recent`):
    name -> parsed JSON."""
    import mlflow.artifacts

    uri = champion.tags.get(Tag.REFERENCE_URI)
    out: dict[str, Any] = {}
    if not uri:
        return out
    for name in ("features", "prediction", "importance", "calibration", "decay", "recent"):
        try:
            out[name] = json.loads(mlflow.artifacts.load_text(f"{uri}/{name}.json"))
        except Exception:  # not recorded for this champion (older airloop): what needs it falls back
            continue
    return out


def history(champion: Any, refs: dict[str, Any], last_request: float | None) -> Any:
    """What the policy remembers, and the champion it judges: its holdout metrics, its decay with
    data age and the time of its newest training row (``airloop.trained_until``)."""
    from airloop.monitoring.policy import History
    from airloop.steps.decay import until_seconds

    decay = refs.get("decay") or {}
    return History(
        last_request=last_request,
        holdout=metrics_of(champion.tags),
        decay_per_day=decay.get("per_day"),
        trained_until=until_seconds(champion.tags.get(Tag.TRAINED_UNTIL)),
    )


def start_pass(spec: Any, champion: Any, refs: dict[str, Any]) -> Any:
    """A pass that judges batches against the champion's references with the spec's statistics."""
    from airloop.model.labels import Labels
    from airloop.monitoring.drift import NumericSummary, Reference
    from airloop.monitoring.window import WindowPass

    m = spec.monitoring
    known = Labels.from_dict(labels_of(champion.tags))
    return WindowPass(
        Reference.from_dict(refs["features"]) if "features" in refs else None,
        NumericSummary(**refs["prediction"]) if "prediction" in refs else None,
        task=spec.task,
        positive_index=known.positive_index if known else -1,
        positive=known.positive if known else None,
        time_column=spec.split.column,
        numeric_method=m.numeric_method,
        categorical_method=m.categorical_method,
        psi_threshold=m.psi_threshold,
        p_threshold=m.p_threshold,
        recent=Reference.from_dict(refs["recent"]["reference"]) if "recent" in refs and "features" in refs else None,
    )


def columns_needed(spec: Any, refs: dict[str, Any]) -> list[str]:
    """The features a pass reads from the log: the reference's and the data's time column."""
    feats = refs.get("features", {})
    names = [*feats.get("numeric", {}), *feats.get("categorical", {})]
    return names + ([spec.split.column] if spec.split.column and spec.split.column not in names else [])


@small_pages
def over(spec: Any, champion: Any, batches: Iterable[Any], refs: dict[str, Any] | None = None) -> Any:
    """A finished pass over ``batches`` (`data.scan.Batch`es)."""
    seen = start_pass(spec, champion, references(champion) if refs is None else refs)
    for batch in batches:
        seen.add(batch.frame, batch.proba)
    return seen


def of_frame(frame: Any) -> Any:
    """A frame with a ``probabilities`` column of lists as one batch."""
    import numpy as np

    from airloop.data.scan import Batch

    probs = list(frame["probabilities"]) if "probabilities" in frame.columns else []
    width = max((len(p) for p in probs if p is not None), default=0)
    proba = None
    if width:
        proba = np.full((len(frame), width), np.nan)
        for i, p in enumerate(probs):
            if p is not None:
                proba[i, : len(p)] = p
    return Batch(frame, proba)


@small_pages
def performance(spec: Any, seen: Any, labels: dict[str, Any] | None) -> dict[str, Any]:
    """Metrics on the labeled predictions; ``labels`` (the champion's classes and positive class)
    maps labels posted as text or numbers onto the model's classes ("1" -> 1, "yes" -> "YES")."""
    import numpy as np

    from airloop.metrics import FAST_BINARY, compute, fast_binary
    from airloop.monitoring.policy import fewest_labeled

    m = spec.monitoring
    out: dict[str, Any] = {"labeled": seen.labeled.count}
    if seen.labeled.count < fewest_labeled(m.min_labeled, m.confidence):
        return out
    truth, answered, proba = seen.labeled.arrays()
    classes = labels["classes"] if labels else None

    coded = [_coerced(values, classes) for values in (truth, answered)] if classes else None

    def on_classes(values: Any, i: int) -> Any:  # object arrays of numbers read as "unknown" to sklearn
        if coded is None:
            return np.asarray(list(values))
        codes, mapped = coded[i]
        return np.asarray(mapped)[codes]

    positive = labels["positive"] if labels else None
    index = _class_indexes(spec, classes, coded)
    # the positive class's column (the last of the two when the champion names none)
    at = list(classes or []).index(positive) if index is not None and positive is not None else 1
    slow = [n for n in spec.metric_names if index is None or n not in FAST_BINARY]
    y, pred = (on_classes(truth, 0), on_classes(answered, 1)) if slow else (None, None)
    every = slice(None)

    def value_of(name: str, rows: Any = every) -> float:
        p = None if proba is None else proba[rows]
        if index is not None and name in FAST_BINARY:
            return fast_binary(name, index[0][rows], index[1][rows], p, at)
        return compute(name, y[rows], pred[rows], p, classes, positive)  # type: ignore[index]

    metrics: dict[str, float | None] = {}
    for name in spec.metric_names:
        try:
            value = value_of(name)
        except ValueError as exc:  # e.g. one class only among the labels so far
            value, why = None, str(exc)
        else:
            why = "undefined on these labels"
        if value is None or value != value:  # NaN: sklearn warns instead of raising for some metrics
            metrics[name] = None
            out.setdefault("skipped", {})[name] = why
        else:
            metrics[name] = value
    out["metrics"] = metrics
    small = seen.rows < m.min_rows or seen.labeled.count < m.min_labeled
    if small and m.confidence is not None:  # a small window, or few labels: how sure each metric is
        out["intervals"] = intervals(
            value_of, [n for n, v in metrics.items() if v is not None], len(truth), m.confidence
        )
    return out


def intervals(value_of: Any, names: list[str], n: int, confidence: float) -> dict[str, list[float]]:
    """Each metric's bootstrap interval over the ``n`` labeled rows (``value_of(name, rows)``)."""
    from airloop.monitoring.confidence import interval

    out = {}
    for name in names:
        span = interval(functools.partial(value_of, name), n, confidence)
        if span is not None:
            out[name] = list(span)
    return out


def _coerced(values: Any, classes: list[Any]) -> tuple[Any, list[Any]]:
    """(each value's code, the distinct values coerced onto the model's classes): a few distinct
    labels, so each is coerced once."""
    import pandas as pd

    from airloop.model.labels import coerce

    codes, distinct = pd.factorize(values)
    return codes, coerce(list(distinct), classes)


def _class_indexes(spec: Any, classes: Any, coded: list[tuple[Any, list[Any]]] | None) -> tuple[Any, Any] | None:
    """A binary model's labels and answers (``_coerced``) as indexes into its two classes, for the
    numpy metrics; None when any value is not one of them (scikit-learn then judges, and says why)."""
    import numpy as np

    if spec.task != "binary" or coded is None or len(classes) != 2:
        return None
    out = []
    for codes, mapped in coded:
        where = [next((i for i, c in enumerate(classes) if type(v) is type(c) and v == c), -1) for v in mapped]
        if -1 in where or (codes < 0).any():  # a value not a class, or a missing one
            return None
        out.append(np.asarray(where, dtype=np.int8)[codes])
    return out[0], out[1]


@small_pages
def estimated(spec: Any, seen: Any, calibration: dict[str, Any] | None) -> dict[str, Any]:
    """Performance estimated from the scores alone (CBPE), before labels arrive."""
    from airloop.monitoring.estimate import Calibration, estimate_binary, expected_accuracy

    if spec.task == "regression" or not seen.scored_rows:
        return {}
    if spec.task == "multiclass":
        return expected_accuracy(seen.max_sum, seen.scored_rows)
    if calibration is None:
        return {}
    scores, answered = seen.scored_arrays()
    estimate = estimate_binary(Calibration(**calibration), scores, answered)
    return {k: v for k, v in estimate.items() if k in spec.metric_names}


def judge(spec: Any, seen: Any, refs: dict[str, Any], labels: dict[str, Any] | None) -> tuple[Any, ...]:
    """What a finished pass says: (drift, live performance, estimated performance). In turn: side
    by side in two threads the run was no faster on two cores and peaked above 2 GB (10M rows)."""
    return seen.drift(), performance(spec, seen, labels), estimated(spec, seen, refs.get("calibration"))


def observe(
    spec: Any,
    seen: Any,
    refs: dict[str, Any],
    drift: dict[str, Any],
    perf: dict[str, Any],
    guess: dict[str, Any] | None = None,
) -> Any:
    """The policy's view of this window: drift weighted by the champion's importance, measured and
    estimated (``guess``, computed here when not given) performance, in data time."""
    from airloop.monitoring.policy import Signal, Window

    importance = refs.get("importance", {}).get("importance", {})
    noise = chance_levels(spec, refs.get("features", {}), drift.get("features", []), seen.rows)
    moved = moved_on(spec, refs, drift, seen.rows)
    carried = set(refs.get("recent", {}).get("drifted", []))
    signals = tuple(
        Signal(
            f["feature"],
            bool(f["drifted"]),
            float(f["statistic"]),
            importance.get(f["feature"]),
            noise.get(f["feature"]),
            persistent=f["feature"] in carried and f["feature"] not in moved,
        )
        for f in drift.get("features", [])
    )
    return Window(
        end=seen.end,
        rows=seen.rows,
        signals=signals,
        measured=perf.get("metrics") or {},
        labeled=perf.get("labeled", 0),
        estimated=estimated(spec, seen, refs.get("calibration")) if guess is None else guess,
        intervals={k: (v[0], v[1]) for k, v in (perf.get("intervals") or {}).items()},
        estimated_intervals=estimated_intervals(spec, seen, refs.get("calibration")),
    )


def estimated_intervals(spec: Any, seen: Any, calibration: dict[str, Any] | None) -> dict[str, tuple[float, float]]:
    """A small window's CBPE estimates as bootstrap intervals over its scored rows (binary models):
    the estimate's sampling error, as NannyML reports it; the calibration's own error is not in it.
    Only where the policy may judge estimates (``monitoring.performance`` estimated or auto)."""
    import numpy as np

    from airloop.monitoring.confidence import intervals
    from airloop.monitoring.estimate import Calibration, estimate_binary

    m = spec.monitoring
    if spec.task != "binary" or calibration is None or m.confidence is None or seen.rows >= m.min_rows:
        return {}
    if m.performance == "measured":
        return {}
    scores, answered = seen.scored_arrays()
    fitted = Calibration(**calibration)
    scores, answered = np.asarray(scores), np.asarray(answered)

    def estimates(rows: Any) -> dict[str, float | None]:  # every metric from one pass over the resample
        return estimate_binary(fitted, scores[rows], answered[rows])

    return intervals(estimates, list(spec.metric_names), len(scores), m.confidence)


def chance_levels(spec: Any, reference: dict[str, Any], results: list[dict[str, Any]], rows: int) -> dict[str, float]:
    """A small window's PSI level per drifted feature (``results``, drift against ``reference``):
    what chance alone reaches at its size."""
    from airloop.monitoring.confidence import psi_noise

    m = spec.monitoring
    if rows >= m.min_rows or m.confidence is None:
        return {}
    summaries = {**reference.get("numeric", {}), **reference.get("categorical", {})}
    return {
        f["feature"]: psi_noise(summaries[f["feature"]]["counts"], rows, m.confidence)
        for f in results
        if f["method"] == "psi" and f["drifted"] and f["feature"] in summaries
    }


def moved_on(spec: Any, refs: dict[str, Any], drift: dict[str, Any], rows: int) -> set[str]:
    """The features drifted against the champion's most recent training data too (beyond chance, in
    a small window): their drift is not the one the last training already saw."""
    results = drift.get("recent", [])
    noise = chance_levels(spec, refs.get("recent", {}).get("reference", {}), results, rows)
    return {f["feature"] for f in results if f["drifted"] and f["statistic"] >= noise.get(f["feature"], 0.0)}


def live_performance(spec: Any, frame: Any, labels: dict[str, Any] | None = None) -> dict[str, Any]:
    """``performance`` of a frame (a ``label``, ``prediction`` and ``probabilities`` column)."""
    seen = start_pass(spec, _NoReference(), {})
    seen.add(*_parts(of_frame(frame)))
    return performance(spec, seen, labels)


class _NoReference:
    tags: dict[str, str] = {}


def _parts(batch: Any) -> tuple[Any, Any]:
    return batch.frame, batch.proba
