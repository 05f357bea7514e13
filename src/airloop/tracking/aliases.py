"""The one place registry aliases move: promote, hold as challenger, roll back, start and end a canary.

Aliases are the only deployment switch (the server follows ``champion``, and ``canary`` for its
share of traffic). Every move here keeps the rule: ``champion`` -> the new version, the old
champion -> ``previous``; a refused candidate -> ``challenger``; a promoted version is no longer
``challenger``; a canary ends rolled back or promoted, and says which and why on its version.
"""

from __future__ import annotations

from typing import Any

from airloop.errors import RegistryError
from airloop.tracking.tags import ALIASES, CHALLENGER, CHAMPION, PREVIOUS, Tag


def snapshot(tracker: Any, name: str) -> dict[str, str | None]:
    """Every alias of ``name`` -> the version it names (None when unset)."""
    return {a: tracker.alias_version(name, a) for a in ALIASES}


def promote(tracker: Any, name: str, version: str, by: str | None = None) -> dict[str, str | None]:
    """Make ``version`` the champion; the old one becomes ``previous``. Returns what changed."""
    before = tracker.alias_version(name, CHAMPION)
    if before == version:
        moved = {
            "champion_before": before,
            "champion_after": version,
            "previous": tracker.alias_version(name, PREVIOUS),
        }
    else:
        tracker.set_alias(name, CHAMPION, version)
        if before is not None:
            tracker.set_alias(name, PREVIOUS, before)
        moved = {"champion_before": before, "champion_after": version, "previous": before}
    if tracker.alias_version(name, CHALLENGER) == version:
        tracker.delete_alias(name, CHALLENGER)
    tags: dict[str, Any] = {Tag.PROMOTED: True}
    if by:
        tags[Tag.PROMOTED_BY] = by
    tracker.set_version_tags(name, version, tags)
    return moved


def hold_as_challenger(tracker: Any, name: str, version: str) -> dict[str, str | None]:
    """A candidate the gate refused: registered, kept as ``challenger``, the champion unchanged."""
    before = tracker.alias_version(name, CHAMPION)
    tracker.set_alias(name, CHALLENGER, version)
    tracker.set_version_tags(name, version, {Tag.PROMOTED: False})
    return {"champion_before": before, "champion_after": before}


def rollback(tracker: Any, name: str) -> None:
    """``champion`` back to ``previous``, and ``previous`` to the version it replaced."""
    before = snapshot(tracker, name)
    if not before[PREVIOUS]:
        raise RegistryError(
            f"model `{name}` has no `previous` version to roll back to",
            hint="promote a version by hand with `airloop promote PATH VERSION`",
        )
    tracker.set_alias(name, CHAMPION, before[PREVIOUS])
    if before[CHAMPION]:
        tracker.set_alias(name, PREVIOUS, before[CHAMPION])
    tracker.set_version_tags(name, before[PREVIOUS], {Tag.PROMOTED_BY: "rollback"})


def start_canary(tracker: Any, name: str, version: str, alias: str) -> None:
    """Let ``version`` answer the canary share of traffic (serving.canary)."""
    if tracker.alias_version(name, CHAMPION) == version:
        raise RegistryError(
            f"v{version} is already the champion of `{name}`: a canary must be another version",
            hint="train or pick another version, then `airloop canary PATH VERSION`",
        )
    tracker.set_alias(name, alias, version)
    tracker.set_version_tags(name, version, {Tag.CANARY: "started", Tag.CANARY_REASON: "started by hand"})


def end_canary(tracker: Any, name: str, alias: str, outcome: str, reason: str) -> str | None:
    """The canary alias is removed; ``outcome`` ("rolled back" | "promoted" | "stopped") and its reason
    are tagged on the version. A promoted canary becomes champion. Returns the version it named."""
    version = tracker.alias_version(name, alias)
    if version is None:
        return None
    if outcome == "promoted":
        promote(tracker, name, version, by="canary")
    tracker.delete_alias(name, alias)
    tracker.set_version_tags(name, version, {Tag.CANARY: outcome, Tag.CANARY_REASON: reason[:4000]})
    return version
