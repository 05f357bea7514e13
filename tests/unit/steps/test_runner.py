"""The step runner: what counts as a final failure, and what it records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airloop.errors import ContractViolation, DataError, SpecError, UserCodeError
from airloop.steps import runner
from airloop.steps.context import StepContext
from airloop.workspace import Workspace


@pytest.mark.parametrize(
    ("exc", "final"),
    [
        (ContractViolation("bad batch"), True),
        (SpecError([]), True),
        (DataError("no column `late`"), True),  # the same files give the same error (issue 7, finding 6)
        (DataError("file went away", retryable=True), False),
        (UserCodeError("transform raised"), False),
        (RuntimeError("flaky"), False),
    ],
)
def test_only_errors_a_retry_can_fix_are_retried(exc: BaseException, final: bool) -> None:
    assert runner.is_final(exc) is final


def test_a_contract_violation_is_final_even_with_tries_left(tmp_path: Path, monkeypatch) -> None:
    ctx = StepContext("demo", "unused.yaml", Workspace(tmp_path), run_id="r1")
    monkeypatch.setattr(StepContext, "run_dir", tmp_path)

    def boom(ctx, refs):
        raise ContractViolation("3 rows out of range")

    monkeypatch.setattr(runner, "resolve", lambda kind, spark=False: boom)
    with pytest.raises(ContractViolation):
        runner.execute("validate", ctx, {}, last_try=False)
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert [e["event"] for e in events] == ["start", "failed"]
    assert events[1]["final"] is True
    assert events[1]["exit_code"] == 4
