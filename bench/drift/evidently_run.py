"""Run Evidently's DataDriftPreset on the drift benchmark's Parquet files; print one JSON line.

Runs in its own venv (Evidently pins conflict with airloop's), so it imports nothing from airloop.
Usage: evidently_run.py REFERENCE.parquet CURRENT.parquet COLUMNS.json [--method psi] [--repeats N]
COLUMNS.json holds {"numeric": [...], "categorical": [...]}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("DO_NOT_TRACK", "1")  # no usage telemetry from a benchmark


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("reference")
    parser.add_argument("current")
    parser.add_argument("columns")
    parser.add_argument("--method", default=None, help="one method for every column (default: Evidently's choice)")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()

    started = time.perf_counter()
    import evidently
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    imported = time.perf_counter()
    columns = json.loads(open(args.columns).read())
    ref = pd.read_parquet(args.reference)
    cur = pd.read_parquet(args.current)
    loaded = time.perf_counter()

    definition = DataDefinition(numerical_columns=columns["numeric"], categorical_columns=columns["categorical"])
    runs = []
    snapshot = None
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        report = Report([DataDriftPreset(method=args.method)], include_tests=True)
        snapshot = report.run(
            Dataset.from_pandas(cur, data_definition=definition),
            Dataset.from_pandas(ref, data_definition=definition),
        )
        runs.append(time.perf_counter() - t0)
    assert snapshot is not None

    raw = snapshot.dict()
    per_column: dict[str, dict] = {}
    for metric in raw["metrics"]:
        config = metric["config"]
        if config.get("type", "").endswith("ValueDrift"):
            per_column[config["column"]] = {
                "method": config.get("method"),
                "threshold": config.get("threshold"),
                "score": metric["value"],
            }
    prefix = "Value Drift for column "
    for test in raw["tests"]:
        name = test.get("name", "")
        if name.startswith(prefix) and name[len(prefix) :] in per_column:
            per_column[name[len(prefix) :]]["drifted"] = test["status"] == "FAIL"

    print(
        json.dumps(
            {
                "evidently_version": evidently.__version__,
                "pandas_version": pd.__version__,
                "method": args.method or "default",
                "import_s": imported - started,
                "load_s": loaded - imported,
                "run_s": runs,
                "best_run_s": min(runs),
                "columns": per_column,
            }
        )
    )


if __name__ == "__main__":
    sys.exit(main())
