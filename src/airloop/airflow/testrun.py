"""Run a project's train DAG once in this process with ``dag.test()`` (used by ``airloop run``).

Runs as its own process with the workspace's environment, so Airflow reads its configuration at
import. Writes the DagRun's outcome to the JSON file given as the last argument.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def main(dag_file: str, dag_id: str, result_file: str) -> int:
    started = time.perf_counter()
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
    before_test = time.perf_counter()
    # AIRLOOP_USE_EXECUTOR=1 hands the tasks to the configured executor (e.g. Celery workers)
    dr = dag.test(use_executor=os.environ.get("AIRLOOP_USE_EXECUTOR") == "1")
    finished = time.perf_counter()
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
                "tasks": tasks,
                "migrated": migrated,
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
