"""Request models generated from a contract, and the field-by-field error report."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from airloop.data.contract import ColumnRule, Contract
from airloop.serving.schema import batch_model, describe_errors, record_model

CONTRACT = Contract(
    columns={
        "x": ColumnRule("numeric", nullable=False, min=0, max=10),
        "n": ColumnRule("numeric", nullable=True),
        "c": ColumnRule("categorical", nullable=False, categories=["a", "b"]),
        "t": ColumnRule("datetime", nullable=False),
        "y": ColumnRule("numeric"),
    },
    target="y",
)
GOOD = {"x": 1.5, "n": None, "c": "a", "t": "2024-01-01T00:00:00Z"}


def errors(model, payload) -> dict[str, str]:
    with pytest.raises(ValidationError) as info:
        TypeAdapter(model).validate_python(payload)
    return {d["field"]: d["problem"] for d in describe_errors(info.value.errors())}


def test_target_is_not_a_request_field_and_good_records_pass() -> None:
    model = record_model(CONTRACT, "reject")
    assert "y" not in model.model_fields
    TypeAdapter(model).validate_python(GOOD)
    TypeAdapter(model).validate_python({**GOOD, "x": 3, "entity_id": "e1"})  # ints are numbers


def test_each_offending_field_is_named() -> None:
    model = record_model(CONTRACT, "reject")
    found = errors(model, {"x": None, "c": "zzz", "t": "2024-01-01", "n": "1", "extra": 1})
    assert found == {
        "x": "null is not allowed here",
        "c": "unknown category 'zzz'",
        "n": "wrong type: input should be a valid number (got str)",
        "extra": "unknown field (not a feature of this model)",
    }
    assert errors(model, {k: v for k, v in GOOD.items() if k != "t"}) == {"t": "missing feature"}


def test_unknown_categories_can_be_accepted() -> None:
    model = record_model(CONTRACT, "accept")
    TypeAdapter(model).validate_python({**GOOD, "c": "never-seen"})
    schema = model.model_json_schema()
    assert "enum" not in str(schema["properties"]["c"])
    assert "known: a, b" in str(schema["properties"]["c"])


def test_batch_limits_and_paths() -> None:
    batch = batch_model(record_model(CONTRACT, "reject"), max_records=2)
    found = errors(batch, {"records": [GOOD, {**GOOD, "x": "a"}]})
    assert found == {"records[1].x": "wrong type: input should be a valid number (got str)"}
    assert "records" in errors(batch, {"records": [GOOD, GOOD, GOOD]})
    assert "records" in errors(batch, {"records": []})


def test_nan_and_infinity_are_refused() -> None:
    model = record_model(CONTRACT, "reject")
    assert "x" in errors(model, {**GOOD, "x": float("inf")})
    assert "x" in errors(model, {**GOOD, "x": float("nan")})
