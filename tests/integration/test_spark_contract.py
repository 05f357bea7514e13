"""The contract on Spark judges a batch as the pandas engine does: the same violations, counts,
severities and messages, from aggregates (``airloop.spark.contract``) instead of rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers.projects import make_frame
from helpers.spark import spark  # noqa: F401 (a fixture)

from airloop.data import contract as dc
from airloop.spec.models import Contract as ContractSpec

pytestmark = pytest.mark.integration
TOL = ContractSpec()


def reference(n: int = 800) -> pd.DataFrame:
    frame = make_frame(n, seed=1)
    days = np.arange(n) / 24
    frame["level"] = 100 + 0.5 * days + np.random.default_rng(2).normal(0, 0.5, n)  # trends with ts
    frame["visits"] = np.random.default_rng(3).poisson(3, n).astype(float)
    return frame


def newer(n: int = 400, seed: int = 5) -> pd.DataFrame:
    frame = make_frame(n, seed=seed, start="2024-03-01")
    days = 800 / 24 + 30 + np.arange(n) / 24
    frame["level"] = 100 + 0.5 * days + np.random.default_rng(seed).normal(0, 0.5, n)
    frame["visits"] = np.random.default_rng(seed + 1).poisson(3, n).astype(float)
    return frame


def both(spark, batch: pd.DataFrame, contract: dc.Contract) -> tuple[list[tuple], list[tuple]]:  # noqa: F811
    from airloop.spark import contract as sc

    on_pandas = dc.check(batch, contract, TOL)
    rows, on_spark = sc.check(spark.createDataFrame(batch), contract, TOL)
    assert rows == len(batch)

    def key(v: dc.Violation) -> tuple:
        message = v.message if v.rule != "dtype" else v.message.split(" (")[0]  # the dtype's own name differs
        return (v.column, v.rule, v.count, v.severity, message)

    return [key(v) for v in on_pandas], [key(v) for v in on_spark]


@pytest.fixture(scope="module")
def contract() -> dc.Contract:
    inferred = dc.infer(reference(), "label", time="ts", tol=TOL)
    assert inferred.columns["level"].trend  # the planted trend is learned: bounds move with time
    return inferred


def test_a_healthy_newer_batch_passes_on_both(spark, contract) -> None:  # noqa: F811
    on_pandas, on_spark = both(spark, newer(), contract)
    assert on_pandas == on_spark == []


@pytest.mark.parametrize(
    ("plant", "rule"),
    [
        (lambda f: f.assign(x=f["x"] * 1000), "range"),  # a unit change
        (lambda f: f.assign(color=np.where(np.arange(len(f)) % 3 == 0, "purple", f["color"])), "unseen_category"),
        (lambda f: f.assign(size=np.where(np.arange(len(f)) % 5 < 2, np.nan, f["size"])), "null_rate"),
        (lambda f: f.assign(x=f["x"].round(2).astype(str)), "dtype"),
        (lambda f: f.drop(columns=["color"]), "missing_column"),
        (lambda f: f.assign(extra=1.0), "extra_column"),
        (lambda f: f.assign(level=f["level"] * 3), "range"),  # beyond its trend
        (lambda f: f.assign(visits=f["visits"] + 50), "range"),  # a count far above its maximum
    ],
)
def test_planted_corruptions_are_refused_alike(spark, contract, plant, rule) -> None:  # noqa: F811
    on_pandas, on_spark = both(spark, plant(newer()), contract)
    assert rule in {r for _, r, *_ in on_pandas}
    assert on_spark == on_pandas


def test_a_declared_contract_is_judged_alike(spark) -> None:  # noqa: F811
    declared = dc.Contract(
        columns={
            "x": dc.ColumnRule(kind="numeric", nullable=False, min=-2.0, max=2.0),
            "color": dc.ColumnRule(kind="categorical", categories=["red", "green"]),
            "size": dc.ColumnRule(kind="numeric", nullable=True),
        },
        target="label",
        declared=True,
    )
    batch = newer()[["x", "color", "size"]]
    on_pandas, on_spark = both(spark, batch, declared)
    assert {r for _, r, *_ in on_pandas} == {"range", "unseen_category"}
    assert on_spark == on_pandas


def test_inferred_on_spark_keeps_every_rows_ranges_and_categories(spark) -> None:  # noqa: F811
    """First contact: ranges, null rates and categories from every row; novelty and trends from the sample."""
    from airloop.spark import contract as sc

    frame = reference()
    frame.loc[5, "x"] = 40.0  # an extreme the sample below does not hold
    frame.loc[7, "color"] = "teal"
    frame.loc[9, "size"] = np.nan
    sample = frame.drop(index=[5, 7, 9]).iloc[::2]
    whole = dc.infer(frame, "label", time="ts", tol=TOL)
    on_spark = sc.infer(spark.createDataFrame(frame), sample, "label", "", "ts", TOL)
    for name in ("x", "size", "color", "level"):
        ours, theirs = on_spark.columns[name], whole.columns[name]
        assert (ours.kind, ours.min, ours.max, ours.null_rate, ours.categories) == (
            theirs.kind,
            theirs.min,
            theirs.max,
            theirs.null_rate,
            theirs.categories,
        )
    assert on_spark.reference_end == pytest.approx(whole.reference_end)
    assert on_spark.columns["level"].trend is not None
