"""What users see (issue 25): where the DAG and task docs really are in Airflow 3.3, an approval form
whose comment is optional and says why Reject is highlighted, a link that highlights Approve, a
report that neither joins scores from different holdouts nor forgets who approved a promotion, and a
run summary that says a candidate waits for approval and how to give it."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from airloop.spec import load_spec
from airloop.tracking.tags import Tag

EXAMPLE = Path(__file__).parents[2] / "examples" / "flights" / "airloop.yaml"


def _approval_plan(tmp_path: Path):
    from airloop.plan import build_train_plan

    text = EXAMPLE.read_text().replace("  min_improvement: 0.002\n", "  min_improvement: 0.002\n  approval: required\n")
    assert "approval: required" in text
    spec = tmp_path / "airloop.yaml"
    spec.write_text(text)
    for folder in ("data", "incoming"):
        (tmp_path / folder).mkdir()
    return build_train_plan(load_spec(spec), str(tmp_path / "ws"))


def test_the_docs_say_where_airflow_shows_them(tmp_path: Path, record_property) -> None:
    from airloop.airflow.dags import dag_doc

    plan = _approval_plan(tmp_path)
    doc = dag_doc(plan)
    record_property("observed", "the DAG doc sent people to each task's Details tab, which shows no doc in 3.3")
    assert "Details tab" not in doc
    assert "**Documentation**" in doc
    assert f"/dags/{plan.dag_id}/tasks/TASK_ID" in doc
    assert "Required Actions" in doc  # where a waiting candidate is answered
    docs = {t.task_id: t.doc for t in plan.tasks}
    assert all(docs.values()), docs
    # promote's doc was stale: it said a passed gate is enough, with approval and a smoke test in between
    assert "approved" in docs["promote"]
    assert "smoke" in docs["promote"]
    assert "optional" in docs["approve"]
    assert "airloop promote PATH VERSION" in docs["approve"]


def test_the_approval_comment_is_optional(record_property) -> None:
    from airloop.airflow.approval import CandidateApproval

    op = CandidateApproval(
        task_id="approve", project="tiny", refs_task="register", response_timeout=timedelta(hours=72)
    )
    schema = op.params.get_param("comment").serialize()["schema"]
    record_property("observed", "the form's comment was a required string: both buttons grey until filled")
    # Airflow 3.3's form requires a field whose schema type is not a list holding "null"
    assert isinstance(schema["type"], list), schema
    assert "null" in schema["type"], schema
    op.params["comment"] = None  # what the form submits for an empty field, and the timeout default
    op.params["comment"] = "looks right"
    assert op.defaults == ["Reject"]  # a timeout still rejects


def test_the_body_says_why_reject_is_highlighted() -> None:
    from airloop.steps.approve import evidence

    refs = {"version": "3", "gate": {"passed": True, "metric": "roc_auc", "reasons": []}, "metrics": {"roc_auc": 0.8}}
    body = evidence(refs, "tiny", timeout=timedelta(hours=72))
    assert "No answer within 72 hour(s) records **Reject**" in body
    assert "not a recommendation" in body
    assert "comment is optional" in body


def test_the_approval_link_highlights_approve() -> None:
    from airloop.steps.approve import approval_link

    run_id = "manual__2026-01-02T03:04:05.678+00:00"
    url = approval_link("http://127.0.0.1:8080/", "tiny__train", run_id, "approve")
    parts = urlsplit(url)
    assert parts.netloc == "127.0.0.1:8080"
    segments = [unquote(s) for s in parts.path.split("/")]
    assert segments == ["", "dags", "tiny__train", "runs", run_id, "tasks", "approve", "required_actions"]
    # the form reads _options with JSON.parse: Python's repr (['Approve']) would be dropped
    assert json.loads(parse_qs(parts.query)["_options"][0]) == ["Approve"]


def _version(number: str, value: float, **tags: str) -> dict:
    return {"version": number, "created": 0, "run_id": "r", "tags": {Tag.metric("accuracy"): str(value), **tags}}


def test_the_report_names_the_approver_and_joins_no_holdouts(
    make_spec, monkeypatch: pytest.MonkeyPatch, record_property
) -> None:
    from airloop.monitoring import report

    versions = [
        _version("1", 0.80, **{Tag.GATE: "passed", Tag.PROMOTED: "true"}),
        _version("2", 0.70, **{Tag.GATE: "refused", Tag.PROMOTED: "false"}),
        _version(
            "3",
            0.75,
            **{Tag.GATE: "passed", Tag.PROMOTED: "true", Tag.APPROVAL: "approved", Tag.APPROVED_BY: "admin"},
        ),
    ]
    monkeypatch.setattr(report, "_versions", lambda name, ws: (versions, {"champion": "3", "previous": "1"}))
    figures = []
    monkeypatch.setattr(report, "_img", lambda fig, alt: figures.append(fig) or "<img>")
    spec = make_spec(evaluation={"metrics": ["accuracy"]}, promotion={"metric": "accuracy"})
    html = report._versions_section(spec, None)  # type: ignore[arg-type]
    cells = [row.split("</td><td>") for row in html.split("<tr>")[2:]]
    by = {c[0].removeprefix("<td>"): c[9] for c in cells}
    record_property("observed", "the report said 'promoted by -' for an approved promotion and drew one line")
    assert by == {"<b>v3</b>": "approved by admin", "<b>v2</b>": "-", "<b>v1</b>": "gate"}, by
    (ax,) = figures[0].axes
    # every version was scored on its own holdout: no line may join points of different versions
    joined = [line for line in ax.get_lines() if len(set(line.get_xdata())) > 1]
    assert not joined
    assert "not comparable" in html


def test_the_summary_says_the_candidate_waits_and_how_to_approve_it(record_property) -> None:
    from airloop.console import summary
    from airloop.local.embedded import RunOutcome

    def ok(task: str, **output) -> dict:
        return {"event": "success", "task": task, "seconds": 1.0, "output": output}

    events = [
        ok("gate", gate={"passed": True, "metric": "roc_auc", "reasons": ["no champion yet"]}),
        ok("register", version="1"),
        ok("promote", promoted=False, champion_before=None, champion_after=None, approval="not asked"),
    ]
    text = summary(RunOutcome("success", "r1", 5.0, events))
    line = next(line for line in text.splitlines() if line.strip().startswith("registered v1"))
    record_property("observed", "a first run under approval ended 'champion before none, after none (not promoted)'")
    assert "waiting as `challenger` for approval" in line, text
    assert "`airloop promote PATH 1`" in line, text
    assert "`airloop promote p/airloop.yaml 1`" in summary(RunOutcome("success", "r1", 5.0, events), "p/airloop.yaml")
