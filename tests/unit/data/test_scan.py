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
