"""Retrain requests: counted when made, all answered by the next training."""

from __future__ import annotations

from pathlib import Path

from airloop.data.requests import RetrainRequests


def test_requests_are_pending_until_a_training_answers_them(tmp_path: Path) -> None:
    requests = RetrainRequests(tmp_path / "monitoring" / "requests.json")
    assert requests.pending() == 0
    requests.make()
    requests.make()
    assert requests.pending() == 2
    assert RetrainRequests(tmp_path / "monitoring" / "requests.json").pending() == 2  # on disk
    requests.consume()
    assert requests.pending() == 0
    requests.make()
    assert requests.pending() == 1
