"""Which columns the contract judges: only what the model can use."""

from __future__ import annotations

from typing import Any

from airloop.spec.models import Spec
from airloop.steps.validate import columns_to_judge

COLUMNS = ["ts", "x", "size", "note", "id", "y"]


def spec_dict(data: dict[str, Any] | None = None, **sections: Any) -> dict[str, Any]:
    return {
        "name": "demo",
        "task": "binary",
        "data": {"source": {"path": "data/*.csv"}, "target": "y", **(data or {})},
        "candidates": [{"name": "lr", "estimator": "sklearn.linear_model.LogisticRegression"}],
        **sections,
    }


def test_excluded_columns_are_never_judged() -> None:
    spec = Spec.model_validate(spec_dict(data={"features": {"exclude": ["id", "note"]}}))
    judged, unchecked = columns_to_judge(spec, COLUMNS)
    assert judged == ["ts", "x", "size", "y"]
    assert unchecked == ["note", "id"]


def test_declared_features_without_a_transform_judge_only_features_target_and_split_column() -> None:
    spec = Spec.model_validate(
        spec_dict(data={"features": {"numeric": ["x"]}}, split={"method": "time", "column": "ts"})
    )
    judged, unchecked = columns_to_judge(spec, COLUMNS)
    assert judged == ["ts", "x", "y"]
    assert unchecked == ["size", "note", "id"]


def test_a_transform_may_read_any_column_so_all_but_the_excluded_are_judged() -> None:
    spec = Spec.model_validate(
        spec_dict(data={"features": {"numeric": ["x"], "exclude": ["id"]}, "transform": "feats:add"})
    )
    judged, unchecked = columns_to_judge(spec, COLUMNS)
    assert judged == ["ts", "x", "size", "note", "y"]
    assert unchecked == ["id"]


def test_an_excluded_split_column_is_still_read_it_is_the_contracts_clock() -> None:
    """`airloop init` excludes the time column from the features; without it the contract had no clock
    and refused every healthy week of hotel_rates (new agents, a numeric date past its range)."""
    spec = Spec.model_validate(
        spec_dict(
            data={"features": {"numeric": ["x"], "exclude": ["ts", "id"]}}, split={"method": "time", "column": "ts"}
        )
    )
    judged, unchecked = columns_to_judge(spec, COLUMNS)
    assert judged == ["ts", "x", "y"]
    assert unchecked == ["size", "note", "id"]
