"""Can this data be learned as the spec says? The checks run before Airflow starts (a deep spec
rule reads only the target and split columns) and again inside the DAG (split), so a scheduled run
gets the same answer as `airloop run`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airloop.errors import UnusableData

if TYPE_CHECKING:
    import pandas as pd

    from airloop.model.labels import Labels

# a time column whose values fail to parse beyond this share is not a time column
MAX_UNPARSED_SHARE = 0.01
MIN_ROWS = 10  # fewer rows cannot be split into something to train on and something to judge with


def learnable(spec: Any, frame: pd.DataFrame) -> Labels | None:
    """The target's classes and positive class; raise UnusableData naming the spec key to fix."""
    from airloop.model import labels

    target = spec.data.target
    if spec.split.method == "time" and spec.split.column in frame.columns:
        time_values(frame[spec.split.column], spec.split.column)
    if target not in frame.columns or frame.empty:
        return None  # no data, or no such column: the data step says so, with the data exit code
    y = frame[target]
    if spec.task == "regression":
        from pandas.api import types

        if not types.is_numeric_dtype(y.dtype) or types.is_bool_dtype(y.dtype):
            raise UnusableData(
                f"task is regression but target `{target}` is not numeric (e.g. {_examples(y)})",
                hint="set task: binary or multiclass, or choose a numeric target",
            )
        if y.dropna().nunique() < 2:
            raise UnusableData(
                f"target `{target}` is constant: there is nothing to learn", hint="choose another target"
            )
        return None
    return labels.infer(y, spec.task, spec.data.positive_class, target)


def time_values(values: pd.Series, column: str) -> pd.Series:
    """The split column as something that sorts in time order: datetimes, numbers, or text parsed as dates."""
    import pandas as pd
    from pandas.api import types

    if types.is_datetime64_any_dtype(values.dtype) or (
        types.is_numeric_dtype(values.dtype) and not types.is_bool_dtype(values.dtype)
    ):
        return values
    parsed = pd.to_datetime(values, errors="coerce", utc=True, format="mixed")
    bad = parsed.isna() & values.notna()
    if bad.sum() > MAX_UNPARSED_SHARE * max(1, values.notna().sum()):
        raise UnusableData(
            f"split column `{column}` does not parse as a time: {int(bad.sum())} of {int(values.notna().sum())} "
            f"values do not (e.g. {_examples(values[bad])})",
            hint="use a column of dates or numbers for split.column, or split.method: random",
            where=("split", "column"),
        )
    return parsed


def _examples(values: pd.Series, n: int = 3) -> str:
    return ", ".join(repr(v) for v in values.dropna().unique()[:n])
