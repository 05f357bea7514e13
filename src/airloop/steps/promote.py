"""promote: move aliases. Passed gate: champion -> new, old champion -> previous. Else challenger.

A version that passed the gate is smoke-tested first (``scoring.smoke``: it loads and answers its
own input example). One that fails is not promoted: the task fails with the reason, which is also
tagged on the version, and the champion is untouched. Failing (rather than holding it as
challenger) is deliberate: a model that cannot answer is a broken run an operator must see, not a
candidate that lost, and a challenger may be shadowed by the server.
"""

from __future__ import annotations

import os
from typing import Any

from airloop.steps.context import StepContext
from airloop.tracking.tags import Tag

# Set by `airloop up` for Airflow's processes: where the prediction server answers.
SERVE_URL_ENV = "AIRLOOP_SERVE_URL"


def run(ctx: StepContext, refs: dict[str, Any]) -> dict[str, Any]:
    from airloop.tracking import Tracker, aliases

    tracker = Tracker(ctx.workspace)
    name, version = ctx.name, refs["version"]
    promoted = bool(refs["gate"]["passed"])
    approval = None
    if promoted and ctx.loaded.spec.promotion.approval == "required":
        from airloop.steps.approve import outcome

        approval, tags = outcome(refs.get("approval"))
        tracker.set_version_tags(name, version, tags)
        promoted = approval == "approved"
    if promoted:
        smoke_test(ctx, tracker, version)
        moved = aliases.promote(tracker, name, version)
    else:
        moved = aliases.hold_as_challenger(tracker, name, version)
    tracker.log(refs["mlflow_run_id"], tags={Tag.PROMOTED: promoted, Tag.VERSION: version})
    tracker.finish(refs["mlflow_run_id"], "FINISHED")
    out = {"promoted": promoted, **moved}
    if approval is not None:
        out["approval"] = approval
    if promoted and moved["champion_before"] != moved["champion_after"]:
        out["server_reload"] = nudge_server(ctx)
    return out


def smoke_test(ctx: StepContext, tracker: Any, version: str) -> None:
    """Refuse a version that cannot answer: tag why on it, then raise (the champion is untouched)."""
    from airloop.errors import AirloopError
    from airloop.model.store import LoadOptions
    from airloop.scoring.smoke import check_version

    try:
        check_version(ctx.workspace, ctx.name, version, ctx.loaded.spec.task, LoadOptions.of(ctx.loaded.spec))
    except AirloopError as exc:
        reason = f"not promoted: failed the smoke test: {exc.message}"
        tracker.set_version_tags(ctx.name, version, {Tag.PROMOTED: False, Tag.REASON: reason[:4000]})
        raise


def nudge_server(ctx: StepContext, timeout: float = 2.0) -> str | None:
    """Ask the prediction server `airloop up` started to swap now rather than at its next registry
    poll (``serving.poll_seconds``). Best effort: the poll stays the guarantee, so no server, no
    answer or a refusal never fails the step. Returns the server's status ("swapped", ...) or None."""
    url = os.environ.get(SERVE_URL_ENV)
    if not url:
        return None
    import httpx

    cfg = ctx.loaded.spec.serving
    token = os.environ.get(cfg.token_env) or cfg.token
    headers = {"authorization": f"Bearer {token}"} if token else {}
    try:
        resp = httpx.post(f"{url.rstrip('/')}/admin/reload", headers=headers, timeout=timeout)
        return str(resp.json().get("status")) if resp.status_code == 200 else None
    except (httpx.HTTPError, ValueError):  # the poll will pick the champion up
        return None
