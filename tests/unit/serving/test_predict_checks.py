"""Which records of a request are predicted: partial batches and the all-or-nothing setting."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from airloop.data.contract import ColumnRule, Contract
from airloop.serving.holder import Snapshot
from airloop.serving.routers.predict import checked_records
from airloop.serving.schema import batch_model, record_model

CONTRACT = Contract(
    columns={
        "x": ColumnRule("numeric", nullable=False),
        "c": ColumnRule("categorical", nullable=False, categories=["a", "b"]),
        "y": ColumnRule("numeric"),
    },
    target="y",
)
GOOD = {"x": 1.0, "c": "a"}


def snapshot(max_records: int = 5) -> Snapshot:
    record = record_model(CONTRACT, "reject")
    batch = batch_model(record, max_records)
    return Snapshot("m", "1", None, CONTRACT, record, batch, TypeAdapter(record), TypeAdapter(batch), {}, {}, "binary")


def test_a_batch_with_some_bad_records_predicts_the_others() -> None:
    body = {"records": [GOOD, {**GOOD, "c": "zzz"}, GOOD, {"x": "one"}, {**GOOD, "x": 2.0}]}
    records, positions, refused = checked_records(body, snapshot(), partial=True)
    assert positions == [0, 2, 4]
    assert records == [GOOD, GOOD, {**GOOD, "x": 2.0}]
    assert refused == [
        {"index": 1, "field": "c", "problem": "unknown category 'zzz'"},
        {"index": 3, "field": "x", "problem": "wrong type: input should be a valid number (got str)"},
        {"index": 3, "field": "c", "problem": "missing feature"},
    ]


def test_a_clean_batch_and_a_single_record() -> None:
    assert checked_records({"records": [GOOD, GOOD]}, snapshot(), partial=True) == ([GOOD, GOOD], None, [])
    assert checked_records(GOOD, snapshot(), partial=True) == ([GOOD], None, None)
    with pytest.raises(ValidationError):
        checked_records({**GOOD, "c": "zzz"}, snapshot(), partial=True)  # one record: all or nothing


def test_a_record_that_is_not_an_object_is_named_by_index() -> None:
    _, positions, refused = checked_records({"records": [GOOD, 7]}, snapshot(), partial=True)
    assert positions == [0]
    assert [(r["index"], r["field"]) for r in refused] == [(1, "record")]


@pytest.mark.parametrize(
    "body",
    [
        {"records": [{"x": None, "c": "a"}, {**GOOD, "c": "zzz"}]},  # every record is invalid
        {"records": [GOOD] * 6},  # over max_records: the batch itself is wrong
        {"records": []},
        {"records": [GOOD], "extra": 1},
        {"records": "not a list"},
    ],
)
def test_nothing_to_predict_is_refused_whole(body) -> None:
    with pytest.raises(ValidationError):
        checked_records(body, snapshot(), partial=True)


def test_reject_keeps_all_or_nothing() -> None:
    with pytest.raises(ValidationError):
        checked_records({"records": [GOOD, {**GOOD, "c": "zzz"}]}, snapshot(), partial=False)
    assert checked_records({"records": [GOOD]}, snapshot(), partial=False) == ([GOOD], None, [])
