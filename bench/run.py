"""`make bench`: time the flights demo (two dag.test() runs) and write bench/results/demo.{json,md}.

Reports the demo's wall time, each step's time, the Airflow overhead (wall minus the sum of the
step times) and the tuning step's wall time and trials per minute.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results"


def main() -> int:
    # kept (not a temp folder): bench/serve/run.py serves the champion this run makes
    workspace = ROOT / ".airloop" / "bench"
    started = time.perf_counter()
    res = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "flights" / "demo.py"),
            "--quick",
            "--workspace",
            str(workspace),
        ],
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    if res.returncode:
        print(res.stdout[-4000:], res.stderr[-4000:])
        return res.returncode
    record = json.loads((workspace / "demo" / "demo-results.json").read_text())
    record["command_wall_seconds"] = wall
    record["machine"] = {
        "python": platform.python_version(),
        "cpus": __import__("os").cpu_count(),
        "platform": platform.platform(),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "demo.json").write_text(json.dumps(record, indent=2, default=str))
    (OUT / "demo.md").write_text(render(record))
    print(render(record))
    return 0


def render(record: dict) -> str:
    lines = [
        "# airloop demo benchmark",
        "",
        "`examples/flights/demo.py --quick` (two runs of flights__train through dag.test()): "
        f"{record['command_wall_seconds']:.1f} s "
        f"wall for the command, {record['total_seconds']:.1f} s inside it. Machine: {record['machine']}.",
        "",
        "| run | data | wall s | steps s | Airflow overhead s | tuning wall s | trials | trials/min |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for i, run in enumerate(record["runs"], 1):
        t = run["timing"]
        trials = run["outputs"].get("tuning", {}).get("trials", 0)
        tw = run["tuning_wall_seconds"] or float("nan")
        lines.append(
            f"| {i} | {run['data']} | {t['wall']:.1f} | {t['steps']:.1f} | {t['overhead']:.1f} | "
            f"{tw:.1f} | {trials} | {trials / tw * 60:.0f} |"
        )
    lines += [
        "",
        "Seconds per step (mapped tune_trials summed over its instances):",
        "",
        "| step | " + " | ".join(f"run {i}" for i in range(1, len(record["runs"]) + 1)) + " |",
        "|---|" + "---|" * len(record["runs"]),
    ]
    for step in record["runs"][0]["steps"]:
        lines.append(f"| {step} | " + " | ".join(f"{r['steps'].get(step, 0):.2f}" for r in record["runs"]) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
