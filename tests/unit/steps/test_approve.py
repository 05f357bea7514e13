"""What a person sees before approving a candidate, and the tags their answer leaves."""

from __future__ import annotations

from airloop.steps.approve import evidence, outcome
from airloop.tracking.tags import Tag

REFS = {
    "version": "3",
    "gate": {"passed": True, "metric": "roc_auc", "reasons": ["roc_auc 0.8100 beats champion v2 (0.7900)"]},
    "metrics": {"roc_auc": 0.81, "accuracy": 0.75},
    "champion": {"version": "2", "metrics": {"roc_auc": 0.79, "accuracy": 0.76}},
    "fingerprint": "abc123",
    "rows": 1200,
    "contract_warnings": ["x: 3% nulls (training had 1%)"],
}


def test_the_body_puts_candidate_and_champion_side_by_side() -> None:
    body = evidence(REFS, "tiny")
    assert "### `tiny` v3: promote it to champion?" in body
    assert "| metric (holdout) | candidate | champion v2 |" in body
    assert "| roc_auc | 0.8100 | 0.7900 |" in body
    assert "| accuracy | 0.7500 | 0.7600 |" in body
    assert "Data fingerprint: `abc123`" in body
    assert "Contract warnings: 1\n- x: 3% nulls" in body


def test_each_answer_leaves_its_tags() -> None:
    person = {"id": "1", "name": "ada"}
    approved = {
        "chosen_options": ["Approve"],
        "responded_by_user": person,
        "responded_at": "t",
        "params_input": {"comment": "ok"},
    }
    assert outcome(approved) == (
        "approved",
        {Tag.APPROVAL: "approved", Tag.APPROVED_BY: "ada", Tag.APPROVED_AT: "t", Tag.APPROVAL_COMMENT: "ok"},
    )
    rejected = {"chosen_options": ["Reject"], "responded_by_user": person, "responded_at": "t", "params_input": {}}
    assert outcome(rejected)[0] == "rejected"
    timed_out = {"chosen_options": ["Reject"], "responded_by_user": None, "responded_at": "t", "params_input": {}}
    assert outcome(timed_out)[0] == "timed out"
    assert outcome(None) == ("not asked", {Tag.APPROVAL: "not asked"})
