"""The prediction log: committed rows, labels by API and by file, reading a time range."""

from __future__ import annotations

import json
import time
from pathlib import Path

from airloop.data.labelfiles import ingest_label_files
from airloop.data.predlog import PredictionLog
from airloop.data.scan import read_predictions


def row(rid: str, r: int, ts: float, entity: str | None = None) -> tuple:
    return (rid, r, ts, "3", entity, json.dumps({"x": r, "c": "a"}), "1", json.dumps([0.2, 0.8]))


def test_write_read_and_join_labels(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path / "p.db")
    now = time.time()
    log.write([row("r1", 0, now - 100), row("r1", 1, now - 100, "e9"), row("r2", 0, now)])
    log.add_labels([{"request_id": "r1", "label": 0}])
    assert log.record_labels([{"request_id": "nope", "label": 1}, {"entity_id": "e0", "label": 1}]) == (1, ["nope"])
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "l.csv").write_text("entity_id,label\ne9,1\n")
    (tmp_path / "labels" / "l2.jsonl").write_text('{"request_id": "r2", "label": "yes"}\n')
    assert ingest_label_files(log, tmp_path / "labels") == 2
    assert sorted(p.name for p in (tmp_path / "labels" / "done").iterdir()) == ["l.csv", "l2.jsonl"]
    log.close()
    frame = read_predictions(tmp_path / "p.db")
    assert list(frame["request_id"]) == ["r1", "r1", "r2"]
    assert list(frame["label"]) == [0, 1, "yes"]
    assert list(frame["x"]) == [0, 1, 0]
    assert frame["probabilities"].iloc[0] == [0.2, 0.8]
    recent = read_predictions(tmp_path / "p.db", start=now - 10)
    assert list(recent["request_id"]) == ["r2"]
    assert read_predictions(tmp_path / "p.db", end=now - 200).empty


def test_log_is_wal_and_survives_reopen(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path / "p.db")
    assert log._con.execute("pragma journal_mode").fetchone()[0] == "wal"
    log.write([row("a", 0, time.time())])
    log.close()
    again = PredictionLog(tmp_path / "p.db")
    assert again.count() == 1


def test_write_once_writes_a_request_id_only_the_first_time(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path / "p.db")
    flat = [("score-k-0", r, time.time(), "1", f"e{r}", "1", "[0.2, 0.8]", float(r)) for r in range(3)]
    assert log.write_flat(("x",), flat, once=True)
    assert not log.write_flat(("x",), flat, once=True)  # a retried batch chunk
    assert log.write_flat(("x",), flat[:1])  # the server's writes are not checked
    assert log.count() == 4
    log.close()


def test_a_replicas_front_stores_labels_for_request_ids_another_replica_issued(tmp_path: Path) -> None:
    """A label posted to replica b for a request replica a answered: b cannot know a's ids, so it
    keeps the label (the monitor joins labels across replicas) instead of refusing it as unknown."""
    alone = PredictionLog(tmp_path / "p.db")
    assert alone.record_labels([{"request_id": "a-1", "label": 1}]) == (0, ["a-1"])  # one log: a typo
    alone.close()
    b = PredictionLog(tmp_path / "b.db", others=True)
    b.write([row("b-1", 0, time.time())])
    assert b.record_labels([{"request_id": "a-1", "label": 1}, {"request_id": "b-1", "label": 0}]) == (2, [])
    b.close()
