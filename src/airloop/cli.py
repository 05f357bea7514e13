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

    click.echo(versions_table(path, _workspace(workspace)))


@main.command()
@click.option("--workspace", type=click.Path(file_okay=False), help=WS_HELP)
@click.option(
    "--example",
    type=click.Path(exists=True, file_okay=False),
    default="examples/flights",
    show_default=True,
    help="the example project to play",
)
@click.option("--fresh/--reuse", default=True, help="start from an empty demo workspace (default) or reuse it")
def demo(workspace: str | None, example: str, fresh: bool) -> None:
    """The flights demo: train on Jan-Jun 2013, then retrain on Jan-Jul and gate against the champion."""
    from airloop.runtime.demo import run_demo

    run_demo(Path(example), _workspace(workspace), fresh=fresh)


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
