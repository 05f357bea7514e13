"""approve: what a person sees before a candidate is promoted, and what their decision leaves behind.

The waiting itself is Airflow's (its human-in-the-loop operator: the UI's Required Actions, the
REST API's ``hitlDetails``); this module only writes the body (the gate's evidence as Markdown),
turns the answer into the version's tags, and links to the form with Approve highlighted.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from airloop.tracking.tags import Tag

APPROVE, REJECT = "Approve", "Reject"


def approval_link(api_base_url: str, dag_id: str, run_id: str, task_id: str = "approve") -> str:
    """The Airflow 3.3 form that answers this run's approval, with Approve highlighted.

    The form highlights the operator's default (Reject, what a timeout answers) unless the URL
    preloads options: ``_options`` is read with ``JSON.parse``, so it must be a JSON list (Airflow's
    own ``generate_link_to_ui`` writes a Python repr, which the form drops)."""
    dag, run, task = (quote(part, safe="") for part in (dag_id, run_id, task_id))
    preload = quote(json.dumps([APPROVE]), safe="")
    return f"{api_base_url.rstrip('/')}/dags/{dag}/runs/{run}/tasks/{task}/required_actions?_options={preload}"


def evidence(refs: dict[str, Any], name: str, timeout: timedelta | None = None) -> str:
    """The gate's evidence: candidate vs champion on the same holdout, per metric; the data and
    its contract warnings; the gate's reasons; what no answer means."""
    gate, champion = refs.get("gate") or {}, refs.get("champion") or {}
    theirs = champion.get("candidate_metrics") or champion.get("metrics") or {}
    lines = [
        f"### `{name}` v{refs.get('version')}: promote it to champion?",
        "",
        f"Gate: **{'passed' if gate.get('passed') else 'refused'}** on `{gate.get('metric', '')}`.",
        "",
        f"| metric (holdout) | candidate | champion v{champion.get('version', '-')} |",
        "|---|---|---|",
    ]
    for metric, value in (refs.get("metrics") or {}).items():
        other = theirs.get(metric)
        lines.append(f"| {metric} | {value:.4f} | {'-' if other is None else f'{other:.4f}'} |")
    lines += ["", "Gate reasons:", *[f"- {r}" for r in gate.get("reasons", [])], ""]
    lines.append(f"Data fingerprint: `{refs.get('fingerprint', '-')}`; rows trained on: {refs.get('rows', '-')}.")
    warnings = refs.get("contract_warnings") or []
    lines.append(f"Contract warnings: {len(warnings)}" + "".join(f"\n- {w}" for w in warnings[:20]))
    if refs.get("mlflow_run_id"):
        lines.append(f"\nMLflow run: `{refs['mlflow_run_id']}`.")
    if timeout is not None:
        lines.append(
            f"\nNo answer within {_duration(timeout)} records **Reject**: that is why the form may highlight "
            "Reject (Airflow highlights the default), not a recommendation. The comment is optional."
        )
    return "\n".join(lines)


def _duration(t: timedelta) -> str:
    hours = t.total_seconds() / 3600
    return f"{hours:g} hour(s)" if hours >= 1 else f"{t.total_seconds():g} second(s)"


def outcome(decision: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """("approved" | "rejected" | "timed out" | "not asked", version tags) from the operator's answer.
    No answer at all (``airloop run``: no one can be asked) is "not asked"."""
    if not decision:
        return "not asked", {Tag.APPROVAL: "not asked"}
    chosen = decision.get("chosen_options") or []
    who = (decision.get("responded_by_user") or {}).get("name")
    if chosen == [APPROVE]:
        state = "approved"
    elif who is None:  # the operator applied its default (Reject) when the time ran out
        state = "timed out"
    else:
        state = "rejected"
    tags: dict[str, Any] = {Tag.APPROVAL: state}
    if who:
        tags[Tag.APPROVED_BY] = who
    if decision.get("responded_at"):
        tags[Tag.APPROVED_AT] = str(decision["responded_at"])
    comment = (decision.get("params_input") or {}).get("comment")
    if comment:
        tags[Tag.APPROVAL_COMMENT] = str(comment)[:4000]
    return state, tags
