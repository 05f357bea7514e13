"""A small window's uncertainty: the bootstrap interval of a metric and the PSI chance reaches."""

from __future__ import annotations

import numpy as np
import pytest

from airloop.monitoring.confidence import interval, intervals, psi_noise
from airloop.monitoring.drift import psi


def mean_error(errors: np.ndarray):
    return lambda rows: float(np.mean(errors[rows]))


def test_the_interval_holds_the_metric_and_narrows_as_rows_accumulate() -> None:
    rng = np.random.default_rng(1)
    errors = np.abs(rng.normal(100, 30, 4000))
    few = interval(mean_error(errors[:40]), 40, 0.9)
    many = interval(mean_error(errors), 4000, 0.9)
    assert few is not None
    assert many is not None
    assert few[0] < np.mean(errors[:40]) < few[1]
    assert many[0] < np.mean(errors) < many[1]
    assert (many[1] - many[0]) < (few[1] - few[0]) / 5  # sqrt(100) = 10 times narrower, about
    assert interval(mean_error(errors[:40]), 40, 0.9) == few  # seeded: the monitor and the backtest agree


def test_no_interval_where_the_metric_is_mostly_undefined() -> None:
    def undefined(rows: np.ndarray) -> float:
        raise ValueError("only one class present")

    assert interval(undefined, 50, 0.9) is None
    assert interval(mean_error(np.ones(1)), 1, 0.9) is None


def test_psi_noise_is_what_a_window_drawn_from_the_reference_reaches() -> None:
    counts = [100] * 10 + [0]  # ten equal bins and an empty missing bin
    small, large = psi_noise(counts, 20, 0.9), psi_noise(counts, 2000, 0.9)
    assert small > 0.2 > large  # 20 rows cross the usual threshold by chance alone; 2000 do not
    rng = np.random.default_rng(3)
    draws = [psi(counts, np.bincount(rng.integers(0, 10, 20), minlength=11)) for _ in range(400)]
    assert np.mean(np.asarray(draws) <= small) == pytest.approx(0.9, abs=0.05)


def test_metrics_computed_together_get_the_intervals_each_gets_alone() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=80)

    def both(rows: np.ndarray) -> dict[str, float | None]:
        part = x[rows]
        return {"mean": float(part.mean()), "top": float(part.max()), "never": None}

    together = intervals(both, ["mean", "top", "never"], len(x), 0.9)
    assert set(together) == {"mean", "top"}  # undefined on every resample: no interval
    for name in ("mean", "top"):
        assert together[name] == interval(lambda rows, name=name: both(rows)[name], len(x), 0.9)
