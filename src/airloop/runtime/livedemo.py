"""`airloop demo`: the whole loop on the flights of 2013, month by month, on the real stack.

Train on January-June (dag.test), bring the stack up (airflow standalone + the server), then for
each following month: replay its flights through the prediction API over HTTP, deliver its
labels (the monitor DAG runs on them), and land its data (the train DAG runs on it; the gate
decides; the server swaps). One month also lands a corrupted batch, which the contract rejects.
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import click

from airloop.errors import EnvironmentProblem
from airloop.runtime.demo import FIRST_MONTHS, _prepare_module
from airloop.runtime.embedded import run_train_dag
from airloop.runtime.report import progress_printer
from airloop.runtime.workspace import Workspace

MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def _post(url: str, body: Any) -> Any:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return json.loads(resp.read())


def _wait_run(api: Any, dag_id: str, seen: set[str], timeout: float = 600) -> dict[str, Any]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        for run in api.runs(dag_id, limit=10):
            if run["dag_run_id"] not in seen and run["state"] in ("success", "failed"):
                return run
        time.sleep(1.0)
    raise EnvironmentProblem(f"no {dag_id} run finished within {timeout:.0f}s", hint="see the standalone log")


def _wait_idle(api: Any, dag_id: str, timeout: float = 600) -> None:
    """Let a run still going from the previous month (say, a retrain request) finish first."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if all(r["state"] in ("success", "failed") for r in api.runs(dag_id, limit=10)):
            return
        time.sleep(1.0)


def _ready(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "_READY").write_text(str(time.time()))


def run_live_demo(
    example: Path,
    base: Workspace,
    months: list[int],
    bad_month: int | None,
    keep: bool = False,
    replay_rows: int = 3000,
) -> dict[str, Any]:
    from airloop.runtime.rest import AirflowAPI
    from airloop.runtime.stack import Ports, down, free_port, up
    from airloop.spec import load_spec
    from airloop.tracking import Tracker

    started = time.perf_counter()
    ws = Workspace(base.root / "demo")
    project = ws.root / "flights"
    if ws.root.exists():
        from airloop.runtime.stack import running

        if running(ws):
            down(ws)
        shutil.rmtree(ws.root)
    project.mkdir(parents=True)
    shutil.copy2(example / "features.py", project / "features.py")
    # The demo drives the loop by data and labels, not by the clock: no cron on either DAG.
    text = (example / "airloop.yaml").read_text().replace('schedule: "@weekly"', "schedule: null")
    (project / "airloop.yaml").write_text(
        text + "\nmonitoring:\n  schedule: null\n  cooldown_hours: 0.05\nserving:\n  poll_seconds: 1\n"
    )
    click.secho(f"airloop demo: the loop on New York flights, 2013 (workspace {ws.root})", bold=True)
    prepare = _prepare_module(example)
    frame = prepare.load_all()
    prepare.write_months(project / "data", FIRST_MONTHS, frame)
    loaded = load_spec(project / "airloop.yaml", deep=True)

    click.secho("\ntrain on January-June", bold=True)
    first = run_train_dag(loaded, ws, on_event=progress_printer())
    if not first.ok:
        raise EnvironmentProblem("the first training run failed", hint=f"see {first.log_file}")
    tracker = Tracker(ws)
    ports = Ports(free_port(), free_port(), free_port())
    click.secho("\nbring the stack up", bold=True)
    info = up(loaded, ws, ports)
    click.echo(f"  Airflow {info['airflow']} (admin / {info['password']}), serving {info['serve']}")
    api = AirflowAPI.for_workspace(ws)
    serve = info["serve"]
    rows: list[dict[str, Any]] = []
    try:
        _wait_dags(api, loaded.spec.name)
        for m in months:
            rows.append(
                _play_month(
                    m, m == bad_month, frame, prepare, project, ws, api, tracker, serve, loaded.spec.name, replay_rows
                )
            )
            r = rows[-1]
            click.echo(
                f"  {r['month']}: champion v{r['champion']}, live AUC {r['live_auc']}, "
                f"drifted {r['drifted'] or '-'}; {r['action']}"
            )
    finally:
        report_path = None
        try:
            from airloop.monitoring.report import write_report

            report_path = write_report(project / "airloop.yaml", ws)
        except Exception as exc:  # the table matters more than the page
            click.echo(f"  (report not written: {exc})")
        if not keep:
            stopped = down(ws)
            left = {k: v["left"] for k, v in stopped.items() if v["left"]}
            click.echo(f"\nstack stopped{'; LEFT BEHIND: ' + str(left) if left else ''}")
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


def _wait_dags(api: Any, name: str, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        ids = {d["dag_id"] for d in api.get("/api/v2/dags")["dags"]}
        if {f"{name}__train", f"{name}__monitor"} <= ids:
            return
        time.sleep(1)
    raise EnvironmentProblem("Airflow did not load the DAGs in time", hint="see the standalone log")


def _play_month(
    m: int,
    bad: bool,
    frame: Any,
    prepare: Any,
    project: Path,
    ws: Workspace,
    api: Any,
    tracker: Any,
    serve: str,
    name: str,
    replay_rows: int,
) -> dict[str, Any]:
    from airloop.tracking.client import CHAMPION

    _wait_idle(api, f"{name}__train")
    month = frame[frame["month"] == m][prepare.COLUMNS].reset_index(drop=True)
    sample = month.sample(n=min(replay_rows, len(month)), random_state=m)
    # 1. the month's flights, through the API, as they are scheduled
    features = sample.drop(columns=["late"])
    records = json.loads(features.to_json(orient="records", date_format="iso"))
    for i, rec in enumerate(records):
        rec["entity_id"] = f"2013-{m:02d}-{sample.index[i]}"
    refused = 0
    for start in range(0, len(records), 100):
        try:
            _post(f"{serve}/predict", {"records": records[start : start + 100]})
        except urllib.error.HTTPError as exc:  # the contract refused the batch: a real client sees this too
            if exc.code != 422:
                raise
            refused += len(records[start : start + 100])
    # 2. the labels arrive (cancelled flights have none): the monitor DAG runs on them
    labels = sample[["late"]].assign(entity_id=[r["entity_id"] for r in records]).dropna()
    folder = ws.labels_folder(name)
    folder.mkdir(parents=True, exist_ok=True)
    labels[["entity_id", "late"]].rename(columns={"late": "label"}).astype({"label": "int64"}).to_csv(
        folder / f"labels_2013_{m:02d}.csv", index=False
    )
    seen_mon = {r["dag_run_id"] for r in api.runs(f"{name}__monitor", limit=20)}
    _ready(folder)
    _wait_run(api, f"{name}__monitor", seen_mon)
    # a retrain request becomes a run of its own (on the data so far): let it finish first
    time.sleep(4)
    _wait_idle(api, f"{name}__train")
    seen_train = {r["dag_run_id"] for r in api.runs(f"{name}__train", limit=20)}
    state = (
        json.loads((ws.project(name) / "monitoring" / "state.json").read_text())
        if (ws.project(name) / "monitoring" / "state.json").exists()
        else {}
    )
    hist = _last_monitor(ws, name)
    # 3. the month's data lands (plus a corrupted copy, one month): the train DAG runs on it
    incoming = project / "incoming"
    prepare.write_months(incoming, [m], frame)
    if bad:
        broken = month.copy()
        broken["temp"] = (broken["temp"] - 32) * 5 / 9 * 100  # a unit change upstream
        broken["carrier"] = "??"
        broken.to_parquet(incoming / f"flights_2013_{m:02d}_resent.parquet", index=False)
    before = tracker.alias_version(name, CHAMPION)
    already = set((incoming / "rejected").glob("*.parquet")) if (incoming / "rejected").exists() else set()
    _ready(incoming)
    run = _wait_run(api, f"{name}__train", seen_train)
    after = tracker.alias_version(name, CHAMPION)
    action = _train_action(ws, name, run, before, after, incoming, already)
    if after != before:
        deadline = time.time() + 30
        while time.time() < deadline and _get(f"{serve}/model")["version"] != after:
            time.sleep(0.5)
    champ = tracker.version(name, after)
    return {
        "month": MONTHS[m - 1],
        "champion": after,
        "holdout_auc": round(float(champ.tags.get("airloop.metric.roc_auc", "nan")), 4),
        "live_auc": hist.get("live_roc_auc"),
        "drifted": ", ".join(hist.get("drifted", [])),
        "monitor": hist.get("verdict", "-")
        + (f" ({state_reason(ws, name)})" if "retrain" in hist.get("verdict", "") else ""),
        "action": action,
        "retrain_requested_at": state.get("last_request"),
        "served": _get(f"{serve}/model")["version"],
        "replayed": len(records),
        "refused_by_api": refused,
    }


def state_reason(ws: Workspace, name: str) -> str:
    from airloop.tracking import Tracker

    tracker = Tracker(ws)
    runs = tracker.client.search_runs(
        [tracker.experiment_id(name)], "tags.`airloop.kind` = 'monitor'", max_results=1, order_by=["start_time DESC"]
    )
    return runs[0].data.tags.get("airloop.reason", "") if runs else ""


def _last_monitor(ws: Workspace, name: str) -> dict[str, Any]:
    import pandas as pd

    path = ws.project(name) / "monitoring" / "history.parquet"
    if not path.exists():
        return {}
    hist = pd.read_parquet(path)
    last = hist[hist["at"] == hist["at"].max()]
    out: dict[str, Any] = {"verdict": str(last["verdict"].iloc[0])}
    out["drifted"] = sorted(last[(last["drifted"]) & (last["method"] != "metric")]["feature"].tolist())
    live = last[last["feature"] == "live_roc_auc"]["statistic"]
    out["live_roc_auc"] = round(float(live.iloc[0]), 4) if len(live) else None
    return out


def _train_action(
    ws: Workspace,
    name: str,
    run: dict[str, Any],
    before: str | None,
    after: str | None,
    incoming: Path,
    already: set[Path],
) -> str:
    if run["state"] != "success":
        now = set((incoming / "rejected").glob("*.parquet")) if (incoming / "rejected").exists() else set()
        rejected = sorted(p.name for p in now - already)
        if rejected:
            return f"batch rejected by the data contract ({', '.join(rejected)}); champion unchanged"
        return f"train run {run['state']}; champion unchanged"
    from airloop.tracking import Tracker

    tracker = Tracker(ws)
    newest = tracker.version_numbers(name)[-1]
    reasons = tracker.version(name, newest).tags.get("airloop.gate_reasons", "").split("; ")
    why = next((r for r in reasons if "champion" in r), reasons[-1])
    if after != before:
        return f"promoted v{after}: {why}"
    return f"kept v{before}: {why}"


def month_table(rows: list[dict[str, Any]]) -> str:
    """One row per month; the second line says what the monitor and the month's data did."""
    out = [f"  {'month':<6} {'champion':<9} {'holdout AUC':>11} {'live AUC':>9}  {'drifted features':<40}"]
    for r in rows:
        live = f"{r['live_auc']:.4f}" if isinstance(r["live_auc"], float) else "-"
        out.append(
            f"  {r['month']:<6} v{r['champion']:<8} {r['holdout_auc']:>11.4f} {live:>9}  {(r['drifted'] or '-'):<40}"
        )
        out.append(f"  {'':<6} monitor: {r['monitor']}")
        out.append(f"  {'':<6} data:    {r['action']}")
    return "\n".join(out)
