"""The history a backtest replays: the project's data on its own clock, cut into periods."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airloop.errors import DataError, UsageError
from airloop.spec import LoadedSpec

if TYPE_CHECKING:
    import pandas as pd

EVERY = {
    "day": {"days": 1},
    "week": {"weeks": 1},
    "month": {"months": 1},
    "quarter": {"months": 3},
    "year": {"years": 1},
}


def load_history(loaded: LoadedSpec) -> tuple[pd.DataFrame, pd.Series]:
    """Every row of the project's data source, and its time (UTC) from ``split.column``."""
    import pandas as pd

    from airloop.data.preflight import time_values
    from airloop.data.sources import read_batches

    spec = loaded.spec
    column = spec.split.column
    if not column:
        raise UsageError(
            "a backtest replays data in time order, and the spec names no time column",
            hint="set split.column to the column that says when each row happened (split.method may stay random)",
        )
    frame = pd.concat([b.frame for b in read_batches(loaded) if not b.duplicate_of], ignore_index=True)
    if column not in frame.columns:
        raise DataError(f"the time column `{column}` is not in the data", hint="check split.column")
    values = time_values(frame[column], column)
    if not pd.api.types.is_datetime64_any_dtype(values.dtype):
        raise DataError(
            f"the time column `{column}` holds numbers, not dates: periods of days, weeks or months need dates",
            hint="add a date column (e.g. from the year) in the transform or the data, and name it in split.column",
        )
    return frame, pd.to_datetime(values, utc=True)


def parse_time(text: str, what: str) -> pd.Timestamp:
    from datetime import datetime

    import pandas as pd

    try:
        stamp = pd.Timestamp(datetime.fromisoformat(text))  # ISO only: pandas would read "July" as year 1
    except (ValueError, TypeError):
        raise UsageError(f"{what} {text!r} is not a date", hint="use ISO dates such as 2013-07-01") from None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def periods(start: str, end: str, every: str) -> list[tuple[Any, Any]]:
    """[lo, hi) bounds from ``start`` to ``end`` (the last one cut at ``end``)."""
    import pandas as pd

    if every not in EVERY:
        raise UsageError(f"--every {every!r} is not a period", hint=f"use one of: {', '.join(EVERY)}")
    lo, stop = parse_time(start, "--start"), parse_time(end, "--end")
    if stop <= lo:
        raise UsageError(f"--end {end} is not after --start {start}", hint="give an end after the start")
    step = pd.DateOffset(**EVERY[every])
    out = []
    while lo < stop:
        hi = min(lo + step, stop)
        out.append((lo, hi))
        lo = hi
    return out
