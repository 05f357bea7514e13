"""One label judged the same way by POST /labels and by label files; label files read line by line."""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from airloop.data.labelcheck import Refused, Rules, check, parse_time
from airloop.data.labelfiles import read_lines
from airloop.data.predlog import PredictionLog
from airloop.steps.monitor import take_label_files
from airloop.tracking.tags import Tag

YES_NO = Rules.of("binary", ["NO", "YES"])


def test_a_label_is_coerced_to_the_models_class() -> None:
    assert check({"request_id": "r", "label": "yes"}, YES_NO) == {
        "request_id": "r",
        "entity_id": None,
        "label": "YES",
        "ts": None,
    }
    assert check({"entity_id": 7, "label": 1.5}, Rules.of("regression", None))["label"] == 1.5  # type: ignore[index]


@pytest.mark.parametrize(
    ("raw", "rules", "field", "start"),
    [
        ({"request_id": "r", "label": "maybe"}, YES_NO, "label", '\'maybe\' is not one of "NO", "YES"'),
        ({"request_id": "r", "label": "3"}, Rules.of("regression", None), "label", "'3' is not a number"),
        ({"request_id": "r", "label": True}, Rules.of("regression", None), "label", "True is not a number"),
        ({"request_id": "r", "label": float("nan")}, Rules(), "label", "nan is not a finite number"),
        ({"request_id": "r", "label": [1]}, Rules(), "label", "[1] is not a single value"),
        ({"request_id": "r", "label": None}, Rules(), "label", "no label"),
        ({"request_id": 5, "label": 1}, Rules(), "request_id", "request_id must be text"),
        ({"entity_id": True, "label": 1}, Rules(), "entity_id", "entity_id must be text or an integer"),
        ({"label": 1}, Rules(), "", "no request_id or entity_id"),
        ({"request_id": "r", "label": 1, "x": 2}, Rules(), "x", "unknown field 'x' of a label"),
        ({"request_id": "r", "label": 1, "ts": 1, "timestamp": 2}, Rules(), "timestamp", "ts and timestamp"),
        ({"request_id": "r", "label": 1, "ts": 1.7e12}, Rules(), "ts", "1700000000000.0 is not a time"),
        ("r,1", Rules(), "", "a label is an object"),
    ],
)
def test_what_a_label_may_not_be(raw, rules: Rules, field: str, start: str) -> None:
    out = check(raw, rules)
    assert isinstance(out, Refused)
    assert out.field == field
    assert out.problem.startswith(start), out.problem


def test_times_read_as_epoch_seconds() -> None:
    assert parse_time("2026-01-31T12:00:00Z") == 1769860800.0
    assert parse_time("2026-01-31T13:00:00+01:00") == 1769860800.0
    assert parse_time("2026-01-31 12:00:00") == 1769860800.0  # naive: UTC
    assert parse_time(1769860800) == 1769860800.0
    assert parse_time(True) is None
    assert parse_time(-1) is None
    assert parse_time("tomorrow") is None


def test_csv_lines_keep_their_numbers_types_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "l.csv"
    path.write_bytes("\ufeffrequest_id,label,ts\nr1,1,\nr2,yes,1769860800\nr3,1,2,extra\n".encode())
    lines = read_lines(path)
    assert [(n, raw) for n, raw, problem in lines if problem is None] == [
        (2, {"request_id": "r1", "label": 1}),
        (3, {"request_id": "r2", "label": "yes", "ts": 1769860800}),
    ]
    assert lines[2][0] == 4
    assert lines[2][2] is not None
    assert lines[2][2].problem.startswith("more values than the 3 columns")


def test_a_csv_with_a_column_no_label_has_is_refused_whole(tmp_path: Path) -> None:
    path = tmp_path / "l.csv"
    path.write_text("request_id,label,score\nr1,1,0.3\n")
    ((number, _, problem),) = read_lines(path)
    assert number == 1
    assert problem is not None
    assert problem.problem.startswith("column 'score' is not a field of a label")


def test_the_monitor_checks_files_against_the_champions_classes(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path / "p.db")
    log.write([("r1", 0, time.time(), "1", None, {"x": 1.0}, "YES", None)])
    log.close()
    folder = tmp_path / "labels"
    folder.mkdir()
    (folder / "l.jsonl").write_text('{"request_id": "r1", "label": "yes"}\n{"request_id": "r1", "label": "banana"}\n')
    ctx = SimpleNamespace(
        loaded=SimpleNamespace(spec=SimpleNamespace(task="binary")),
        workspace=SimpleNamespace(labels_folder=lambda name: folder),
        name="tiny",
        run_id="m1",
    )
    champion = SimpleNamespace(tags={Tag.CLASSES: json.dumps(["NO", "YES"])})
    take_label_files(ctx, tmp_path / "p.db", champion)  # type: ignore[arg-type]
    again = PredictionLog(tmp_path / "p.db")
    assert [json.loads(v) for (v,) in again._con.execute("select label from labels")] == ["YES"]
    assert again._con.execute("select name, recorded, refused, taker from label_files").fetchall() == [
        ("l.jsonl", 1, 1, "monitor m1")
    ]
    assert (folder / "rejected" / "l.jsonl.rejects.jsonl").exists()


def test_a_null_ts_beside_a_timestamp_leaves_the_timestamp() -> None:
    out = check({"request_id": "r", "label": "YES", "ts": None, "timestamp": "2026-01-31T12:00:00Z"}, YES_NO)
    assert out == {"request_id": "r", "entity_id": None, "label": "YES", "ts": 1769860800.0}


def test_odd_bytes_are_refused_with_a_reason_never_raised(tmp_path: Path) -> None:
    from airloop.data.labelfiles import take

    log = PredictionLog(tmp_path / "p.db")
    folder = tmp_path / "labels"
    folder.mkdir()
    (folder / "deep.jsonl").write_text("[" * 100_000 + "\n" + json.dumps({"entity_id": "e", "label": 1, "ts": 10**400}))
    (folder / "wide.csv").write_text("entity_id,label\ne," + "x" * 200_000 + "\n")
    (folder / "latin.csv").write_bytes("entity_id,label\nrené,1\n".encode("latin-1"))
    assert take(log, folder, Rules()).recorded == 0
    assert sorted(p.name for p in (folder / "rejected").iterdir() if not p.name.endswith(".rejects.jsonl")) == [
        "deep.jsonl",
        "latin.csv",
        "wide.csv",
    ]
    deep = (folder / "rejected" / "deep.jsonl.rejects.jsonl").read_text().splitlines()
    assert [json.loads(line)["problem"][:20] for line in deep] == ["not JSON: maximum re", "1" + "0" * 19]
    assert "field larger than field limit" in (folder / "rejected" / "wide.csv.rejects.jsonl").read_text()
    assert "not UTF-8 text" in (folder / "rejected" / "latin.csv.rejects.jsonl").read_text()
