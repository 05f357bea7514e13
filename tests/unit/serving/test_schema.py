"""Request models generated from a contract, and the field-by-field error report."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from airloop.data.contract import ColumnRule, Contract
from airloop.serving.schema import RecordShape, batch_model, describe_errors, judge, record_model

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
    model = record_model(CONTRACT, "reject", shape=RecordShape(extra="reject"))
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


def test_fields_the_model_does_not_use_are_ignored_and_counted_by_default() -> None:
    shape = RecordShape()
    model = record_model(CONTRACT, "reject", shape=shape)
    TypeAdapter(model).validate_python({**GOOD, "id": 7, "y": 1, "note": "x"})  # the target too
    known = shape.known(["x", "n", "c", "t"])
    assert shape.ignored([{**GOOD, "id": 7, "y": 1}, GOOD, 5, {"entity_id": "e"}], known) == 2
    assert RecordShape(extra="reject").ignored([{**GOOD, "id": 7}], known) == 0  # refused, not ignored
    # a misspelt feature is still named: as the feature it lacks
    assert errors(model, {**{k: v for k, v in GOOD.items() if k != "x"}, "xx": 1}) == {"x": "missing feature"}


def test_passthrough_fields_are_typed_scalars_and_carried() -> None:
    shape = RecordShape(passthrough=("ref", "batch"), extra="reject")
    model = record_model(CONTRACT, "reject", shape=shape)
    TypeAdapter(model).validate_python({**GOOD, "ref": "a-1", "batch": 3})
    TypeAdapter(model).validate_python(GOOD)  # optional
    found = errors(model, {**GOOD, "ref": {"nested": 1}, "batch": float("nan")})
    assert set(found) == {"ref", "batch"}
    assert errors(model, {**GOOD, "other": 1}) == {"other": "unknown field (not a feature of this model)"}
    assert shape.carried([{**GOOD, "ref": "a-1"}, 7]) == [{"ref": "a-1", "batch": None}, None]
    assert "ref" in model.model_json_schema()["properties"]


def test_the_entity_id_comes_from_the_named_column() -> None:
    shape = RecordShape(entity="customer")
    model = record_model(CONTRACT, "reject", shape=shape)
    TypeAdapter(model).validate_python({**GOOD, "customer": 42})
    assert "customer" in errors(model, {**GOOD, "customer": 4.5})  # text or an integer, like entity_id
    recs = [{**GOOD, "customer": 42}, {**GOOD, "entity_id": "e"}, {**GOOD, "customer": "c", "entity_id": "e"}]
    shape.name_entities(recs)
    assert [r.get("entity_id") for r in recs] == [42, "e", "c"]  # the column wins; entity_id is the fallback


def test_judge_names_the_refused_records_by_index() -> None:
    check = TypeAdapter(batch_model(record_model(CONTRACT, "reject"), max_records=10))
    assert judge(check, {"records": [GOOD, GOOD]}).positions is None
    judged = judge(check, {"records": [GOOD, {**GOOD, "x": "a"}, 3]})
    assert judged.positions == [0]
    assert judged.refused == [
        {"index": 1, "field": "x", "problem": "wrong type: input should be a valid number (got str)"},
        {"index": 2, "field": "record", "problem": "Input should be a valid dictionary or instance of Record"},
    ]
    with pytest.raises(ValidationError):
        judge(check, {"records": [GOOD] * 11})  # the batch itself is wrong
