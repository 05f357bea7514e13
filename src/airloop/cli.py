"""The `airloop` command. Errors from the AirloopError hierarchy print as messages, not tracebacks."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from airloop import __version__
from airloop.errors import AirloopError, RunFailed
from airloop.quiet import quiet_libraries

WS_HELP = "workspace folder (default: $AIRLOOP_WORKSPACE or ./.airloop)"


# What airloop and everything it starts (Airflow, MLflow, the server, task code) creates is the
# user's alone: the prediction log holds every request, the stores hold models and credentials.
PRIVATE_UMASK = 0o077


class Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        os.umask(PRIVATE_UMASK)
        quiet_libraries()
        try:
            return super().invoke(ctx)
        except AirloopError as exc:
            click.secho(exc.format(), fg="red", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=Group)
@click.version_option(__version__, prog_name="airloop")
def main() -> None:
    """Closed-loop MLOps on Apache Airflow: airloop.yaml -> Airflow 3 DAGs -> MLflow champion."""


def _workspace(path: str | None) -> Any:
    """The workspace, closed to other users if it exists (one created from here is, by the umask)."""
    from airloop.workspace import Workspace

    ws = Workspace.resolve(path)
    ws.make_private(create=False)
    return ws


@main.command()
@click.argument("data")
@click.option("--target", help="the column to predict (without it, init lists plausible ones)")
@click.option("--task", type=click.Choice(["binary", "multiclass", "regression"]), help="override the inferred task")
@click.option("--out", default=".", type=click.Path(file_okay=False), help="folder for airloop.yaml (default: .)")
@click.option("--name", help="project name (default: from the file name)")
@click.option("--force", is_flag=True, help="overwrite an existing airloop.yaml")
def init(data: str, target: str | None, task: str | None, out: str, name: str | None, force: bool) -> None:
    """Profile DATA (a CSV/Parquet file or glob) and write a commented airloop.yaml that runs as is."""
    from airloop.scaffold.project import decisions, init_project

    click.echo(decisions(init_project(data, target, task, out, name, force)))


@main.command()
@click.argument("path", type=click.Path())
def validate(path: str) -> None:
    """Check PATH (an airloop.yaml or its folder) and report every problem at once."""
    from airloop.spec import load_spec

    loaded = load_spec(path, deep=True)
    spec = loaded.spec
    click.secho(f"ok: {loaded.path}", fg="green")
    click.echo(
        f"  project {spec.name} ({spec.task}), {len(spec.candidates)} candidate(s): "
        + ", ".join(c.name for c in spec.candidates)
    )
    from airloop.plan import train_dag_id

    click.echo(f"  DAG {train_dag_id(spec.name)}, schedule {spec.schedule or 'none (manual/asset)'}")


@main.command(name="compile")
@click.argument("path", type=click.Path())
@click.option("--dags-folder", type=click.Path(file_okay=False), help="write the DAG file here")
@click.option("--print", "to_stdout", is_flag=True, help="print the DAG file instead of writing it")
@click.option("--workspace", type=click.Path(file_okay=False), help=WS_HELP)
def compile_(path: str, dags_folder: str | None, to_stdout: bool, workspace: str | None) -> None:
    """Write the Airflow DAG file for PATH into a dags folder (default: the workspace's)."""
    from airloop.airflow.dagfile import render
    from airloop.local.embedded import compile_dag_file
    from airloop.plan import dag_ids
    from airloop.spec import load_spec

    loaded = load_spec(path)
    ws = _workspace(workspace)
    if to_stdout:
        click.echo(render(loaded.spec.name, loaded.path, ws.root), nl=False)
        return
    target = compile_dag_file(loaded, ws, Path(dags_folder).resolve() if dags_folder else None)
    click.echo(f"wrote {target}")
    scores = bool(loaded.spec.scoring.incoming)
    click.echo(f"  DAGs {', '.join(dag_ids(loaded.spec.name, score=scores))}; workspace {ws.root}")


@main.command(name="env")
@click.option("--workspace", type=click.Path(file_okay=False), help=WS_HELP)
def env_(workspace: str | None) -> None:
    """Print the workspace's Airflow and MLflow environment as shell exports.

    `eval "$(airloop env)"` before `airflow scheduler`, `airflow celery worker` and the other Airflow
    commands makes them use the workspace's DAGs folder and stores, the same ones `airloop` uses."""
    import shlex

    from airloop.local.embedded import airflow_env

    for key, value in sorted(airflow_env(_workspace(workspace)).items()):
        click.echo(f"export {key}={shlex.quote(value)}")


@main.command()
@click.argument("path", type=click.Path())
@click.option("--workspace", type=click.Path(file_okay=False), help=WS_HELP)
@click.option("-v", "--verbose", is_flag=True, help="show tracebacks of failed steps")
def run(path: str, workspace: str | None, verbose: bool) -> None:
    """Run the train DAG of PATH once, in-process (Airflow's dag.test()), and summarise it."""
    from airloop.console import progress_printer, summary
    from airloop.local.embedded import run_train_dag
    from airloop.plan import train_dag_id
    from airloop.spec import load_spec

    ws = _workspace(workspace)
    loaded = load_spec(path, deep=True)
    click.echo(f"airloop run {loaded.spec.name}: DAG {train_dag_id(loaded.spec.name)}, workspace {ws.root}")
    outcome = run_train_dag(loaded, ws, on_event=progress_printer(verbose))
    click.echo(summary(outcome, path))
    if not outcome.ok:
        fail = outcome.final_failure()
        if fail:
            raise _step_error(fail, outcome)
        raise RunFailed(f"the run ended {outcome.state}", hint=f"full Airflow log: {outcome.log_file}")


def _step_error(fail: dict[str, Any], outcome: Any) -> AirloopError:
    err = RunFailed(
        f"step `{fail['task']}` failed after {fail['try']} try(s):\n  {fail['error']}",
        hint=f"full Airflow log: {outcome.log_file}",
    )
    err.exit_code = int(fail.get("exit_code") or RunFailed.exit_code)
    return err


@main.command()
@click.argument("path", type=click.Path())
@click.option("--workspace", type=click.Path(file_okay=False), help=WS_HELP)
@click.option("--api-port", default=8080, show_default=True, type=int, help="Airflow API server and UI")
@click.option("--serve-port", default=8000, show_default=True, type=int, help="the prediction service")
@click.option("--mlflow-ui", is_flag=True, help="also start the MLflow UI")
@click.option("--mlflow-port", default=5000, show_default=True, type=int)
@click.option("--detach", is_flag=True, help="return once everything is up (stop with `airloop down`)")
def up(
    path: str, workspace: str | None, api_port: int, serve_port: int, mlflow_ui: bool, mlflow_port: int, detach: bool
) -> None:
    """Start the embedded stack: airflow standalone, the prediction service, and the MLflow UI if asked.

    In the foreground, Ctrl-C, SIGTERM or SIGHUP (the terminal closed) stops everything it started."""
    from airloop.local.stack import Ports
    from airloop.local.stack import up as start
    from airloop.local.supervise import supervise
    from airloop.spec import load_spec

    ws = _workspace(workspace)
    loaded = load_spec(path, deep=True)
    ports = Ports(api_port, serve_port, mlflow_port)
    owner = None if detach else os.getpid()

    def show(info: dict[str, Any]) -> None:
        click.echo(f"airloop is up (workspace {info['workspace']})")
        click.echo(f"  Airflow    {info['airflow']}  user admin, password {info['password']}")
        click.echo(f"  serving    {info['serve'] or 'not started: no champion yet (run the train DAG, then up again)'}")
        if info.get("mlflow"):
            click.echo(f"  MLflow UI  {info['mlflow']}")
        if detach:
            click.echo("stop with: airloop down" + (f" --workspace {workspace}" if workspace else ""))
        else:
            click.echo(f"Ctrl-C (or `kill {os.getpid()}`) stops everything")

    supervise(
        lambda: start(loaded, ws, ports, mlflow_ui=mlflow_ui, owner=owner),
        lambda signum: _stop_stack(ws, signum),
        wait=not detach,
        on_up=show,
    )


def _stop_stack(ws: Any, signum: int | None) -> dict[str, Any]:
    """`up`'s cleanup, the same for every stop signal. Printing may fail once the terminal is gone
    (SIGHUP): a failed print is skipped, the cleanup goes on."""
    import signal

    from airloop.console import stopped
    from airloop.local.stack import down

    if signum is not None:
        _tell(f"{signal.Signals(signum).name}: stopping the stack")
    report = down(ws)
    if report or signum is not None:
        _tell(stopped(report))
    return report


def _tell(text: str) -> None:
    try:
        click.echo(text)
    except OSError:  # the terminal closed (SIGHUP)
        pass


@main.command(name="down")
@click.option("--workspace", type=click.Path(file_okay=False), help=WS_HELP)
def down_(workspace: str | None) -> None:
    """Stop every process `airloop up` started in the workspace, and check that none is left."""
    from airloop.console import stopped
    from airloop.local.stack import down

    click.echo(stopped(down(_workspace(workspace))))


@main.command()
@click.argument("path", type=click.Path())
@click.option("--from", "step", required=True, help="task id to clear, with everything downstream")
@click.option("--run", "run_id", help="DAG run id (default: the latest run)")
@click.option("--dag", "which", type=click.Choice(["train", "monitor"]), default="train", show_default=True)
@click.option("--workspace", type=click.Path(file_okay=False), help=WS_HELP)
def rerun(path: str, step: str, run_id: str | None, which: str, workspace: str | None) -> None:
    """Rerun a DAG run from STEP through Airflow's REST API (clears STEP and everything after it)."""
    from airloop.errors import RegistryError
    from airloop.local.rest import AirflowAPI
    from airloop.plan import dag_id as make_dag_id
    from airloop.spec import load_spec

    loaded = load_spec(path)
    dag_id = make_dag_id(loaded.spec.name, which)
    api = AirflowAPI.for_workspace(_workspace(workspace))
    if run_id is None:
        runs = api.runs(dag_id, limit=1)
        if not runs:
            raise RegistryError(f"{dag_id} has no runs yet", hint="trigger one first")
        run_id = runs[0]["dag_run_id"]
    cleared = api.clear_from(dag_id, run_id, step)
    if not cleared:
        raise RegistryError(
            f"no task `{step}` in {dag_id} run {run_id}", hint="task ids: see `airloop compile --print`"
        )
    click.echo(f"cleared in {dag_id} run {run_id}: {', '.join(cleared)}; the scheduler reruns them now")


@main.command()
@click.argument("path", type=click.Path())
@click.option("--workspace", type=click.Path(file_okay=False), help=WS_HELP)
@click.option(
    "--out",
    type=click.Path(writable=True),
    help="HTML file (or folder) to write (default: <workspace>/reports/<name>.html)",
)
def report(path: str, workspace: str | None, out: str | None) -> None:
    """Write one self-contained HTML page: champion history, live performance, drift, contract breaks."""
    from airloop.monitoring.report import write_report

    click.echo(str(write_report(path, _workspace(workspace), Path(out) if out else None)))


@main.command()
@click.argument("path", type=click.Path())
@click.option(
    "--start", required=True, help="first period's start (ISO date): the data before it trains the first champion"
)
@click.option("--end", required=True, help="end of the last period (ISO date, excluded)")
@click.option(
    "--every", type=click.Choice(["day", "week", "month", "quarter", "year"]), default="month", show_default=True
)
@click.option("--json", "json_out", type=click.Path(dir_okay=False, writable=True), help="write the result as JSON")
@click.option("--html", "html_out", type=click.Path(dir_okay=False, writable=True), help="write a page with the curves")
@click.option(
    "--policies",
    help="choose the monitoring policy on this history: a.yaml,b.yaml (each a `monitoring:` block over the "
    "spec's) or `grid` (36 built in: relative drop, drift trigger, staleness bound, cooldown); chosen on the "
    "first half of the periods, reported on the second, the chosen block written beside the JSON",
)
@click.option("--workspace", type=click.Path(file_okay=False), help=WS_HELP)
def backtest(
    path: str,
    start: str,
    end: str,
    every: str,
    json_out: str | None,
    html_out: str | None,
    policies: str | None,
    workspace: str | None,
) -> None:
    """Replay PATH's history period by period: a static model, retraining every period, and the
    loop's policy, each scored on the rows of every period before it retrains."""
    import json
    import shutil

    from airloop.backtest.output import period_line, table, write_html
    from airloop.backtest.replay import run_backtest
    from airloop.spec import load_spec

    loaded = load_spec(path, deep=True)
    ws = _workspace(workspace)
    root = ws.backtest_dir(loaded.spec.name)
    others = None
    if policies:
        from airloop.backtest.periods import periods
        from airloop.backtest.policies import OWN, candidates, halves

        halves(len(periods(start, end, every)))  # refuse a range too short to choose on before replaying it
        others = {k: v for k, v in candidates(policies, loaded.spec, every).items() if k != OWN}
    if root.exists():
        shutil.rmtree(root)
    click.secho(f"backtest {loaded.spec.name}: {start} -> {end}, every {every} (scratch: {root})", bold=True)
    if others:
        click.echo(f"  and {len(others)} more monitoring policies on the same trainings ({policies})")
    result = run_backtest(
        loaded, root, start, end, every, on_period=lambda r: click.echo(period_line(r)), policies=others
    )
    click.echo("\n" + table(result))
    click.echo(f"took {result['wall_seconds']:.0f}s")
    if others is not None:
        suggestion_file = Path(json_out).with_suffix(".monitoring.yaml") if json_out else root / "monitoring.yaml"
        _choose_policy(loaded.spec, result, others, suggestion_file)
    if json_out:
        Path(json_out).write_text(json.dumps(result, indent=2, default=str))
        click.echo(f"JSON: {json_out}")
    if html_out:
        click.echo(f"HTML: {write_html(result, loaded.spec.name, Path(html_out))}")


def _choose_policy(spec: Any, result: dict[str, Any], others: dict[str, Any], target: Path) -> None:
    """The policy chosen on the first half of the periods, every policy on the second, the chosen
    `monitoring:` block printed and written to ``target`` (and the choice into ``result``)."""
    from airloop.backtest.policies import OWN, choose, report_table, scores_of, suggestion
    from airloop.metrics import METRICS

    names = [OWN, *others]
    choice = choose(scores_of(result["periods"], names), names, METRICS[result["metric"]].direction == "maximize")
    chosen = spec.monitoring if choice["chosen"] == OWN else others[choice["chosen"]]
    text = suggestion(chosen, choice, result["metric"], result["periods"])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    result["policy_choice"] = {**choice, "suggestion": str(target)}
    click.echo("\n" + report_table(choice, result["metric"]))
    click.echo(f"\nsuggested monitoring ({target}):\n{text}")


@main.command()
@click.argument("path", type=click.Path())
@click.option("--workspace", type=click.Path(file_okay=False), help=WS_HELP)
def monitor(path: str, workspace: str | None) -> None:
    """Run the monitor DAG of PATH once: drift and live performance since the last run, and the verdict."""
    from airloop.console import progress_printer
    from airloop.local.embedded import run_dag
    from airloop.plan import monitor_dag_id
    from airloop.spec import load_spec

    loaded = load_spec(path)
    outcome = run_dag(loaded, _workspace(workspace), monitor_dag_id(loaded.spec.name), progress_printer())
    out = outcome.outputs()
    if not outcome.ok:
        fail = outcome.final_failure()
        raise _step_error(fail, outcome) if fail else RunFailed(f"the run ended {outcome.state}")
    brief = out.get("monitor", {})
    click.echo(
        f"champion v{brief.get('champion', '-')}: {brief.get('rows', 0)} new predictions; "
        f"drifted: {', '.join(brief.get('drifted', [])) or 'none'}; live: {brief.get('live', {})}"
    )
    click.echo(("retrain requested: " if out.get("retrain") else "no retrain: ") + str(out.get("reason", "")))


@main.command()
@click.argument("path", type=click.Path())
@click.argument("version")
@click.option("--workspace", type=click.Path(file_okay=False), help=WS_HELP)
def promote(path: str, version: str, workspace: str | None) -> None:
    """Make VERSION the champion of PATH's model by hand; the old champion becomes `previous`.

    VERSION must first load and answer its own input example (the smoke test the server runs too):
    exit 6 when it does not load (a broken or missing artifact: the registry's state), exit 5 when
    it loads but cannot predict (the estimator or the feature transform: your code). Either way the
    champion is untouched. With `deploy:` in the spec, the new champion's manifests are committed."""
    from airloop.spec import load_spec
    from airloop.tracking import Tracker, aliases

    loaded, ws = load_spec(path), _workspace(workspace)
    name, tracker = loaded.spec.name, Tracker(ws)
    tracker.version(name, version)  # raises a RegistryError naming the versions that exist
    _smoke_test(loaded, ws, str(version))
    _check_gitops(loaded)
    before = aliases.snapshot(tracker, name)
    aliases.promote(tracker, name, str(version), by="hand")
    _show_moves(name, tracker, before)
    _commit_champion(loaded, ws, tracker, before["champion"], "promote")


@main.command()
@click.argument("path", type=click.Path())
@click.option("--workspace", type=click.Path(file_okay=False), help=WS_HELP)
def rollback(path: str, workspace: str | None) -> None:
    """Move `champion` back to the `previous` version (and `previous` to the one replaced).

    With `deploy:` in the spec, also commit that version's manifests to the GitOps repository."""
    from airloop.spec import load_spec
    from airloop.tracking import Tracker, aliases

    loaded, ws = load_spec(path), _workspace(workspace)
    name, tracker = loaded.spec.name, Tracker(ws)
    _check_gitops(loaded)
    before = aliases.snapshot(tracker, name)
    aliases.rollback(tracker, name)
    _show_moves(name, tracker, before)
    _commit_champion(loaded, ws, tracker, before["champion"], "rollback")


def _check_gitops(loaded: Any) -> None:
    """With deploy:, a repository that cannot take the commit refuses before any alias moves."""
    if loaded.spec.deploy is not None:
        from airloop.packaging import gitops

        gitops.check_repository(loaded.resolve(loaded.spec.deploy.gitops_dir))


def _commit_champion(loaded: Any, ws: Any, tracker: Any, before: str | None, how: str) -> None:
    """With deploy:, commit the champion an alias move by hand made to the GitOps repository."""
    if loaded.spec.deploy is None:
        return
    from airloop.packaging import gitops

    # also when it was champion already: `airloop promote PATH <champion>` commits the champion a
    # project had before it set deploy: (a commit that changes nothing is not made)
    champion = str(tracker.alias_version(loaded.spec.name, "champion"))
    done = gitops.by_hand(ws, loaded, before, champion, how, echo=click.echo)
    where = f"{done['repository']} ({done['folder']}/)"
    click.echo(
        f"committed {done['image']} to {where}: {done['commit'][:12]}"
        if done["committed"]
        else f"{where} already holds v{champion}'s manifests: nothing to commit"
    )


@main.command()
@click.argument("path", type=click.Path())
@click.argument("version", required=False)
@click.option("--stop", is_flag=True, help="end the canary: the champion answers all traffic again")
@click.option("--workspace", type=click.Path(file_okay=False), help=WS_HELP)
def canary(path: str, version: str | None, stop: bool, workspace: str | None) -> None:
    """Let VERSION answer `serving.canary.percent` of the traffic; the monitor rolls it back or promotes it."""
    from airloop.errors import UsageError
    from airloop.spec import load_spec
    from airloop.tracking import Tracker, aliases

    loaded, ws = load_spec(path), _workspace(workspace)
    spec, tracker = loaded.spec, Tracker(ws)
    alias = spec.serving.canary.alias if spec.serving.canary else "canary"
    if stop == bool(version):
        raise UsageError("give a VERSION to start a canary, or --stop to end one", hint="airloop canary PATH 3")
    before = aliases.snapshot(tracker, spec.name)
    if stop:
        ended = aliases.end_canary(tracker, spec.name, alias, "stopped", "stopped by hand")
        click.echo(f"canary v{ended} stopped" if ended else f"`{spec.name}` has no {alias} to stop")
    elif version is not None:
        tracker.version(spec.name, version)  # raises a RegistryError naming the versions that exist
        _smoke_test(loaded, ws, str(version))  # a canary answers real clients, as a champion does
        aliases.start_canary(tracker, spec.name, str(version), alias)
        if spec.serving.canary is None:
            click.echo("note: serving.canary is not set in the spec, so the server will not route to it")
    _show_moves(spec.name, tracker, before)


def _smoke_test(loaded: Any, ws: Any, version: str) -> None:
    """VERSION loads and answers its own input example (the smoke test the server runs too), or a
    RegistryError (exit 6: it does not load) / UserCodeError (exit 5: it cannot answer)."""
    from airloop.model.store import LoadOptions
    from airloop.scoring.smoke import check_version

    if str(loaded.root) not in sys.path:  # the feature transform's module, if the model needs it
        sys.path.insert(0, str(loaded.root))
    checked = check_version(ws, loaded.spec.name, version, loaded.spec.task, LoadOptions.of(loaded.spec))
    click.echo(f"v{version} loads and answered {checked['checked_on']}")


@main.command()
@click.argument("path", type=click.Path())
@click.option("--run", "run_id", help="the DAG run to decide (default: the only one waiting)")
@click.option("--reject", is_flag=True, help="reject: the candidate stays `challenger`")
@click.option("--comment", default="", help="why; kept on the model version")
@click.option("--workspace", type=click.Path(file_okay=False), help=WS_HELP)
def approve(path: str, run_id: str | None, reject: bool, comment: str, workspace: str | None) -> None:
    """Approve (or --reject) the candidate a train run waits on (promotion.approval: required)."""
    from airloop.errors import UsageError
    from airloop.local.rest import AirflowAPI
    from airloop.plan import train_dag_id
    from airloop.spec import load_spec
    from airloop.steps.approve import APPROVE, REJECT

    dag = train_dag_id(load_spec(path).spec.name)
    api = AirflowAPI.for_workspace(_workspace(workspace))
    waiting = api.waiting_for_decision(dag)
    runs = [d["task_instance"]["dag_run_id"] for d in waiting]
    if run_id is not None:
        waiting = [d for d in waiting if d["task_instance"]["dag_run_id"] == run_id]
    if not waiting:
        which = f"run {run_id} of {dag} is not" if run_id else f"no run of {dag} is"
        raise UsageError(
            f"{which} waiting for a decision" + (f" (waiting: {', '.join(runs)})" if runs else ""),
            hint="`airloop status PATH` lists the runs waiting for a decision",
        )
    if len(waiting) > 1:
        raise UsageError(f"{len(waiting)} runs are waiting for a decision: {', '.join(runs)}", hint="choose with --run")
    answered = api.answer(waiting[0], [REJECT if reject else APPROVE], {"comment": comment})
    who = (answered.get("responded_by") or {}).get("name")
    click.echo(f"{'rejected' if reject else 'approved'} run {waiting[0]['task_instance']['dag_run_id']} as {who}")


def _registry(path: str, workspace: str | None) -> tuple[str, Any]:
    from airloop.spec import load_spec
    from airloop.tracking import Tracker

    return load_spec(path).spec.name, Tracker(_workspace(workspace))


def _show_moves(name: str, tracker: Any, before: dict[str, str | None]) -> None:
    from airloop.console import alias_moves
    from airloop.tracking import aliases

    click.echo(alias_moves(name, before, aliases.snapshot(tracker, name)))


@main.command()
@click.argument("path", type=click.Path())
@click.option("--workspace", type=click.Path(file_okay=False), help=WS_HELP)
def status(path: str, workspace: str | None) -> None:
    """Show the registered versions of PATH's model, their aliases and gate verdicts, and the stack."""
    from airloop.console import versions_table
    from airloop.spec import load_spec
    from airloop.tracking import Tracker

    ws = _workspace(workspace)
    spec = load_spec(path).spec
    click.echo(versions_table(spec.name, spec.promotion_metric, Tracker(ws), ws.root))
    click.echo(_stack_status(spec.name, ws, score=bool(spec.scoring.incoming)))


def _recent_outcomes(ws: Any, name: str, n: int = 5) -> list[str]:
    """The last runs of the project (any DAG, `airloop run` included), newest first, with their
    outcome as the run folder tells it (the same line as the DAG run's note)."""
    from airloop.workspace import OUTCOME_FILE

    runs = ws.runs_dir(name)
    folders = [p for p in runs.iterdir() if p.is_dir()] if runs.is_dir() else []
    folders.sort(key=lambda p: p.stat().st_mtime)
    if not folders:
        return ["recent runs: none yet"]
    lines = ["recent runs (newest first):"]
    for folder in reversed(folders[-n:]):
        told = folder / OUTCOME_FILE
        lines.append(f"  {folder.name}: {told.read_text().strip() if told.exists() else '(no outcome yet)'}")
    return lines


def _log_status(log: Any) -> str:
    import time

    from airloop.data.segments import summary

    s = summary(log)
    if not s:
        return f"prediction log: none yet ({log})"
    age = f", oldest {(time.time() - s['oldest']) / 86400:.1f} days old" if s["oldest"] else ""
    return (
        f"prediction log: {s['predictions']:,} predictions ({s['in_segments']:,} in {s['segments']} Parquet "
        f"segments), {s['labels']:,} labels, {s['bytes'] / 1e6:.1f} MB{age} ({log})"
    )


def _replicas_status(ws: Any, name: str) -> list[str]:
    """A line per named serving replica the workspace sees: its front here, or only its segments."""
    from airloop.data.replicas import sources
    from airloop.data.segments import summary

    lines = []
    for part in sources(ws, name):
        s = summary(part.front, folder=part.folder, replica=part.replica) if part.replica else {}
        if s:
            where = f"front {part.front}" if s["front"] else "its front is not on this machine"
            lines.append(
                f"  replica {part.replica}: {s['predictions']:,} predictions ({s['in_segments']:,} in "
                f"{s['segments']} segments in {part.folder}), {s['labels']:,} labels; {where}"
            )
    return lines


def _label_files_status(log: Any, folder: Any) -> str:
    import time

    from airloop.data.labelfiles import summary

    s = summary(log)
    if not s:
        return f"label files: none taken yet ({folder})"
    last = s["last"]
    line = (
        f"label files: {s['files']:,} taken, {s['recorded']:,} labels recorded, {s['refused']:,} lines refused, "
        f"{s['unknown']:,} naming unknown request ids; last {last['name']} "
        f"({(time.time() - last['ts']) / 3600:.1f} h ago: {last['recorded']} recorded, {last['refused']} refused, "
        f"{last['unknown']} unknown)"
    )
    if s["refused"] or s["unknown"]:
        line += f"\n  lines not recorded, with their reasons: {folder / 'rejected'}/*.rejects.jsonl"
    return line


def _stack_status(name: str, ws: Any, score: bool = False) -> str:
    import json

    from airloop.local.state import running
    from airloop.plan import dag_ids

    lines = []
    procs = running(ws)
    lines.append("stack: " + (", ".join(f"{k} (pid {v})" for k, v in procs.items()) if procs else "down"))
    if "standalone" in procs:
        try:
            from airloop.local.rest import AirflowAPI
            from airloop.steps.approve import approval_link

            api = AirflowAPI.for_workspace(ws)
            for dag in dag_ids(name, score=score):
                runs = api.runs(dag, limit=3)
                lines.append(f"  {dag}: {'' if runs else 'no runs yet'}")
                lines += [
                    f"    {r['run_type']} {r['state']} ({(r.get('run_after') or '')[:19]})"
                    + (f": {r['note']}" if r.get("note") else "")
                    for r in runs
                ]
                for d in api.waiting_for_decision(dag):
                    ti = d["task_instance"]
                    link = approval_link(api.base, dag, ti["dag_run_id"], ti["task_id"])
                    lines.append(f"    waiting for a decision: run {ti['dag_run_id']} (`airloop approve`, or {link})")
        except Exception as exc:  # status must answer even when Airflow does not
            lines.append(f"  Airflow API: {exc}")
    lines += _recent_outcomes(ws, name)
    history = ws.monitoring_history(name)
    if history.exists():
        import pandas as pd

        hist = pd.read_parquet(history)
        last = hist[hist["at"] == hist["at"].max()].iloc[0]
        lines.append(f"last monitoring verdict: {last['verdict']} (champion v{last['champion']})")
        if ws.monitoring_state(name).exists():
            lines.append(f"  state: {json.loads(ws.monitoring_state(name).read_text())}")
    else:
        lines.append("last monitoring verdict: none yet (`airloop monitor PATH`)")
    lines.append(_log_status(ws.prediction_log(name)))
    lines += _replicas_status(ws, name)
    lines.append(_label_files_status(ws.prediction_log(name), ws.labels_folder(name)))
    report = ws.report_file(name)
    lines.append(f"report: {report}" + ("" if report.exists() else " (write it with `airloop report PATH`)"))
    return "\n".join(lines)


@main.command()
@click.argument("path", type=click.Path(), required=False)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workspace", type=click.Path(file_okay=False), help=WS_HELP)
@click.option("--access-log/--no-access-log", default=False, help="log every request (costs throughput)")
@click.option(
    "--model-dir",
    type=click.Path(file_okay=False),
    envvar="AIRLOOP_MODEL_DIR",
    help="serve this packaged model folder (`airloop package`'s model/) instead of PATH's champion: "
    "no registry, no workspace [env: AIRLOOP_MODEL_DIR]",
)
@click.option(
    "--log-dir",
    type=click.Path(file_okay=False),
    envvar="AIRLOOP_LOG_DIR",
    help="with --model-dir: the folder for the prediction log and dropped label files (a mounted volume "
    "in Kubernetes) [env: AIRLOOP_LOG_DIR; default: ./airloop-log]",
)
@click.option(
    "--replica",
    envvar="AIRLOOP_REPLICA",
    help="this server's replica name (overrides serving.replica): it logs into its own front "
    "serving/<name>/fronts/<replica>.db and compacts into seg-<replica>-... segments in $AIRLOOP_SEGMENTS_DIR "
    "(default: the workspace's segments folder); a name another server holds is refused [env: AIRLOOP_REPLICA]",
)
def serve(
    path: str | None,
    host: str,
    port: int,
    workspace: str | None,
    access_log: bool,
    model_dir: str | None,
    log_dir: str | None,
    replica: str | None,
) -> None:
    """Serve PATH's champion over HTTP: POST /predict, /labels; GET /health, /ready, /model, /metrics, /docs.

    With --model-dir instead of PATH: serve the one version a packaged model folder holds, with no
    registry and no workspace (what a container built by `airloop package` runs).

    A bearer token guards /predict, /labels and /admin/* when $AIRLOOP_SERVE_TOKEN (or the spec's
    serving.token_env / serving.token) is set.
    """
    from airloop.errors import UsageError

    if model_dir is not None:
        if replica:
            raise UsageError(
                "--replica (or $AIRLOOP_REPLICA) names a server of PATH's workspace; a packaged server logs into "
                "--log-dir",
                hint="drop --replica (unset $AIRLOOP_REPLICA): servers on one --log-dir volume share its log",
            )
        if path is not None or workspace is not None:
            raise UsageError(
                "--model-dir (or $AIRLOOP_MODEL_DIR) serves a packaged folder: it takes no PATH and no --workspace",
                hint="drop PATH and --workspace, or drop --model-dir (unset $AIRLOOP_MODEL_DIR) to serve PATH's "
                "champion from the registry",
            )
        from airloop.serving.server import serve_packaged

        logs = Path(log_dir or "airloop-log").resolve()
        serve_packaged(Path(model_dir).resolve(), logs, host, port, access_log=access_log, echo=click.echo)
        return
    if path is None:
        raise UsageError(
            "serve needs PATH (an airloop.yaml or its folder) or --model-dir DIR",
            hint="`airloop serve airloop.yaml`, or `airloop serve --model-dir DIR` for a packaged model folder",
        )
    if click.get_current_context().get_parameter_source("log_dir") == click.core.ParameterSource.COMMANDLINE:
        raise UsageError(
            "--log-dir goes with --model-dir", hint="PATH's champion logs into the workspace: drop --log-dir"
        )
    from airloop.local.reach import check_reachable
    from airloop.serving.server import serve as run_server

    check_reachable()  # the champion comes from the registry: an MLflow store that is down is named
    run_server(path, _workspace(workspace), host, port, access_log=access_log, echo=click.echo, replica=replica)


def _scorer(spec: Any) -> Any:
    """The pandas engine's ``scoring.batch.score``, or (engine: spark) ``airloop.spark.score``'s."""
    if spec.engine == "spark":
        from airloop.spark.score import score

        return score
    from airloop.scoring.batch import score as on_pandas

    return on_pandas


@main.command()
@click.argument("path", type=click.Path())
@click.argument("inputs", metavar="INPUT...", nargs=-1, required=True)
@click.option(
    "--out",
    help="folder of Parquet parts to write, or a table: postgresql://USER@HOST:5432/DATABASE/TABLE "
    "(default: the spec's scoring.output)",
)
@click.option("--version", "version", help="registry version to score with (default: the champion)")
@click.option(
    "--chunk-rows", default=50_000, show_default=True, type=click.IntRange(1, 10_000_000), help="records per chunk"
)
@click.option("--overwrite", is_flag=True, help="replace OUTPUT if it exists (else that is an error)")
@click.option(
    "--log/--no-log",
    default=None,
    help="also write the scored records to the prediction log, the monitor's input (default: scoring.log)",
)
@click.option("--json", "as_json", is_flag=True, help="print the summary as JSON")
@click.option("--workspace", type=click.Path(file_okay=False), help=WS_HELP)
def score(
    path: str,
    inputs: tuple[str, ...],
    out: str | None,
    version: str | None,
    chunk_rows: int,
    overwrite: bool,
    log: bool | None,
    as_json: bool,
    workspace: str | None,
) -> None:
    """Score INPUT (CSV/Parquet files or globs) with PATH's champion into OUTPUT (Parquet parts,
    or a PostgreSQL table).

    Each record is judged against the model's contract as POST /predict judges it; refused ones go
    to OUTPUT/_rejects.csv (or the table TABLE_rejects). A folder OUTPUT appears complete or not at
    all; a table gets one transaction per chunk, and a rerun adds no row twice.
    """
    import json

    from airloop.scoring.batch import REJECTS
    from airloop.scoring.sql import is_sql
    from airloop.spec import load_spec

    loaded = load_spec(path)
    run_score = _scorer(loaded.spec)

    def progress(s: Any) -> None:
        click.echo(f"  scored {s.scored:,}, rejected {s.rejected:,}", err=True)

    summary = run_score(
        loaded,
        _workspace(workspace),
        list(inputs),
        out,  # a folder or a table URL (a Path would fold its "//"); None: scoring.output
        version=version,
        chunk_rows=chunk_rows,
        overwrite=overwrite,
        log=log,
        on_chunk=None if as_json else progress,
    )
    if as_json:
        click.echo(json.dumps(summary.as_dict(), indent=1))
        return
    click.echo(f"scored {summary.scored:,} records with {summary.name} v{summary.version} -> {summary.output}")
    if summary.rejected:
        worst = ", ".join(f"{f} {n:,}" for f, n in sorted(summary.rejected_by_field.items(), key=lambda x: -x[1])[:5])
        where = f"{summary.output}_rejects" if is_sql(summary.output) else Path(summary.output) / REJECTS
        click.echo(f"  rejected {summary.rejected:,} (by field: {worst}): {where}")
    else:
        click.echo("  rejected 0")
    if summary.ignored_columns:
        click.echo(f"  ignored columns (not used by the model): {', '.join(summary.ignored_columns)}")
    if is_sql(summary.output):
        there = summary.scored - summary.inserted
        click.echo(
            f"  added {summary.inserted:,} rows" + (f" ({there:,} were there from an earlier run)" if there else "")
        )
    if summary.log:
        click.echo(f"  logged {summary.logged:,} to the prediction log (a rerun logs none twice)")


@main.command()
@click.argument("path", type=click.Path())
@click.option("--out", required=True, type=click.Path(file_okay=False), help="folder for the build context")
@click.option("--version", "version", help="the registered version to package (default: the champion)")
@click.option("--alias", help="package the version this alias names (default: champion)")
@click.option("--overwrite", is_flag=True, help="replace --out if an earlier `airloop package` wrote it")
@click.option("--image", help="image reference without tag (default: airloop/<name>); the tag is v<N>-<digest>")
@click.option(
    "--wheel",
    "wheel_file",
    type=click.Path(dir_okay=False),
    help="airloop's wheel, built elsewhere (default: built from this checkout)",
)
@click.option("--build/--no-build", default=True, help="run `docker build` when a Docker daemon answers")
@click.option("--workspace", type=click.Path(file_okay=False), help=WS_HELP)
def package(
    path: str,
    out: str,
    version: str | None,
    alias: str | None,
    overwrite: bool,
    image: str | None,
    wheel_file: str | None,
    build: bool,
    workspace: str | None,
) -> None:
    """Write a container build context for PATH's champion (or --version N / --alias A) into --out.

    The context holds the packaged model folder (served with `airloop serve --model-dir`, no
    registry, no workspace), an exact requirements.lock, airloop's wheel, a Dockerfile and its
    entrypoint, and Kubernetes manifests in kustomize layout (k8s/base/), checked offline when
    kubernetes-validate and hadolint are installed. `docker build` runs only where a daemon answers.
    """
    from airloop.packaging.context import package as write_context

    write_context(
        path,
        _workspace(workspace),
        Path(out),
        version=version,
        alias=alias,
        overwrite=overwrite,
        image=image,
        wheel_file=Path(wheel_file) if wheel_file else None,
        build=build,
        echo=click.echo,
    )


if __name__ == "__main__":
    main()
