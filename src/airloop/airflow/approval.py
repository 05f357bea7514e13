"""The approval task (promotion.approval: required): Airflow's own human-in-the-loop operator.

A person answers in the Airflow UI (Required Actions) or through the REST API (`airloop approve`);
the task holds no worker slot while it waits. Its body is the gate's evidence, written when the
task starts from the registered candidate's refs. A candidate the gate refused is not put to anyone.
No answer within the timeout applies the default, Reject.

The form: the comment is optional (a ``"string"`` param is required in Airflow's form, its buttons
greyed until it is filled; ``["null", "string"]`` is not). Airflow 3.3 highlights the default option,
so Reject is the solid button: one ``defaults`` drives both the highlight and the timeout answer, and
the timeout answer must stay Reject and be stored as what happened (chosen by no one). The body says
so, and the links airloop prints (``airloop.steps.approve.approval_link``) open the form with Approve
highlighted instead.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import Param

from airloop.steps.approve import APPROVE, REJECT


class CandidateApproval(HITLOperator):
    def __init__(self, *, project: str, refs_task: str, **kwargs: Any) -> None:
        super().__init__(
            subject=f"Promote a new {project} model to champion?",
            options=[APPROVE, REJECT],
            defaults=[REJECT],
            multiple=False,
            params={
                "comment": Param(None, type=["null", "string"], description="optional: why (kept on the model version)")
            },
            **kwargs,
        )
        self.project, self.refs_task = project, refs_task

    def execute(self, context: Any) -> Any:
        from airloop.steps.approve import evidence

        refs = context["ti"].xcom_pull(task_ids=self.refs_task) or {}
        if not (refs.get("gate") or {}).get("passed"):  # nothing to approve: promote keeps it as challenger
            return {"chosen_options": [], "params_input": {}, "responded_by_user": None, "not_asked": "gate refused"}
        self.subject = f"Promote {self.project} v{refs.get('version')} to champion?"
        self.body = evidence(refs, self.project, timeout=self.response_timeout)
        return super().execute(context)
