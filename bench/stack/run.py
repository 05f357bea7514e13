"""`make bench`: the live stack's latency from a data drop to the new champion being served.

The tests' small binary project: a weak first champion (a DummyClassifier, trained in-process),
then the real spec with a landing folder; `airloop up` (airflow standalone + the server). Each drop
puts the champion back on v1, lands a CSV and `_READY`, and waits until the server answers with
the new version. Per drop: total latency, the sum of the step times of that train run, the overhead
(total - steps), and where it went (marker -> asset event -> run -> promote -> swap). Target:
latency <= steps + 20 s. Writes bench/results/stack.{json,md}.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT / "tests"))
DAG = "tiny__train"
BUDGET = 20.0


def ts(iso: str | None) -> float | None:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() if iso else None


def wait(check, timeout: float = 300, every: float = 0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError


def one_drop(i: int, incoming: Path, ws, api, serve) -> dict[str, float]:
    from helpers.projects import make_frame

    from airloop.tracking import Tracker, aliases

    aliases.promote(Tracker(ws), "tiny", "1", by="hand")
    wait(lambda: serve.get("/model").json()["version"] == "1", timeout=60)
    before = api.run_ids(DAG)
    make_frame(300, seed=100 + i, start="2024-04-01").to_csv(incoming / f"drop_{i}.csv", index=False)
    (incoming / "_READY").write_text("")
    ready = time.time()
    model = wait(lambda: (lambda m: m if m["version"] != "1" else None)(serve.get("/model").json()), timeout=400)
    served = time.time()
    run = wait(lambda: next((r for r in api.runs(DAG, 5) if r["dag_run_id"] not in before), None), timeout=60)
    events = [json.loads(x) for x in (ws.run_dir("tiny", run["dag_run_id"]) / "events.jsonl").read_text().splitlines()]
    steps = sum(e["seconds"] for e in events if e["event"] == "success")
    promote_end = max(e["ts"] for e in events if e["task"] == "promote" and e["event"] == "success")
    asset = api.get("/api/v2/assets/events?order_by=-timestamp&limit=5")["asset_events"]
    event_at = min((t for e in asset if (t := ts(e["timestamp"])) and t >= ready - 1), default=float("nan"))
    swap = [s for s in model["swaps"] if s["to"] == model["version"]][-1]
    return {
        "total": served - ready,
        "steps": steps,
        "overhead": served - ready - steps,
        "ready_to_event": event_at - ready,
        "event_to_run_start": (ts(run["start_date"]) or float("nan")) - event_at,
        "run": (ts(run["end_date"]) or served) - (ts(run["start_date"]) or float("nan")),
        "promote_to_swap": swap["at"] - promote_end,
    }


def main(drops: int = 3) -> int:
    import httpx
    from helpers.projects import SERVING, train_with_steps, write_project

    from airloop.local.rest import AirflowAPI
    from airloop.local.stack import Ports, down, free_port, up
    from airloop.spec import load_spec
    from airloop.workspace import Workspace

    with tempfile.TemporaryDirectory(prefix="airloop-bench-stack-") as tmp:
        root = Path(tmp) / "project"
        weak = dict(estimator="sklearn.dummy.DummyClassifier", params="{strategy: prior}", search="{}")
        spec = write_project(root, min_auc=0.0, extra=SERVING, **weak)
        ws = Workspace(Path(tmp) / "ws")
        train_with_steps(spec, ws)  # v1: a champion any real model beats
        write_project(root, min_auc=0.0, extra=SERVING)
        spec.write_text(spec.read_text().replace("  target: label\n", "  target: label\n  incoming: incoming\n"))
        (root / "incoming").mkdir()
        started = time.time()
        info = up(load_spec(spec, deep=True), ws, Ports(free_port(), free_port(), free_port()))
        up_seconds = time.time() - started
        rows = []
        try:
            api = AirflowAPI.for_workspace(ws)
            serve = httpx.Client(base_url=info["serve"], timeout=30)
            time.sleep(5)  # the triggerer picks the watcher up after the DAG is unpaused
            for i in range(drops):
                rows.append(one_drop(i, root / "incoming", ws, api, serve))
                print(json.dumps({k: round(v, 2) for k, v in rows[-1].items()}), flush=True)
        finally:
            stopped = down(ws)
    median = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    record = {
        "drops": rows,
        "median": median,
        "up_seconds": up_seconds,
        "down": stopped,
        "budget_seconds_over_steps": BUDGET,
        "machine": {"cpus": os.cpu_count(), "load": os.getloadavg()},
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "stack.json").write_text(json.dumps(record, indent=2) + "\n")
    (OUT / "stack.md").write_text(render(record))
    print(render(record))
    return 0


def render(record: dict) -> str:
    keys = list(record["median"])
    m = record["median"]
    verdict = "met" if m["total"] <= m["steps"] + record["budget_seconds_over_steps"] else "NOT met"
    lines = [
        "# The live stack: a data drop to the new champion being served",
        "",
        "Small synthetic project (tests/helpers/projects.py), `airloop up` on embedded defaults (SQLite,",
        "LocalExecutor, parallelism 4). Each drop: CSV + `_READY` in the landing folder -> triggerer's",
        "watcher -> asset event -> train DAG run (12 task instances) -> gate -> promote -> the server swaps.",
        "Seconds. Reproduce: `.venv/bin/python bench/stack/run.py` (part of `make bench`).",
        "`promote_to_swap` is from the promote step's end: at or below zero when the server swapped while",
        "promote was finishing (promote asks it to reload; the registry poll is the fallback).",
        "",
        "| drop | " + " | ".join(keys) + " |",
        "|---|" + "---|" * len(keys),
    ]
    for i, r in enumerate(record["drops"], 1):
        lines.append(f"| {i} | " + " | ".join(f"{r[k]:.2f}" for k in keys) + " |")
    lines.append("| median | " + " | ".join(f"{m[k]:.2f}" for k in keys) + " |")
    lines += [
        "",
        f"Target: drop -> served <= steps + {record['budget_seconds_over_steps']:.0f} s: {verdict} "
        f"({m['total']:.1f} s for {m['steps']:.1f} s of steps). `airloop up` took {record['up_seconds']:.0f} s. "
        f"Load average: {', '.join(f'{x:.1f}' for x in record['machine']['load'])} "
        f"({record['machine']['cpus']} cores).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
