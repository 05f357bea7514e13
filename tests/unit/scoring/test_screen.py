"""The column screen changes nothing but time: on random chunks with every kind of planted problem,
its judgement equals the record model's record by record (same rows kept, same refusals, same
wording), and it does take the clean rows of typed columns off the record model's hands."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pyarrow as pa
import pytest
from pydantic import TypeAdapter

from airloop.data.contract import ColumnRule, Contract
from airloop.scoring.inputs import to_records
from airloop.scoring.screen import Screen, judged
from airloop.serving.schema import RecordShape, batch_model, judge, record_model

KINDS = {"x": "numeric", "n": "numeric", "flag": "boolean", "when": "datetime", "c": "categorical"}
KINDS |= {"t": "categorical"}


def _contract() -> Contract:
    return Contract(
        columns={
            "x": ColumnRule("numeric", nullable=True, min=0, max=10),
            "n": ColumnRule("numeric", nullable=False),
            "flag": ColumnRule("boolean", nullable=False),
            "when": ColumnRule("datetime", nullable=False),
            "c": ColumnRule("categorical", nullable=False, categories=["a", "b", "c"]),
            "t": ColumnRule("categorical", nullable=True),
            "y": ColumnRule("numeric"),
        },
        target="y",
    )


def _value(rng: random.Random, col: str) -> Any:
    """Mostly healthy values, with nulls, NaN, infinities, unknown categories among them."""
    roll = rng.random()
    if col in ("x", "n"):
        return None if roll < 0.08 else float("nan") if roll < 0.14 else float("inf") if roll < 0.18 else rng.random()
    if col == "flag":
        return None if roll < 0.1 else roll < 0.55
    if col == "when":
        return None if roll < 0.1 else dt.datetime(2024, 1, 1) + dt.timedelta(hours=rng.randrange(10_000))
    if col == "c":
        return None if roll < 0.08 else "zzz" if roll < 0.16 else rng.choice("abc")
    if col == "t":
        return None if roll < 0.2 else rng.choice(["p", "q", ""])
    if col == "entity_id":
        return None if roll < 0.3 else f"e{rng.randrange(100)}"
    if col == "ref":
        return None if roll < 0.2 else float("nan") if roll < 0.3 else rng.random()
    raise AssertionError(col)


def _table(rng: random.Random, rows: int, types: dict[str, Any]) -> Any:
    return pa.table({c: pa.array([_value(rng, c) for _ in range(rows)], tp) for c, tp in types.items()})


TYPED = {
    "x": pa.float64(),
    "n": pa.float32(),
    "flag": pa.bool_(),
    "when": pa.timestamp("us"),
    "c": pa.string(),
    "t": pa.large_string(),
    "entity_id": pa.string(),
    "ref": pa.float64(),
}


@pytest.mark.parametrize("unknown", ["reject", "accept"])
@pytest.mark.parametrize("seed", range(6))
def test_the_screen_judges_as_the_record_model_does(seed: int, unknown: str) -> None:
    rng = random.Random(seed)
    shape = RecordShape(passthrough=("ref",))
    contract = _contract()
    check = TypeAdapter(batch_model(record_model(contract, unknown, shape=shape), 500))
    screen = Screen.of(contract, unknown, shape)
    table = _table(rng, 400, TYPED)
    records = to_records(table, KINDS)
    expected = judge(check, {"records": records})
    got = judged(check, screen, table, records)
    assert got.positions == expected.positions
    assert sorted(got.refused, key=lambda r: (r["index"], r["field"])) == sorted(
        expected.refused, key=lambda r: (r["index"], r["field"])
    )
    clean = screen.clean(table)
    assert clean is not None
    assert 0 < clean.sum() < len(records)


def test_integer_columns_and_whole_clean_chunks_skip_the_record_model() -> None:
    contract = _contract()
    shape = RecordShape()
    screen = Screen.of(contract, "reject", shape)
    table = pa.table(
        {
            "x": pa.array([1, 2, None], pa.int64()),
            "n": pa.array([3, 4, 5], pa.uint8()),
            "flag": [True, False, True],
            "when": pa.array([dt.datetime(2024, 1, 1)] * 3, pa.timestamp("ms", tz="UTC")),
            "c": ["a", "b", "c"],
            "t": [None, "q", "r"],
        }
    )
    assert screen.clean(table).tolist() == [True, True, True]

    def refuse(body: dict[str, Any]) -> Any:
        raise AssertionError("judged record by record")

    got = judged(refuse, screen, table, to_records(table, KINDS))
    assert got.positions is None
    assert got.refused == []


@pytest.mark.parametrize(
    "column",
    [
        ("n", pa.array(["1", "2", "3"])),  # text, as CSV reads it: Python's float() decides
        ("flag", pa.array(["yes", "no", "true"])),
        ("when", pa.array(["2024-01-01", "x", "2024-01-02"])),
        ("when", pa.array([dt.date(2024, 1, 1)] * 3)),
        ("c", pa.array([1, 2, 3])),
        ("x", pa.array([True, False, True])),  # a bool is no number to the record model
        ("extra", pa.array([1, 2, 3])),
    ],
)
def test_columns_the_screen_cannot_read_leave_the_chunk_to_the_record_model(column: tuple[str, Any]) -> None:
    name, values = column
    base = {"x": [1.0] * 3, "n": [1.0] * 3, "flag": [True] * 3, "when": [dt.datetime(2024, 1, 1)] * 3}
    table = pa.table(base | {"c": ["a"] * 3, "t": ["p"] * 3} | {name: values})
    screen = Screen.of(_contract(), "reject", RecordShape())
    assert screen.clean(table) is None
