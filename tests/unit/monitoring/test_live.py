"""The live comparison of a shadow challenger with the champion on the same labeled rows."""

from __future__ import annotations

import numpy as np
import pytest

from airloop.monitoring.live import compare
from airloop.spec.models import CanaryPromotion, LivePromotion


def binary(n: int, seed: int, noise_champion: float, noise_challenger: float):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)

    def model(noise: float):
        p1 = np.clip(0.5 + (y - 0.5) * 0.4 + rng.normal(0, noise, n), 0.001, 0.999)
        proba = np.column_stack([1 - p1, p1])
        return (p1 > 0.5).astype(int), proba

    return y, model(noise_champion), model(noise_challenger)


def test_waits_for_enough_labeled_rows() -> None:
    y, a, b = binary(100, 0, 0.3, 0.1)
    found = compare("roc_auc", y, a, b, LivePromotion(min_labeled=500), classes=[0, 1], positive=1)
    assert not found.wins
    assert found.reason == "waiting: 100 labeled rows answered by both, 500 needed"


def test_a_clearly_better_challenger_wins_with_its_interval() -> None:
    y, a, b = binary(2000, 1, 0.4, 0.15)
    found = compare("roc_auc", y, a, b, LivePromotion(min_labeled=500), classes=[0, 1], positive=1)
    assert found.wins
    assert found.challenger > found.champion
    assert 0 < found.low < found.difference < found.high
    assert "challenger beats the champion on 2000 labeled live rows" in found.reason
    assert "95% CI" in found.reason


def test_the_same_model_does_not_win_and_a_margin_is_respected() -> None:
    y, a, _ = binary(2000, 2, 0.3, 0.3)
    same = compare("roc_auc", y, a, a, LivePromotion(min_labeled=500), classes=[0, 1], positive=1)
    assert not same.wins
    assert same.difference == 0
    y, a, b = binary(2000, 3, 0.4, 0.15)
    huge = compare("roc_auc", y, a, b, LivePromotion(min_labeled=500, min_improvement=0.5), classes=[0, 1], positive=1)
    assert not huge.wins
    assert "does not beat" in huge.reason


def test_an_error_metric_counts_lower_as_better() -> None:
    rng = np.random.default_rng(4)
    y = rng.normal(0, 1, 1000)
    worse, better = y + rng.normal(0, 1.0, 1000), y + rng.normal(0, 0.2, 1000)
    found = compare("rmse", y, (worse, None), (better, None), LivePromotion(min_labeled=100))
    assert found.wins
    assert found.difference > 0
    assert found.challenger < found.champion
    backwards = compare("rmse", y, (better, None), (worse, None), LivePromotion(min_labeled=100, test="none"))
    assert not backwards.wins
    assert backwards.low is None
    assert backwards.difference < 0


def labeled(n: int, seed: int, noise: float):
    y, _, (pred, proba) = binary(n, seed, 0.3, noise)
    return y, pred, proba


def test_a_canary_that_fails_rolls_back_before_any_label() -> None:
    from airloop.monitoring.live import judge_canary

    empty = ([], [], None)
    found = judge_canary("roc_auc", empty, empty, answered=90, failed=10, policy=CanaryPromotion(), classes=[0, 1])
    assert found.action == "rollback"
    assert found.reason == "canary failed on 10 of 100 records (10.0%), more than 1.0%"
    few = judge_canary("roc_auc", empty, empty, answered=5, failed=2, policy=CanaryPromotion(), classes=[0, 1])
    assert few.action == "waiting"  # 7 records are too few to call an error rate


def test_a_canary_is_rolled_back_when_worse_and_promoted_when_it_holds() -> None:
    from airloop.monitoring.live import judge_canary

    policy = CanaryPromotion(min_labeled=300, max_drop=0.02)
    champion, worse, alike = labeled(1000, 5, 0.15), labeled(400, 6, 0.6), labeled(400, 7, 0.15)
    out = judge_canary("roc_auc", champion, worse, 400, 0, policy, classes=[0, 1], positive=1)
    assert out.action == "rollback"
    assert out.difference < -0.02
    assert out.reason.startswith("canary is worse: roc_auc")
    held = judge_canary("roc_auc", champion, alike, 400, 0, policy, classes=[0, 1], positive=1)
    assert held.action == "promote"
    assert held.reason.startswith("canary holds")
    early = judge_canary("roc_auc", champion, labeled(100, 8, 0.15), 100, 0, policy, classes=[0, 1], positive=1)
    assert early.action == "waiting"


@pytest.mark.parametrize("metric", ["roc_auc", "accuracy", "f1"])
def test_the_bootstrap_on_class_indexes_equals_scoring_each_resample_with_compute(metric: str, monkeypatch) -> None:
    from airloop.monitoring import live

    y, a, b = binary(600, 5, 0.4, 0.3)
    labels = np.where(y == 1, "late", "on time")  # labels as users have them, the positive one named
    a, b = [(np.where(pred == 1, "late", "on time"), proba[:, ::-1]) for pred, proba in (a, b)]
    policy = LivePromotion(min_labeled=100)
    monkeypatch.setattr(live, "BOOTSTRAP_ROUNDS", 100)  # the same resamples on both paths (one seed)
    assert live._fast_scorer(metric, labels, (a, b), ["late", "on time"], "late") is not None
    fast = compare(metric, labels, a, b, policy, classes=["late", "on time"], positive="late")
    monkeypatch.setattr(live, "_fast_scorer", lambda *args: None)
    slow = compare(metric, labels, a, b, policy, classes=["late", "on time"], positive="late")
    assert (fast.low, fast.high) == pytest.approx((slow.low, slow.high), abs=1e-12)
    assert fast.reason == slow.reason


def test_a_positive_class_outside_the_classes_is_scored_as_compute_scores_it(monkeypatch) -> None:
    from airloop.monitoring import live

    monkeypatch.setattr(live, "BOOTSTRAP_ROUNDS", 50)
    y, a, b = binary(600, 6, 0.4, 0.3)
    found = compare("accuracy", y, a, b, LivePromotion(min_labeled=100), classes=[0, 1], positive=2)
    assert found.low is not None  # accuracy needs no positive class: compute scored every resample
