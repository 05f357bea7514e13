"""Files read for `airloop score`: CSV text becomes the server's records, chunks are cut the same
way however the reader cut the file, lines that are no record are named by line."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from airloop.scoring.inputs import _rechunk, chunks, open_inputs, to_records

KINDS = {"x": "numeric", "b": "boolean", "c": "categorical"}


def test_csv_text_becomes_the_values_a_json_record_holds(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("x,b,c,id\n1.5,true,a,7\nabc,no,,8\nNaN,maybe,b,\n,0,c,9\n")
    (f,) = open_inputs([path], "auto", "utf-8")
    (chunk,) = chunks(f, ["x", "b", "c", "id"], KINDS, 100, "utf-8")
    assert chunk.records == [
        {"x": 1.5, "b": True, "c": "a", "id": "7"},
        {"x": "abc", "b": False, "c": None, "id": "8"},  # not a number: left for the record to refuse
        {"x": None, "b": "maybe", "c": "b", "id": None},
        {"x": None, "b": False, "c": "c", "id": "9"},
    ]


def test_parquet_keeps_its_types_and_nan_is_missing() -> None:
    table = pa.table({"x": [1.0, float("nan"), None], "n": [1, 2, 3]})
    assert to_records(table, {"x": "numeric", "n": "numeric"}) == [
        {"x": 1.0, "n": 1},
        {"x": None, "n": 2},
        {"x": None, "n": 3},
    ]


def test_chunks_do_not_depend_on_how_the_reader_cut_the_file() -> None:
    pieces = [pa.table({"i": list(range(a, b))}) for a, b in ((0, 3), (3, 4), (4, 11))]
    out = list(_rechunk(iter(pieces), 4))
    assert [t["i"].to_pylist() for t in out] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10]]


def test_a_line_that_is_no_record_is_named_and_the_others_read(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("x,c\n1,a\n2,b,extra\n3,c\n")
    (f,) = open_inputs([path], "auto", "utf-8")
    parts = list(chunks(f, ["x", "c"], KINDS, 100, "utf-8"))
    assert [r["x"] for p in parts for r in p.records] == [1.0, 3.0]
    assert [b for p in parts for b in p.broken] == [(3, "expected 2 fields, got 3")]
