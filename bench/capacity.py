"""docs/capacity.md from the measured benchmarks: what a deployment needs, figure by figure.

Reads bench/results/serve.json (the prediction service under wrk), every
bench/results/monitor_scale*.json (the monitor and the log at one or more sizes: the slope is fitted
through them) and bench/results/hpo_scale.json (trials per minute on 1 and 2 Celery workers), and
writes docs/capacity.md. Nothing here is measured: rerun the benchmarks, then this script
(`make bench` does both), and the page follows them.

    .venv/bin/python bench/capacity.py [--predictions-per-day 100e6] [--labeled 0.5]
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
OUT = ROOT / "docs" / "capacity.md"

# Assumptions, stated on the page: change them with the flags or here, never the measurements.
PEAK_TO_MEAN = 3.0  # the busiest second of a day against the day's mean (a diurnal curve)
UTILISATION = 0.6  # run a replica at this share of its measured ceiling (latency stays near p50)
SPARE_REPLICAS = 1  # one replica may be down (a node drained, a rollout) at the peak
RETENTION_DAYS = 30  # how long the prediction log's segments are kept
STUDY_TRIALS = 100
STUDY_WINDOW_MIN = 60.0  # the nightly study must finish in this many minutes
MONITOR_BUDGET_S = 900.0  # one monitor pass over a window should take at most this long
WORKER_MEMORY_GB = 16.0  # the memory of the machine a monitor task runs on


def load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares line (slope per row, intercept) through (rows, value); through 0 for one point."""
    if len(points) == 1:
        x, y = points[0]
        return y / x, 0.0
    n = len(points)
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    slope = sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x, _ in points)
    return slope, my - slope * mx


def measured() -> dict[str, Any]:
    """Every per-core figure the page uses, with where it came from."""
    serve = load("serve")
    if serve is None:
        raise SystemExit("bench/results/serve.json is missing: run bench/serve/run.py (make bench)")
    server = serve["servers"]["airloop"]
    scales = sorted(
        (json.loads(p.read_text()) for p in RESULTS.glob("monitor_scale*.json")),
        key=lambda r: r["rows"],
    )
    if not scales:
        raise SystemExit("bench/results/monitor_scale.json is missing: run bench/monitor_scale/run.py")
    largest = scales[-1]
    seconds = fit([(r["rows"], r["seconds"]) for r in scales])
    rss = fit([(r["rows"], r["peak_rss_gb"]) for r in scales])
    out: dict[str, Any] = {
        "single_rps": server["single_c16"]["rps"],
        "single_p99_ms": server["single_c16"]["p99_ms"],
        "batch_records_s": server["batch100_c16"]["rps"] * 100,
        "log_rows_s": largest["write"]["records_per_s"],
        "bytes_per_row": largest["log"]["bytes_on_disk"] / largest["rows"],
        "monitor_points": [(r["rows"], r["seconds"], r["peak_rss_gb"]) for r in scales],
        "monitor_s_per_row": seconds[0],
        "monitor_s_fixed": seconds[1],
        "monitor_gb_per_row": rss[0],
        "monitor_gb_fixed": rss[1],
        "cores": serve["cpus"],
        "model": serve["model"],
    }
    hpo = load("hpo_scale")
    if hpo:
        out["trials_per_min_1"] = hpo["workers"]["1"]["trials_per_min"]
        out["trials_per_min_2"] = hpo["workers"]["2"]["trials_per_min"]
        out["hpo_ratio"] = hpo["ratio"]
        out["hpo_study"] = hpo.get("study", {})
    return out


def needs(m: dict[str, Any], per_day: float, labeled: float) -> dict[str, Any]:
    """What per_day predictions need, from the measured figures and the assumptions above."""
    mean_s = per_day / 86_400
    peak_s = mean_s * PEAK_TO_MEAN
    replicas = math.ceil(peak_s / (m["single_rps"] * UTILISATION)) + SPARE_REPLICAS
    rows = per_day * (1 + labeled)  # a label is a row of its own in the log
    out: dict[str, Any] = {
        "mean_s": mean_s,
        "peak_s": peak_s,
        "replicas": replicas,
        "batch_replicas": math.ceil(peak_s / (m["batch_records_s"] * UTILISATION)) + SPARE_REPLICAS,
        "log_share": peak_s / max(replicas - SPARE_REPLICAS, 1) / m["log_rows_s"],
        "gb_per_day": per_day * m["bytes_per_row"] / 1e9,
        "gb_retained": per_day * m["bytes_per_row"] * RETENTION_DAYS / 1e9,
        "labeled_rows": per_day * labeled,
        "log_rows": rows,
        "monitor_s": m["monitor_s_fixed"] + m["monitor_s_per_row"] * per_day,
        "monitor_gb": m["monitor_gb_fixed"] + m["monitor_gb_per_row"] * per_day,
    }
    if "trials_per_min_1" in m:
        out["workers"] = math.ceil(STUDY_TRIALS / (m["trials_per_min_1"] * STUDY_WINDOW_MIN))
    return out


def limits(m: dict[str, Any]) -> list[tuple[float, str]]:
    """Predictions per day (per window) at which each single-process figure reaches its bound."""
    by_time = (MONITOR_BUDGET_S - m["monitor_s_fixed"]) / m["monitor_s_per_row"]
    found = [(by_time, f"one monitor pass over a day's window passes {MONITOR_BUDGET_S:.0f} s")]
    if m["monitor_gb_per_row"] > 0:
        by_memory = (WORKER_MEMORY_GB - m["monitor_gb_fixed"]) / m["monitor_gb_per_row"]
        found.append((by_memory, f"the monitor's peak memory passes a {WORKER_MEMORY_GB:.0f} GB worker"))
    return sorted(found)


def table(head: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def render(m: dict[str, Any], per_day: float, labeled: float) -> str:  # long: one page, top to bottom
    n = needs(m, per_day, labeled)
    points = ", ".join(f"{r / 1e6:g}M rows: {s:.2f} s, {g:.2f} GB" for r, s, g in m["monitor_points"])
    slope_note = (
        "fitted through " + str(len(m["monitor_points"])) + " sizes"
        if len(m["monitor_points"]) > 1
        else "one size only: taken as proportional to rows (a second size makes it a fitted slope)"
    )
    hpo = (
        f"| trials per minute, one single-threaded trial per worker slot | {m['trials_per_min_1']:.1f} "
        f"(2 workers: {m['trials_per_min_2']:.1f}, {m['hpo_ratio']:.2f}x) | hpo_scale.json |"
        if "trials_per_min_1" in m
        else "| trials per minute | not measured yet (bench/hpo_scale) | - |"
    )
    workers = (
        f"| Celery workers for a {STUDY_TRIALS}-trial nightly study in {STUDY_WINDOW_MIN:.0f} min | "
        f"**{n['workers']}** | {STUDY_TRIALS} / ({m['trials_per_min_1']:.1f} trials/min x {STUDY_WINDOW_MIN:.0f} min); "
        "trials of this bench's model and rows, scale by your own trial time |"
        if "workers" in n
        else "| Celery workers for the nightly study | needs hpo_scale.json | |"
    )
    breaks = limits(m)
    first, why = breaks[0]
    day = f"{per_day / 1e6:g}M"
    measured_table = (
        table(
            ("figure", "value", "from"),
            [
                (
                    "predictions/s, single records (c=16)",
                    f"{m['single_rps']:,.0f} (p99 {m['single_p99_ms']} ms)",
                    "serve.json",
                ),
                ("predictions/s in 100-record batches (c=16)", f"{m['batch_records_s']:,.0f}", "serve.json"),
                (
                    "log rows/s into one replica's front (100-record commits)",
                    f"{m['log_rows_s']:,}",
                    "monitor_scale.json",
                ),
                (
                    "log storage per prediction (15 features, half labeled; Parquet + SQLite)",
                    f"{m['bytes_per_row']:.0f} bytes",
                    "monitor_scale.json",
                ),
                (
                    "monitor seconds per 10M rows",
                    f"{m['monitor_s_per_row'] * 1e7 + m['monitor_s_fixed']:.1f} s ({points}; {slope_note})",
                    "monitor_scale*.json",
                ),
                (
                    "monitor peak memory per 10M rows",
                    f"{m['monitor_gb_per_row'] * 1e7 + m['monitor_gb_fixed']:.2f} GB",
                    "monitor_scale*.json",
                ),
            ],
        )
        + "\n"
        + hpo
    )
    needs_table = (
        table(
            ("need", "value", "how"),
            [
                (
                    "mean / peak predictions per second",
                    f"{n['mean_s']:,.0f} / {n['peak_s']:,.0f}",
                    f"{day} / 86,400 s, x {PEAK_TO_MEAN:g}",
                ),
                (
                    "replicas, single-record requests",
                    f"**{n['replicas']}**",
                    f"peak / ({m['single_rps']:,.0f} x {UTILISATION:g}) + {SPARE_REPLICAS}",
                ),
                (
                    "replicas, if clients send 100-record batches",
                    f"**{n['batch_replicas']}**",
                    f"peak / ({m['batch_records_s']:,.0f} x {UTILISATION:g}) + {SPARE_REPLICAS}",
                ),
                ("share of a front's write rate used at the peak", f"{n['log_share']:.1%}", "per replica"),
                (
                    f"log storage per day / for {RETENTION_DAYS} days",
                    f"**{n['gb_per_day']:.1f} GB** / {n['gb_retained']:,.0f} GB",
                    f"{m['bytes_per_row']:.0f} bytes x {day}",
                ),
                ("labels joined per day", f"{n['labeled_rows'] / 1e6:g}M", f"{labeled:.0%} of predictions"),
                (
                    "monitor time per daily window",
                    f"**{n['monitor_s']:,.0f} s**, peak {n['monitor_gb']:.1f} GB",
                    f"the slope above at {day} rows",
                ),
            ],
        )
        + "\n"
        + workers
    )
    return f"""# Capacity: what a deployment needs

Generated by `bench/capacity.py` from the measured benchmarks in `bench/results/` (serve.json,
monitor_scale*.json, hpo_scale.json); do not edit by hand: rerun the benchmarks (`make bench`) and
then `.venv/bin/python bench/capacity.py`. Measured on a {m["cores"]}-core machine. Model: {m["model"]}.

## Measured, per core

A server replica is one process: its figures were measured beside the load generator (wrk) on the
{m["cores"]} cores, so one replica is counted as one core. The monitor is one process as well.

{measured_table}

The served predictions/s include the log: every answer is committed to the replica's front before
it is sent. The front takes {m["log_rows_s"] / m["single_rps"]:.0f}x what a replica can answer,
so the log never limits a replica.

## {per_day / 1e6:g}M predictions a day, labels for {labeled:.0%}

Assumptions: the peak second carries {PEAK_TO_MEAN:g}x the day's mean; a replica runs at
{UTILISATION:.0%} of its measured ceiling; {SPARE_REPLICAS} spare replica for a drained node or a
rollout; segments kept {RETENTION_DAYS} days; the monitor's window is one day; the study must fit in
{STUDY_WINDOW_MIN:.0f} minutes. Change them at the top of `bench/capacity.py`; the volume and the labeled share with
`--predictions-per-day` and `--labeled`.

{needs_table}

## What breaks first as the load grows

Replicas, log storage and labels grow linearly and spread over more machines: replicas write their
own fronts and the shared segments folder takes files, not locks. What does not spread is the monitor:
one process reads the whole window. At the measured slope **{why} at about
{first / 1e6:,.0f}M predictions a day**{
        "" if len(breaks) == 1 else f" (next: {breaks[1][1]} at about {breaks[1][0] / 1e6:,.0f}M)"
    }. Past that, shorten the window (monitor every few hours) or sample it.

These are this machine's figures for this model: a model that takes longer per row moves the
replica count, and wider records move the storage. Rerun the benchmarks on your own model.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--predictions-per-day", type=float, default=100e6)
    parser.add_argument("--labeled", type=float, default=0.5, help="the share of predictions that get a label")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    page = render(measured(), args.predictions_per_day, args.labeled)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(page)
    print(page)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
