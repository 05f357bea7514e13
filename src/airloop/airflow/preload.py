"""Import the steps' heavy libraries once in the process that forks the task processes (scheduler, Celery worker).

Airflow 3.3's LocalExecutor forks ``parallelism`` worker processes from the scheduler when it starts,
and each worker forks (``os.fork``, no exec, on Linux) one supervised process per task. A module the
scheduler imported before that is already in every task process: a task then pays only its own work,
not ~2-3 s of importing pandas, scikit-learn and MLflow. The pages are shared copy-on-write.

A Celery worker is the same: ``airflow celery worker`` forks its pool, and each pool process forks
the task's process, so a worker started with this settings file pays the imports once, not per task.

``airloop up`` writes an ``airflow_local_settings.py`` that calls :func:`preload`; Airflow imports it
in every one of its processes, so this acts only in the scheduler and Celery workers (and nowhere
when ``AIRLOOP_PRELOAD=0``). Nothing here opens a file, a database or a thread: only imports.
"""

from __future__ import annotations

import importlib
import os
import sys
import time

MODULES = (
    "numpy",
    "pandas",
    "pyarrow",
    "sklearn",
    "sklearn.base",
    "sklearn.compose",
    "sklearn.dummy",
    "sklearn.ensemble",
    "sklearn.impute",
    "sklearn.linear_model",
    "sklearn.metrics",
    "sklearn.model_selection",
    "sklearn.pipeline",
    "sklearn.preprocessing",
    "sklearn.tree",
    "threadpoolctl",
    "optuna",
    "mlflow",
    "mlflow.artifacts",
    "mlflow.models",
    "mlflow.pyfunc",
    "mlflow.tracking",
    "mlflow.store.tracking.sqlalchemy_store",
    "mlflow.store.model_registry.sqlalchemy_store",
    "airloop.tracking",
    "airloop.tracking.client",
    "airloop.model.prepare",
    "airloop.model.transform",
    "airloop.model.store",
    "airloop_runtime",
    "airloop.data.contract",
    "airloop.monitoring.drift",
    "airloop.steps.runner",
    *(
        f"airloop.steps.{m}"
        for m in ("ingest", "validate", "split", "tune", "train", "evaluate", "gate", "register", "promote", "monitor")
    ),
)

LOCAL_SETTINGS = '''"""Written by `airloop up`: the scheduler preloads the step libraries (airloop.airflow.preload)."""

from airloop.airflow.preload import preload

preload()
'''


def wanted(argv: list[str] | None = None) -> bool:
    argv = sys.argv if argv is None else argv
    forks_tasks = argv[1:2] == ["scheduler"] or argv[1:3] == ["celery", "worker"]
    return os.environ.get("AIRLOOP_PRELOAD", "1") != "0" and forks_tasks


def preload(argv: list[str] | None = None) -> dict[str, float]:
    if not wanted(argv):
        return {}
    started = time.perf_counter()
    failed = []
    for name in MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # a missing optional library must never stop the scheduler
            failed.append(name)
    seconds = time.perf_counter() - started
    print(
        f"airloop: preloaded step libraries in {seconds:.1f}s" + (f" (not: {', '.join(failed)})" if failed else ""),
        file=sys.stderr,
    )
    return {"seconds": seconds}
