"""Performance estimated from calibrated scores matches the metric measured on labels drawn from them."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score

from airloop.monitoring.estimate import Calibration, estimate_binary, estimate_multiclass, expected_auc
from airloop.monitoring.importance import permutation_importance


def test_calibrated_scores_estimate_the_metrics_labels_would_give() -> None:
    rng = np.random.default_rng(0)
    scores = rng.beta(2, 3, 200_000)
    y = rng.random(len(scores)) < scores  # the scores are the true probabilities
    identity = Calibration([0.0, 1.0], [0.0, 1.0])
    est = estimate_binary(identity, scores, scores >= 0.5)
    assert est["roc_auc"] == pytest.approx(roc_auc_score(y, scores), abs=0.003)
    assert est["accuracy"] == pytest.approx(accuracy_score(y, scores >= 0.5), abs=0.003)
    assert est["f1"] == pytest.approx(f1_score(y, scores >= 0.5), abs=0.005)
    assert est["log_loss"] == pytest.approx(log_loss(y, scores), abs=0.005)


def test_calibration_corrects_overconfident_scores() -> None:
    rng = np.random.default_rng(1)
    truth = rng.beta(2, 2, 100_000)
    raw = np.clip(0.5 + 1.6 * (truth - 0.5), 0.001, 0.999)  # overconfident model
    y = rng.random(len(truth)) < truth
    cal = Calibration.fit(raw[:50_000], y[:50_000])
    est = estimate_binary(cal, raw[50_000:], raw[50_000:] >= 0.5)
    measured = accuracy_score(y[50_000:], raw[50_000:] >= 0.5)
    assert est["accuracy"] == pytest.approx(measured, abs=0.01)
    uncalibrated = estimate_binary(Calibration([0.0, 1.0], [0.0, 1.0]), raw[50_000:], raw[50_000:] >= 0.5)
    assert abs(uncalibrated["accuracy"] - measured) > 0.03  # what calibration buys


def test_expected_auc_of_ties_and_of_one_class() -> None:
    assert expected_auc(np.array([0.5, 0.5]), np.array([1.0, 0.0])) == pytest.approx(0.5)
    assert expected_auc(np.array([0.9, 0.1]), np.array([1.0, 1.0])) is None  # no expected negative


def test_multiclass_expects_the_top_probability() -> None:
    assert estimate_multiclass([[0.7, 0.2, 0.1], [0.4, 0.5, 0.1]]) == {"accuracy": pytest.approx(0.6)}


def test_permutation_importance_finds_the_column_the_score_uses() -> None:
    import pandas as pd

    rng = np.random.default_rng(2)
    X = pd.DataFrame({"used": rng.normal(size=2000), "ignored": rng.normal(size=2000)})
    y = X["used"] > 0
    imp = permutation_importance(lambda f: float(((f["used"] > 0) == y).mean()), X, ["used", "ignored"])
    assert imp["used"] > 0.4
    assert imp["ignored"] == 0.0


def _trapezoid_auc(scores: np.ndarray, weights: np.ndarray) -> float:
    """The ROC curve walked from the highest threshold down, ties on one point, area by trapezoids."""
    order = np.argsort(-scores, kind="stable")
    s, w = scores[order], weights[order]
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
    tp, fp = np.cumsum(w)[last], np.cumsum(1 - w)[last]
    tpr, fpr = np.r_[0.0, tp / tp[-1]], np.r_[0.0, fp / fp[-1]]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


@pytest.mark.parametrize("decimals", [None, 2])
def test_expected_auc_is_the_area_under_the_expected_roc_curve(decimals: int | None) -> None:
    rng = np.random.default_rng(4)
    scores = rng.beta(2, 5, 50_000)
    if decimals is not None:  # ties
        scores = np.round(scores, decimals)
    weights = np.interp(scores, [0.0, 0.3, 1.0], [0.05, 0.4, 0.9])
    want = _trapezoid_auc(scores, weights)
    assert expected_auc(scores, weights) == pytest.approx(want, abs=1e-12)
    ranked = np.sort(scores)
    assert expected_auc(ranked, np.interp(ranked, [0.0, 0.3, 1.0], [0.05, 0.4, 0.9]), ranked=True) == pytest.approx(
        want, abs=1e-12
    )
