"""gate.decide: thresholds, then the champion on the same holdout; one reason per check."""

from __future__ import annotations

import pytest

from airloop.spec.models import Promotion, Threshold
from airloop.steps.gate import decide


def promotion(min_improvement: float = 0.0, **thresholds: Threshold) -> Promotion:
    return Promotion(thresholds=thresholds, min_improvement=min_improvement)


def champion(version: int = 3, **metrics: float) -> dict:
    return {"version": version, "metrics": metrics}


def test_no_thresholds_and_no_champion_passes():
    verdict = decide(promotion(), "roc_auc", {"roc_auc": 0.6}, None)

    assert verdict == {"passed": True, "metric": "roc_auc", "reasons": ["no champion yet"]}


def test_thresholds_met():
    verdict = decide(
        promotion(roc_auc=Threshold(min=0.7), log_loss=Threshold(max=0.5)),
        "roc_auc",
        {"roc_auc": 0.75, "log_loss": 0.4},
        None,
    )

    assert verdict["passed"]
    assert verdict["reasons"] == [
        "roc_auc 0.7500 meets its threshold",
        "log_loss 0.4000 meets its threshold",
        "no champion yet",
    ]


def test_a_value_on_the_bound_meets_it():
    assert decide(promotion(roc_auc=Threshold(min=0.7, max=0.9)), "roc_auc", {"roc_auc": 0.7}, None)["passed"]


def test_below_minimum_fails():
    verdict = decide(promotion(roc_auc=Threshold(min=0.7)), "roc_auc", {"roc_auc": 0.65}, None)

    assert not verdict["passed"]
    assert "roc_auc 0.6500 is below the minimum 0.7" in verdict["reasons"]


def test_above_maximum_fails():
    verdict = decide(promotion(log_loss=Threshold(max=0.5)), "roc_auc", {"roc_auc": 0.9, "log_loss": 0.7}, None)

    assert not verdict["passed"]
    assert "log_loss 0.7000 is above the maximum 0.5" in verdict["reasons"]


def test_one_failed_threshold_fails_even_when_the_champion_is_beaten():
    verdict = decide(promotion(f1=Threshold(min=0.5)), "roc_auc", {"roc_auc": 0.9, "f1": 0.3}, champion(roc_auc=0.8))

    assert not verdict["passed"]
    assert len(verdict["reasons"]) == 2
    assert "beats champion v3" in verdict["reasons"][1]


def test_beating_the_champion_by_at_least_delta_passes():
    verdict = decide(promotion(min_improvement=0.01), "roc_auc", {"roc_auc": 0.85}, champion(roc_auc=0.80))

    assert verdict["passed"]
    (reason,) = verdict["reasons"]
    assert reason.startswith("roc_auc 0.8500 beats champion v3 (0.8000) by +0.0500")


def test_gain_below_delta_is_refused_with_a_reason():
    verdict = decide(promotion(min_improvement=0.01), "roc_auc", {"roc_auc": 0.805}, champion(7, roc_auc=0.80))

    assert not verdict["passed"]
    (reason,) = verdict["reasons"]
    assert "does not beat champion v7 (0.8000) by at least 0.01" in reason
    assert "higher is better, gain +0.0050" in reason
    assert "; " not in reason  # reasons are joined with "; " in the version tag


@pytest.mark.parametrize("candidate", [0.80, 0.75])
def test_a_tie_or_a_loss_is_refused_even_without_delta(candidate):
    verdict = decide(promotion(), "roc_auc", {"roc_auc": candidate}, champion(roc_auc=0.80))

    assert not verdict["passed"]


def test_minimized_metric_lower_is_better():
    better = decide(promotion(min_improvement=0.02), "log_loss", {"log_loss": 0.30}, champion(log_loss=0.35))
    worse = decide(promotion(), "log_loss", {"log_loss": 0.40}, champion(log_loss=0.35))

    assert better["passed"]
    assert "by +0.0500 (needs lower by at least 0.02)" in better["reasons"][0]
    assert not worse["passed"]
    assert "lower is better, gain -0.0500" in worse["reasons"][0]


def test_minimized_metric_gain_below_delta():
    verdict = decide(promotion(min_improvement=1.0), "rmse", {"rmse": 9.5}, champion(rmse=10.0))

    assert not verdict["passed"]
    assert "gain +0.5000" in verdict["reasons"][0]


def test_gain_exactly_delta_passes():
    verdict = decide(promotion(min_improvement=0.01), "accuracy", {"accuracy": 0.57}, champion(accuracy=0.56))

    assert verdict["passed"], verdict["reasons"]


def test_champion_that_could_not_score_falls_back_to_thresholds():
    failed = {"version": 4, "error": "column `x` is missing"}

    passing = decide(promotion(roc_auc=Threshold(min=0.7)), "roc_auc", {"roc_auc": 0.8}, failed)
    failing = decide(promotion(roc_auc=Threshold(min=0.9)), "roc_auc", {"roc_auc": 0.8}, failed)

    assert passing["passed"]
    assert not failing["passed"]
    reason = passing["reasons"][-1]
    assert "champion v4 cannot score this holdout (column `x` is missing)" in reason
    assert "thresholds only" in reason


def test_a_champion_refit_on_old_holdout_rows_is_judged_on_the_rows_it_never_saw():
    # on the whole holdout the champion (which learned from its older part) looks better; on the
    # 400 rows newer than its training data, the candidate is
    judged = {
        "version": 3,
        "metrics": {"roc_auc": 0.70},
        "candidate_metrics": {"roc_auc": 0.74},
        "rows": 400,
        "on": "holdout rows newer than the champion's training data",
    }
    verdict = decide(promotion(0.01), "roc_auc", {"roc_auc": 0.72}, judged)
    assert verdict["passed"]
    assert (
        "0.7400 beats champion v3 (0.7000) on the 400 holdout rows newer than the champion's" in verdict["reasons"][0]
    )


def test_unseen_rows_are_those_after_the_champions_training_data():
    import pandas as pd

    from airloop.spec.models import Split
    from airloop.steps.evaluate import unseen_by

    class Spec:
        split = Split(method="time", column="ts")

    X = pd.DataFrame({"ts": ["2024-01-30", "2024-02-01", "2024-02-02"], "x": [1, 2, 3]})
    assert list(unseen_by(Spec(), X, "2024-01-31 00:00:00")) == [False, True, True]
    assert list(unseen_by(Spec(), X, "2024-01-31 00:00:00+00:00")) == [False, True, True]
    assert unseen_by(Spec(), X, None) is None  # a champion from before the tag: the whole holdout
    Spec.split = Split(method="random")
    assert unseen_by(Spec(), X, "2024-01-31") is None
