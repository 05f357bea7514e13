"""One label judged the same way wherever it comes from: POST /labels or a line of a label file.

A label names what it labels (a request_id the server issued, or the caller's entity_id), carries
a value the monitor can score against the model (one of its classes, or a number for a
regression), and may say when the outcome was observed (``ts``, also spelled ``timestamp``:
epoch seconds or ISO 8601). Anything else is refused with a reason that speaks of labels.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from airloop.model.labels import coerce

FIELDS = ("request_id", "entity_id", "label", "ts")
TIME_NAMES = ("ts", "timestamp")
ALLOWED = "request_id or entity_id, label, and optionally ts (or timestamp: when the outcome was observed)"
# epoch seconds up to the year 5138; larger values are milliseconds or nonsense
MAX_EPOCH = 1e11


@dataclass(frozen=True)
class Rules:
    """What a label must be for the served model: ``task`` None (no model known) checks the shape only;
    ``classes`` None (a version trained before classes were recorded) accepts any scalar."""

    task: str | None = None
    classes: tuple[Any, ...] | None = None
    # a class label's verdict by (type, value): a file or a request repeats a few values many times
    seen: dict[tuple[type, Any], tuple[Any, str | None]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, task: str | None, classes: Any) -> Rules:
        return cls(task, None if classes is None else tuple(classes))


@dataclass(frozen=True)
class Refused:
    field: str  # the label's field at fault ("" for the label as a whole)
    problem: str


def unknown_field(raw: dict[str, Any]) -> Refused | None:
    """A field no label has (a predict record's feature, a typo), or the time given twice."""
    extra = [k for k in raw if k not in FIELDS and k != "timestamp"]
    if extra:
        return Refused(str(extra[0]), f"unknown field {_show(str(extra[0]))} of a label: a label has {ALLOWED}")
    if all(raw.get(n) is not None for n in TIME_NAMES):
        return Refused("timestamp", "ts and timestamp are the same field: give one of them")
    return None


def check(raw: Any, rules: Rules) -> dict[str, Any] | Refused:
    """The label ready to record ({request_id, entity_id, label, ts}, the label as the model's
    class) or why it is refused."""
    if not isinstance(raw, dict):
        return Refused("", f"a label is an object with {ALLOWED}; got {type(raw).__name__}")
    wrong = unknown_field(raw)
    if wrong:
        return wrong
    rid, entity = raw.get("request_id"), raw.get("entity_id")
    if rid is not None and not isinstance(rid, str):
        return Refused("request_id", f"request_id must be text (as /predict answered it), got {_show(rid)}")
    if entity is not None and (isinstance(entity, bool) or not isinstance(entity, str | int)):
        return Refused("entity_id", f"entity_id must be text or an integer, got {_show(entity)}")
    if rid is None and entity is None:
        return Refused("", "no request_id or entity_id")
    value = raw.get("label")
    if value is None:
        return Refused("label", "no label")
    value, problem = check_value(value, rules)
    if problem:
        return Refused("label", problem)
    name = "ts" if raw.get("ts") is not None else "timestamp"
    ts = raw.get(name)
    when = None
    if ts is not None:
        when = parse_time(ts)
        if when is None:
            return Refused(
                name,
                f"{_show(ts)} is not a time: give epoch seconds or ISO 8601 (2026-01-31T12:00:00Z)",
            )
    return {"request_id": rid, "entity_id": entity, "label": value, "ts": when}


def check_value(value: Any, rules: Rules) -> tuple[Any, str | None]:
    """(the value as the model's class, None) or (value, why the monitor could not score it)."""
    if isinstance(value, bool | str | int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return value, f"{_show(value)} is not a finite number"
    else:
        return value, f"{_show(value)} is not a single value (text, number or boolean)"
    if rules.task == "regression":
        if isinstance(value, str | bool):
            return value, f"{_show(value)} is not a number"
        return value, None
    if rules.task is None or rules.classes is None:
        return value, None
    verdict = rules.seen.get((type(value), value))
    if verdict is None:
        classes = list(rules.classes)
        known = coerce([value], classes)[0]
        if known in classes:
            verdict = (known, None)
        else:
            verdict = (value, f"{_show(value)} is not one of " + ", ".join(json.dumps(c) for c in classes))
        if len(rules.seen) < 10_000:
            rules.seen[(type(value), value)] = verdict
    return verdict


def parse_time(value: Any) -> float | None:
    """Epoch seconds of a label's observed time: a number, or ISO 8601 text (naive times are UTC)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        if isinstance(value, int) and not -MAX_EPOCH < value < MAX_EPOCH:
            return None  # beyond what a float holds, in the largest case
        seconds = float(value)
    elif isinstance(value, str):
        try:
            stamp = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=UTC)
        seconds = stamp.timestamp()
    else:
        return None
    return seconds if math.isfinite(seconds) and 0 <= seconds < MAX_EPOCH else None


def _show(value: Any) -> str:
    """A value in a message, cut short: a label or time may be any length."""
    try:
        text = repr(value)
    except ValueError:  # an integer past Python's digit limit for text
        return "a number of thousands of digits"
    return text if len(text) <= 80 else text[:77] + "..."
