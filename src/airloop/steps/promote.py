"""promote: move aliases. Passed gate: champion -> new, old champion -> previous. Else challenger."""

from __future__ import annotations

from typing import Any

from airloop.steps.context import StepContext
from airloop.tracking.tags import Tag


def run(ctx: StepContext, refs: dict[str, Any]) -> dict[str, Any]:
    from airloop.tracking import Tracker, aliases

    tracker = Tracker(ctx.workspace)
    name, version = ctx.name, refs["version"]
    promoted = bool(refs["gate"]["passed"])
    if promoted:
        moved = aliases.promote(tracker, name, version)
    else:
        moved = aliases.hold_as_challenger(tracker, name, version)
    tracker.log(refs["mlflow_run_id"], tags={Tag.PROMOTED: promoted, Tag.VERSION: version})
    tracker.finish(refs["mlflow_run_id"], "FINISHED")
    return {"promoted": promoted, **moved}
