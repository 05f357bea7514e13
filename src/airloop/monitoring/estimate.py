"""Performance before labels arrive: confidence-based estimation (CBPE, as NannyML does it).

At evaluation, the champion's positive-class scores on its holdout are calibrated against the
holdout's labels (isotonic regression, stored as a small JSON curve). On live predictions, each
calibrated score is the probability that the row is positive, so the expected confusion matrix at
every threshold follows, and from it the expected metric: ROC AUC over all thresholds, accuracy,
precision, recall and F1 at the model's own decisions, and the expected log loss.

The estimate holds while the relation between features and label (concept) stays put; it sees
covariate shift, not concept drift, which is why measured performance wins once labels are in.
Multiclass: accuracy only (the expected top-class hit rate, uncalibrated). Regression: no estimate;
the policy then relies on importance-weighted drift until labels arrive.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

ESTIMABLE = ("roc_auc", "accuracy", "precision", "recall", "f1", "log_loss")


@dataclass(frozen=True)
class Calibration:
    """A monotone map from a raw positive score to the probability of the positive class."""

    scores: list[float]
    probabilities: list[float]

    @classmethod
    def fit(cls, scores: Any, positives: Any) -> Calibration:
        import numpy as np
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        iso.fit(np.asarray(scores, dtype="float64"), np.asarray(positives, dtype="float64"))
        return cls([float(x) for x in iso.X_thresholds_], [float(y) for y in iso.y_thresholds_])

    def apply(self, scores: Any) -> Any:
        import numpy as np

        return np.interp(np.asarray(scores, dtype="float64"), self.scores, self.probabilities)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def estimate_binary(calibration: Calibration, scores: Any, predicted_positive: Any) -> dict[str, float | None]:
    """Expected metrics of a binary model on rows it scored (``scores``: the positive class's
    probability; ``predicted_positive``: whether it answered the positive class)."""
    import numpy as np

    raw = np.clip(np.asarray(scores, dtype="float64"), 1e-15, 1 - 1e-15)
    p = calibration.apply(raw)  # P(positive | score)
    yes = np.asarray(predicted_positive, dtype=bool)
    n = len(p)
    if n == 0:
        return {}
    said, expected = int(np.count_nonzero(yes)), float(p.sum())
    tp = float(p[yes].sum())
    fp, fn = said - tp, expected - tp
    ranked = np.sort(raw)  # p is a function of the score: no need to carry it through an argsort
    out: dict[str, float | None] = {
        "roc_auc": expected_auc(ranked, calibration.apply(ranked), ranked=True),
        "accuracy": float((tp + (n - said) - fn) / n),
        "precision": float(tp / (tp + fp)) if tp + fp > 0 else None,
        "recall": float(tp / (tp + fn)) if tp + fn > 0 else None,
        "f1": float(2 * tp / (2 * tp + fp + fn)) if tp + fp + fn > 0 else None,
        "log_loss": float(-(p * np.log(raw) + (1 - p) * np.log(1 - raw)).mean()),
    }
    return out


def expected_auc(raw: Any, p: Any, ranked: bool = False) -> float | None:
    """ROC AUC with each row counted as p positive and 1 - p negative, thresholds at every score
    (``ranked``: the scores come sorted, lowest first). As the Mann-Whitney sum: each tie group's
    expected positives times the expected negatives below it plus half of those beside it, which
    is the trapezoid area of the ROC curve through the groups; in ascending, contiguous order."""
    import numpy as np

    if ranked:
        s, w = np.asarray(raw, dtype="float64"), np.asarray(p, dtype="float64")
    else:
        order = np.argsort(raw, kind="stable")
        s, w = np.asarray(raw, dtype="float64")[order], np.asarray(p, dtype="float64")[order]
    if not len(s):
        return None
    ends = np.append(np.flatnonzero(s[1:] != s[:-1]), len(s) - 1)  # ties share one threshold
    positives = np.cumsum(w)[ends]
    negatives = (ends + 1) - positives
    if positives[-1] <= 0 or negatives[-1] <= 0:
        return None
    pos_in, neg_in = np.diff(positives, prepend=0.0), np.diff(negatives, prepend=0.0)
    pairs = np.sum(pos_in * (negatives - neg_in / 2))
    return float(pairs / (positives[-1] * negatives[-1]))


def estimate_multiclass(probabilities: Any) -> dict[str, float | None]:
    import numpy as np

    proba = np.asarray(probabilities, dtype="float64")
    return expected_accuracy(float(proba.max(axis=1).sum()), len(proba))


def expected_accuracy(top_sum: float, rows: int) -> dict[str, float | None]:
    """A multiclass model's expected accuracy: the mean of each row's top probability (from its
    running sum, so a window can be streamed)."""
    return {"accuracy": top_sum / rows} if rows else {}
