"""Feature transform for the flights example: calendar features from the scheduled departure."""

import pandas as pd


def calendar(frame: pd.DataFrame) -> pd.DataFrame:
    local = pd.to_datetime(frame["time_hour"], utc=True).dt.tz_convert("America/New_York")
    frame["month"] = local.dt.month.astype("float64")
    frame["day_of_week"] = local.dt.dayofweek.astype(str)
    frame["dep_hour"] = (frame["sched_dep_time"] // 100).astype("float64")
    return frame
