"""Run a project's train DAG once in this process with ``dag.test()`` (used by ``airloop run``).

Runs as its own process with the workspace's environment, so Airflow reads its configuration at
import. Writes the DagRun's outcome to the JSON file given as the last argument.
"""

from __future__ import annotations

import copy
import gc
import json
import os
import sys
import time
from pathlib import Path
from typing import Any


def lean_execution_api() -> bool:
    """Build dag.test()'s in-process Execution API for the one API version this Task SDK speaks.

    dag.test() runs each task against an in-process Execution API (FastAPI + Cadwyn). On its first
    request Cadwyn generates the routers and schemas of every API version the server still serves
    (11 in Airflow 3.3): 4-6 s, a third of a small run's wall time. The in-process client only ever
    sends its own version, the newest, so this app is built with that version alone: the routes,
    handlers and database writes it serves are the same. The compatibility routes that exist only
    in older versions are left out, as they are of the newest version anyway. Returns False (and
    dag.test() builds the full app) when the versions do not line up or the lean app fails to build.
    """
    try:
        from airflow.api_fastapi.execution_api import routes, versions
        from airflow.sdk.api.datamodels._generated import API_VERSION
        from airflow.sdk.execution_time.supervisor import in_process_api_server
        from cadwyn import HeadVersion, Version, VersionBundle
        from cadwyn.route_generation import _DELETED_ROUTE_TAG
        from fastapi.routing import APIRoute
    except ImportError:
        return False
    full_bundle, full_router = versions.bundle, routes.execution_api_router
    if full_bundle.versions[0].value != API_VERSION:  # an SDK older than the server: keep the full app
        return False
    lean_router = copy.copy(full_router)
    lean_router.routes = [
        r for r in full_router.routes if not (isinstance(r, APIRoute) and _DELETED_ROUTE_TAG in r.tags)
    ]
    # create_task_execution_api_app() reads both names at call time, and only while building the app
    versions.bundle, routes.execution_api_router = VersionBundle(HeadVersion(), Version(API_VERSION)), lean_router
    try:
        app = in_process_api_server().app  # cached: the app every task of this process talks to
        if not getattr(app, "_cadwyn_initialized", True):
            app._cadwyn_initialize()  # Cadwyn would do it on the first request: fail here instead
    except Exception:
        in_process_api_server.cache_clear()  # dag.test() builds the full app
        return False
    finally:
        versions.bundle, routes.execution_api_router = full_bundle, full_router
    return True


def die_with_parent() -> None:
    """Be killed when the `airloop run` that started this process dies (kill -9, a lost terminal):
    an orphaned run must not go on to register or promote a model nobody is waiting for."""
    parent = os.environ.get("AIRLOOP_PARENT_PID")
    if not parent or not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != int(parent):  # the parent died before the signal was armed
        os._exit(1)


def unanswerable(dag: Any) -> str | None:
    """No one can answer an approval task in a one-shot run (no API server): dag.test() marks it
    done unanswered, and promote keeps the candidate as challenger ("not asked")."""
    from airloop.plan import APPROVAL

    return f"^{APPROVAL}$" if APPROVAL in dag.task_ids else None


def remote_executor() -> bool:
    executor = os.environ.get("AIRFLOW__CORE__EXECUTOR", "").lower()
    return "celery" in executor or "kubernetes" in executor


def main(dag_file: str, dag_id: str, result_file: str) -> int:
    # long: one run from setup to its result file, in the order Airflow needs (gc, DB, parse, test, note)
    started = time.perf_counter()
    die_with_parent()
    # Airflow's import and setup allocate a large, long-lived heap; each full collection walks all of
    # it again (2-3 s per run, ~0.5 s a pass by the end). Collect nothing while setting up, then move
    # everything built so far out of the collector's reach; the run's own objects are collected as usual.
    freeze_gc = os.environ.get("AIRLOOP_GC_FREEZE", "1") == "1"
    if freeze_gc:
        gc.disable()
    from airloop.airflow.db import ensure_migrated

    home = Path(os.environ["AIRFLOW_HOME"])
    url = os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "")
    if url.startswith("sqlite:///"):
        migrated = ensure_migrated(Path(url.removeprefix("sqlite:///")), home / ".migrated")
    else:  # a server database: Airflow's own migration is idempotent
        from airflow.utils import db as airflow_db

        airflow_db.initdb()
        migrated = True
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=dag_file)
    if bag.import_errors:
        errors = "; ".join(f"{k}: {v}" for k, v in bag.import_errors.items())
        Path(result_file).write_text(json.dumps({"state": "import_error", "error": errors}))
        return 1
    dag = bag.get_dag(dag_id)
    # A remote executor (Celery, Kubernetes) configured for Airflow gets the tasks: they run on its
    # workers, not in this process. AIRLOOP_USE_EXECUTOR=1 hands them to any executor (0: never).
    use_executor = os.environ.get("AIRLOOP_USE_EXECUTOR", "1" if remote_executor() else "0") == "1"
    lean = not use_executor and os.environ.get("AIRLOOP_FULL_EXECUTION_API") != "1" and lean_execution_api()
    if freeze_gc:
        gc.freeze()
        gc.enable()
    before_test = time.perf_counter()
    # tasks on remote workers do not inherit this process's environment: the run's conf tells them
    # where to write their progress events (the workspace's logs folder, shared with the workers)
    events = os.environ.get("AIRLOOP_EVENTS_FILE")
    from airloop.airflow.dags import EVENTS_CONF

    conf = {EVENTS_CONF: events} if use_executor and events else None
    dr = dag.test(use_executor=use_executor, mark_success_pattern=unanswerable(dag), run_conf=conf)
    finished = time.perf_counter()
    from airloop.airflow.notes import set_after_test

    note = set_after_test(dr, events)
    tasks = []
    from airflow.utils.session import create_session

    with create_session() as session:
        for ti in dr.get_task_instances(session=session):
            tasks.append(
                {"task_id": ti.task_id, "map_index": ti.map_index, "state": str(ti.state), "try_number": ti.try_number}
            )
    Path(result_file).write_text(
        json.dumps(
            {
                "state": str(dr.state),
                "run_id": dr.run_id,
                "dag_id": dag_id,
                "note": note,
                "tasks": tasks,
                "migrated": migrated,
                "lean_execution_api": lean,
                "setup_seconds": before_test - started,
                "test_seconds": finished - before_test,
            }
        )
    )
    return 0 if str(dr.state) == "success" else 1


if __name__ == "__main__":
    code = main(*sys.argv[1:4])
    sys.stdout.flush()
    sys.stderr.flush()
    # interpreter teardown after Airflow costs ~2 s and does nothing useful here
    os._exit(code)
