"""promote: move aliases. Passed gate: champion -> new, old champion -> previous. Else challenger."""

from __future__ import annotations

from typing import Any

from airloop.steps.context import StepContext


def move_champion(tracker: Any, name: str, version: str) -> dict[str, str | None]:
    """Make ``version`` the champion; the old one becomes ``previous``. Returns what changed."""
    from airloop.tracking.client import CHAMPION, PREVIOUS

    before = tracker.alias_version(name, CHAMPION)
    if before == version:
        return {"champion_before": before, "champion_after": version, "previous": tracker.alias_version(name, PREVIOUS)}
    tracker.set_alias(name, CHAMPION, version)
    if before is not None:
        tracker.set_alias(name, PREVIOUS, before)
    return {"champion_before": before, "champion_after": version, "previous": before}


def run(ctx: StepContext, refs: dict[str, Any]) -> dict[str, Any]:
    from airloop.tracking import Tracker
    from airloop.tracking.client import CHALLENGER, CHAMPION

    tracker = Tracker(ctx.workspace)
    name, version = ctx.name, refs["version"]
    if refs["gate"]["passed"]:
        moved = move_champion(tracker, name, version)
        if tracker.alias_version(name, CHALLENGER) == version:
            tracker.delete_alias(name, CHALLENGER)
        promoted = True
    else:
        before = tracker.alias_version(name, CHAMPION)
        tracker.set_alias(name, CHALLENGER, version)
        moved = {"champion_before": before, "champion_after": before}
        promoted = False
    tracker.set_version_tags(name, version, {"airloop.promoted": promoted})
    tracker.log(refs["mlflow_run_id"], tags={"airloop.promoted": promoted, "airloop.version": version})
    tracker.finish(refs["mlflow_run_id"], "FINISHED")
    return {"promoted": promoted, **moved}
