"""The monitor's cursor, shared with the backtest: an accumulating window stays, a judged one moves on."""

from __future__ import annotations

import numpy as np

from airloop.monitoring.cursor import STEP, Cursor
from airloop.monitoring.policy import ACCUMULATING, NO_ACTION, REQUESTED, SUPPRESSED, Decision

T0 = 1_370_000_000.0


def test_an_accumulating_window_keeps_the_cursor() -> None:
    cursor = Cursor(since=T0, last_request=T0 - 10)
    assert cursor.after(Decision(False, ACCUMULATING, ("accumulating",)), T0 + 500, T0 + 400) == cursor


def test_a_judged_window_moves_the_cursor_past_its_newest_prediction() -> None:
    cursor = Cursor(since=T0, last_request=T0 - 10)
    for verdict in (NO_ACTION, SUPPRESSED):
        moved = cursor.after(Decision(False, verdict, ("x",)), T0 + 500, T0 + 400)
        assert moved == Cursor(since=T0 + 500 + STEP, last_request=T0 - 10)


def test_a_request_remembers_its_data_time_for_the_cooldown() -> None:
    moved = Cursor().after(Decision(True, REQUESTED, ("x",)), T0 + 500, T0 + 400)
    assert moved == Cursor(since=T0 + 500 + STEP, last_request=T0 + 400)


def test_the_window_is_every_prediction_at_or_after_the_cursor() -> None:
    logged = np.array([T0 - 1, T0, T0 + 1])
    assert Cursor(since=T0).takes(logged).tolist() == [False, True, True]
    assert Cursor().takes(logged).all()


def test_the_state_file_round_trips_and_old_state_files_read() -> None:
    cursor = Cursor(since=T0, last_request=T0 - 10)
    assert Cursor.of(cursor.state()) == cursor
    assert Cursor.of({"last_ts": T0, "other": 1}) == Cursor(since=T0)  # what the monitor wrote before
    assert Cursor.of({}) == Cursor()


def test_marks_say_where_each_replica_stands_and_replace_the_log_time() -> None:
    """Replicas: a judged window records each replica's last row; the next reads every row past
    them, not by time (a front compacted late, a clock behind the others)."""
    judged = Decision(False, NO_ACTION, ("x",))
    old = Cursor.of({"last_ts": T0})  # a state written before marks: its first window is read by time
    assert (old.marks, old.start) == (None, T0)
    moved = old.after(judged, T0 + 500, T0 + 400, {"a": 40, "b": 7})
    assert moved.marks == {"a": 40, "b": 7}
    assert moved.start is None
    again = Cursor.of(moved.state()).after(judged, T0 + 600, T0 + 500, {"b": 9, "c": 3})
    assert again.marks == {"a": 40, "b": 9, "c": 3}  # a replica this window did not see keeps its mark
    assert Cursor.of(again.state()) == again
    assert again.after(Decision(False, ACCUMULATING, ("a",)), T0 + 700, T0 + 600, {"a": 99}) == again
