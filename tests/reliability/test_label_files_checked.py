"""Issue 24, finding 5: a label file is parsed line by line before it moves, keeps its good lines,
and goes through the checks of POST /labels; the bad lines are written to a rejects report with
line numbers and reasons, and the counts reach the log, /metrics and `airloop status` (before: one
broken line lost the whole file, moved to done/ with 0 labels; "banana" was stored and joined; labels
for unknown request ids vanished without a count)."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from airloop.data.labelfiles import ingest_label_files
from airloop.data.predlog import PredictionLog

BINARY = ("binary", [0, 1])


def _log(tmp_path: Path) -> PredictionLog:
    log = PredictionLog(tmp_path / "p.db")
    log.write([(rid, 0, time.time(), "1", None, {"x": 1.0}, "1", "[0.3, 0.7]") for rid in ("r1", "r2", "r3")])
    return log


def _ingest(log: PredictionLog, folder: Path, rules: tuple[str, list[Any]] = BINARY) -> int:
    try:
        from airloop.data.labelcheck import Rules
    except ImportError:  # the code before this fix: no checks to give it
        return ingest_label_files(log, folder)
    return ingest_label_files(log, folder, Rules.of(*rules))


def _stored(log: PredictionLog) -> list[tuple[str | None, str | None, Any]]:
    rows = log._con.execute("select request_id, entity_id, label from labels order by id").fetchall()
    return [(r, e, json.loads(lab)) for r, e, lab in rows]


def _rejects(folder: Path, name: str) -> list[dict[str, Any]]:
    path = folder / "rejected" / f"{name}.rejects.jsonl"
    assert path.exists(), f"no rejects report for {name}: {sorted(p.name for p in folder.rglob('*'))}"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_broken_line_costs_only_itself(tmp_path: Path, record_property, caplog) -> None:
    log, folder = _log(tmp_path), tmp_path / "labels"
    folder.mkdir()
    lines = ['{"request_id": "r1", "label": 1}', '{"request_id": "r2", "label": ', '{"entity_id": "e3", "label": 0}']
    (folder / "mixed.jsonl").write_text("\n".join(lines) + "\n")
    caplog.set_level(logging.INFO, logger="airloop.labels")
    try:
        recorded = _ingest(log, folder)
    except ValueError as exc:
        record_property("observed", f"the file raised {type(exc).__name__} after it was moved to done/")
        raise AssertionError(f"one broken line lost the file: {exc!r}; {sorted(folder.rglob('*'))}") from exc
    record_property("observed", f"{recorded} of 2 good lines recorded; the broken line reported with its number")
    assert recorded == 2
    assert _stored(log) == [("r1", None, 1), (None, "e3", 0)]
    assert (folder / "done" / "mixed.jsonl").exists()
    (bad,) = _rejects(folder, "mixed.jsonl")
    assert bad["line"] == 2
    assert bad["problem"].startswith("not JSON")
    assert "mixed.jsonl: 2 labels recorded, 1 lines refused, 0 unknown request ids" in caplog.text
    assert not list((folder / "processing").iterdir())


def test_file_lines_get_the_checks_of_the_api(tmp_path: Path, record_property) -> None:
    log, folder = _log(tmp_path), tmp_path / "labels"
    folder.mkdir()
    (folder / "day.csv").write_text(
        "request_id,entity_id,label\n"
        "r1,,1\n"  # good
        "r2,,banana\n"  # not a class of the model
        "never-issued,,0\n"  # counted, not stored
        ",,1\n"  # nothing to join it to
        ",e9,yes\n"  # not a class of this 0/1 model either
        "r3,,0\n"  # good
    )
    _ingest(log, folder)
    stored = _stored(log)
    record_property("observed", f"stored from 6 lines (2 good): {stored}")
    assert stored == [("r1", None, 1), ("r3", None, 0)]
    rejects = _rejects(folder, "day.csv")
    assert [(r["line"], r["field"]) for r in rejects] == [(3, "label"), (4, "request_id"), (5, ""), (6, "label")]
    assert rejects[0]["problem"] == "'banana' is not one of 0, 1"
    assert rejects[1]["problem"] == "'never-issued' was never issued: not stored"
    assert rejects[2]["problem"] == "no request_id or entity_id"
    from airloop.data.labelfiles import summary

    counts = summary(log.path)
    assert {k: counts[k] for k in ("files", "recorded", "refused", "unknown")} == {
        "files": 1,
        "recorded": 2,
        "refused": 3,
        "unknown": 1,
    }


def test_a_file_with_no_good_line_ends_in_rejected_with_its_report(tmp_path: Path, record_property) -> None:
    log, folder = _log(tmp_path), tmp_path / "labels"
    folder.mkdir()
    (folder / "junk.jsonl").write_text('{"request_id": "r1", "label": "banana"}\nnot json\n[1, 2]\n')
    try:
        _ingest(log, folder)
    except ValueError:
        pass
    where = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    record_property("observed", f"files after the pass: {where}")
    assert (folder / "rejected" / "junk.jsonl").exists()
    assert not (folder / "done" / "junk.jsonl").exists()
    assert [r["line"] for r in _rejects(folder, "junk.jsonl")] == [1, 2, 3]
    assert _stored(log) == []


def test_a_file_is_recorded_once_even_when_its_claim_is_taken_again(tmp_path: Path) -> None:
    """The server and a monitor run both look; a claim left by a process that died is retried,
    and the claim's row in the log keeps a file that was recorded from being recorded twice."""
    from airloop.data.labelcheck import Rules
    from airloop.data.labelfiles import STALE_SECONDS, take

    log, folder = _log(tmp_path), tmp_path / "labels"
    processing = folder / "processing"
    processing.mkdir(parents=True)
    old = time.time_ns() - int((STALE_SECONDS + 5) * 1e9)
    claim = processing / f"{old}-1~late.jsonl"
    claim.write_text('{"request_id": "r1", "label": 1}\n')
    log.record_labels([{"request_id": "r1", "label": 1}], file=(claim.name, "late.jsonl", 0, "dead"))
    assert take(log, folder, Rules.of(*BINARY)).recorded == 0  # recorded before its taker died
    assert (folder / "done" / "late.jsonl").exists()
    assert len(_stored(log)) == 1
    fresh = processing / f"{old}-2~later.jsonl"  # never recorded: taken now
    fresh.write_text('{"request_id": "r2", "label": 0}\n')
    assert take(log, folder, Rules.of(*BINARY)).recorded == 1
    assert len(_stored(log)) == 2
    try:  # and the log refuses the same claim twice
        log.record_labels([{"request_id": "r2", "label": 0}], file=(fresh.name, "later.jsonl", 0, "x"))
    except sqlite3.IntegrityError:
        pass
    else:
        raise AssertionError("a claim was recorded twice")
    assert len(_stored(log)) == 2


def test_the_server_counts_file_labels_in_metrics_and_status_shows_them(tmp_path: Path) -> None:
    from airloop.cli import _label_files_status
    from airloop.serving.metrics import Metrics
    from airloop.serving.routers.labels import take_files

    log, folder = _log(tmp_path), tmp_path / "labels"
    folder.mkdir()
    (folder / "a.jsonl").write_text('{"request_id": "r1", "label": 1}\n{"request_id": "zz", "label": 1}\n{"x": 1}\n')
    metrics = Metrics(lambda: {"version": "1", "log_written": 0, "log_lag": 0.0, "log_pending": 0})
    snap = SimpleNamespace(task="binary", classes=[0, 1])
    service = SimpleNamespace(
        holder=SimpleNamespace(current=snap), predlog=log, config=SimpleNamespace(labels_folder=folder), metrics=metrics
    )
    take_files(service)
    text = metrics.render().decode()
    assert 'airloop_labels_total{outcome="recorded",source="file"} 1.0' in text
    assert 'airloop_labels_total{outcome="refused",source="file"} 1.0' in text
    assert 'airloop_labels_total{outcome="unknown_request_id",source="file"} 1.0' in text
    line = _label_files_status(log.path, folder)
    assert "label files: 1 taken, 1 labels recorded, 1 lines refused, 1 naming unknown request ids" in line
    assert "last a.jsonl" in line
    assert str(folder / "rejected") in line


def test_a_file_that_could_not_be_recorded_waits_for_the_next_pass(
    tmp_path: Path, monkeypatch, record_property
) -> None:
    log, folder = _log(tmp_path), tmp_path / "labels"
    folder.mkdir()
    (folder / "a.jsonl").write_text('{"request_id": "r1", "label": 1}\n')

    def full(*args: Any, **kwargs: Any) -> Any:
        raise sqlite3.OperationalError("database or disk is full")

    with monkeypatch.context() as m:
        m.setattr(log, "record_labels", full)
        try:
            _ingest(log, folder)
        except sqlite3.OperationalError:
            pass
    where = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    record_property("observed", f"after a failed write (disk full) the file is at {where}")
    assert (folder / "a.jsonl").exists()  # back where it was dropped, not lost in done/ or processing/
    assert _ingest(log, folder) == 1
    assert (folder / "done" / "a.jsonl").exists()
