"""The numpy binary metrics equal scikit-learn's, including where sklearn refuses or divides by zero."""

from __future__ import annotations

import numpy as np
import pytest

from airloop.metrics import FAST_BINARY, compute, fast_binary


def _case(seed: int, n: int, ties: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.beta(2, 3, n)
    if ties:  # logged probabilities are rounded: many rows share a score
        p = np.round(p, 2)
    truth = (rng.random(n) < p).astype(np.int8)
    answered = (p >= 0.5).astype(np.int8)
    return truth, answered, np.column_stack([1 - p, p])


@pytest.mark.parametrize("name", FAST_BINARY)
@pytest.mark.parametrize(("seed", "n", "ties"), [(0, 5000, False), (1, 5000, True), (2, 7, True)])
def test_each_metric_equals_scikit_learn(name: str, seed: int, n: int, ties: bool) -> None:
    truth, answered, proba = _case(seed, n, ties)
    classes = ["no", "yes"]  # text classes: sklearn sees the labels, numpy their indexes
    y, pred = np.array(classes, dtype=object)[truth], np.array(classes, dtype=object)[answered]
    want = compute(name, y, pred, proba, classes, "yes")
    assert fast_binary(name, truth, answered, proba, 1) == pytest.approx(want, abs=1e-12)


def test_the_positive_class_may_be_the_first_column() -> None:
    truth, answered, proba = _case(3, 2000, True)
    for name in FAST_BINARY:
        want = compute(name, truth, answered, proba, [0, 1], 0)
        assert fast_binary(name, truth, answered, proba, 0) == pytest.approx(want, abs=1e-12)


def test_refusals_and_zero_divisions_match_scikit_learn() -> None:
    truth = np.zeros(10, np.int8)  # one class only among the labels
    proba = np.column_stack([np.full(10, 0.7), np.full(10, 0.3)])
    with pytest.warns(
        UserWarning, match="Only one class"
    ):  # scikit-learn 1.9 answers NaN; the monitor records either as skipped
        assert np.isnan(compute("roc_auc", truth, truth, proba, [0, 1], 1))
    with pytest.raises(ValueError, match="Only one class"):
        fast_binary("roc_auc", truth, truth, proba, 1)
    for name in ("f1", "precision", "recall"):  # no positive anywhere: sklearn answers 0
        assert fast_binary(name, truth, truth, proba, 1) == compute(name, truth, truth, proba, [0, 1], 1) == 0.0
    with pytest.raises(ValueError, match="probabilities"):
        fast_binary("log_loss", truth, truth, None, 1)
    proba[0, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fast_binary("roc_auc", truth, truth, proba, 1)
