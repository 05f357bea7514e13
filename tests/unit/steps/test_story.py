"""The run's outcome in one line and each step's lines for its task log (issue 25)."""

from __future__ import annotations

from airloop.steps.story import NOTE_LIMIT, outcome, told


def ok(task: str, **output) -> dict:
    return {"event": "success", "task": task, "output": output}


TRAINED = [
    ok("ingest", rows=1400),
    ok("validate", rows_dropped_missing_target=0, landing={"accepted": ["april.csv"]}),
    ok("evaluate", metrics={"roc_auc": 0.712}, champion={"version": "2", "metrics": {"roc_auc": 0.70}}),
    ok("gate", gate={"passed": True, "metric": "roc_auc", "reasons": ["roc_auc 0.7120 >= champion + 0.01"]}),
    ok("register", version="3"),
]


def test_a_promotion_says_the_version_and_the_gain_on_the_same_holdout() -> None:
    events = [*TRAINED, ok("promote", promoted=True, champion_before="2", champion_after="3")]
    assert outcome(events) == "v3 promoted (roc_auc +0.0120 on the same holdout), was v2"


def test_a_first_champion_and_a_refusal() -> None:
    first = [
        ok("evaluate", metrics={"roc_auc": 0.7}),
        ok("gate", gate={"passed": True, "metric": "roc_auc", "reasons": []}),
    ]
    first += [ok("register", version="1"), ok("promote", promoted=True, champion_before=None, champion_after="1")]
    assert outcome(first) == "v1 promoted (roc_auc 0.7000, first champion)"
    refused = [*TRAINED[:3], ok("gate", gate={"passed": False, "metric": "roc_auc", "reasons": ["below 0.75"]})]
    refused += [ok("register", version="3"), ok("promote", promoted=False, champion_before="2", champion_after="2")]
    assert outcome(refused) == "v3 not promoted: gate refused (below 0.75)"


def test_waiting_skipped_rejected_failed() -> None:
    assert outcome(TRAINED, approval_waits=True) == "v3 waiting for approval"
    assert outcome(TRAINED[:2]) is None  # nothing decided yet
    skipped = [
        ok("ingest", rows=10),
        ok(
            "validate",
            skip_training="data accepted; training waits for the monitor's retrain request (monitoring.x)",
        ),
    ]
    assert outcome(skipped) == "not trained: data accepted; waits for a retrain request (monitoring.train_on_new_data)"
    rejected = {
        "event": "failed",
        "task": "validate",
        "final": True,
        "exit_code": 4,
        "error": "data contract violated: 1 of 3 batch(es) refused\nmay.csv ...",
    }
    assert outcome([TRAINED[0], rejected]) == "batch rejected: 1 of 3 batch(es) refused"
    retry = {**rejected, "final": False, "exit_code": 7}
    assert outcome([TRAINED[0], retry]) is None  # a try that will be retried decides nothing
    broken = {
        "event": "failed",
        "task": "train",
        "final": True,
        "exit_code": 5,
        "error": "user code error: boom " + "x" * 2000,
    }
    text = outcome([TRAINED[0], broken])
    assert text.startswith("failed at train: user code error: boom")
    assert len(text) <= NOTE_LIMIT  # Airflow refuses longer notes
    approval = [*TRAINED, ok("promote", promoted=False, approval="not asked", champion_before="2", champion_after="2")]
    assert "waits as challenger" in outcome(approval)
    monitor = [ok("monitor", retrain=True, reason="4 features drifted")]
    assert outcome(monitor) == "retrain requested: 4 features drifted"


def test_each_step_tells_what_it_did() -> None:
    assert told(
        "validate", {"landing": {"accepted": ["april.csv"], "rejected": ["may.csv"]}, "rows_dropped_missing_target": 2}
    ) == [
        "landed files accepted: april.csv",
        "landed files rejected: may.csv",
        "contract passed; 2 rows without a target dropped",
    ]
    assert "training skipped: same inputs as v2" in told("validate", {"skip_training": "same inputs as v2"})[0]
    gate = told("gate", {"gate": {"passed": False, "metric": "roc_auc", "reasons": ["below 0.75"]}})
    assert gate == ["gate REFUSED", "  - below 0.75"]
    assert told("promote", {"promoted": True, "champion_before": "1", "champion_after": "2"}) == [
        "promoted: champion v1 -> v2"
    ]
