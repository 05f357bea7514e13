"""The decay with data age, fit on holdout slices: a trend is measured, noise is not."""

from __future__ import annotations

import pytest

from airloop.monitoring.staleness import Decay, fit, slices


def test_a_trend_in_the_error_is_measured_as_decay_per_day() -> None:
    ages = [10.0, 40.0, 70.0, 100.0, 130.0]
    mae = [100 * (1 + 0.002 * a) for a in ages]  # 0.2% worse a day, exactly
    decay = fit("mae", ages, mae, holdout=100.0, maximize=False, confidence=0.9)
    assert decay is not None
    assert decay.per_day == pytest.approx(0.002)
    assert decay.loss_at(50) == pytest.approx(0.1)
    assert decay.loss_at(-5) == 0.0  # a window older than the training data is not stale


def test_a_falling_score_is_decay_when_higher_is_better() -> None:
    ages = [5.0, 15.0, 25.0, 35.0]
    auc = [0.80, 0.79, 0.78, 0.77]
    decay = fit("roc_auc", ages, auc, holdout=0.8, maximize=True, confidence=None)
    assert decay is not None
    assert decay.per_day == pytest.approx(0.01 / 10 / 0.8)


def test_noise_without_a_trend_measures_no_decay() -> None:
    ages = [5.0, 15.0, 25.0, 35.0, 45.0, 55.0]
    mae = [100.0, 104.0, 97.0, 103.0, 99.0, 102.0]  # a slight upward slope, well inside its noise
    decay = fit("mae", ages, mae, holdout=100.0, maximize=False, confidence=0.9)
    assert decay is not None
    assert decay.slope > 0
    assert decay.per_day == 0.0
    assert fit("mae", ages, mae, holdout=100.0, maximize=False, confidence=None).per_day == decay.slope  # type: ignore[union-attr]


def test_an_improving_model_measures_no_decay() -> None:
    decay = fit("mae", [1.0, 2.0, 3.0], [110.0, 100.0, 90.0], holdout=100.0, maximize=False, confidence=None)
    assert decay is not None
    assert decay.per_day == 0.0


def test_too_few_points_or_ages_say_nothing() -> None:
    assert fit("mae", [1.0, 2.0], [1.0, 2.0], holdout=1.0, maximize=False, confidence=0.9) is None
    assert fit("mae", [3.0, 3.0, 3.0], [1.0, 2.0, 3.0], holdout=1.0, maximize=False, confidence=0.9) is None
    assert fit("mae", [1.0, 2.0, 3.0], [1.0, 2.0, 3.0], holdout=0.0, maximize=False, confidence=0.9) is None


def test_slices_need_enough_rows_each() -> None:
    assert slices(149) == 0
    assert slices(150) == 3
    assert slices(10_000) == 8


def test_a_decay_round_trips_as_stored() -> None:
    decay = fit("mae", [1.0, 2.0, 3.0], [1.0, 2.0, 3.1], holdout=2.0, maximize=False, confidence=0.9)
    assert decay is not None
    assert Decay.of(decay.to_dict()) == decay
