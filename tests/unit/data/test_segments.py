"""Compaction into Parquet segments: the log reads the same before and after, an interrupted round
neither loses nor doubles a row, retention drops old segments, old logs migrate."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pandas as pd
import pytest

from airloop.data import segments as seg
from airloop.data.predlog import PredictionLog
from airloop.data.scan import read_predictions, scan
from airloop.data.segments import compact, drop_older, list_segments, segments_of


def rows(n: int, start: int = 0, ts: float | None = None, version: str = "1") -> list[tuple]:
    now = time.time() if ts is None else ts
    return [
        (
            f"r{i}",
            0,
            now + i * 1e-3,
            version,
            f"e{i}" if i % 2 else None,
            {"x": i * 0.5, "n": i, "c": "ab"[i % 2], "flag": i % 3 == 0, "ts": "2024-01-01"},
            json.dumps(["no", "yes"][i % 2]),
            json.dumps([0.4, 0.6]),
        )
        for i in range(start, start + n)
    ]


@pytest.fixture
def log(tmp_path: Path):
    log = PredictionLog(tmp_path / "p.db")
    yield log
    log.close()


def test_the_log_reads_the_same_before_and_after_compaction(log: PredictionLog) -> None:
    log.write(rows(300))
    log.add_labels([{"entity_id": "e1", "label": "yes"}, {"request_id": "r2", "label": "no"}])
    log.add_labels([{"entity_id": "e1", "label": "no"}])  # the latest label wins
    before = read_predictions(log.path)
    segment, labels = compact(log.path, force=True)
    assert (segment.first, segment.last, segment.rows) == (1, 300, 300)
    assert (labels.path.name.startswith("lab-"), labels.rows) == (True, 3)
    assert log._con.execute("select count(*) from predictions").fetchone()[0] == 0
    assert log._con.execute("select count(*) from labels").fetchone()[0] == 0
    after = read_predictions(log.path)
    pd.testing.assert_frame_equal(before, after)
    assert list(after["label"].iloc[:3]) == [None, "no", "no"]
    log.add_labels([{"entity_id": "e1", "label": "yes"}])  # a later label, in SQLite, still wins
    assert read_predictions(log.path)["label"].iloc[1] == "yes"
    assert after["flag"].dtype == bool
    assert after["n"].dtype == "int64"
    assert after["probabilities"].iloc[0] == [0.4, 0.6]
    assert log.count() == 300


def test_segments_and_the_tail_read_as_one_log_in_order(log: PredictionLog) -> None:
    log.write(rows(100))
    compact(log.path, force=True)
    log.write(rows(50, start=100))
    compact(log.path, force=True)
    log.write(rows(25, start=150))
    frame = read_predictions(log.path)
    assert list(frame["request_id"]) == [f"r{i}" for i in range(175)]
    assert [len(b.frame) for b in scan(log.path, batch_rows=40)] == [40, 40, 20, 40, 10, 25]
    assert len(list_segments(segments_of(log.path))) == 2


def test_small_and_young_tails_wait(log: PredictionLog) -> None:
    log.write(rows(10))
    assert compact(log.path, min_rows=100, max_age=3600) == []
    assert len(compact(log.path, min_rows=10, max_age=3600)) == 1
    log.write(rows(5, start=10, ts=time.time() - 7200))
    assert len(compact(log.path, min_rows=100, max_age=3600)) == 1


def test_a_killed_round_after_the_rename_loses_and_doubles_nothing(log: PredictionLog, monkeypatch) -> None:
    log.write(rows(60))
    real = seg._write_atomically

    def then_die(table, path, meta):
        real(table, path, meta)
        raise KeyboardInterrupt  # as if killed between the rename and the delete

    monkeypatch.setattr(seg, "_write_atomically", then_die)
    with pytest.raises(KeyboardInterrupt):
        compact(log.path, force=True)
    assert log._con.execute("select count(*) from predictions").fetchone()[0] == 60  # still here
    frame = read_predictions(log.path)
    assert len(frame) == 60
    assert frame["request_id"].is_unique
    monkeypatch.setattr(seg, "_write_atomically", real)
    log.write(rows(10, start=60))
    assert [s.rows for s in compact(log.path, force=True)] == [10]
    assert len(read_predictions(log.path)) == 70


def test_a_half_written_segment_is_not_read(log: PredictionLog) -> None:
    log.write(rows(20))
    folder = segments_of(log.path)
    folder.mkdir()
    (folder / ".seg-0000000000000001-0000000000000020.parquet.tmp").write_bytes(b"PAR1 torn")
    assert len(read_predictions(log.path)) == 20
    compact(log.path, force=True)
    assert len(read_predictions(log.path)) == 20


def test_retention_drops_old_segments(log: PredictionLog) -> None:
    log.write(rows(10, ts=time.time() - 40 * 86400))
    compact(log.path, force=True)
    log.write(rows(10, start=10))
    compact(log.path, force=True)
    assert drop_older(log.path, days=30) == 1
    assert list(read_predictions(log.path)["request_id"]) == [f"r{i}" for i in range(10, 20)]


def test_a_new_feature_adds_a_column_and_older_rows_read_null(log: PredictionLog) -> None:
    log.write(rows(5))
    compact(log.path, force=True)
    extra = [(*r[:5], {**r[5], "new": 1.5}, *r[6:]) for r in rows(5, start=5)]
    log.write(extra)
    frame = read_predictions(log.path)
    assert frame["new"].isna().sum() == 5
    assert (frame["new"].dropna() == 1.5).all()


def test_another_process_adding_the_same_column_is_no_error(tmp_path: Path) -> None:
    a, b = PredictionLog(tmp_path / "p.db"), PredictionLog(tmp_path / "p.db")
    a.write(rows(3))
    b.write(rows(3, start=3))  # b had not seen a's columns
    assert len(read_predictions(tmp_path / "p.db")) == 6
    a.close()
    b.close()


def test_a_log_of_the_previous_layout_migrates(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    con = sqlite3.connect(path)
    con.executescript(
        "create table predictions (request_id text not null, row integer not null, ts real not null,"
        " model_version text not null, entity_id text, features text not null, prediction text not null,"
        " probabilities text, primary key (request_id, row));"
        "create index predictions_ts on predictions(ts);"
        "create table labels (id integer primary key autoincrement, ts real not null, request_id text,"
        " entity_id text, label text not null, source text);"
    )
    con.execute(
        "insert into predictions values ('r1', 0, 1.0, '1', null, ?, '1', '[0.2, 0.8]')",
        (json.dumps({"x": 1.5, "flag": True}),),
    )
    con.execute("insert into labels (ts, request_id, label) values (2.0, 'r1', '1')")
    con.commit()
    con.close()
    log = PredictionLog(path)
    assert log.record_labels([{"request_id": "r1", "label": 0}]) == (1, [])  # r1 is a known request
    log.close()
    frame = read_predictions(path)
    assert frame[["request_id", "x", "flag", "prediction"]].to_dict("records") == [
        {"request_id": "r1", "x": 1.5, "flag": True, "prediction": 1}
    ]
    assert frame["label"].iloc[0] == 0


def test_status_tells_the_logs_size_and_age(log: PredictionLog) -> None:
    from airloop.cli import _log_status
    from airloop.data.segments import summary

    log.write(rows(30, ts=time.time() - 2 * 86400))
    log.add_labels([{"request_id": "r1", "label": "yes"}])
    compact(log.path, force=True)
    log.write(rows(5, start=30))
    s = summary(log.path)
    assert (s["predictions"], s["in_segments"], s["segments"], s["labels"]) == (35, 30, 1, 1)
    assert s["bytes"] > 0
    line = _log_status(log.path)
    assert line.startswith("prediction log: 35 predictions (30 in 1 Parquet segments), 1 labels")
    assert "oldest 2.0 days old" in line
    assert _log_status(log.path.with_name("none.db")).startswith("prediction log: none yet")


def test_passthrough_columns_are_kept_beside_the_features_and_compacted(log: PredictionLog) -> None:
    import pyarrow.parquet as pq

    flat = [("r1", i, time.time(), "1", None, "1", "[0.4, 0.6]", float(i), f"ref-{i}", i) for i in range(3)]
    log.write_flat(("x",), flat, ("ref", "batch"))
    log.write_flat(("x",), [("r2", 0, time.time(), "1", None, "0", None, 9.0)])  # a request without any
    cols = [r[1] for r in log._con.execute("pragma table_info(predictions)")]
    assert {"p:ref", "p:batch"} <= set(cols)
    before = read_predictions(log.path)
    assert "ref" not in before.columns  # never read as a feature (the monitor's drift)
    (segment,) = [s for s in compact(log.path, force=True) if s.path.name.startswith("seg-")]
    table = pq.read_table(segment.path)
    assert table["p:ref"].to_pylist() == ["ref-0", "ref-1", "ref-2", None]
    assert table["p:batch"].to_pylist() == [0, 1, 2, None]
    pd.testing.assert_frame_equal(before, read_predictions(log.path))


def test_replicas_compact_into_one_folder_under_their_names_with_overlapping_counters(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    for name, n in (("a", 30), ("web-1", 20)):  # a name may hold dashes: the counters delimit it
        log = PredictionLog(tmp_path / f"{name}.db")
        log.write(rows(n))
        log.close()
        (written,) = compact(tmp_path / f"{name}.db", folder=shared, replica=name, force=True)[:1]
        assert written.path.name == f"seg-{name}-{1:016d}-{n:016d}.parquet"
    legacy = PredictionLog(tmp_path / "p.db")  # a workspace's own log, compacted beside the others
    legacy.write(rows(10))
    legacy.close()
    compact(tmp_path / "p.db", folder=shared, force=True)
    assert [(s.replica, s.first, s.last) for s in list_segments(shared, replica=None)] == [
        ("", 1, 10),
        ("a", 1, 30),
        ("web-1", 1, 20),
    ]
    assert [s.last for s in list_segments(shared)] == [10]  # unprefixed: the own log's alone
    assert [s.last for s in list_segments(shared, replica="web-1")] == [20]
    assert (tmp_path / "a.db.compact.lock").exists()  # a named replica's lock is by its front, not shared


def test_a_killed_round_of_one_replica_deletes_nothing_of_another(tmp_path: Path, monkeypatch) -> None:
    """Each replica's "rows a segment already holds" is its own: b's rows 1-40 survive a's segment 1-40."""
    shared = tmp_path / "shared"
    for name in ("a", "b"):
        log = PredictionLog(tmp_path / f"{name}.db")
        log.write(rows(40))
        log.close()

    def killed(*args: object) -> None:
        raise KeyboardInterrupt  # killed after the rename, before the delete

    monkeypatch.setattr(seg, "_delete_through", killed)
    with pytest.raises(KeyboardInterrupt):
        compact(tmp_path / "a.db", folder=shared, replica="a", force=True)
    monkeypatch.undo()
    assert [s.last for s in list_segments(shared, replica="a")] == [40]
    assert compact(tmp_path / "b.db", folder=shared, replica="b", min_rows=10**9) == []  # not due: finish only
    b = sqlite3.connect(tmp_path / "b.db")
    assert b.execute("select count(*) from predictions").fetchone()[0] == 40
    a = sqlite3.connect(tmp_path / "a.db")
    assert a.execute("select count(*) from predictions").fetchone()[0] == 40
    compact(tmp_path / "a.db", folder=shared, replica="a", min_rows=10**9)  # a's next round finishes its own
    assert a.execute("select count(*) from predictions").fetchone()[0] == 0


def test_a_fresh_front_under_a_known_name_numbers_on_after_its_segments(tmp_path: Path) -> None:
    """A replica restarted on a new, empty volume: its rows must not reuse counters its segments
    hold, or its next round would delete them as already compacted."""
    shared, front = tmp_path / "shared", tmp_path / "a.db"
    log = PredictionLog(front)
    log.write(rows(30))
    log.add_labels([{"entity_id": "e1", "label": "yes"}])
    log.close()
    compact(front, folder=shared, replica="a", force=True)
    for f in tmp_path.glob("a.db*"):
        f.unlink()
    log = PredictionLog(front)
    seg.continue_numbering(front, shared, "a")
    log.write(rows(5, start=30))
    log.add_labels([{"entity_id": "e3", "label": "no"}])
    assert [r[0] for r in log._con.execute("select seq from predictions")] == [31, 32, 33, 34, 35]
    assert log._con.execute("select id from labels").fetchone()[0] == 2
    log.close()
    seg.continue_numbering(front, shared, "a")  # again on a front already past them: nothing moves
    compact(front, folder=shared, replica="a", force=True)
    got = list_segments(shared, replica="a")
    assert [(s.first, s.last) for s in got] == [(1, 30), (31, 35)]
    assert [(s.first, s.last) for s in list_segments(shared, "lab", replica="a")] == [(1, 1), (2, 2)]


def test_retention_keeps_a_replicas_newest_segment(tmp_path: Path) -> None:
    shared, front = tmp_path / "shared", tmp_path / "a.db"
    log = PredictionLog(front)
    for k in range(3):
        log.write(rows(10, start=10 * k, ts=time.time() - 40 * 86400))
        compact(front, folder=shared, replica="a", force=True)
    log.close()
    assert drop_older(front, 30, folder=shared, replica="a") == 2
    assert [s.last for s in list_segments(shared, replica="a")] == [30]  # where a's counter stands
    assert drop_older(None, 30, folder=shared, replica="a") == 0


def test_a_log_deleted_without_its_segments_numbers_on_after_them(tmp_path: Path) -> None:
    """Before, its new rows 1.. were deleted by the next round as already compacted."""
    log = PredictionLog(tmp_path / "p.db")
    log.write(rows(10))
    log.close()
    compact(tmp_path / "p.db", force=True)
    for f in tmp_path.glob("p.db*"):
        f.unlink()
    log = PredictionLog(tmp_path / "p.db")
    seg.continue_numbering(log.path, segments_of(log.path), "")
    log.write(rows(3, start=10))
    log.close()
    compact(tmp_path / "p.db", force=True)
    assert len(read_predictions(tmp_path / "p.db")) == 13
