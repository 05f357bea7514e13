"""The label join: keys of any length, the latest label wins, and a hash collision never joins a
wrong label (the exact path takes over)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from airloop.data import scan
from airloop.data.scan import _Keys


def keys(values: list[str | None]) -> pa.Array:
    return pa.array(values, pa.string())


@pytest.mark.parametrize("collide", [False, True])
def test_keys_find_the_latest_code_of_each_key_exactly(monkeypatch, collide: bool) -> None:
    if collide:  # every key one hash: the byte-for-byte path must still find each
        monkeypatch.setattr(scan, "_fnv", lambda matrix, lengths: np.zeros(len(matrix), np.uint64))
    table = _Keys(keys(["a", "bb", "a", "ccc", "é-1", ""]), np.array([0, 1, 2, 3, 4, 5]))
    assert table.collided is collide
    found = table.find(keys(["a", "bb", "ccc", "zz", None, "é-1", "b", "", "aa"]))
    assert found.tolist() == [2, 1, 3, -1, -1, 4, -1, 5, -1]


def test_uuid_width_keys_take_the_zero_copy_path() -> None:
    ids = [f"{i:032x}" for i in range(1000)]
    table = _Keys(keys(ids), np.arange(1000))
    wanted = keys(ids[::-7] + ["f" * 32])
    assert table.find(wanted).tolist() == list(range(999, -1, -7)) + [-1]
    assert table.find(pa.chunked_array([wanted.slice(3, 5)])).tolist() == list(range(978, 943, -7))


def test_a_read_ahead_closed_before_it_was_read_stops_its_thread() -> None:
    import threading
    import time

    produced: list[int] = []

    def items():
        for i in range(100):
            produced.append(i)
            yield i

    reader = scan._ReadAhead(items(), depth=2)
    time.sleep(0.3)
    assert len(produced) <= 4  # it waits for the consumer
    reader.close()
    time.sleep(0.3)
    assert not [t for t in threading.enumerate() if t.name == "airloop-scan"]
    assert len(produced) <= 4


def test_read_predictions_takes_a_string_path(tmp_path) -> None:
    """Issue 25: the README's `read_predictions(path, ...)` raised AttributeError on a str."""
    from airloop.data.predlog import PredictionLog
    from airloop.data.scan import read_predictions

    log = PredictionLog(tmp_path / "predictions.db")
    log.write_flat(("x",), [("r1", 0, 1.0, "1", "e1", "1", "[0.4, 0.6]", 0.5)])
    log.close()
    frame = read_predictions(str(tmp_path / "predictions.db"))
    assert frame["request_id"].tolist() == ["r1"]
    assert frame["x"].tolist() == [0.5]
    assert read_predictions(str(tmp_path / "missing.db")).empty


def _replica(tmp_path, name: str, n: int, start: int = 0, ts: float = 1_700_000_000.0):
    from airloop.data.predlog import PredictionLog

    log = PredictionLog(tmp_path / f"{name}.db")
    log.write(
        [
            (f"{name}{i}", 0, ts + i, "1", f"e{i}", {"x": float(i), "c": "ab"[i % 2]}, "1", "[0.3, 0.7]")
            for i in range(start, start + n)
        ]
    )
    return log


def _read(parts, **kwargs):
    import pandas as pd

    from airloop.data.scan import scan as read

    frames = [b.frame for b in read(None, sources=parts, **kwargs)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def test_replicas_read_as_one_log_each_row_once_and_marks_say_where(tmp_path) -> None:
    """Two fronts whose counters overlap, each partly compacted into one shared folder: every row
    once; ``marks`` name each replica's last row, and reading after them gives only newer rows."""
    from airloop.data.replicas import Source
    from airloop.data.segments import compact

    shared = tmp_path / "shared"
    a, b = _replica(tmp_path, "a", 30), _replica(tmp_path, "b", 20)
    compact(a.path, folder=shared, replica="a", force=True)
    a.write([("a-late", 0, 1_600_000_000.0, "1", None, {"x": 1.0, "c": "a"}, "1", None)])  # in the front
    parts = [Source("a", a.path, shared), Source("b", b.path, shared)]
    marks: dict[str, int] = {}
    frame = _read(parts, marks=marks)
    assert sorted(frame["request_id"]) == sorted(
        [f"a{i}" for i in range(30)] + ["a-late"] + [f"b{i}" for i in range(20)]
    )
    assert marks == {"a": 31, "b": 20}
    compact(b.path, folder=shared, replica="b", force=True)
    b.write([("b-new", 0, 1_500_000_000.0, "1", None, {"x": 2.0, "c": "b"}, "1", None)])  # a clock behind: still new
    assert [t.timestamp() for t in _read(parts, after=marks, ids=False)["logged_at"]] == [1_500_000_000.0]
    assert list(_read(parts, after={"a": 31})["request_id"]) == [f"b{i}" for i in range(20)] + ["b-new"]
    a.close()
    b.close()


def test_a_replica_seen_only_by_its_segments_is_read_with_its_features_and_labels(tmp_path) -> None:
    """A front on another machine: its segments carry its rows, its features' kinds and its
    labels; a label posted to any replica joins any replica's prediction, the latest by time."""
    from airloop.data.replicas import Source
    from airloop.data.segments import compact

    shared = tmp_path / "shared"
    far = _replica(tmp_path, "far", 10)
    far.add_labels([{"entity_id": "e1", "label": "old"}])
    far.add_labels([{"request_id": "far2", "label": "x", "ts": 5.0}])
    far.close()
    compact(far.path, folder=shared, replica="far", force=True)
    far.path.unlink()
    near = _replica(tmp_path, "near", 3)
    near.add_labels([{"entity_id": "e1", "label": "new"}, {"request_id": "far2", "label": "older", "ts": 1.0}])
    frame = _read([Source("far", None, shared), Source("near", near.path, shared)]).set_index("request_id")
    assert frame.loc["far3", "x"] == 3.0
    assert frame.loc["far4", "c"] == "a"
    assert frame.loc["far1", "label"] == "new"  # posted later, to the other replica
    assert frame.loc["near1", "label"] == "new"
    assert frame.loc["far2", "label"] == "x"  # observed later, though recorded first
    near.close()


def test_shadow_and_canary_answers_are_read_from_every_replicas_front(tmp_path) -> None:
    """A shadow's answers and a canary's failures stay in the front of the replica that logged
    them: the live comparisons read every front here."""
    from airloop.data.replicas import Source
    from airloop.data.scan import read_canary, read_shadow

    shared = tmp_path / "shared"
    a, b = _replica(tmp_path, "a", 4), _replica(tmp_path, "b", 3)
    a.write_shadow([(f"a{i}", 0, 1_700_000_100.0, "2", "0", "[0.9, 0.1]") for i in range(4)])
    b.write_shadow([("b1", 0, 1_700_000_100.0, "2", "1", None)])
    b.write([("b-canary", 0, 1_700_000_050.0, "3", None, {"x": 1.0, "c": "a"}, "0", None)])
    a.write([("a-champion", 0, 1_700_000_060.0, "1", None, {"x": 2.0, "c": "b"}, "1", None)])
    a.write_failure("3", 2, "boom")
    parts = [Source("a", a.path, shared), Source("b", b.path, shared)]
    paired = read_shadow(None, "2", parts)
    assert sorted(paired["request_id"]) == ["a0", "a1", "a2", "a3", "b1"]
    assert paired.set_index("request_id").loc["b1", "shadow_prediction"] == 1
    frame, failed = read_canary(None, "3", "1", parts)
    assert failed == 2
    assert sorted(frame["request_id"]) == ["a-champion", "b-canary"]  # since the canary's first answer
    assert read_shadow(None, "9", parts).empty
    a.close()
    b.close()


def test_a_log_started_again_from_nothing_is_read_whole_despite_its_mark(tmp_path) -> None:
    from airloop.data.predlog import PredictionLog
    from airloop.data.replicas import Source
    from airloop.data.segments import segments_of

    log = PredictionLog(tmp_path / "p.db")
    log.write([(f"r{i}", 0, 1.0 + i, "1", None, {"x": 1.0}, "1", None) for i in range(5)])
    log.close()
    marks: dict[str, int] = {}
    parts = [Source("", tmp_path / "p.db", segments_of(tmp_path / "p.db"))]
    assert len(_read(parts, marks=marks)) == 5
    for f in tmp_path.glob("p.db*"):
        f.unlink()
    log = PredictionLog(tmp_path / "p.db")
    log.write([("new", 0, 9.0, "1", None, {"x": 1.0}, "1", None)])
    log.close()
    assert list(_read(parts, after=marks)["request_id"]) == ["new"]
