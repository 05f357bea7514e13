"""The flights demo: the whole loop on the flights of 2013, month by month, on the real stack.

    python examples/flights/demo.py            # what `make demo` runs
    python examples/flights/demo.py --quick    # two training runs only, no stack

Train on January-June (dag.test), bring the stack up (airflow standalone + the server), then for
each following month: replay its flights through the prediction API over HTTP, deliver its
labels (the monitor DAG runs on them), and land its data (the train DAG runs on it; the gate
decides; the server swaps). One month also lands a corrupted batch, which the contract rejects.
Everything flights-specific lives in this folder; the library offers the generic pieces
(`airloop.local.drive`, `airloop.local.stack`, the REST client).
"""

from __future__ import annotations

import json
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

import click
import prepare
import yaml

from airloop.console import progress_printer
from airloop.errors import AirloopError, EnvironmentProblem
from airloop.local import drive, state
from airloop.local.embedded import run_train_dag
from airloop.local.rest import AirflowAPI
from airloop.local.stack import Ports, down, free_port, up
from airloop.local.supervise import StopRequested, stop_signals_raise
from airloop.plan import monitor_dag_id, train_dag_id
from airloop.spec import load_spec
from airloop.tracking import Tracker
from airloop.tracking.tags import CHAMPION, Tag
from airloop.workspace import Workspace

HERE = Path(__file__).resolve().parent
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
FIRST_MONTHS = [1, 2, 3, 4, 5, 6]
TARGET, METRIC = "late", "roc_auc"


def demo_spec(example: Path) -> dict[str, Any]:
    """The example's spec, driven by data and labels rather than the clock: no cron on either DAG,
    and a fast poll. (The monitor's cooldown is in data time: a replay of 2013 decides as 2013 did.)"""
    spec = yaml.safe_load((example / "airloop.yaml").read_text())
    spec["schedule"] = None
    spec["monitoring"] = {**spec.get("monitoring", {}), "schedule": None}
    spec["serving"] = {**spec.get("serving", {}), "poll_seconds": 1}
    return spec


def corrupt(month: Any) -> Any:
    """A broken upstream: temperatures in scaled Celsius, and a carrier code nobody knows."""
    broken = month.copy()
    broken["temp"] = (broken["temp"] - 32) * 5 / 9 * 100
    broken["carrier"] = "??"
    return broken


def _play(
    loaded: Any,
    ws: Workspace,
    project: Path,
    frame: Any,
    months: list[int],
    bad_month: int | None,
    replay_rows: int,
    keep: bool,
) -> tuple[dict[str, Any], list[dict[str, Any]], Any]:
    """The stack up, the months played through it, the report written, the stack down (unless kept)."""
    name = loaded.spec.name
    rows: list[dict[str, Any]] = []
    report_path = None
    info: dict[str, Any] = {}
    try:
        info = up(loaded, ws, Ports(free_port(), free_port(), free_port()))
        click.echo(f"  Airflow {info['airflow']} (admin / {info['password']}), serving {info['serve']}")
        api = AirflowAPI.for_workspace(ws)
        month = Month(ws, name, api, Tracker(ws), info["serve"], project / "incoming", frame, replay_rows)
        api.wait_for_dags({train_dag_id(name), monitor_dag_id(name)})
        for m in months:
            r = month.play(m, bad=m == bad_month)
            rows.append(r)
            asked = f"retrain requested, {r['requested_run']}; then " if r.get("requested_run") else ""
            click.echo(
                f"  {r['month']}: champion v{r['champion']}, live AUC {r['live_auc']}, "
                f"drifted {r['drifted'] or '-'}; {asked}{r['action']}"
            )
    finally:
        try:
            from airloop.monitoring.report import write_report

            report_path = write_report(project / "airloop.yaml", ws)
        except Exception as exc:  # the table matters more than the page
            click.echo(f"  (report not written: {exc})")
        if not keep or not info:
            left = {k: v["left"] for k, v in down(ws).items() if v["left"]}
            click.echo(f"\nstack stopped{'; LEFT BEHIND: ' + str(left) if left else ''}")
    return info, rows, report_path


def run_live_demo(
    example: Path,
    base: Workspace,
    months: list[int],
    bad_month: int | None,
    keep: bool = False,
    replay_rows: int = 3000,
    baselines: bool = True,
) -> dict[str, Any]:
    started = time.perf_counter()
    ws = Workspace(base.root / "demo")
    project = ws.root / "flights"
    if ws.root.exists():
        if state.running(ws):
            down(ws)
        shutil.rmtree(ws.root)
    project.mkdir(parents=True)
    shutil.copy2(example / "features.py", project / "features.py")
    (project / "airloop.yaml").write_text(yaml.safe_dump(demo_spec(example), sort_keys=False))
    click.secho(f"airloop demo: the loop on New York flights, 2013 (workspace {ws.root})", bold=True)
    frame = prepare.load_all()
    prepare.write_months(project / "data", FIRST_MONTHS, frame)
    loaded = load_spec(project / "airloop.yaml", deep=True)

    click.secho("\ntrain on January-June", bold=True)
    first = run_train_dag(loaded, ws, on_event=progress_printer())
    if not first.ok:
        raise EnvironmentProblem("the first training run failed", hint=f"see {first.log_file}")
    click.secho("\nbring the stack up", bold=True)
    # Ctrl-C, kill and a closed terminal all end in the `finally` below, also while the stack starts
    with stop_signals_raise():
        info, rows, report_path = _play(loaded, ws, project, frame, months, bad_month, replay_rows, keep)
    if baselines and rows:
        report_path = scheduled_baseline(example, ws, frame, months, rows) or report_path
    total = time.perf_counter() - started
    click.secho("\nmonth by month", bold=True)
    click.echo(month_table(rows))
    click.echo(f"\nHTML report: {report_path}")
    click.echo(f"demo took {total / 60:.1f} min")
    if keep:
        click.echo(
            f"the stack is still up: {info['airflow']} (admin / {info['password']}); "
            f"stop it with `airloop down --workspace {ws.root}`"
        )
    record = {
        "total_seconds": total,
        "first_run": {"wall": first.wall_seconds, "steps": first.step_seconds()},
        "months": rows,
    }
    (ws.root / "demo-results.json").write_text(json.dumps(record, indent=2, default=str))
    return record


def scheduled_baseline(example: Path, ws: Workspace, frame: Any, months: list[int], rows: list[dict[str, Any]]) -> Any:
    """Retraining every month, for the same months: `airloop backtest` on the same spec and data.
    Adds each month's scheduled AUC to ``rows`` and rewrites the report with the three curves."""
    from airloop.backtest.replay import run_backtest
    from airloop.monitoring.report import write_report

    click.secho("\nthe same months, retrained every month (airloop backtest)", bold=True)
    project = ws.root / "baselines" / "flights"
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir(parents=True)
    shutil.copy2(example / "features.py", project / "features.py")
    (project / "airloop.yaml").write_text(yaml.safe_dump(demo_spec(example), sort_keys=False))
    prepare.write_months(project / "data", list(range(1, months[-1] + 1)), frame)
    loaded = load_spec(project / "airloop.yaml", deep=True)
    end = f"{2013 + months[-1] // 12}-{months[-1] % 12 + 1:02d}-01"
    result = run_backtest(loaded, ws.backtest_dir(loaded.spec.name), f"2013-{months[0]:02d}-01", end, "month")
    for row, period in zip(rows, result["periods"], strict=False):
        row["scheduled_auc"] = period.get("scheduled")
    s = result["summary"]
    click.echo(
        f"  whole months: static {s['static']['mean']:.4f}, scheduled {s['scheduled']['mean']:.4f} "
        f"({s['scheduled']['trainings']} trainings), loop policy {s['loop']['mean']:.4f} ({s['loop']['trainings']})"
    )
    return write_report(ws.root / "flights" / "airloop.yaml", ws)


class Month:
    """One month of 2013 through the loop: predictions, then labels, then data."""

    def __init__(
        self,
        ws: Workspace,
        name: str,
        api: AirflowAPI,
        tracker: Tracker,
        serve: str,
        incoming: Path,
        frame: Any,
        replay_rows: int,
    ) -> None:
        self.ws, self.name, self.api, self.tracker, self.serve = ws, name, api, tracker, serve
        self.incoming, self.frame, self.replay_rows = incoming, frame, replay_rows
        self.train, self.monitor = train_dag_id(name), monitor_dag_id(name)
        self.first: Any = None  # the first champion's model, for the static column

    def static_auc(self, sample: Any) -> float | None:
        """What the first champion (never retrained) scores on the same replayed flights."""
        from sklearn.metrics import roc_auc_score

        from airloop.model import store

        if self.first is None:
            self.first = store.load(f"models:/{self.name}/1")
        labeled = sample[sample[TARGET].notna()]
        if labeled[TARGET].nunique() < 2:
            return None
        proba = self.first.predict_proba(labeled.drop(columns=[TARGET]))[:, 1]
        return round(float(roc_auc_score(labeled[TARGET].astype(int), proba)), 4)

    def play(self, m: int, bad: bool) -> dict[str, Any]:
        self.api.wait_idle(self.train)
        before_labels = self.api.run_ids(self.train)
        month = self.frame[self.frame["month"] == m][prepare.COLUMNS].reset_index(drop=True)
        sample = month.sample(n=min(self.replay_rows, len(month)), random_state=m)
        entity = [f"2013-{m:02d}-{i}" for i in sample.index]
        # 1. the month's flights, through the API, as they are scheduled
        records = json.loads(sample.drop(columns=[TARGET]).to_json(orient="records", date_format="iso"))
        for rec, eid in zip(records, entity, strict=True):
            rec["entity_id"] = eid
        sent = drive.replay(self.serve, records)
        static = self.static_auc(sample)
        # 2. the labels arrive (cancelled flights have none): the monitor DAG runs on them
        known = sample[TARGET].notna().to_numpy()
        labels = [(e, int(v)) for e, v, ok in zip(entity, sample[TARGET], known, strict=True) if ok]
        seen = self.api.run_ids(self.monitor)
        drive.deliver_labels(self.ws, self.name, labels, f"labels_2013_{m:02d}.csv")
        self.api.wait_for_new_run(self.monitor, seen)
        monitored = drive.last_monitoring(self.ws, self.name)
        requested = None
        if monitored.get("verdict") == "retrain requested":  # a run of its own, on the data so far: let it finish
            was = self.tracker.alias_version(self.name, CHAMPION)
            asked = self.api.wait_for_new_run(self.train, before_labels)
            now = self.tracker.alias_version(self.name, CHAMPION)
            requested = drive.train_action(
                self.tracker, self.name, asked["state"], was, now, set(), asked["dag_run_id"]
            )
        self.api.wait_idle(self.train)
        # 3. the month's data lands (plus a corrupted copy, one month): the train DAG runs on it
        seen = self.api.run_ids(self.train)
        prepare.write_months(self.incoming, [m], self.frame)
        if bad:
            corrupt(month).to_parquet(self.incoming / f"flights_2013_{m:02d}_resent.parquet", index=False)
        before = self.tracker.alias_version(self.name, CHAMPION)
        rejected_before = drive.rejected_files(self.incoming)
        drive.mark_ready(self.incoming)
        run = self.api.wait_for_new_run(self.train, seen)
        after = self.tracker.alias_version(self.name, CHAMPION)
        new_rejects = drive.rejected_files(self.incoming) - rejected_before
        action = drive.train_action(
            self.tracker, self.name, run["state"], before, after, new_rejects, run["dag_run_id"]
        )
        if after != before and after is not None:
            drive.wait_until_served(self.serve, after)
        champ = self.tracker.version(self.name, after)
        verdict = monitored.get("verdict", "-")
        if "retrain" in verdict:
            verdict += f" ({drive.last_monitor_reason(self.tracker, self.name)})"
        return {
            "month": MONTHS[m - 1],
            "champion": after,
            "champion_before": before,
            "holdout_auc": round(float(champ.tags.get(Tag.metric(METRIC), "nan")), 4),
            "live_auc": monitored.get("live", {}).get(METRIC),
            "drifted": drifted_text(monitored),
            "monitor": verdict,
            "action": action,
            "requested_run": requested,
            "served": drive.served_version(self.serve),
            "static_auc": static,
            "replayed": sent.sent,
            "refused_by_api": sent.refused,
        }


def drifted_text(monitored: dict[str, Any]) -> str:
    """The drifted features, the persistent ones (present at the last training, not counted) marked,
    and the champion's expected loss from staleness."""
    persistent = set(monitored.get("persistent") or [])
    names = [f"{f} (persistent)" if f in persistent else f for f in monitored.get("drifted", [])]
    stale = monitored.get("staleness")
    return ", ".join(names) + (f"; staleness {stale:.1%}" if isinstance(stale, float) else "")


def _auc(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else "-"


def month_table(rows: list[dict[str, Any]]) -> str:
    """One row per month: the champion's live AUC beside what the first champion, never retrained
    (static), scores on the same flights, and what retraining every month scores on the whole month
    (scheduled, from `airloop backtest`); the next lines say what the monitor and the data did."""
    out = [
        f"  {'month':<6} {'champion':<9} {'holdout AUC':>11} {'live AUC':>9} {'static':>7} {'scheduled':>9}  "
        "drifted features"
    ]
    for r in rows:
        out.append(
            f"  {r['month']:<6} v{r['champion']:<8} {r['holdout_auc']:>11.4f} {_auc(r['live_auc']):>9} "
            f"{_auc(r.get('static_auc')):>7} {_auc(r.get('scheduled_auc')):>9}  {r['drifted'] or '-'}"
        )
        out.append(f"  {'':<6} monitor: {r['monitor']}")
        if r.get("requested_run"):
            out.append(f"  {'':<6} retrain: {r['requested_run']}")
        out.append(f"  {'':<6} data:    {r['action']}")
    return "\n".join(out)


@click.command()
@click.option("--workspace", type=click.Path(file_okay=False), help="workspace folder (default ./.airloop)")
@click.option("--quick", is_flag=True, help="only two training runs (Jan-Jun, then Jan-Jul), no stack")
@click.option("--months", default="7-12", show_default=True, help="months to play after June, e.g. 7-9")
@click.option("--bad-month", default=10, show_default=True, type=int, help="month that also lands a corrupted batch")
@click.option("--keep", is_flag=True, help="leave the stack up at the end")
@click.option("--no-baselines", is_flag=True, help="skip the retrain-every-month column (an `airloop backtest`)")
def main(workspace: str | None, quick: bool, months: str, bad_month: int, keep: bool, no_baselines: bool) -> None:
    """The flights demo: train on Jan-Jun 2013, then play Jul-Dec through the live loop."""
    from airloop.quiet import quiet_libraries

    quiet_libraries()  # as the `airloop` command does: MLflow's known warnings would bury the demo's lines
    base = Workspace.resolve(workspace)
    try:
        if quick:
            from quickdemo import run_demo

            run_demo(HERE, base, fresh=True)
            return
        lo, _, hi = months.partition("-")
        chosen = list(range(int(lo), int(hi or lo) + 1))
        run_live_demo(HERE, base, chosen, bad_month if bad_month in chosen else None, keep, baselines=not no_baselines)
    except AirloopError as exc:
        click.secho(exc.format(), fg="red", err=True)
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, StopRequested) as exc:  # the stack was stopped on the way out
        signum = getattr(exc, "signum", signal.SIGINT)
        click.secho(f"stopped ({signal.Signals(signum).name})", fg="yellow", err=True)
        sys.exit(128 + signum)


if __name__ == "__main__":
    main()
