"""The data contract: inferred from reference data or declared, then checked on each batch."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from airloop.data import contract as dc
from airloop.spec.models import ColumnContract
from airloop.spec.models import Contract as ContractSpec


@pytest.fixture
def reference() -> pd.DataFrame:
    """100 rows: x in [0, 100] with 10% nulls, a category of a/b, a flag, a timestamp and a target."""
    n = 100
    x = np.linspace(0, 100, n)
    x[::10] = np.nan
    return pd.DataFrame(
        {
            "x": x,
            "n": np.arange(n, dtype="int64"),
            "c": ["a", "b"] * (n // 2),
            "flag": [True, False] * (n // 2),
            "ts": pd.date_range("2024-01-01", periods=n, freq="h"),
            "y": [0, 1] * (n // 2),
        }
    )


@pytest.fixture
def contract(reference) -> dc.Contract:
    return dc.infer(reference, target="y", source="fp123")


@pytest.fixture
def strict(reference) -> dc.Contract:
    """Today's contract (contract.learn_time: false): fixed ranges and the tolerances alone, where a
    single row out of range is a share of rows, not a plausible outlier."""
    return dc.infer(reference, target="y", source="fp123", tol=ContractSpec(learn_time=False))


def rules_of(violations: list[dc.Violation]) -> dict[str, str]:
    return {v.column: v.rule for v in violations}


def test_infer_kinds_ranges_categories_and_null_rates(contract):
    cols = contract.columns

    assert {name: rule.kind for name, rule in cols.items()} == {
        "x": "numeric",
        "n": "numeric",
        "c": "categorical",
        "flag": "boolean",
        "ts": "datetime",
        "y": "numeric",
    }
    assert (cols["x"].min, cols["x"].max) == (pytest.approx(100 / 99), 100.0)  # row 0 is null
    assert (cols["n"].min, cols["n"].max) == (0.0, 99.0)
    assert cols["c"].categories == ["a", "b"]
    assert cols["x"].null_rate == pytest.approx(0.1)
    assert cols["x"].nullable
    assert cols["n"].null_rate == 0.0
    assert not cols["n"].nullable
    assert cols["flag"].categories is None
    assert cols["flag"].min is None
    assert contract.target == "y"
    assert contract.source == "fp123"
    assert not contract.declared
    assert contract.feature_columns() == ["x", "n", "c", "flag", "ts"]


def test_infer_skips_categories_of_free_text():
    frame = pd.DataFrame({"text": [f"t{i}" for i in range(dc.MAX_CATEGORIES + 1)], "y": 0})

    assert dc.infer(frame, "y").columns["text"].categories is None


def test_the_reference_itself_passes(reference, contract):
    assert dc.check(reference, contract, ContractSpec()) == []


def test_missing_column(reference, contract):
    violations = dc.check(reference.drop(columns=["c"]), contract, ContractSpec())

    assert rules_of(violations) == {"c": "missing_column"}


def test_extra_column_with_examples(reference, contract):
    batch = reference.assign(surprise=[7, 8] * 50)

    (v,) = dc.check(batch, contract, ContractSpec())

    assert (v.column, v.rule) == ("surprise", "extra_column")
    assert v.examples == [7, 8]


def test_dtype_change(reference, contract):
    batch = reference.assign(n=reference["n"].astype(str))

    (v,) = dc.check(batch, contract, ContractSpec())

    assert (v.column, v.rule) == ("n", "dtype")
    assert "expected numeric, got categorical" in v.message
    assert v.examples[:2] == ["0", "1"]


def test_numeric_batch_for_a_boolean_column_is_accepted(reference, contract):
    assert dc.check(reference.assign(flag=[1, 0] * 50), contract, ContractSpec()) == []


def test_null_rate_within_tolerance_passes(reference, contract):
    x = reference["x"].copy()
    x[1:15:10] = np.nan  # 12% nulls; the reference had 10%, tolerance 5%

    assert dc.check(reference.assign(x=x), contract, ContractSpec(null_rate_tolerance=0.05)) == []


def test_null_rate_above_tolerance(reference, contract):
    x = reference["x"].copy()
    x[:20] = np.nan  # 20 + 8 = 28% nulls

    (v,) = dc.check(reference.assign(x=x), contract, ContractSpec(null_rate_tolerance=0.05))

    assert (v.column, v.rule, v.count) == ("x", "null_rate", 28)
    assert "28.00% nulls" in v.message
    assert "at most 15.00%" in v.message


def test_null_in_a_column_that_had_none_is_flagged(reference, contract):
    n = reference["n"].astype("float64")
    n[:30] = np.nan

    (v,) = dc.check(reference.assign(n=n), contract, ContractSpec())

    assert (v.column, v.rule) == ("n", "null_rate")


def test_few_nulls_in_a_column_that_had_none_are_within_tolerance(reference, contract):
    n = reference["n"].astype("float64")
    n[0] = np.nan  # 1% nulls, tolerance 5%

    assert dc.check(reference.assign(n=n), contract, ContractSpec(null_rate_tolerance=0.05)) == []


def test_nulls_in_the_target_are_not_a_contract_violation(reference, contract):
    batch = reference.assign(y=reference["y"].astype("float64").where(reference.index % 2 == 0))

    assert dc.check(batch, contract, ContractSpec()) == []


def test_numeric_range_beyond_tolerance_with_examples(reference, contract):
    batch = reference.copy()
    batch.loc[[1, 2, 3], "x"] = [150.0, -50.0, 150.0]

    (v,) = dc.check(batch, contract, ContractSpec(range_tolerance=0.1))

    assert (v.column, v.rule, v.count) == ("x", "range", 3)
    assert v.examples == [150.0, -50.0]  # distinct values only
    assert "3 values" in v.message
    assert "outside [" in v.message


def test_numeric_range_within_tolerance_passes(reference, contract):
    batch = reference.copy()
    batch.loc[[1, 2], "x"] = [108.0, -8.0]  # span 99, tolerance 10% -> about [-8.9, 109.9]

    assert dc.check(batch, contract, ContractSpec(range_tolerance=0.1)) == []
    assert rules_of(dc.check(batch, contract, ContractSpec(range_tolerance=0.01))) == {"x": "range"}


@pytest.mark.parametrize(("tolerance", "flagged"), [(0.02, False), (0.005, True)])
def test_out_of_range_tolerance_is_a_share_of_rows(reference, strict, tolerance, flagged):
    batch = reference.copy()
    batch.loc[1, "x"] = 1000.0  # 1 row of 100

    violations = dc.check(batch, strict, ContractSpec(out_of_range_tolerance=tolerance))

    assert bool(violations) is flagged


@pytest.mark.parametrize(("tolerance", "flagged"), [(0.0, True), (0.02, False), (0.05, False)])
def test_unseen_categories_against_tolerance(reference, contract, tolerance, flagged):
    # 3 of 100 rows is consistent with a true share of 2% at 99.9% confidence: not a break
    batch = reference.copy()
    batch.loc[[1, 2, 3], "c"] = ["z", "z", "w"]  # 3% of rows

    violations = dc.check(batch, contract, ContractSpec(unseen_category_tolerance=tolerance))

    assert bool(violations) is flagged
    if flagged:
        (v,) = violations
        assert (v.column, v.rule, v.count) == ("c", "unseen_category", 3)
        assert v.examples == ["z (2)", "w (1)"]


def test_example_values_are_capped(reference, contract):
    batch = reference.copy()
    batch.loc[:9, "c"] = [f"new{i}" for i in range(10)]

    (v,) = dc.check(batch, contract, ContractSpec(example_values=3))

    assert len(v.examples) == 3


def declared(**columns: ColumnContract) -> tuple[dc.Contract, ContractSpec]:
    # generous tolerances, to show that a declared contract ignores them
    spec = ContractSpec(
        columns=columns,
        range_tolerance=1.0,
        null_rate_tolerance=0.5,
        out_of_range_tolerance=0.5,
        unseen_category_tolerance=0.5,
    )
    return dc.from_spec(spec, target="y"), spec


def test_declared_contract_has_no_range_tolerance():
    contract, tol = declared(x=ColumnContract(kind="numeric", min=0, max=10))
    batch = pd.DataFrame({"x": [0.0, 5.0, 10.0, 10.5]})

    (v,) = dc.check(batch, contract, tol)

    assert contract.declared
    assert (v.rule, v.examples) == ("range", [10.5])
    assert dc.check(batch.iloc[:3], contract, tol) == []


def test_declared_contract_has_no_category_tolerance():
    contract, tol = declared(c=ColumnContract(kind="categorical", categories=["a", "b"]))

    (v,) = dc.check(pd.DataFrame({"c": ["a"] * 9 + ["q"]}), contract, tol)

    assert (v.rule, v.examples) == ("unseen_category", ["q (1)"])


def test_declared_not_nullable_refuses_any_null():
    contract, tol = declared(x=ColumnContract(kind="numeric", nullable=False))

    (v,) = dc.check(pd.DataFrame({"x": [1.0] * 99 + [np.nan]}), contract, tol)

    assert (v.rule, v.count) == ("null_rate", 1)
    assert "none allowed" in v.message


def test_declared_nullable_allows_nulls():
    contract, tol = declared(x=ColumnContract(kind="numeric", nullable=True))

    assert dc.check(pd.DataFrame({"x": [np.nan] * 10}).astype("float64"), contract, tol) == []


def test_declared_min_alone_is_enforced():
    contract, tol = declared(x=ColumnContract(kind="numeric", min=0))

    assert rules_of(dc.check(pd.DataFrame({"x": [1.0, -5.0]}), contract, tol)) == {"x": "range"}


def test_json_round_trip(contract):
    again = dc.Contract.from_json(contract.to_json())

    assert again == contract
    assert again.columns["c"].categories == ["a", "b"]


def test_declared_contract_json_round_trip():
    contract, _ = declared(c=ColumnContract(kind="categorical", categories=["a"], nullable=False))

    assert dc.Contract.from_json(contract.to_json()) == contract


def test_render_names_column_rule_and_examples(reference, strict):
    batch = reference.copy()
    batch.loc[1, "x"] = 999.0
    batch.loc[2, "c"] = "zebra"
    violations = dc.check(batch, strict, ContractSpec())

    text = dc.render("data/2024-02.csv", 1234, violations)

    first, *lines = text.splitlines()
    assert first == "data/2024-02.csv (1,234 rows): 2 violation(s)"
    assert len(lines) == 2
    (x_line,) = [line for line in lines if "range" in line]
    (c_line,) = [line for line in lines if "unseen_category" in line]
    assert x_line.lstrip().startswith("- x")
    assert "e.g. 999.0" in x_line
    assert c_line.lstrip().startswith("- c")
    assert "e.g. zebra (1)" in c_line


def test_render_without_violations():
    assert dc.render("b.csv", 3, []) == "b.csv (3 rows): 0 violation(s)"


def test_accepted_batches_teach_new_categories_but_not_ranges() -> None:
    from airloop.data.contract import learn_categories

    base = dc.infer(pd.DataFrame({"c": ["a", "b"] * 50, "x": range(100), "y": [0, 1] * 50}), target="y")
    learned = learn_categories(base, pd.DataFrame({"c": ["a", "z"], "x": [500, 1], "y": [0, 1]}))
    assert learned.columns["c"].categories == ["a", "b", "z"]
    assert learned.columns["x"].max == base.columns["x"].max  # ranges never widen
    assert base.columns["c"].categories == ["a", "b"]  # the input is left alone


def test_share_bounds_weigh_the_batch_size():
    """A small excess over the bound in a big batch is sampling noise; a real jump is not."""
    ref = pd.DataFrame({"x": [1.0] * 80 + [None] * 20, "y": [0, 1] * 50})  # 20% nulls
    contract = dc.infer(ref, target="y")
    tol = ContractSpec(null_rate_tolerance=0.0)

    def batch(rate: float, n: int) -> pd.DataFrame:
        k = round(rate * n)
        return pd.DataFrame({"x": [None] * k + [1.0] * (n - k), "y": [0] * n})

    assert dc.check(batch(0.203, 4000), contract, tol) == []  # 0.3 points over, 4,000 rows: noise
    (v,) = dc.check(batch(0.40, 4000), contract, tol)  # a 20-point jump
    assert (v.rule, v.severity) == ("null_rate", "warn")  # a moderate rise warns by default
    (v,) = dc.check(batch(0.90, 4000), contract, tol)
    assert v.severity == "block"  # a column gone (nearly) empty blocks
    assert dc.wilson_lower(0, 10, 0.999) == 0.0
    assert 0.17 < dc.wilson_lower(812, 4000, 0.999) < 0.203


def test_severity_is_set_per_rule_and_per_column():
    ref = pd.DataFrame({"x": [1.0, 2.0] * 50, "c": ["a", "b"] * 50, "y": [0, 1] * 50})
    contract = dc.infer(ref, target="y")
    bad = ref.assign(x=ref["x"] * 1000, c="zz")
    default = {v.rule: v.severity for v in dc.check(bad, contract, ContractSpec())}
    assert default == {"range": "block", "unseen_category": "block"}
    spec = ContractSpec(severity={"range": "warn"}, column_severity={"c": {"unseen_category": "warn"}})
    assert {v.severity for v in dc.check(bad, contract, spec)} == {"warn"}
    assert dc.blocking(dc.check(bad, contract, spec)) == []


def test_dates_stored_as_text_are_not_a_category_list() -> None:
    ref = pd.DataFrame({"day": pd.date_range("2024-01-01", periods=60).strftime("%Y-%m-%d"), "y": 1})
    contract = dc.infer(ref, "y")
    assert contract.columns["day"].kind == "categorical"
    assert contract.columns["day"].categories is None
    later = pd.DataFrame({"day": pd.date_range("2024-03-01", periods=60).strftime("%Y-%m-%d"), "y": 1})
    assert dc.check(later, contract, ContractSpec()) == []
