"""Progress and summary of one run, as the `airloop run` command prints them."""

from __future__ import annotations

from typing import Any

import click

from airloop.runtime.embedded import RunOutcome, run_train_dag
from airloop.runtime.workspace import Workspace


def progress_printer(verbose: bool = False) -> Any:
    def show(e: dict[str, Any]) -> None:
        label = e.get("label", e["task"])
        if e["event"] == "success":
            click.echo(f"  {click.style('ok', fg='green')}   {label:<26} {e['seconds']:7.2f}s  {_detail(e)}")
        elif e["event"] == "failed":
            what = "FAIL" if e.get("final") else "retry"
            first = e["error"].splitlines()[0]
            click.echo(
                f"  {click.style(what, fg='red' if e.get('final') else 'yellow')} "
                f"{label:<26} {e['seconds']:7.2f}s  try {e['try']}: {first}"
            )
            if verbose and e.get("traceback"):
                click.echo(e["traceback"])

    return show


def _detail(e: dict[str, Any]) -> str:
    out = e.get("output") or {}
    if "rows" in out:
        return f"{out['rows']:,} rows"
    if "rows_dropped_missing_target" in out:
        return f"{out['rows_dropped_missing_target']:,} rows without target dropped"
    if "train_rows" in out:
        return f"train {out['train_rows']:,} / holdout {out['holdout_rows']:,}"
    if "completed" in out:
        return f"{out['completed']} trials"
    if "best" in out:
        b = out["best"]
        return f"best {b['candidate']} (validation {b['value']:.4f}) of {out['tuning']['trials']} trials"
    if "gate" in out:
        return "passed" if out["gate"]["passed"] else "refused"
    if "promoted" in out:
        return f"champion {_v(out.get('champion_before'))} -> {_v(out.get('champion_after'))}"
    if "version" in out:
        return f"registered v{out['version']}"
    if "metrics" in out:
        return ", ".join(f"{k} {v:.4f}" for k, v in out["metrics"].items())
    return ""


def _v(version: str | None) -> str:
    return f"v{version}" if version else "none"


def run_and_report(path: str, ws: Workspace, verbose: bool = False) -> RunOutcome:
    from airloop.spec import load_spec

    loaded = load_spec(path, deep=True)
    click.echo(f"airloop run {loaded.spec.name}: DAG {loaded.spec.name}__train, workspace {ws.root}")
    outcome = run_train_dag(loaded, ws, on_event=progress_printer(verbose))
    click.echo(summary(outcome))
    return outcome


def timing(outcome: RunOutcome) -> dict[str, float]:
    steps = outcome.step_seconds()
    total = sum(steps.values())
    return {"wall": outcome.wall_seconds, "steps": total, "overhead": outcome.wall_seconds - total}


def summary(outcome: RunOutcome) -> str:
    out = outcome.outputs()
    t = timing(outcome)
    lines = [f"run {outcome.run_id}: {outcome.state}"]
    if "metrics" in out:
        lines.append("  candidate (holdout): " + ", ".join(f"{k} {v:.4f}" for k, v in out["metrics"].items()))
    champ = out.get("champion")
    if champ and champ.get("metrics"):
        lines.append(
            f"  champion v{champ['version']} (same holdout): "
            + ", ".join(f"{k} {v:.4f}" for k, v in champ["metrics"].items())
        )
    if "gate" in out:
        verdict = "PASSED" if out["gate"]["passed"] else "REFUSED"
        lines.append(f"  gate: {verdict}")
        lines += [f"    - {r}" for r in out["gate"]["reasons"]]
    if "promoted" in out:
        lines.append(
            f"  registered v{out.get('version')}; champion before {_v(out.get('champion_before'))}, "
            f"after {_v(out.get('champion_after'))}" + ("" if out["promoted"] else " (not promoted)")
        )
    lines.append(f"  time: wall {t['wall']:.1f}s = steps {t['steps']:.1f}s + Airflow overhead {t['overhead']:.1f}s")
    return "\n".join(lines)
