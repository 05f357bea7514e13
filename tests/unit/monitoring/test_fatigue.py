"""Alarm fatigue: which retrain requests changed nothing."""

from __future__ import annotations

from airloop.monitoring.fatigue import Judged, futile, summary
from airloop.monitoring.policy import NO_ACTION, REQUESTED, SUPPRESSED

DRIFT = ("drift:inventory,listings",)


def test_a_request_the_gate_refused_changed_nothing() -> None:
    runs = [Judged("1", REQUESTED, DRIFT), Judged("1", NO_ACTION)]
    assert futile(runs) == [0]


def test_a_new_champion_ringing_the_same_alarm_changed_nothing() -> None:
    runs = [Judged("1", REQUESTED, DRIFT), Judged("2", SUPPRESSED, (*DRIFT, "staleness")), Judged("2", NO_ACTION)]
    assert futile(runs) == [0]


def test_a_new_champion_that_silenced_the_alarm_changed_something() -> None:
    runs = [
        Judged("1", REQUESTED, DRIFT),
        Judged("2", NO_ACTION),
        Judged("2", REQUESTED, ("performance:mae",)),
        Judged("3", REQUESTED, DRIFT),  # another alarm than the one before
    ]
    assert futile(runs) == []


def test_the_last_request_is_not_judged_yet_and_the_summary_counts() -> None:
    runs = [Judged("1", REQUESTED, DRIFT), Judged("1", REQUESTED, DRIFT), Judged("1", REQUESTED, DRIFT)]
    assert futile(runs) == [0, 1]
    assert summary(runs) == "alarm fatigue: 2 of 3 retrain requests changed nothing"
    assert summary([Judged("1", NO_ACTION)]) == "no retrain requests yet"


def test_staleness_ringing_again_after_a_promotion_is_the_clock_not_fatigue() -> None:
    runs = [Judged("1", REQUESTED, ("staleness",)), Judged("2", REQUESTED, ("staleness",)), Judged("2", NO_ACTION)]
    assert futile(runs) == [1]  # only the request whose retrain the gate refused
    mixed = [Judged("1", REQUESTED, ("staleness", *DRIFT)), Judged("2", REQUESTED, ("staleness", *DRIFT))]
    assert futile(mixed) == [0]  # the drift rang again
