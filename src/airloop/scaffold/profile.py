"""Profile a data set for `airloop init`: what each column is, what the model should use, and why.

Every decision carries its reason, so `init` can print it and write it into the spec as a comment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airloop.data.contract import looks_like_dates
from airloop.errors import DataError
from airloop.model.labels import plain as _plain

if TYPE_CHECKING:
    import pandas as pd

# names that often hold the label, matched as whole words
TARGET_WORDS = re.compile(
    r"(^|_|\b)(target|label|labels|y|class|outcome|response|result|status|churn|default|survived|diagnosis)($|_|\b)",
    re.I,
)
ID_WORDS = re.compile(r"(^|_|\b)(id|ids|uuid|key|index|rownames|row)($|_|\b)", re.I)
MAX_CLASSES = 50  # a text target with more classes is more likely an id or free text than a label
AMBIGUOUS_INTEGER_CLASSES = (3, 20)  # an integer target with this many values may be classes or a quantity


@dataclass
class Column:
    name: str
    kind: str  # numeric | categorical | boolean | datetime | date_text
    nulls: float
    distinct: int
    use: str = "feature"  # feature | target | time | exclude
    reason: str = ""
    examples: list[Any] = field(default_factory=list)

    @property
    def feature_kind(self) -> str:
        return "numeric" if self.kind == "numeric" else "categorical"


@dataclass
class Profile:
    rows: int
    columns: list[Column]
    target: Column
    task: str
    task_reason: str
    time: Column | None = None
    class_shares: dict[Any, float] = field(default_factory=dict)

    def used(self, kind: str) -> list[str]:
        return [c.name for c in self.columns if c.use == "feature" and c.feature_kind == kind]

    @property
    def excluded(self) -> list[Column]:
        return [c for c in self.columns if c.use in ("exclude", "time")]


class InitError(DataError):
    """`airloop init` cannot decide without the user: say what to pass."""

    exit_code = 2
    title = "init needs a decision"
    retryable = False


def column_kind(series: pd.Series) -> str:
    from airloop.data.contract import kind_of

    kind = kind_of(series)
    if kind == "categorical" and looks_like_dates(series):
        return "date_text"
    return kind


def profile(frame: pd.DataFrame, target: str, task: str | None = None) -> Profile:
    if target not in frame.columns:
        raise InitError(
            f"`{target}` is not a column of the data",
            hint="pass --target with one of: " + ", ".join(map(str, frame.columns)),
        )
    rows = len(frame)
    columns = [_column(frame[name], str(name), rows) for name in frame.columns]
    by_name = {c.name: c for c in columns}
    tcol = by_name[str(target)]
    tcol.use, tcol.reason = "target", "the label to predict"
    task, why = infer_task(frame[target], target, task)
    for col in columns:
        if col.use != "target":
            _decide(col, frame[col.name], rows)
    time = _pick_time(columns)
    shares: dict[Any, float] = {}
    if task != "regression":
        counts = frame[target].dropna().value_counts(normalize=True)
        shares = {_plain(k): round(float(v), 4) for k, v in counts.items()}
    return Profile(rows, columns, tcol, task, why, time, shares)


def _column(series: pd.Series, name: str, rows: int) -> Column:
    values = series.dropna()
    return Column(
        name=name,
        kind=column_kind(series),
        nulls=float(series.isna().mean()) if rows else 0.0,
        distinct=int(values.nunique()),
        examples=[_plain(v) for v in values.unique()[:3]],
    )


def _decide(col: Column, series: pd.Series, rows: int) -> None:
    """Feature or excluded, with the reason."""
    from pandas.api import types

    present = rows - int(series.isna().sum())
    if present == 0:
        col.use, col.reason = "exclude", "empty: every value is missing"
    elif col.distinct <= 1:
        col.use, col.reason = "exclude", f"constant: one value ({col.examples[0]!r})"
    elif col.kind in ("datetime", "date_text"):
        col.use, col.reason = "exclude", "a date: derive features from it in data.transform if it matters"
    elif col.kind == "categorical" and col.distinct >= 0.9 * present and present >= 50:
        col.use, col.reason = "exclude", f"id-like or free text: {col.distinct} distinct values in {present} rows"
    elif (
        types.is_integer_dtype(series.dtype)
        and col.distinct == present
        and (series.is_monotonic_increasing or ID_WORDS.search(col.name))
    ):
        col.use, col.reason = "exclude", f"id-like: a different integer on every row ({col.distinct})"
    elif col.kind == "categorical" and col.distinct > 500:
        col.reason = f"{col.distinct} levels: the frequent ones get a code, rare ones share one"
    elif col.kind == "numeric" and types.is_integer_dtype(series.dtype) and col.distinct <= 12:
        col.reason = f"integer with {col.distinct} values: numeric (list it as categorical if they are codes)"


def _pick_time(columns: list[Column]) -> Column | None:
    """The date column with the most distinct values, for a time split (needs some spread)."""
    dates = [c for c in columns if c.kind in ("datetime", "date_text") and c.distinct >= 10 and c.nulls < 0.05]
    if not dates:
        return None
    best = max(dates, key=lambda c: c.distinct)
    best.use, best.reason = "time", f"a time column ({best.distinct} distinct dates): the newest rows are the holdout"
    return best


def infer_task(y: pd.Series, name: str, asked: str | None = None) -> tuple[str, str]:
    """binary / multiclass / regression from the target's values, or a clear question."""
    from pandas.api import types

    values = y.dropna()
    distinct = int(values.nunique())
    if distinct < 2:
        raise InitError(
            f"target `{name}` has {distinct} distinct value(s): there is nothing to learn",
            hint="choose another --target",
        )
    if asked:
        return asked, "asked for with --task"
    numeric = types.is_numeric_dtype(y.dtype) and not types.is_bool_dtype(y.dtype)
    if distinct == 2:
        return "binary", f"two values: {', '.join(repr(_plain(v)) for v in sorted(values.unique(), key=str))}"
    if numeric:
        integral = bool((values % 1 == 0).all())
        low, high = AMBIGUOUS_INTEGER_CLASSES
        if not integral or distinct > high:
            return "regression", f"numeric with {distinct} distinct values"
        if distinct >= low:
            raise InitError(
                f"target `{name}` holds {distinct} whole numbers: classes or a quantity?",
                hint="pass --task multiclass (each number is a class) or --task regression (it is an amount)",
            )
    if distinct > MAX_CLASSES:
        raise InitError(
            f"target `{name}` is text with {distinct} distinct values: too many classes to learn from",
            hint="choose another --target, or group the values into fewer classes in the data",
        )
    return "multiclass", f"{distinct} classes"


def plausible_targets(frame: pd.DataFrame, limit: int = 8) -> list[tuple[str, str]]:
    """Columns that could be the label, most likely first, each with what task it would make."""
    scored = []
    for i, name in enumerate(frame.columns):
        series = frame[name]
        try:
            task, why = infer_task(series, str(name))
        except InitError:
            continue
        if column_kind(series) in ("datetime", "date_text"):
            continue
        score = float(2 if TARGET_WORDS.search(str(name)) else 0) + (1 if task != "regression" else 0)
        score += 0.5 if i == len(frame.columns) - 1 else 0
        scored.append((score, -i, str(name), f"{task} ({why})"))
    scored.sort(reverse=True)
    return [(name, what) for _, _, name, what in scored[:limit]]
