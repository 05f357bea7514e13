"""The retraining policy, branch by branch: pure inputs, no files, no clock."""

from __future__ import annotations

import pytest

from airloop.monitoring.policy import (
    ACCUMULATING,
    NO_ACTION,
    REQUESTED,
    SUPPRESSED,
    History,
    Policy,
    Signal,
    Window,
    decide,
    weighted_drift,
)

DAY = 86400.0
T0 = 1_370_000_000.0  # June 2013, on the data's clock


def policy(**kw: object) -> Policy:
    base: dict[str, object] = {"metric": "roc_auc", "min_rows": 100, "min_labeled": 50, "cooldown_seconds": 7 * DAY}
    return Policy(**{**base, **kw})  # type: ignore[arg-type]


def window(**kw: object) -> Window:
    base: dict[str, object] = {"end": T0, "rows": 1000}
    return Window(**{**base, **kw})  # type: ignore[arg-type]


IMPORTANT_DRIFT = (
    Signal("temp", True, 0.4, importance=0.002),
    Signal("carrier", True, 0.3, importance=0.030),
    Signal("distance", False, 0.01, importance=0.010),
)
SEASONAL_DRIFT = (  # weather drifts, but the model leans on what did not move
    Signal("temp", True, 0.6, importance=0.001),
    Signal("humid", True, 0.5, importance=0.0005),
    Signal("dewp", True, 0.4, importance=-0.0002),
    Signal("carrier", False, 0.01, importance=0.030),
    Signal("dep_hour", False, 0.02, importance=0.020),
)


def test_fewer_rows_than_anything_can_be_judged_on_accumulate() -> None:
    d = decide(History(), window(rows=9, signals=IMPORTANT_DRIFT), policy())
    assert (d.retrain, d.verdict) == (False, ACCUMULATING)
    assert d.reason == "accumulating: 9 new predictions, 10 needed before judging"
    assert decide(History(), window(rows=9), policy(min_rows=5)).verdict == NO_ACTION  # min_rows under the floor


def test_without_confidence_a_small_window_waits_for_min_rows() -> None:
    d = decide(History(), window(rows=99, signals=IMPORTANT_DRIFT), policy(confidence=None))
    assert (d.retrain, d.verdict) == (False, ACCUMULATING)
    assert "99 new predictions, 100 needed" in d.reason


HOLDOUT_MAE = History(holdout={"mae": 20000.0})
MAE = {"metric": "mae", "maximize": False, "max_relative_drop": 0.1}  # fires above 22,000


def small(low: float, high: float, point: float | None = None) -> Window:
    point = (low + high) / 2 if point is None else point
    return window(rows=90, labeled=90, measured={"mae": point}, intervals={"mae": (low, high)})


def test_a_small_window_worse_even_at_its_calm_end_requests_with_stated_confidence() -> None:
    d = decide(HOLDOUT_MAE, small(23000, 27000), policy(**MAE))
    assert (d.retrain, d.verdict, d.confidence) == (True, REQUESTED, 0.9)
    assert "measured mae 25000.0000 is 25.0% worse than the holdout 20000.0000" in d.reason
    assert "(90% interval 23000.0000 to 27000.0000)" in d.reason
    assert d.reason.endswith("(decided on 90 predictions with 90% confidence)")


def test_a_small_window_calm_even_at_its_alarming_end_decides_no_action_with_stated_confidence() -> None:
    d = decide(HOLDOUT_MAE, small(17000, 21500), policy(**MAE))
    assert (d.retrain, d.verdict, d.confidence) == (False, NO_ACTION, 0.9)
    assert d.reason == "no trigger: measured mae 19250.0000 (decided on 90 predictions with 90% confidence)"


def test_a_small_window_whose_interval_straddles_the_bound_accumulates() -> None:
    d = decide(HOLDOUT_MAE, small(19000, 26000), policy(**MAE))
    assert (d.retrain, d.verdict) == (False, ACCUMULATING)
    assert d.reason.startswith("accumulating: 90 new predictions decide nothing with 90% confidence: ")
    assert "measured mae 22500.0000 (90% interval 19000.0000 to 26000.0000) straddles 22000.0000" in d.reason
    # the same numbers on a window of min_rows: the point estimate decides, as before
    full = window(rows=100, labeled=100, measured={"mae": 22500.0}, intervals={"mae": (19000.0, 26000.0)})
    assert decide(HOLDOUT_MAE, full, policy(**MAE)).verdict == REQUESTED


def test_higher_is_better_reads_the_low_end_as_the_alarm() -> None:
    h, p = History(holdout={"roc_auc": 0.80}), policy(max_relative_drop=0.1)  # fires under 0.72

    def auc(low: float, high: float) -> Window:
        return window(rows=60, labeled=60, measured={"roc_auc": (low + high) / 2}, intervals={"roc_auc": (low, high)})

    assert decide(h, auc(0.60, 0.70), p).verdict == REQUESTED
    assert decide(h, auc(0.73, 0.90), p).verdict == NO_ACTION
    assert decide(h, auc(0.65, 0.85), p).verdict == ACCUMULATING


def test_a_small_window_without_an_interval_cannot_decide_on_performance() -> None:
    w = window(rows=50, estimated={"roc_auc": 0.71}, labeled=0)
    d = decide(History(holdout={"roc_auc": 0.72}), w, policy(performance="estimated"))
    assert d.verdict == ACCUMULATING
    assert "estimated roc_auc 0.7100 has no interval at this size" in d.reason


def test_a_small_window_judges_estimated_performance_by_its_own_interval() -> None:
    h, p = History(holdout={"roc_auc": 0.80}), policy(performance="estimated", max_relative_drop=0.1)

    def guess(low: float, high: float) -> Window:
        point = {"roc_auc": (low + high) / 2}
        return window(rows=50, labeled=0, estimated=point, estimated_intervals={"roc_auc": (low, high)})

    worse = decide(h, guess(0.60, 0.70), p)
    assert (worse.verdict, worse.performance_source) == (REQUESTED, "estimated")
    assert "(90% interval 0.6000 to 0.7000)" in worse.reason
    assert decide(h, guess(0.73, 0.90), p).verdict == NO_ACTION
    assert decide(h, guess(0.65, 0.85), p).verdict == ACCUMULATING
    # the measured metric's interval is not the estimate's
    mixed = window(rows=50, labeled=0, estimated={"roc_auc": 0.65}, intervals={"roc_auc": (0.6, 0.7)})
    assert decide(h, mixed, p).verdict == ACCUMULATING


def test_a_small_window_counts_psi_drift_only_beyond_chance_at_its_size() -> None:
    chance = tuple(Signal(s.feature, s.drifted, s.statistic, s.importance, noise=0.5) for s in IMPORTANT_DRIFT)
    d = decide(History(), window(rows=40, signals=chance), policy())
    assert d.verdict == ACCUMULATING
    assert "carry 76% of the champion's importance (policy: 50%) (not beyond chance at this size)" in d.reason
    beyond = tuple(Signal(s.feature, s.drifted, s.statistic, s.importance, noise=0.2) for s in IMPORTANT_DRIFT)
    d = decide(History(), window(rows=40, signals=beyond), policy())
    assert (d.verdict, d.confidence) == (REQUESTED, 0.9)
    assert "drifted features (temp, carrier) carry 76%" in d.reason
    # noise is ignored on a full window, whose PSI threshold already holds
    assert decide(History(), window(rows=100, signals=chance), policy()).verdict == REQUESTED


def test_drift_on_what_the_model_uses_requests_retraining() -> None:
    d = decide(History(), window(signals=IMPORTANT_DRIFT), policy(drift_importance=0.5))
    assert (d.retrain, d.verdict) == (True, REQUESTED)
    assert d.weighted_drift == pytest.approx(0.032 / 0.042)
    assert "temp, carrier" in d.reason
    assert "76%" in d.reason


def test_drift_on_features_the_model_ignores_is_no_reason() -> None:
    d = decide(History(), window(signals=SEASONAL_DRIFT), policy(drift_importance=0.5, drifted_features=2))
    assert (d.retrain, d.verdict) == (False, NO_ACTION)
    assert d.weighted_drift == pytest.approx(0.0015 / 0.0515)  # negative importance counts as none
    assert "3%" in d.reason


def test_without_recorded_importance_drift_is_counted() -> None:
    unweighted = tuple(Signal(s.feature, s.drifted, s.statistic) for s in SEASONAL_DRIFT)
    assert weighted_drift(unweighted) is None
    d = decide(History(), window(signals=unweighted), policy(drifted_features=3))
    assert d.retrain
    assert "3 features drifted (temp, humid, dewp), policy allows 2" in d.reason
    assert not decide(History(), window(signals=unweighted), policy(drifted_features=4)).retrain
    assert not decide(History(), window(signals=unweighted), policy(drifted_features=None)).retrain


def test_measured_drop_below_holdout_requests_retraining() -> None:
    w = window(measured={"roc_auc": 0.66}, labeled=500)
    d = decide(History(holdout={"roc_auc": 0.72}), w, policy(max_performance_drop=0.05))
    assert d.retrain
    assert d.performance_source == "measured"
    assert "measured roc_auc 0.6600 is 0.0600 worse than the holdout 0.7200" in d.reason
    assert not decide(History(holdout={"roc_auc": 0.70}), w, policy(max_performance_drop=0.05)).retrain


def test_a_relative_drop_means_the_same_for_auc_and_for_dollars() -> None:
    p = policy(max_relative_drop=0.1)
    auc = decide(History(holdout={"roc_auc": 0.75}), window(measured={"roc_auc": 0.67}, labeled=500), p)
    assert auc.retrain
    assert "10.7% worse than the holdout 0.7500 (policy allows 10%)" in auc.reason
    mae = policy(metric="mae", maximize=False, max_relative_drop=0.1)
    assert decide(History(holdout={"mae": 16000.0}), window(measured={"mae": 18000.0}, labeled=500), mae).retrain
    assert not decide(History(holdout={"mae": 16000.0}), window(measured={"mae": 17000.0}, labeled=500), mae).retrain
    assert not decide(History(holdout={"mae": 0.0}), window(measured={"mae": 1.0}, labeled=500), mae).retrain


def test_a_metric_to_minimise_drops_upwards() -> None:
    w = window(measured={"rmse": 12.0}, labeled=500)
    p = policy(metric="rmse", maximize=False, max_performance_drop=1.0)
    assert decide(History(holdout={"rmse": 10.0}), w, p).retrain
    assert not decide(History(holdout={"rmse": 11.5}), w, p).retrain


def test_a_floor_on_any_metric() -> None:
    w = window(measured={"roc_auc": 0.8, "f1": 0.2}, labeled=500)
    d = decide(History(), w, policy(min_performance={"f1": 0.3}, max_performance_drop=None))
    assert d.retrain
    assert "measured f1 0.2000 is below the minimum 0.3" in d.reason


def test_too_few_labels_measure_nothing() -> None:
    w = window(measured={"roc_auc": 0.5}, labeled=49, estimated={"roc_auc": 0.5})
    d = decide(History(holdout={"roc_auc": 0.72}), w, policy(performance="measured"))
    assert (d.retrain, d.performance_source) == (False, None)
    assert "no performance to judge yet" in d.reason


def few_labels(low: float, high: float, labeled: int = 12) -> Window:
    """A window of min_rows and more whose labels are still few: a year of monthly rows, say."""
    return window(rows=400, labeled=labeled, measured={"mae": (low + high) / 2}, intervals={"mae": (low, high)})


def test_few_labels_worse_even_at_the_calm_end_request_and_say_how_many() -> None:
    d = decide(HOLDOUT_MAE, few_labels(23000, 27000), policy(**MAE))
    assert (d.retrain, d.verdict, d.confidence, d.performance_source) == (True, REQUESTED, 0.9, "measured")
    assert "(90% interval 23000.0000 to 27000.0000)" in d.reason
    assert d.reason.endswith("(decided on 400 predictions, 12 of them labeled, with 90% confidence)")


def test_few_labels_calm_at_the_alarming_end_decide_no_action() -> None:
    d = decide(HOLDOUT_MAE, few_labels(15000, 21000), policy(**MAE))
    assert (d.retrain, d.verdict, d.confidence) == (False, NO_ACTION, 0.9)
    assert "measured mae 18000.0000" in d.reason


def test_few_labels_straddling_the_bound_accumulate_until_more_labels_come() -> None:
    d = decide(HOLDOUT_MAE, few_labels(19000, 26000), policy(**MAE))
    assert (d.retrain, d.verdict) == (False, ACCUMULATING)
    assert d.reason.startswith("accumulating: 12 labeled predictions decide nothing with 90% confidence: ")


def test_few_labels_without_confidence_or_under_the_floor_measure_nothing() -> None:
    assert decide(HOLDOUT_MAE, few_labels(23000, 27000), policy(**MAE, confidence=None)).performance_source is None
    under = few_labels(23000, 27000, labeled=9)  # fewer than any bootstrap states anything of
    assert decide(HOLDOUT_MAE, under, policy(**MAE)).performance_source is None


def test_estimated_performance_acts_before_labels() -> None:
    w = window(estimated={"roc_auc": 0.60}, labeled=0)
    d = decide(History(holdout={"roc_auc": 0.72}), w, policy(performance="estimated"))
    assert d.retrain
    assert d.performance_source == "estimated"
    assert "estimated roc_auc 0.6000" in d.reason


def test_auto_prefers_measured_once_labels_are_in() -> None:
    h, p = History(holdout={"roc_auc": 0.72}), policy(performance="auto")
    before = window(estimated={"roc_auc": 0.60}, labeled=10, measured={"roc_auc": 0.9})
    assert decide(h, before, p).performance_source == "estimated"
    after = window(estimated={"roc_auc": 0.60}, labeled=500, measured={"roc_auc": 0.71})
    d = decide(h, after, p)
    assert (d.retrain, d.performance_source) == (False, "measured")


def test_cooldown_is_data_time_and_says_until_when() -> None:
    h = History(last_request=T0 - 3 * DAY, holdout={"roc_auc": 0.72})
    w = window(end=T0, measured={"roc_auc": 0.60}, labeled=500)
    d = decide(h, w, policy(cooldown_seconds=7 * DAY))
    assert (d.retrain, d.verdict) == (False, SUPPRESSED)
    assert d.suppressed_until == T0 + 4 * DAY
    assert "suppressed: cooldown until 2013-06-04" in d.reason
    assert "16.7% worse than the holdout" in d.reason  # what it would have asked for stays visible
    # the same history, a window whose data is 8 days past the request: no longer suppressed
    assert decide(h, window(end=T0 + 5 * DAY, measured={"roc_auc": 0.60}, labeled=500), policy()).retrain


def test_a_replay_decides_as_production_whatever_the_wall_clock() -> None:
    # nothing in the inputs is wall-clock time: the same inputs, the same decision
    h = History(last_request=T0 - DAY, holdout={"roc_auc": 0.72})
    w = window(measured={"roc_auc": 0.60}, labeled=500)
    assert decide(h, w, policy()) == decide(h, w, policy())


def test_no_trigger_says_what_it_saw() -> None:
    w = window(signals=SEASONAL_DRIFT, measured={"roc_auc": 0.71}, labeled=500)
    d = decide(History(holdout={"roc_auc": 0.72}), w, policy())
    assert d.verdict == NO_ACTION
    assert d.reason.startswith("no trigger: drifted features carry 3% of the importance, measured roc_auc 0.7100")


def test_the_monitor_reads_data_time_from_the_time_column() -> None:
    import pandas as pd

    from airloop.monitoring.window import WindowPass

    def data_time(_spec: object, frame: pd.DataFrame) -> float | None:
        seen = WindowPass(None, None, task="binary", time_column="ts")
        half = len(frame) // 2  # over two batches: the newest of both
        for part in (frame.iloc[half:], frame.iloc[:half]):
            seen.add(part.assign(prediction=0, label=None), None)
        return seen.end

    class Spec:
        pass

    logged = pd.to_datetime(["2026-11-28 10:00", "2026-11-28 10:01"], utc=True)
    replayed = pd.DataFrame({"ts": ["2013-07-01 05:00", "2013-07-31 23:00"], "logged_at": logged})
    assert data_time(Spec(), replayed) == pd.Timestamp("2013-07-31 23:00", tz="UTC").timestamp()
    live = pd.DataFrame({"x": [1, 2], "logged_at": logged})  # no time column among the features
    assert data_time(Spec(), live) == logged.max().timestamp()


# --- staleness: the champion's expected loss from its data age ------------------------------------
DECAYING = History(holdout={"roc_auc": 0.8}, decay_per_day=0.001, trained_until=T0 - 120 * DAY)  # 12% at 120 days


def test_staleness_past_the_bound_requests_a_retrain() -> None:
    d = decide(DECAYING, window(), policy(max_staleness_loss=0.1))
    assert (d.retrain, d.verdict) == (True, REQUESTED)
    assert d.reason == (
        "staleness: the champion's data is 120 days old; at the decay measured on its holdout (3.0% per 30 days) "
        "it is expected 12.0% worse (policy: 10%)"
    )


def test_staleness_under_the_bound_is_stated_and_calm() -> None:
    d = decide(DECAYING, window(end=T0 - 30 * DAY), policy(max_staleness_loss=0.1))  # 90 days: 9%
    assert (d.retrain, d.verdict) == (False, NO_ACTION)
    assert d.reason == "no trigger: no performance to judge yet, expected loss from staleness 9.0%"
    assert d.staleness == pytest.approx(0.09)


def test_no_measured_decay_never_asks_however_old() -> None:
    stationary = History(decay_per_day=0.0, trained_until=T0 - 3650 * DAY)
    assert decide(stationary, window(), policy(max_staleness_loss=0.1)).verdict == NO_ACTION
    unknown = History(trained_until=T0 - 3650 * DAY)  # a champion trained before decay was recorded
    assert decide(unknown, window(), policy(max_staleness_loss=0.1)).reason == "no trigger: no performance to judge yet"


def test_staleness_off_in_the_policy_never_asks() -> None:
    assert decide(DECAYING, window(), policy(max_staleness_loss=None)).verdict == NO_ACTION


def test_staleness_decides_a_small_window_as_surely_and_keeps_the_cooldown() -> None:
    small = decide(DECAYING, window(rows=20), policy(max_staleness_loss=0.1))
    assert small.verdict == REQUESTED
    assert small.reason.endswith("(decided on 20 predictions with 90% confidence)")
    recent = History(**{**DECAYING.__dict__, "last_request": T0 - DAY})
    assert decide(recent, window(), policy(max_staleness_loss=0.1)).verdict == SUPPRESSED


# --- drift that retraining cannot remove ----------------------------------------------------------
TRENDING = (  # listings and inventory had drifted in the champion's newest training data already
    Signal("listings", True, 0.5, importance=0.3, persistent=True),
    Signal("inventory", True, 0.4, importance=0.3, persistent=True),
    Signal("sales", False, 0.05, importance=0.4),
)


def test_persistent_drift_alone_does_not_request_and_is_named() -> None:
    d = decide(History(), window(signals=TRENDING), policy(drift_importance=0.5))
    assert (d.retrain, d.verdict) == (False, NO_ACTION)
    assert d.weighted_drift == 0.0
    assert d.reason == (
        "no trigger: drifted features carry 0% of the importance, no performance to judge yet; "
        "persistent drift, present at the last training (not counted): listings, inventory"
    )
    assert d.persistent == ("listings", "inventory")


def test_the_same_features_drifting_anew_request_with_their_alarm() -> None:
    moved_on = tuple(Signal(s.feature, s.drifted, s.statistic, s.importance) for s in TRENDING)
    d = decide(History(), window(signals=moved_on), policy(drift_importance=0.5))
    assert (d.retrain, d.verdict) == (True, REQUESTED)
    assert d.weighted_drift == pytest.approx(0.6)
    assert d.alarms == ("drift:inventory,listings",)


def test_persistent_drift_is_not_counted_by_the_feature_count_either() -> None:
    bare = tuple(Signal(s.feature, s.drifted, s.statistic, persistent=s.persistent) for s in TRENDING)
    by_count = policy(drift_importance=None, drifted_features=2)
    assert decide(History(), window(signals=bare), by_count).verdict == NO_ACTION


def test_a_request_beside_persistent_drift_names_both_and_its_alarms() -> None:
    drop = {"roc_auc": 0.6}
    d = decide(
        History(holdout={"roc_auc": 0.8}, decay_per_day=0.001, trained_until=T0 - 120 * DAY),
        window(signals=TRENDING, measured=drop, labeled=500),
        policy(drift_importance=0.5, max_staleness_loss=0.1),
    )
    assert d.verdict == REQUESTED
    assert d.alarms == ("performance:roc_auc", "staleness")
    assert d.reasons[-1] == "persistent drift, present at the last training (not counted): listings, inventory"
