"""A contract that knows time (issue 26): healthy data keeps passing as time goes on, corruptions do not.

The reference is 200 days of 10 rows a day: a long-tailed `agent` that gains a new value every
other day (2 bookings each), a `level` that trends up with time, a `drift` that trends on the linear
scale through zero, a `noise` column without trend, a small `count`, and a target `y` that trends.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from airloop.data import contract as dc
from airloop.spec.models import ColumnContract
from airloop.spec.models import Contract as ContractSpec

DAYS, PER_DAY = 200, 10
TOL = ContractSpec()


def history(first_day: int, days: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    day = np.repeat(np.arange(first_day, first_day + days), PER_DAY)
    n = len(day)
    agent = rng.choice([f"a{i}" for i in range(8)], size=n).astype(object)
    for d in range(first_day, first_day + days, 2):  # a new agent every other day, with 2 bookings
        rows = np.flatnonzero(day == d)[:2]
        agent[rows] = f"new{d}"
    level = 5 + 0.1 * day + rng.normal(0, 0.5, n)
    return pd.DataFrame(
        {
            "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(day, unit="D"),
            "agent": agent,
            "level": level,
            "drift": -10 + 0.1 * day + rng.normal(0, 0.5, n),
            "noise": rng.uniform(0, 1, n),
            "count": rng.poisson(1.0, n),
            "y": 3 * level + rng.normal(0, 1, n),
        }
    )


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return history(0, DAYS, seed=0)


@pytest.fixture(scope="module")
def contract(reference) -> dc.Contract:
    return dc.infer(reference, "y", time="when", tol=TOL)


def later(days_on: int = 60, days: int = 7, seed: int = 1) -> pd.DataFrame:
    """A healthy week, ``days_on`` days after the reference ends."""
    return history(DAYS + days_on, days, seed)


def rules_of(found: list[dc.Violation]) -> set[tuple[str, str]]:
    return {(v.column, v.rule) for v in dc.blocking(found)}


def test_what_the_reference_teaches(contract):
    cols = contract.columns
    assert (contract.time, contract.format) == ("when", dc.FORMAT)
    assert contract.reference_end == pytest.approx((pd.Timestamp("2024-01-01") - pd.Timestamp("1970-01-01")).days + 199)
    assert 0.1 < cols["agent"].novelty < 0.2  # a new agent every other day: 2 of 20 rows
    assert (cols["level"].trend_scale, cols["drift"].trend_scale) == ("log", "linear")
    assert cols["drift"].trend == pytest.approx(0.1, rel=0.05)
    assert cols["drift"].spread == pytest.approx(0.5, rel=0.15)  # the noise around the trend
    assert cols["noise"].trend is None
    assert cols["noise"].exceed is not None
    assert cols["count"].integer
    assert not cols["noise"].integer
    assert cols["y"].trend is None
    assert cols["y"].exceed is None


def test_good_turing_without_a_clock():
    values = pd.Series(["a"] * 6 + ["b", "c"] + ["d", "d"])  # 2 of 10 rows are the only one of their kind
    assert dc.expected_novelty(values, None) == pytest.approx(0.2)
    assert dc.infer(pd.DataFrame({"c": values, "y": 0}), "y").columns["c"].novelty == pytest.approx(0.2)


def test_a_long_tailed_category_gaining_values_at_the_expected_rate_passes(contract):
    week = later()
    assert (~week["agent"].isin(contract.columns["agent"].categories)).sum() > 0
    assert rules_of(dc.check(week, contract, TOL)) == set()
    # today's contract refuses the same week for its new agents (and its trending columns)
    today = dc.infer(history(0, DAYS, seed=0), "y", tol=ContractSpec(learn_time=False))
    assert ("agent", "unseen_category") in rules_of(dc.check(week, today, TOL))


@pytest.mark.parametrize("n", [10, 12, 30, 70])
def test_a_category_flood_is_refused_from_ten_rows(contract, n):
    flood = later().head(n).assign(agent="magenta")
    assert ("agent", "unseen_category") in rules_of(dc.check(flood, contract, TOL))


def test_a_new_category_in_a_cluster_counts_as_fewer_rows():
    ref = pd.DataFrame({"c": ["a", "b"] * 100, "y": 0})
    contract = dc.infer(ref, "y")
    contract.columns["c"].novelty = 0.02
    one_group = pd.DataFrame({"c": ["a"] * 230 + ["new"] * 20, "y": 0})
    scattered = pd.DataFrame({"c": ["a"] * 230 + [f"new{i}" for i in range(20)], "y": 0})
    assert rules_of(dc.check(one_group, contract, TOL)) == set()
    assert rules_of(dc.check(scattered, contract, TOL)) == {("c", "unseen_category")}


def test_a_trending_column_passes_at_its_extrapolated_range(contract):
    week = later(days_on=90)
    assert (week["level"] > contract.columns["level"].max * 1.1).all()  # beyond any fixed range
    assert (week["drift"] > contract.columns["drift"].max * 1.1).all()
    assert rules_of(dc.check(week, contract, TOL)) == set()


# drift / 1000 lands inside its own range (it crosses zero): invisible to any range, today as after
@pytest.mark.parametrize(("column", "factor"), [("level", 1000.0), ("level", 0.001), ("drift", 1000.0)])
def test_a_unit_change_on_a_trending_column_is_refused(contract, column, factor):
    week = later(days_on=90)
    broken = week.assign(**{column: week[column] * factor})
    assert (column, "range") in rules_of(dc.check(broken, contract, TOL))


def swinging_price(years: range, seed: int) -> pd.DataFrame:
    """A monthly price growing 5% a year that swings around its trend by 0.5 log-units (a random
    walk pulled back to the trend), as commodity prices do."""
    rng = np.random.default_rng(seed)
    months = pd.date_range(f"{years.start}-01-01", f"{years.stop}-01-01", freq="MS", inclusive="left")
    swing = np.zeros(len(months))
    for i in range(1, len(months)):
        swing[i] = 0.97 * swing[i - 1] + rng.normal(0, 0.12)
    trend = np.log(20.0) + 0.05 * (months.year - years.start + months.month / 12)
    return pd.DataFrame({"when": months, "price": np.exp(trend + swing), "y": rng.normal(0, 1, len(months))})


def test_a_price_may_swing_past_its_trend_as_far_as_it_did_in_the_reference():
    reference = swinging_price(range(1960, 2005), seed=3)
    contract = dc.infer(reference, "y", time="when", tol=TOL)
    rule = contract.columns["price"]
    assert (rule.trend_scale, rule.spread is not None) == ("log", True)
    year = swinging_price(range(2005, 2006), seed=4)
    reach = rule.max * np.exp(rule.trend * 365)  # where the trend alone takes the reference's maximum
    boom = year.assign(price=reach * 2.0)  # twice that: inside the reference's own swings
    assert rules_of(dc.check(boom, contract, TOL)) == set()
    assert ("price", "range") in rules_of(dc.check(boom.assign(price=boom["price"] * 100), contract, TOL))
    stiff = dc.Contract.from_json(contract.to_json())
    stiff.columns["price"].spread = None  # the trend alone (contracts stored before the band)
    assert ("price", "range") in rules_of(dc.check(boom, stiff, TOL))


def test_a_column_without_trend_keeps_its_fixed_range(contract):
    week = later(days_on=90)
    assert ("noise", "range") in rules_of(dc.check(week.assign(noise=week["noise"] + 1.5), contract, TOL))


def test_one_outlier_passes_a_unit_change_does_not(contract):
    week = later(days=30)  # 300 rows
    one = week.copy()
    one.loc[0, "noise"] = 5.0
    one.loc[1, "count"] = one["count"].max() + 1  # a count one above its reference maximum
    assert rules_of(dc.check(one, contract, TOL)) == set()
    assert ("noise", "range") in rules_of(dc.check(week.assign(noise=week["noise"] * 1000), contract, TOL))


def test_the_target_is_not_judged_for_range(contract):
    week = later().assign(y=lambda f: f["y"] * 1000)
    assert rules_of(dc.check(week, contract, TOL)) == set()


def strip_new_fields(contract: dc.Contract) -> str:
    """The contract as airloop stored it before issue 26."""
    raw = json.loads(contract.to_json())
    for key in ("time", "reference_end", "format"):
        raw.pop(key)
    for rule in raw["columns"].values():
        for key in ("novelty", "exceed", "trend", "trend_scale", "spread", "integer"):
            rule.pop(key)
    return json.dumps(raw)


def test_an_old_contract_json_loads_and_judges_as_before(reference, contract):
    old = dc.Contract.from_json(strip_new_fields(contract))
    assert (old.format, old.time_aware, old.time) == (1, False, None)
    assert old.columns["agent"].novelty is None
    before = dc.infer(reference, "y", tol=ContractSpec(learn_time=False))  # today's judging
    assert before.format == 1
    for batch in (later(), later().assign(y=lambda f: f["y"] * 1000), later().head(10).assign(agent="magenta")):
        assert rules_of(dc.check(batch, old, TOL)) == rules_of(dc.check(batch, before, TOL))
    found = rules_of(dc.check(later(days_on=90), old, TOL))
    assert {("agent", "unseen_category"), ("level", "range"), ("y", "range")} <= found
    assert dc.Contract.from_json(old.to_json()).format == 1  # written back as it was read


def test_a_contract_json_with_unknown_fields_loads(contract):
    raw = json.loads(contract.to_json())
    raw["from_the_future"] = 1
    raw["columns"]["agent"]["seasonality"] = [1, 2]
    again = dc.Contract.from_json(json.dumps(raw))
    assert again == contract


def test_the_round_trip_keeps_the_new_fields(contract):
    assert dc.Contract.from_json(contract.to_json()) == contract
    assert contract.only(["agent", "y"]).time == "when"


def test_declared_contracts_ignore_novelty_trend_and_floor():
    spec = ContractSpec(
        columns={
            "c": ColumnContract(kind="categorical", categories=["a", "b"]),
            "x": ColumnContract(kind="numeric", min=0, max=10),
        }
    )
    declared = dc.from_spec(spec, "y")
    batch = pd.DataFrame({"c": ["a"] * 999 + ["z"], "x": [5.0] * 999 + [10.5]})
    assert rules_of(dc.check(batch, declared, spec)) == {("c", "unseen_category"), ("x", "range")}


def test_learn_time_false_keeps_todays_judging(reference):
    strict = dc.infer(reference, "y", time="when", tol=ContractSpec(learn_time=False))
    assert strict.format == 1
    assert not strict.time_aware
    assert strict.columns["level"].trend is None
    assert strict.columns["agent"].novelty is None
