"""Hand-driven registry actions: promote a version, roll back, list versions."""

from __future__ import annotations

from typing import Any

from airloop.errors import RegistryError
from airloop.runtime.workspace import Workspace
from airloop.spec import load_spec


def _tracker(ws: Workspace) -> Any:
    from airloop.tracking import Tracker

    return Tracker(ws)


def _snapshot(tracker: Any, name: str) -> dict[str, str | None]:
    from airloop.tracking.client import CHALLENGER, CHAMPION, PREVIOUS

    return {a: tracker.alias_version(name, a) for a in (CHAMPION, PREVIOUS, CHALLENGER)}


def _moves(name: str, before: dict[str, str | None], after: dict[str, str | None]) -> dict[str, Any]:
    return {"name": name, "aliases": {a: (before[a], after[a]) for a in before}}


def promote_by_hand(path: str, version: str, ws: Workspace) -> dict[str, Any]:
    from airloop.steps.promote import move_champion
    from airloop.tracking.client import CHALLENGER

    name = load_spec(path).spec.name
    tracker = _tracker(ws)
    tracker.version(name, version)  # raises a RegistryError naming the versions that exist
    before = _snapshot(tracker, name)
    move_champion(tracker, name, str(version))
    if before[CHALLENGER] == str(version):
        tracker.delete_alias(name, CHALLENGER)
    tracker.set_version_tags(name, str(version), {"airloop.promoted": True, "airloop.promoted_by": "hand"})
    return _moves(name, before, _snapshot(tracker, name))


def rollback(path: str, ws: Workspace) -> dict[str, Any]:
    from airloop.tracking.client import CHAMPION, PREVIOUS

    name = load_spec(path).spec.name
    tracker = _tracker(ws)
    before = _snapshot(tracker, name)
    if not before[PREVIOUS]:
        raise RegistryError(
            f"model `{name}` has no `previous` version to roll back to",
            hint="promote a version by hand with `airloop promote PATH VERSION`",
        )
    tracker.set_alias(name, CHAMPION, before[PREVIOUS])
    if before[CHAMPION]:
        tracker.set_alias(name, PREVIOUS, before[CHAMPION])
    tracker.set_version_tags(name, before[PREVIOUS], {"airloop.promoted_by": "rollback"})
    return _moves(name, before, _snapshot(tracker, name))


def versions_table(path: str, ws: Workspace) -> str:
    loaded = load_spec(path)
    name = loaded.spec.name
    tracker = _tracker(ws)
    metric = loaded.spec.promotion_metric
    aliases = _snapshot(tracker, name)
    by_version: dict[str, list[str]] = {}
    for alias, v in aliases.items():
        if v:
            by_version.setdefault(v, []).append(alias)
    rows = [f"model {name} (workspace {ws.root})", f"  {'version':<8} {'aliases':<20} {metric:<10} {'gate':<8} reasons"]
    numbers = tracker.version_numbers(name)
    if not numbers:
        rows.append("  no versions yet: run `airloop run PATH`")
    for v in reversed(numbers):
        tags = tracker.version(name, v).tags
        value = tags.get(f"airloop.metric.{metric}", "-")
        rows.append(
            f"  v{v:<7} {','.join(by_version.get(v, [])) or '-':<20} {value:<10} "
            f"{tags.get('airloop.gate', '-'):<8} {tags.get('airloop.gate_reasons', '')}"
        )
    return "\n".join(rows)
