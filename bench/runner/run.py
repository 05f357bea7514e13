"""`make bench`: the embedded runner's own cost, `airloop run` wall time minus the steps' time.

Runs the train DAG of a small project (the tests' synthetic binary project: 1,200 rows, one
candidate, 2 trials) through `run_train_dag`, exactly as `airloop run` does, several times in one
workspace. Run 1 migrates a fresh Airflow DB; later runs reuse it. Per run: wall, the sum of the
step times, the overhead (wall - steps) split into the child's setup (start, imports, migration
check, DAG parse), the wait for the first task, the gaps between tasks, and the tail.
Writes bench/results/runner.{json,md}.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT / "tests"))


def breakdown(outcome, started: float) -> dict[str, float]:
    steps = outcome.step_seconds()
    starts = sorted(e["ts"] for e in outcome.events if e["event"] == "start")
    spans = sorted((e["ts"] - e.get("seconds", 0.0), e["ts"]) for e in outcome.events if "seconds" in e)
    gaps = sum(max(0.0, b0 - a1) for (_, a1), (b0, _) in zip(spans, spans[1:], strict=False))
    first = starts[0] - started if starts else float("nan")
    tail = started + outcome.wall_seconds - spans[-1][1] if spans else float("nan")
    total = sum(steps.values())
    return {
        "wall": outcome.wall_seconds,
        "steps": total,
        "overhead": outcome.wall_seconds - total,
        "child_setup": outcome.result.get("setup_seconds", float("nan")),
        "start_to_first_task": first,
        "gaps_between_tasks": gaps,
        "after_last_task": tail,
        "tasks": len(spans),
    }


def main(runs: int = 4) -> int:
    from helpers.projects import write_project

    from airloop.local.embedded import run_train_dag
    from airloop.spec import load_spec
    from airloop.workspace import Workspace

    rows = []
    with tempfile.TemporaryDirectory(prefix="airloop-bench-runner-") as tmp:
        project = write_project(Path(tmp) / "project")
        ws = Workspace(Path(tmp) / "ws")
        loaded = load_spec(project, deep=True)
        for i in range(runs):
            started = time.time()
            outcome = run_train_dag(loaded, ws)
            if not outcome.ok:
                print(f"run {i + 1} failed: see {outcome.log_file}")
                return 1
            rows.append({"run": i + 1, "migrated": outcome.result.get("migrated"), **breakdown(outcome, started)})
            print(json.dumps(rows[-1]))
    later = rows[1:]
    summary = {k: statistics.median(r[k] for r in later) for k in rows[0] if isinstance(rows[0][k], float)}
    record = {
        "runs": rows,
        "median_of_warm_runs": summary,
        "target_overhead_seconds": 6.0,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load": os.getloadavg()},
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "runner.json").write_text(json.dumps(record, indent=2) + "\n")
    (OUT / "runner.md").write_text(render(record))
    print(render(record))
    return 0


def render(record: dict) -> str:
    keys = ["wall", "steps", "overhead", "child_setup", "start_to_first_task", "gaps_between_tasks", "after_last_task"]
    lines = [
        "# The embedded runner's own cost (`airloop run` = dag.test() in a child process)",
        "",
        "Small synthetic project (tests/helpers/projects.py: 1,200 rows, 1 candidate, 2 trials, 12 task",
        "instances). Run 1 migrates a fresh Airflow DB; the median is over the later runs. Seconds.",
        "Reproduce: `.venv/bin/python bench/runner/run.py` (part of `make bench`).",
        "",
        "| run | migrated | " + " | ".join(keys) + " |",
        "|---|---|" + "---|" * len(keys),
    ]
    for r in record["runs"]:
        lines.append(f"| {r['run']} | {r['migrated']} | " + " | ".join(f"{r[k]:.2f}" for k in keys) + " |")
    m = record["median_of_warm_runs"]
    lines.append("| median (warm) | | " + " | ".join(f"{m[k]:.2f}" for k in keys) + " |")
    verdict = "met" if m["overhead"] <= record["target_overhead_seconds"] else "NOT met"
    lines += [
        "",
        f"Overhead target <= {record['target_overhead_seconds']:.0f} s: {verdict} ({m['overhead']:.1f} s). "
        f"Load average during the runs: {', '.join(f'{x:.1f}' for x in record['machine']['load'])} "
        f"({record['machine']['cpus']} cores).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
