"""The preload (scheduler and Celery workers) that `airloop up` installs through airflow_local_settings.py."""

from __future__ import annotations

import subprocess
import sys

from airloop.airflow.preload import LOCAL_SETTINGS, MODULES, wanted


def test_only_the_scheduler_and_celery_workers_preload(monkeypatch) -> None:
    monkeypatch.delenv("AIRLOOP_PRELOAD", raising=False)
    assert wanted(["/venv/bin/airflow", "scheduler"])
    assert wanted(["/venv/bin/airflow", "celery", "worker", "-q", "cpu"])
    assert not wanted(["/venv/bin/airflow", "celery", "flower"])
    for other in ("triggerer", "dag-processor", "api-server", "standalone", "tasks"):
        assert not wanted(["/venv/bin/airflow", other])
    assert not wanted(["python"])
    monkeypatch.setenv("AIRLOOP_PRELOAD", "0")
    assert not wanted(["/venv/bin/airflow", "scheduler"])


def test_every_preloaded_module_imports_and_the_settings_file_compiles() -> None:
    compile(LOCAL_SETTINGS, "airflow_local_settings.py", "exec")
    code = "import importlib, sys; [importlib.import_module(m) for m in sys.argv[1:]]"
    done = subprocess.run([sys.executable, "-c", code, *MODULES], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
