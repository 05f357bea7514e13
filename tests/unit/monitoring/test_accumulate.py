"""Drift streamed over batches equals the one-shot `compute_drift` / `prediction_drift` on the whole window."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from airloop.errors import DataError
from airloop.monitoring.accumulate import DriftAccumulator, ScoreDriftAccumulator
from airloop.monitoring.drift import (
    MAX_EXACT_KS,
    STATISTICS,
    FeatureDrift,
    KsTally,
    NumericSummary,
    Reference,
    Thresholds,
    compute_drift,
    feature_values,
    prediction_drift,
)

NUMERIC = ["floats", "ints", "nullable", "skewed"]
CATEGORICAL = ["many", "ints_cat", "flag", "mixed", "dtype_cat"]
METHODS = [
    {},
    {"categorical_method": "chi2", "ks": True},
    {"numeric_method": "ks", "categorical_method": "chi2"},
]


# --- helpers ------------------------------------------------------------------------------------


def window(seed: int, n: int, shift: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    floats = rng.normal(shift, 1.0, n)
    floats[rng.random(n) < 0.05] = np.nan
    floats[rng.random(n) < 0.01] = np.inf
    skewed = rng.lognormal(shift, 1.0, n)
    many = rng.zipf(1.6 + shift, n).astype(str)  # more categories than top_k; unseen ones later
    many[rng.random(n) < 0.03] = None
    nullable = pd.array(rng.integers(0, 30, n), dtype="Int64")
    nullable[rng.random(n) < 0.1] = pd.NA
    mixed = np.array(rng.choice([1, 2, "1", "x", None, 2.0, 3.5], n), dtype=object)  # "1" and 1 are one
    return pd.DataFrame(
        {
            "floats": floats,
            "ints": rng.integers(0, 5 + int(3 * shift), n),  # ties on the KS sample points
            "nullable": nullable,
            "skewed": skewed,
            "many": many,
            "ints_cat": rng.integers(0, 6 + int(4 * shift), n),
            "flag": rng.random(n) < 0.3 + shift / 5,
            "mixed": mixed,
            "dtype_cat": pd.Categorical(rng.choice(["x", "y", "z"], n), categories=["w", "x", "y", "z"]),
        }
    )


@pytest.fixture(scope="module")
def reference() -> Reference:
    return Reference.fit(window(0, 4000, 0.0), NUMERIC, CATEGORICAL, top_k=8, ks_sample=1500)


def split(frame: pd.DataFrame, sizes: list[int]) -> list[pd.DataFrame]:
    """Consecutive batches of these sizes, the last one taking the rest."""
    bounds = np.cumsum([0, *sizes, len(frame)]).clip(max=len(frame))
    return [frame.iloc[lo:hi] for lo, hi in itertools.pairwise(bounds)]


def accumulate(reference: Reference, batches: list[pd.DataFrame], **kwargs: object) -> list[FeatureDrift]:
    acc = DriftAccumulator(reference, **kwargs)
    for batch in batches:
        acc.add(batch)
    assert acc.rows == sum(len(b) for b in batches)
    return acc.results()


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == pytest.approx(b, rel=1e-9, abs=1e-9)


def assert_same(got: list[FeatureDrift], want: list[FeatureDrift]) -> None:
    assert [(r.feature, r.kind, r.method) for r in got] == [(r.feature, r.kind, r.method) for r in want]
    for g, w in zip(got, want, strict=True):
        assert close(g.statistic, w.statistic), (g, w)
        assert close(g.p_value, w.p_value), (g, w)
        assert (g.drifted, g.threshold) == (w.drifted, w.threshold), (g, w)


# --- the accumulated window equals the whole window ---------------------------------------------


@pytest.mark.parametrize("kwargs", METHODS)
@pytest.mark.parametrize(("seed", "shift"), [(1, 0.0), (2, 0.4)])
def test_uneven_batches_give_the_whole_window_result(reference, kwargs, seed, shift):
    frame = window(seed, 3000, shift)
    batches = split(frame, [1, 0, 733, 1, 1200, 5])
    assert [len(b) for b in batches] == [1, 0, 733, 1, 1200, 5, 1060]
    want = compute_drift(reference, frame, psi_threshold=0.1, p_threshold=0.05, **kwargs)
    got = accumulate(reference, batches, psi_threshold=0.1, p_threshold=0.05, **kwargs)
    assert_same(got, want)
    if shift:  # the drifted flags are compared on both values
        assert any(r.drifted for r in want)
        assert not all(r.drifted for r in want)


@pytest.mark.parametrize("sizes", [[1] * 400, [7] * 60, [100] * 4, [997], [0]])
def test_the_batch_size_does_not_change_the_result(reference, sizes):
    frame = window(3, 400, 0.2)
    want = compute_drift(reference, frame, categorical_method="chi2", ks=True)
    assert_same(accumulate(reference, split(frame, sizes), categorical_method="chi2", ks=True), want)


def dtype_batches(*, fractional: bool) -> list[pd.DataFrame]:
    """One categorical and one numeric column whose dtype differs from batch to batch."""
    floats = [0.0, 1.0, np.nan, 4.0, 2.5 if fractional else 5.0, np.nan]
    return [
        pd.DataFrame({"cat": np.array([0, 1, 1, 2, 7], dtype=np.int64), "num": np.arange(5, dtype=np.int64)}),
        pd.DataFrame({"cat": floats, "num": [0.5, np.nan, 2.0, np.inf, 9.0, 1.0]}),
        pd.DataFrame({"cat": ["1", "2", None, "z"], "num": pd.array([1, None, 3, 4], dtype="Int64")}),
        pd.DataFrame({"cat": pd.Series([], dtype=object), "num": pd.Series([], dtype=float)}),
    ]


@pytest.mark.parametrize("fractional", [False, True])
@pytest.mark.parametrize("order", list(itertools.permutations(range(4))))
def test_batches_whose_dtypes_differ_give_the_concatenated_result(order, fractional):
    reference = Reference.fit(
        pd.DataFrame({"cat": [0, 1, 2, 2, 3, 5.0, None] * 30, "num": np.arange(210.0) % 11}), ["num"], ["cat"]
    )
    batches = [dtype_batches(fractional=fractional)[i] for i in order]
    whole = pd.concat(batches, ignore_index=True)
    for method in ("psi", "chi2"):
        want = compute_drift(reference, whole, categorical_method=method, ks=True)
        assert_same(accumulate(reference, batches, categorical_method=method, ks=True), want)


def test_category_keys_are_made_on_the_whole_window_not_per_batch():
    """Why the tally keeps raw values: the keys of a float batch depend on the rest of the window."""
    reference = Reference.fit(pd.DataFrame({"cat": [1, 2] * 50}), [], ["cat"])
    ints = pd.DataFrame({"cat": [1, 2, 2]})
    halves = pd.DataFrame({"cat": [0.5, 1.0]})  # in a float window 1 and 2 are "1.0" and "2.0", not "1", "2"
    whole = pd.concat([ints, halves], ignore_index=True)
    summary = reference.categorical["cat"]
    per_batch = summary.counts_of(ints["cat"]) + summary.counts_of(halves["cat"])
    assert per_batch.tolist() != summary.counts_of(whole["cat"]).tolist()
    assert_same(accumulate(reference, [ints, halves]), compute_drift(reference, whole))


# --- KS on both sides of scipy's exact/asymptotic switch ------------------------------------------


@pytest.mark.parametrize("finite", [300, MAX_EXACT_KS, MAX_EXACT_KS + 1, 25_000])
@pytest.mark.parametrize("ties", [False, True])
def test_ks_equals_scipy_below_and_above_the_exact_switch(finite, ties):
    rng = np.random.default_rng(finite)
    ref = rng.normal(0, 1, 5000)
    cur = rng.normal(0.03, 1, finite)
    if ties:
        ref, cur = np.round(ref, 1), np.round(cur, 1)
    cur = np.concatenate([cur, [np.nan] * 40, [np.inf, -np.inf]])  # rows beyond the finite ones
    rng.shuffle(cur)
    reference = Reference.fit(pd.DataFrame({"x": ref}), ["x"], [], ks_sample=2000)
    sample = np.asarray(reference.numeric["x"].sample)
    scipy_result = stats.ks_2samp(sample, cur[np.isfinite(cur)])
    # both sides of scipy's switch are exercised: "auto" is the exact mode up to MAX_EXACT_KS values
    mode = "exact" if finite <= MAX_EXACT_KS else "asymp"
    assert scipy_result.pvalue == stats.ks_2samp(sample, cur[np.isfinite(cur)], method=mode).pvalue
    frame = pd.DataFrame({"x": cur})
    sizes = [1, 0, finite // 3, 17, finite // 2]
    (got,) = accumulate(reference, split(frame, sizes), numeric_method="ks")
    (want,) = compute_drift(reference, frame, numeric_method="ks")
    assert_same([got], [want])
    assert got.statistic == pytest.approx(float(scipy_result.statistic), abs=1e-12)
    assert got.p_value == pytest.approx(float(scipy_result.pvalue), rel=1e-9, abs=1e-9)


def test_ks_keeps_current_values_only_while_scipy_would_be_exact():
    sample = np.linspace(-2, 2, 1000).tolist()
    rng = np.random.default_rng(4)
    small = KsTally.of(sample, rng.normal(size=MAX_EXACT_KS // 2))
    assert small.values is not None
    assert (small + small).values is not None  # exactly MAX_EXACT_KS
    assert (small + small + KsTally.of(sample, np.array([0.0]))).values is None
    assert KsTally.of(sample, rng.normal(size=MAX_EXACT_KS + 1)).values is None
    assert small.values.size == MAX_EXACT_KS // 2  # `+` left the addend alone


def test_ks_of_an_empty_side_is_nan_as_in_one_shot():
    reference = Reference.fit(pd.DataFrame({"x": np.arange(50.0), "e": [np.nan] * 50}), ["x", "e"], [])
    frame = pd.DataFrame({"x": [np.nan, np.inf, np.nan], "e": [1.0, 2.0, 3.0]})
    got = accumulate(reference, split(frame, [1, 1]), numeric_method="ks")
    assert_same(got, compute_drift(reference, frame, numeric_method="ks"))
    assert all(math.isnan(r.statistic) and not r.drifted for r in got)


# --- each statistic's tally adds up ----------------------------------------------------------------


@pytest.mark.parametrize("name", list(STATISTICS))
def test_every_registered_statistic_judges_summed_tallies_like_the_whole(reference, name):
    stat = STATISTICS[name]
    assert stat.streamable
    a, b = window(5, 900, 0.3), window(6, 11_000, 0.1)
    whole = pd.concat([a, b], ignore_index=True)
    limits = Thresholds()
    for kind in stat.kinds:
        features = reference.numeric if kind == "numeric" else reference.categorical
        for feature, summary in features.items():
            ta = stat.tally(summary, feature_values(a, feature, kind))
            tb = stat.tally(summary, feature_values(b, feature, kind))
            summed = ta + tb
            want = stat.compute(feature, kind, summary, feature_values(whole, feature, kind), limits)
            assert_same([stat.judge(feature, kind, summary, summed, limits)], [want])
            # `+` leaves the addends alone: a's tally still judges as a alone
            alone = stat.compute(feature, kind, summary, feature_values(a, feature, kind), limits)
            assert_same([stat.judge(feature, kind, summary, ta, limits)], [alone])


def test_a_statistic_registered_as_a_class_streams(reference, monkeypatch):
    from airloop.monitoring import drift

    monkeypatch.setattr(drift, "STATISTICS", dict(drift.STATISTICS))

    @drift.statistic("mean_gap", kinds=("numeric",), scale="distance")
    class _MeanGap:
        def tally(self, summary, values):
            finite = values[np.isfinite(values)]
            return np.array([finite.sum(), finite.size])

        def judge(self, name, kind, summary, state, limits):
            gap = abs(state[0] / state[1] - float(np.mean(summary.sample)))
            return drift.FeatureDrift(name, kind, "mean_gap", gap, None, gap > 0.5, 0.5)

    frame = window(7, 2000, 0.6)
    want = compute_drift(reference, frame, numeric_method="mean_gap")
    assert_same(accumulate(reference, split(frame, [3, 999]), numeric_method="mean_gap"), want)
    assert any(r.drifted for r in want if r.method == "mean_gap")


# --- errors ----------------------------------------------------------------------------------------


def test_errors_are_those_of_compute_drift(reference):
    frame = window(8, 50, 0.0)
    acc = DriftAccumulator(reference)
    with pytest.raises(DataError, match="no current rows"):
        acc.results()
    acc.add(frame.iloc[:0])
    with pytest.raises(DataError, match="no current rows"):
        acc.results()
    with pytest.raises(DataError, match="'ints'"):
        acc.add(frame.drop(columns=["ints"]))
    with pytest.raises(DataError, match="'floats' is numeric"):
        acc.add(frame.assign(floats="a"))
    assert acc.rows == 0
    acc.add(frame)
    with pytest.raises(DataError, match="'skewed' is numeric"):  # a bad batch adds nothing
        acc.add(frame.assign(skewed="b"))
    assert acc.rows == 50
    assert_same(acc.results(), compute_drift(reference, frame))


@pytest.mark.parametrize(
    "kwargs", [{"numeric_method": "chi2"}, {"categorical_method": "ks"}, {"numeric_method": "wasserstein"}]
)
def test_unknown_methods_are_rejected(reference, kwargs):
    with pytest.raises(ValueError, match="must be one of"):
        DriftAccumulator(reference, **kwargs)


def test_a_statistic_registered_as_a_function_is_one_shot_only(reference, monkeypatch):
    from airloop.monitoring import drift

    monkeypatch.setattr(drift, "STATISTICS", dict(drift.STATISTICS))

    @drift.statistic("mean_gap", kinds=("numeric",), scale="distance")
    def _mean_gap(name, kind, summary, values, limits):
        return drift.FeatureDrift(name, kind, "mean_gap", 0.0, None, False, 0.5)

    with pytest.raises(ValueError, match="mean_gap have no tally"):
        DriftAccumulator(reference, numeric_method="mean_gap")


# --- prediction drift ------------------------------------------------------------------------------


def test_score_batches_give_prediction_drift_of_all_scores():
    rng = np.random.default_rng(9)
    summary = NumericSummary.fit(rng.beta(2, 5, 5000), ks_sample=0)
    scores = np.concatenate([rng.beta(3, 4, 7000), [np.nan, 1.5, -0.1]])
    acc = ScoreDriftAccumulator(summary, psi_threshold=0.05)
    for lo, hi in itertools.pairwise([0, 1, 1, 2500, 2501, len(scores)]):
        acc.add(pd.Series(scores[lo:hi]) if lo % 2 else scores[lo:hi])
    assert acc.rows == len(scores)
    want = prediction_drift(summary, scores, psi_threshold=0.05)
    assert want.drifted
    assert_same([acc.result()], [want])


def test_score_errors():
    summary = NumericSummary.fit(np.linspace(0, 1, 100), ks_sample=0)
    acc = ScoreDriftAccumulator(summary, 0.2)
    acc.add([])
    with pytest.raises(DataError, match="no current scores"):
        acc.result()
    with pytest.raises(ValueError, match="1-D"):
        acc.add(np.ones((3, 2)))
