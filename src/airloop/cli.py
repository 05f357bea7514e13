"""The `airloop` command. Errors from the AirloopError hierarchy print as messages, not tracebacks."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from airloop import __version__
from airloop.errors import AirloopError, RunFailed

WS_HELP = "workspace folder (default: $AIRLOOP_WORKSPACE or ./.airloop)"


class Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
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
    from airloop.runtime.workspace import Workspace

    return Workspace.resolve(path)


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
    click.echo(f"  DAG {spec.name}__train, schedule {spec.schedule or 'none (manual/asset)'}")


@main.command(name="compile")
@click.argument("path", type=click.Path())
@click.option("--dags-folder", type=click.Path(file_okay=False), help="write the DAG file here")
@click.option("--print", "to_stdout", is_flag=True, help="print the DAG file instead of writing it")
@click.option("--workspace", type=click.Path(file_okay=False), help=WS_HELP)
def compile_(path: str, dags_folder: str | None, to_stdout: bool, workspace: str | None) -> None:
    """Write the Airflow DAG file for PATH into a dags folder (default: the workspace's)."""
    from airloop.airflow.dagfile import render
    from airloop.runtime.embedded import compile_dag_file
    from airloop.spec import load_spec

    loaded = load_spec(path)
    ws = _workspace(workspace)
    if to_stdout:
        click.echo(render(loaded.spec.name, loaded.path, ws.root), nl=False)
        return
    target = compile_dag_file(loaded, ws, Path(dags_folder).resolve() if dags_folder else None)
    click.echo(f"wrote {target}")
    click.echo(f"  DAG {loaded.spec.name}__train; workspace {ws.root}")


@main.command()
@click.argument("path", type=click.Path())
@click.option("--workspace", type=click.Path(file_okay=False), help=WS_HELP)
@click.option("-v", "--verbose", is_flag=True, help="show tracebacks of failed steps")
def run(path: str, workspace: str | None, verbose: bool) -> None:
    """Run the train DAG of PATH once, in-process (Airflow's dag.test()), and summarise it."""
    from airloop.runtime.report import run_and_report

    outcome = run_and_report(path, _workspace(workspace), verbose=verbose)
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
    """Start the embedded stack: airflow standalone, the prediction service, and the MLflow UI if asked."""
    import signal
    import time

    from airloop.runtime.stack import Ports, down
    from airloop.runtime.stack import up as start
    from airloop.spec import load_spec

    ws = _workspace(workspace)
    info = start(load_spec(path, deep=True), ws, Ports(api_port, serve_port, mlflow_port), mlflow_ui=mlflow_ui)
    click.echo(f"airloop is up (workspace {info['workspace']})")
    click.echo(f"  Airflow    {info['airflow']}  user admin, password {info['password']}")
    click.echo(f"  serving    {info['serve'] or 'not started: no champion yet (run the train DAG, then up again)'}")
    if info.get("mlflow"):
        click.echo(f"  MLflow UI  {info['mlflow']}")
    if detach:
        click.echo("stop with: airloop down" + (f" --workspace {workspace}" if workspace else ""))
        return
    click.echo("Ctrl-C stops everything")
    try:
        signal.pause() if hasattr(signal, "pause") else time.sleep(10**9)
    except KeyboardInterrupt:
        pass
    _show_down(down(ws))


@main.command(name="down")
@click.option("--workspace", type=click.Path(file_okay=False), help=WS_HELP)
def down_(workspace: str | None) -> None:
    """Stop every process `airloop up` started in the workspace, and check that none is left."""
    from airloop.runtime.stack import down

    _show_down(down(_workspace(workspace)))


def _show_down(stopped: dict[str, Any]) -> None:
    if not stopped:
        click.echo("nothing was running")
    for name, info in stopped.items():
        note = " (had to be killed)" if info["killed"] else ""
        left = f"; LEFT BEHIND: {info['left']}" if info["left"] else ""
        click.echo(f"stopped {name} in {info['seconds']}s{note}{left}")


@main.command()
@click.argument("path", type=click.Path())
@click.option("--from", "step", required=True, help="task id to clear, with everything downstream")
@click.option("--run", "run_id", help="DAG run id (default: the latest run)")
@click.option("--dag", "which", type=click.Choice(["train", "monitor"]), default="train", show_default=True)
@click.option("--workspace", type=click.Path(file_okay=False), help=WS_HELP)
def rerun(path: str, step: str, run_id: str | None, which: str, workspace: str | None) -> None:
    """Rerun a DAG run from STEP through Airflow's REST API (clears STEP and everything after it)."""
    from airloop.errors import RegistryError
    from airloop.runtime.rest import AirflowAPI
    from airloop.spec import load_spec

    loaded = load_spec(path)
    dag_id = f"{loaded.spec.name}__{which}"
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
@click.option("--workspace", type=click.Path(file_okay=False), help=WS_HELP)
def monitor(path: str, workspace: str | None) -> None:
    """Run the monitor DAG of PATH once: drift and live performance since the last run, and the verdict."""
    from airloop.plan.build import monitor_dag_id
    from airloop.runtime.embedded import run_dag
    from airloop.runtime.report import progress_printer
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
    """Make VERSION the champion of PATH's model by hand; the old champion becomes `previous`."""
    from airloop.runtime.registry import promote_by_hand

    _show_moves(promote_by_hand(path, version, _workspace(workspace)))


@main.command()
@click.argument("path", type=click.Path())
@click.option("--workspace", type=click.Path(file_okay=False), help=WS_HELP)
def rollback(path: str, workspace: str | None) -> None:
    """Move `champion` back to the `previous` version (and `previous` to the one replaced)."""
    from airloop.runtime.registry import rollback as do_rollback

    _show_moves(do_rollback(path, _workspace(workspace)))


def _show_moves(moves: dict[str, Any]) -> None:
    click.echo(f"model {moves['name']}:")
    for alias, (old, new) in moves["aliases"].items():
        mark = "" if old == new else "  (changed)"
        click.echo(f"  {alias:<10} {_v(old)} -> {_v(new)}{mark}")


def _v(version: str | None) -> str:
    return f"v{version}" if version else "-"


@main.command()
@click.argument("path", type=click.Path())
@click.option("--workspace", type=click.Path(file_okay=False), help=WS_HELP)
def status(path: str, workspace: str | None) -> None:
    """Show the registered versions of PATH's model, their aliases and gate verdicts."""
    from airloop.runtime.registry import versions_table

    ws = _workspace(workspace)
    click.echo(versions_table(path, ws))
    click.echo(_stack_status(path, ws))


def _stack_status(path: str, ws: Any) -> str:
    import json

    from airloop.runtime.stack import running
    from airloop.spec import load_spec

    name = load_spec(path).spec.name
    lines = []
    procs = running(ws)
    lines.append("stack: " + (", ".join(f"{k} (pid {v})" for k, v in procs.items()) if procs else "down"))
    if "standalone" in procs:
        try:
            from airloop.runtime.rest import AirflowAPI

            api = AirflowAPI.for_workspace(ws)
            for dag in (f"{name}__train", f"{name}__monitor"):
                runs = api.runs(dag, limit=3)
                shown = ", ".join(f"{r['run_type']} {r['state']} ({(r.get('run_after') or '')[:19]})" for r in runs)
                lines.append(f"  {dag}: {shown or 'no runs yet'}")
        except Exception as exc:  # status must answer even when Airflow does not
            lines.append(f"  Airflow API: {exc}")
    state = ws.project(name) / "monitoring" / "history.parquet"
    if state.exists():
        import pandas as pd

        hist = pd.read_parquet(state)
        last = hist[hist["at"] == hist["at"].max()].iloc[0]
        lines.append(f"last monitoring verdict: {last['verdict']} (champion v{last['champion']})")
        reason = ws.project(name) / "monitoring" / "state.json"
        if reason.exists():
            lines.append(f"  state: {json.loads(reason.read_text())}")
    else:
        lines.append("last monitoring verdict: none yet (`airloop monitor PATH`)")
    report = ws.root / "reports" / f"{name}.html"
    lines.append(f"report: {report}" + ("" if report.exists() else " (write it with `airloop report PATH`)"))
    return "\n".join(lines)


@main.command()
@click.option("--workspace", type=click.Path(file_okay=False), help=WS_HELP)
@click.option(
    "--example",
    type=click.Path(exists=True, file_okay=False),
    default="examples/flights",
    show_default=True,
    help="the example project to play",
)
@click.option("--quick", is_flag=True, help="only two training runs (Jan-Jun, then Jan-Jul), no stack")
@click.option("--months", default="7-12", show_default=True, help="months to play after June, e.g. 7-9")
@click.option("--bad-month", default=10, show_default=True, type=int, help="month that also lands a corrupted batch")
@click.option("--keep", is_flag=True, help="leave the stack up at the end")
def demo(workspace: str | None, example: str, quick: bool, months: str, bad_month: int, keep: bool) -> None:
    """The flights demo: train on Jan-Jun 2013, then play Jul-Dec through the live loop."""
    if quick:
        from airloop.runtime.demo import run_demo

        run_demo(Path(example), _workspace(workspace), fresh=True)
        return
    from airloop.runtime.livedemo import run_live_demo

    lo, _, hi = months.partition("-")
    chosen = list(range(int(lo), int(hi or lo) + 1))
    run_live_demo(Path(example), _workspace(workspace), chosen, bad_month if bad_month in chosen else None, keep)


@main.command()
@click.argument("path", type=click.Path())
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workspace", type=click.Path(file_okay=False), help=WS_HELP)
@click.option("--access-log/--no-access-log", default=False, help="log every request (costs throughput)")
def serve(path: str, host: str, port: int, workspace: str | None, access_log: bool) -> None:
    """Serve PATH's champion over HTTP: POST /predict, /labels; GET /health, /ready, /model, /metrics, /docs.

    A bearer token guards /predict, /labels and /admin/* when $AIRLOOP_SERVE_TOKEN (or the spec's
    serving.token_env / serving.token) is set.
    """
    from airloop.serving.server import serve as run_server

    run_server(path, _workspace(workspace), host, port, access_log=access_log, echo=click.echo)


if __name__ == "__main__":
    main()
