"""Drift statistics: known shifts on fixed seeds, and the vectorised PSI against a per-bin loop."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from airloop.errors import DataError
from airloop.monitoring.drift import (
    EPS,
    PREDICTION,
    CategoricalSummary,
    FeatureDrift,
    NumericSummary,
    Reference,
    compute_drift,
    prediction_drift,
    psi,
)

N = 20_000


# --- the straightforward implementation the vectorised one must equal -------------------------


def loop_psi(ref_counts: list[int], cur_counts: list[int], eps: float = EPS) -> float:
    ref_total, cur_total = sum(ref_counts), sum(cur_counts)
    total = 0.0
    for r_count, c_count in zip(ref_counts, cur_counts, strict=True):
        r = max(r_count / ref_total, eps)
        c = max(c_count / cur_total, eps)
        total += (c - r) * math.log(c / r)
    return total


def loop_numeric_bins(ref: pd.Series, bins: int) -> list[float]:
    values = ref.astype(float).to_numpy()
    finite = values[np.isfinite(values)]
    cuts = sorted({float(np.quantile(finite, i / bins)) for i in range(1, bins)})
    if cuts and cuts[-1] == finite.max():  # a point mass on top: values above the range get a bin
        cuts.append(float(np.nextafter(cuts[-1], math.inf)))
    return [-math.inf, *cuts, math.inf]


def loop_numeric_counts(values: pd.Series, edges: list[float]) -> list[int]:
    values = values.astype(float)
    counts = []
    for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        last = i == len(edges) - 2
        inside = (values >= lo) & ((values < hi) | last)  # the top bin holds +inf too
        counts.append(int(inside.sum()))
    counts.append(int(values.isna().sum()))
    return counts


def as_label(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def loop_categorical_counts(ref: pd.Series, cur: pd.Series, top_k: int) -> tuple[list[int], list[int]]:
    ref_known = Counter(as_label(v) for v in ref if not pd.isna(v))
    top = [name for name, _ in sorted(ref_known.items(), key=lambda kv: (-kv[1], kv[0]))[:top_k]]

    def count(values: pd.Series) -> list[int]:
        known = Counter(as_label(v) for v in values if not pd.isna(v))
        hits = [known.get(name, 0) for name in top]
        return [*hits, sum(known.values()) - sum(hits), int(values.isna().sum())]

    return count(ref), count(cur)


def loop_chi2_statistic(ref: list[int], cur: list[int]) -> float:
    cols = [(r, c) for r, c in zip(ref, cur, strict=True) if r + c > 0]
    n_ref, n_cur = sum(r for r, _ in cols), sum(c for _, c in cols)
    total = n_ref + n_cur
    stat = 0.0
    for r, c in cols:
        for observed, row_total in ((r, n_ref), (c, n_cur)):
            expected = row_total * (r + c) / total
            stat += (observed - expected) ** 2 / expected
    return stat


# --- data ---------------------------------------------------------------------------------------


def normal(seed: int, shift: float = 0.0, n: int = N) -> np.ndarray:
    return np.random.default_rng(seed).normal(shift, 1.0, n)


def cats(seed: int, probs: list[float], n: int = N) -> np.ndarray:
    return np.random.default_rng(seed).choice(np.array(["a", "b", "c", "d"]), size=n, p=probs)


def with_nulls(values: np.ndarray, rate: float, seed: int) -> np.ndarray:
    out = values.astype(object if values.dtype.kind in "OU" else float)
    out[np.random.default_rng(seed).random(len(out)) < rate] = None if out.dtype == object else np.nan
    return out


UNIFORM = [0.25, 0.25, 0.25, 0.25]
SKEWED = [0.55, 0.15, 0.15, 0.15]


@pytest.fixture(scope="module")
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    ref = pd.DataFrame(
        {
            "x_same": normal(1),
            "x_shift": normal(2),
            "x_nulls": normal(3),
            "c_same": cats(4, UNIFORM),
            "c_shift": cats(5, UNIFORM),
            "c_nulls": cats(6, UNIFORM),
        }
    )
    cur = pd.DataFrame(
        {
            "x_same": normal(11),
            "x_shift": normal(12, shift=1.0),
            "x_nulls": with_nulls(normal(13), 0.3, 13),
            "c_same": cats(14, UNIFORM),
            "c_shift": cats(15, SKEWED),
            "c_nulls": with_nulls(cats(16, UNIFORM), 0.3, 16),
        }
    )
    return ref, cur


@pytest.fixture(scope="module")
def reference(frames: tuple[pd.DataFrame, pd.DataFrame]) -> Reference:
    ref, _ = frames
    return Reference.fit(ref, ["x_same", "x_shift", "x_nulls"], ["c_same", "c_shift", "c_nulls"])


def by_key(results: list[FeatureDrift]) -> dict[tuple[str, str], FeatureDrift]:
    keyed = {(r.feature, r.method): r for r in results}
    assert len(keyed) == len(results), "one result per feature and method"
    return keyed


# --- known shifts -------------------------------------------------------------------------------


def test_mean_shift_is_flagged_by_psi_and_ks(reference, frames):
    _, cur = frames
    got = by_key(compute_drift(reference, cur, ks=True))
    for method in ("psi", "ks"):
        assert got["x_shift", method].drifted, got["x_shift", method]
        assert not got["x_same", method].drifted, got["x_same", method]
    assert got["x_shift", "psi"].statistic > 0.5
    assert got["x_same", "psi"].statistic < 0.01
    assert got["x_shift", "ks"].p_value < 1e-10
    assert got["x_same", "ks"].p_value > 0.01
    assert got["x_shift", "psi"].p_value is None


def test_ks_as_the_numeric_method_replaces_psi(reference, frames):
    _, cur = frames
    got = compute_drift(reference, cur, numeric_method="ks")
    numeric = [r for r in got if r.kind == "numeric"]
    assert [(r.feature, r.method) for r in numeric] == [("x_same", "ks"), ("x_shift", "ks"), ("x_nulls", "ks")]


def test_changed_category_proportions_are_flagged_by_psi_and_chi2(reference, frames):
    _, cur = frames
    by_psi = by_key(compute_drift(reference, cur))
    by_chi2 = by_key(compute_drift(reference, cur, categorical_method="chi2"))
    assert by_psi["c_shift", "psi"].drifted
    assert not by_psi["c_same", "psi"].drifted
    assert by_chi2["c_shift", "chi2"].drifted
    assert not by_chi2["c_same", "chi2"].drifted
    assert by_chi2["c_shift", "chi2"].p_value < 1e-10
    assert by_chi2["c_same", "chi2"].p_value > 0.01


def test_a_null_rate_shift_is_drift(reference, frames):
    _, cur = frames
    got = by_key(compute_drift(reference, cur, categorical_method="chi2", ks=True))
    assert got["x_nulls", "psi"].drifted
    assert got["c_nulls", "chi2"].drifted
    # The non-missing values are unshifted: KS, which ignores missing values, sees nothing.
    assert not got["x_nulls", "ks"].drifted
    assert by_key(compute_drift(reference, cur))["c_nulls", "psi"].drifted


def test_results_come_in_reference_order_with_thresholds(reference, frames):
    _, cur = frames
    got = compute_drift(reference, cur, psi_threshold=0.3)
    assert [r.feature for r in got] == ["x_same", "x_shift", "x_nulls", "c_same", "c_shift", "c_nulls"]
    assert {r.threshold for r in got} == {0.3}
    assert {r.kind for r in got[:3]} == {"numeric"}
    assert {r.kind for r in got[3:]} == {"categorical"}


def test_an_unseen_category_is_drift():
    ref = pd.DataFrame({"c": ["a", "b"] * 500})
    cur = pd.DataFrame({"c": ["a", "b", "z", "z"] * 250})
    reference = Reference.fit(ref, [], ["c"])
    assert compute_drift(reference, cur)[0].drifted
    assert compute_drift(reference, cur, categorical_method="chi2")[0].drifted


# --- the vectorised PSI equals the per-bin loop --------------------------------------------------


def messy_frame(seed: int, n: int, shift: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    skewed = rng.lognormal(shift, 1.0, n)
    skewed[rng.random(n) < 0.05 + shift / 10] = np.nan
    ties = rng.integers(0, 4, n).astype(float)  # repeated values sit exactly on the cuts
    ties[:3] = [np.inf, -np.inf, np.nan]
    many = rng.zipf(1.5 + shift, n).astype(str)  # more categories than top_k, some unseen later
    many[rng.random(n) < 0.02] = None
    ints = pd.array(rng.integers(0, 6, n), dtype="Int64")  # categories that are not strings
    ints[rng.random(n) < 0.1] = pd.NA
    return pd.DataFrame(
        {
            "skewed": skewed,
            "ties": ties,
            "constant": np.full(n, 7.0),
            "nullable": pd.array(rng.integers(0, 100, n), dtype="Int64"),
            "many": many,
            "ints": ints,
            "flag": rng.random(n) < 0.3 + shift / 5,
            # A categorical dtype lists unused categories; an arrow string dtype takes another code path.
            "dtype_cat": pd.Categorical(rng.choice(["x", "y", "z"], n), categories=["w", "x", "y", "z"]),
            "arrow": pd.array(
                rng.choice(["p", "q", None], n, p=[0.5 - shift / 2, 0.4, 0.1 + shift / 2]), dtype="string[pyarrow]"
            ),
        }
    )


NUMERIC = ["skewed", "ties", "constant", "nullable"]
CATEGORICAL = ["many", "ints", "flag", "dtype_cat", "arrow"]


@pytest.mark.parametrize(("seed", "bins", "top_k"), [(0, 10, 50), (1, 10, 5), (2, 4, 3), (3, 20, 10), (4, 1, 1)])
def test_psi_equals_the_per_bin_loop(seed, bins, top_k):
    ref = messy_frame(seed, 3000, 0.0)
    cur = messy_frame(seed + 100, 2000, 0.4)
    reference = Reference.fit(ref, NUMERIC, CATEGORICAL, bins=bins, top_k=top_k)
    got = {r.feature: r for r in compute_drift(reference, cur)}
    for name in NUMERIC:
        edges = loop_numeric_bins(ref[name], bins)
        assert reference.numeric[name].edges == edges
        ref_counts = loop_numeric_counts(ref[name], edges)
        assert reference.numeric[name].counts == ref_counts
        expected = loop_psi(ref_counts, loop_numeric_counts(cur[name], edges))
        assert got[name].statistic == pytest.approx(expected, abs=1e-9), name
    for name in CATEGORICAL:
        ref_counts, cur_counts = loop_categorical_counts(ref[name], cur[name], top_k)
        assert reference.categorical[name].counts == ref_counts
        assert got[name].statistic == pytest.approx(loop_psi(ref_counts, cur_counts), abs=1e-9), name


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_chi2_statistic_equals_the_per_cell_loop(seed):
    ref = messy_frame(seed, 3000, 0.0)
    cur = messy_frame(seed + 100, 2000, 0.2)
    reference = Reference.fit(ref, [], CATEGORICAL, top_k=8)
    got = {r.feature: r for r in compute_drift(reference, cur, categorical_method="chi2")}
    for name in CATEGORICAL:
        ref_counts, cur_counts = loop_categorical_counts(ref[name], cur[name], 8)
        assert got[name].statistic == pytest.approx(loop_chi2_statistic(ref_counts, cur_counts), rel=1e-9)


def test_psi_of_identical_distributions_is_zero_and_of_an_empty_bin_is_finite():
    assert psi([10, 20, 30], [1, 2, 3]) == pytest.approx(0.0, abs=1e-12)
    assert math.isfinite(psi([10, 0, 30], [10, 20, 30]))
    assert psi([10, 0, 30], [10, 20, 30]) > 0.2


# --- the reference summary ------------------------------------------------------------------------


def test_reference_json_round_trip_gives_identical_results(reference, frames):
    _, cur = frames
    text = reference.to_json()
    json.loads(text)  # strict JSON: no Infinity or NaN
    assert "Infinity" not in text
    assert "NaN" not in text
    again = Reference.from_json(text)
    assert again == reference
    for kwargs in ({}, {"categorical_method": "chi2", "ks": True}, {"numeric_method": "ks"}):
        assert compute_drift(again, cur, **kwargs) == compute_drift(reference, cur, **kwargs)


def test_reference_is_compact_and_seeded():
    ref = pd.DataFrame({"x": normal(0, n=50_000), "c": cats(0, UNIFORM, n=50_000)})
    a = Reference.fit(ref, ["x"], ["c"], ks_sample=1000, seed=7)
    b = Reference.fit(ref, ["x"], ["c"], ks_sample=1000, seed=7)
    c = Reference.fit(ref, ["x"], ["c"], ks_sample=1000, seed=8)
    assert a == b
    assert a.numeric["x"].sample != c.numeric["x"].sample
    sample = a.numeric["x"].sample
    assert len(sample) == 1000
    assert sample == sorted(sample)
    assert len(a.numeric["x"].cuts) == 9
    assert len(a.numeric["x"].counts) == 11
    assert a.numeric["x"].proportions[:10] == pytest.approx([0.1] * 10, abs=1e-3)
    assert sorted(a.categorical["c"].categories) == ["a", "b", "c", "d"]
    assert a.categorical["c"].labels[-2:] == ["__other__", "__missing__"]
    assert a.categorical["c"].counts[-2:] == [0, 0]
    assert a.rows == 50_000
    assert len(a.to_json()) < 40_000


def test_degenerate_reference_columns():
    ref = pd.DataFrame({"const": [1.0] * 100, "empty": [np.nan] * 100, "c": [None] * 100})
    reference = Reference.fit(ref, ["const", "empty"], ["c"])
    assert reference.numeric["const"].cuts == [1.0, float(np.nextafter(1.0, 2.0))]
    assert reference.numeric["empty"].cuts == []
    assert reference.numeric["empty"].sample == []
    assert reference.categorical["c"].categories == []
    cur = pd.DataFrame({"const": [1.0] * 50 + [2.0] * 50, "empty": np.arange(100.0), "c": ["a"] * 100})
    got = by_key(compute_drift(reference, cur, ks=True, categorical_method="chi2"))
    assert got["const", "psi"].drifted
    assert got["empty", "psi"].drifted
    assert got["c", "chi2"].drifted
    assert math.isnan(got["empty", "ks"].statistic)
    assert not got["empty", "ks"].drifted


# --- errors ---------------------------------------------------------------------------------------


def test_a_missing_column_is_a_data_error_naming_it(reference, frames):
    _, cur = frames
    with pytest.raises(DataError, match="'x_shift'"):
        compute_drift(reference, cur.drop(columns=["x_shift"]))
    with pytest.raises(DataError, match="'nope'"):
        Reference.fit(cur, ["nope"], [])


def test_no_current_rows_is_a_data_error(reference, frames):
    _, cur = frames
    with pytest.raises(DataError, match="no current rows"):
        compute_drift(reference, cur.iloc[:0])


def test_non_numeric_values_in_a_numeric_feature_are_a_data_error():
    reference = Reference.fit(pd.DataFrame({"x": [1.0, 2.0, 3.0]}), ["x"], [])
    with pytest.raises(DataError, match="'x' is numeric"):
        compute_drift(reference, pd.DataFrame({"x": ["a", "b"]}))


@pytest.mark.parametrize(
    "kwargs", [{"numeric_method": "chi2"}, {"categorical_method": "ks"}, {"numeric_method": "wasserstein"}]
)
def test_unknown_methods_are_rejected(reference, frames, kwargs):
    _, cur = frames
    with pytest.raises(ValueError, match="must be one of"):
        compute_drift(reference, cur, **kwargs)


# --- prediction drift -----------------------------------------------------------------------------


def test_prediction_drift():
    rng = np.random.default_rng(0)
    ref_scores = rng.beta(2, 5, N)
    same = prediction_drift(ref_scores, rng.beta(2, 5, N))
    shifted = prediction_drift(ref_scores, rng.beta(5, 2, N))
    assert same.feature == shifted.feature == PREDICTION
    assert same.method == "psi"
    assert same.kind == "numeric"
    assert same.p_value is None
    assert not same.drifted
    assert shifted.drifted
    # A summary fitted earlier stands in for the reference scores.
    summary = NumericSummary.fit(ref_scores, ks_sample=0)
    later = rng.beta(5, 2, N)
    assert prediction_drift(summary, later) == prediction_drift(ref_scores, later)
    assert prediction_drift(ref_scores, later).statistic == pytest.approx(
        loop_psi(
            loop_numeric_counts(pd.Series(ref_scores), loop_numeric_bins(pd.Series(ref_scores), 10)),
            loop_numeric_counts(pd.Series(later), loop_numeric_bins(pd.Series(ref_scores), 10)),
        ),
        abs=1e-9,
    )


def test_prediction_scores_must_be_one_dimensional():
    with pytest.raises(ValueError, match="1-D"):
        prediction_drift(np.ones((10, 2)), np.ones(10))
    with pytest.raises(DataError, match="no current scores"):
        prediction_drift(np.ones(10), [])


def test_categorical_summary_compares_values_as_strings():
    summary = CategoricalSummary.fit(pd.Series([1, 1, 2, None]))  # floats: the None made it float64
    assert summary.categories == ["1", "2"]
    assert summary.counts == [2, 1, 0, 1]
    assert summary.counts_of(pd.Series(["1", "2", "3", None])).tolist() == [1, 1, 1, 1]
    assert summary.counts_of(pd.Series([1, 2, 2])).tolist() == [1, 2, 0, 0]
    assert CategoricalSummary.fit(pd.Series([0.5, 1.0])).categories == ["0.5", "1.0"]


def test_values_above_a_point_mass_get_their_own_bin():
    ref = pd.DataFrame({"binary": [0.0, 1.0, 1.0, 1.0] * 100})
    reference = Reference.fit(ref, ["binary"], [])
    assert reference.numeric["binary"].cuts == [0.0, 1.0, float(np.nextafter(1.0, 2.0))]
    assert compute_drift(reference, pd.DataFrame({"binary": [0.0, 1.0, 2.0, 2.0] * 100}))[0].drifted


@pytest.mark.parametrize(
    "module",
    ["airloop.monitoring.drift", "airloop.monitoring.accumulate", "airloop.monitoring.window", "airloop.data.scan"],
)
def test_importing_drift_loads_no_heavy_modules(module: str):
    code = (
        f"import sys, {module}\n"
        "heavy = [m for m in ('numpy', 'pandas', 'scipy') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_a_registered_statistic_is_usable_everywhere_with_one_edit(reference, frames, monkeypatch, tmp_path):
    """Registering a statistic is the only edit: compute_drift, the spec and methods_for all see it."""
    from airloop.monitoring import drift

    monkeypatch.setattr(drift, "STATISTICS", dict(drift.STATISTICS))

    @drift.statistic("mean_gap", kinds=("numeric",), scale="distance")
    def _mean_gap(name, kind, summary, values, limits):
        gap = abs(float(np.nanmean(values)) - float(np.mean(summary.sample)))
        return drift.FeatureDrift(name, kind, "mean_gap", gap, None, gap > 0.5, 0.5)

    assert "mean_gap" in drift.methods_for("numeric")
    assert "mean_gap" not in drift.methods_for("categorical")
    ref_frame, shifted = frames
    results = compute_drift(reference, shifted, numeric_method="mean_gap")
    assert {r.method for r in results if r.kind == "numeric"} == {"mean_gap"}
    assert any(r.drifted for r in results if r.method == "mean_gap")

    from airloop.spec.models import Monitoring

    assert Monitoring(numeric_method="mean_gap").numeric_method == "mean_gap"
    with pytest.raises(ValueError, match="use one of psi, ks, mean_gap"):
        Monitoring(numeric_method="chi2")


@pytest.mark.parametrize("cuts", [0, 1, 9, 200])
def test_numeric_bin_counts_equal_a_binary_search_per_value(cuts: int) -> None:
    from airloop.monitoring.drift import _numeric_counts

    rng = np.random.default_rng(cuts)
    edges = np.unique(rng.normal(size=cuts))
    x = np.concatenate([rng.normal(size=5000), edges, [np.nan, np.nan, np.inf, -np.inf]])  # values on the cuts too
    idx = np.searchsorted(edges, x, side="right")
    idx[np.isnan(x)] = edges.size + 1
    assert _numeric_counts(x, edges).tolist() == np.bincount(idx, minlength=edges.size + 2).tolist()


def test_a_categorical_column_is_counted_as_its_values() -> None:
    from airloop.monitoring.drift import CategoryTally

    values = pd.Series(["b", "a", None, "b", "c", None, "b"], dtype="str")
    plain, coded = CategoryTally.of(values), CategoryTally.of(values.astype("category"))
    assert coded.known()[0].to_dict() == plain.known()[0].to_dict() == {"b": 3, "a": 1, "c": 1}
    assert coded.missing == plain.missing == 2
    both = CategoryTally.of(values.iloc[:3].astype("category"))
    both += CategoryTally.of(values.iloc[3:])  # a dictionary batch then a plain one: one dtype, merged
    assert len(both.parts) == 1
    assert both.known()[0].to_dict() == {"b": 3, "a": 1, "c": 1}
